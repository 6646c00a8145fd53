"""indexer entry criterion column

Revision ID: 7c1e2b9a4d05
Revises: 55464a969eee
Create Date: 2026-12-04 21:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "7c1e2b9a4d05"
down_revision = "55464a969eee"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("indexer_entries", sa.Column("criterion_code", sa.String(length=64), nullable=True))
    # Existing entries carry their criterion inside the JSON: copy it out so none drop from view.
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "UPDATE indexer_entries SET criterion_code = entry->>'criterion_code' WHERE entry IS NOT NULL"
        )
    else:
        op.execute(
            "UPDATE indexer_entries SET criterion_code = json_extract(entry, '$.criterion_code') "
            "WHERE entry IS NOT NULL"
        )
    op.create_index(
        "ix_indexer_entries_year_criterion", "indexer_entries", ["year", "criterion_code"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_indexer_entries_year_criterion", table_name="indexer_entries")
    op.drop_column("indexer_entries", "criterion_code")
