"""The Alembic migrations build exactly the schema the code declares (PostgreSQL)."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from kiemchung.runtime.db import make_engine
from kiemchung.runtime.migrate import upgrade
from kiemchung.schema import load_all_tables
from tests.servers import fresh_database

pytestmark = pytest.mark.postgres


def test_migrations_match_the_table_definitions() -> None:
    with fresh_database() as url:
        upgrade(url)
        engine = make_engine(url)
        try:
            with engine.connect() as conn:
                context = MigrationContext.configure(conn, opts={"compare_type": True})
                drift = compare_metadata(context, load_all_tables())
        finally:
            engine.dispose()
    assert drift == [], f"run the autogenerate step in kiemchung/runtime/migrate.py: {drift}"
