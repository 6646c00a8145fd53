"""Alembic environment: the distributed runtime's PostgreSQL schema (`kiemchung db upgrade`)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import pool

from kiemchung.runtime.db import make_engine

config = context.config
# The caller passes every service's tables (kiemchung.schema.load_all_tables) for autogenerate;
# an upgrade runs the revision scripts and needs none. The runtime never imports services.
target_metadata = config.attributes.get("target_metadata")


def run_migrations_online() -> None:
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("sqlalchemy.url is not set")
    engine = make_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata, compare_type=True)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


def run_migrations_offline() -> None:
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=target_metadata)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
