"""Run the Alembic migrations shipped inside the package, without an alembic.ini on disk."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import MetaData

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def alembic_config(url: str, target_metadata: MetaData | None = None) -> Config:
    config = Config()
    if target_metadata is not None:
        config.attributes["target_metadata"] = target_metadata
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)


def autogenerate(url: str, message: str, target_metadata: MetaData) -> None:
    """`target_metadata`: every service's tables, kiemchung.schema.load_all_tables()."""
    command.revision(alembic_config(url, target_metadata), message=message, autogenerate=True)
