from __future__ import annotations

from datetime import datetime

import pytest

from criteria.loader import load_packaged_set
from services.scoring.core import (
    SEED_003_DEADLINES,
    VIETNAM_TZ,
    Ledger,
    ScoringTree,
    compile_tree,
    open_ledger,
    unit_setup,
)

YEAR = 2025


def vn(month: int, day: int, hour: int = 9, minute: int = 0, year: int = YEAR) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=VIETNAM_TZ)


@pytest.fixture(scope="session")
def demo_tree() -> ScoringTree:
    return compile_tree(load_packaged_set("demo.yaml"))


@pytest.fixture
def ledger(demo_tree: ScoringTree) -> Ledger:
    """A department (so-noi-vu) ledger for 2025: it locks at 16/12/2025 00:00 UTC+7."""
    return open_ledger(unit_setup("so-noi-vu", YEAR, demo_tree, SEED_003_DEADLINES))


# ---- the scoring service on both stores (as FastStream's tests/brokers/base parametrizes brokers) ----

import uuid  # noqa: E402
from collections.abc import Iterator  # noqa: E402
from pathlib import Path  # noqa: E402

from sqlalchemy import Engine, delete  # noqa: E402
from sqlalchemy.orm import Session, sessionmaker  # noqa: E402

from kiemchung.runtime.db import create_schema, make_engine, session_factory  # noqa: E402
from kiemchung.schema import load_all_tables  # noqa: E402
from tests.scoring.kit import Scoring  # noqa: E402

STORES = ("sqlite", pytest.param("postgres", marks=pytest.mark.postgres))


@pytest.fixture(scope="session")
def postgres_engine() -> Iterator[Engine]:
    from kiemchung.runtime.migrate import upgrade
    from tests.servers import fresh_database

    with fresh_database() as url:
        upgrade(url)
        engine = make_engine(url)
        try:
            yield engine
        finally:
            engine.dispose()


def _empty(engine: Engine) -> None:
    with engine.begin() as conn:
        for table in reversed(load_all_tables().sorted_tables):
            conn.execute(delete(table))


@pytest.fixture(params=STORES)
def sessions(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    """A scoring store, empty: a SQLite file (embedded) or the real PostgreSQL (migrated)."""
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / f'{uuid.uuid4().hex}.db'}")
        create_schema(engine)
        yield session_factory(engine)
        engine.dispose()
        return
    engine = request.getfixturevalue("postgres_engine")
    _empty(engine)
    yield session_factory(engine)


@pytest.fixture
def scoring(sessions: sessionmaker[Session]) -> Scoring:
    return Scoring(sessions)
