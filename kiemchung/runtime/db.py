"""One SQLAlchemy metadata for every service's tables, and the engine factory.

Embedded: a SQLite file in WAL mode. Distributed: PostgreSQL, schema managed by Alembic
(kiemchung/runtime/migrations). The same table definitions serve both.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Dialect,
    Engine,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    create_engine,
    event,
)
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from kiemchung.runtime.private_files import private_file

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "pk": "pk_%(table_name)s",
}
metadata = MetaData(naming_convention=NAMING)


class UtcDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out, on every backend.

    PostgreSQL keeps the offset; SQLite keeps none and returns naive values. Storing UTC and
    reading it back as UTC makes both behave the same, for every table, in one place.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("timestamps must carry a time zone")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


SQLITE_BUSY_TIMEOUT_MS = 30_000

# Ids that fit SQLite's INTEGER PRIMARY KEY autoincrement and PostgreSQL's BIGSERIAL alike.
AutoId = BigInteger().with_variant(Integer(), "sqlite")

inbox = Table(
    "messaging_inbox",
    metadata,
    Column("consumer", String(64), primary_key=True),
    Column("event_id", String(36), primary_key=True),
    Column("event_type", String(64), nullable=False),
    Column("processed_at", UtcDateTime(), nullable=False),
)

outbox = Table(
    "messaging_outbox",
    metadata,
    Column("id", AutoId, primary_key=True, autoincrement=True),
    Column("event_id", String(36), nullable=False, unique=True),
    Column("producer", String(64), nullable=False),
    Column("routing_key", String(128), nullable=False),
    Column("body", Text, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("published_at", UtcDateTime(), nullable=True),
)
Index("ix_outbox_unpublished", outbox.c.producer, outbox.c.published_at, outbox.c.id)

dead_letters = Table(
    "messaging_dead_letters",
    metadata,
    Column("id", AutoId, primary_key=True, autoincrement=True),
    Column("consumer", String(64), nullable=False),
    Column("reason", String(64), nullable=False),
    Column("detail", Text, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("body", Text, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
)


# Messages parked until their source answers (kiemchung.runtime.messaging.Deferral): not in the
# inbox yet, handled again when `due_at` comes.
deferred = Table(
    "messaging_deferred",
    metadata,
    Column("consumer", String(64), primary_key=True),
    Column("event_id", String(36), primary_key=True),
    Column("event_type", String(64), nullable=False),
    Column("body", Text, nullable=False),
    Column("reason", String(64), nullable=False),
    Column("detail", Text, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("parked_at", UtcDateTime(), nullable=False),
    Column("due_at", UtcDateTime(), nullable=False),
)
Index("ix_deferred_due", deferred.c.consumer, deferred.c.due_at)


def make_engine(url: str, **kwargs: Any) -> Engine:
    if url.startswith("sqlite"):
        # make_url, not string slicing: "sqlite://" (in memory) must not become a file named "sqlite:".
        database = make_url(url).database
        if database and database != ":memory:" and not database.startswith("file:"):
            private_file(Path(database))
        engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True, **kwargs)


def create_schema(engine: Engine) -> None:
    """Embedded runtime and tests: create every table registered on `metadata` directly.

    A service's store module registers its tables when imported; the application's
    `kiemchung.schema.load_all_tables` imports every service's (the runtime never imports services).
    The distributed runtime runs Alembic migrations instead (`kiemchung db upgrade`).
    """
    metadata.create_all(engine)


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)
