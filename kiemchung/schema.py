"""Every service's tables on the one metadata: the application knows the services, the runtime does not."""

from __future__ import annotations

from sqlalchemy import Engine, MetaData

# Imported for their side effect of registering tables on `metadata`.
import services.evidence_verifier.register.store
import services.evidence_verifier.store
import services.indexer.store
import services.scoring.store  # noqa: F401
from kiemchung.runtime.db import metadata


def load_all_tables() -> MetaData:
    return metadata


def create_all_tables(engine: Engine) -> None:
    """Embedded runtime and tests: every service's tables, without Alembic."""
    metadata.create_all(engine)
