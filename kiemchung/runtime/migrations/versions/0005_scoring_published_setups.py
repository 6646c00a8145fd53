"""scoring published setups and the per-year ranked flag

A published unit-year keeps the setup it was published with (issue 13: a published year is
immutable except through a recorded correction); a score row keeps the year's ranked flag.

Revision ID: 3b8d5f2e9c17
Revises: 7c1e2b9a4d05
Create Date: 2026-12-04 22:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "3b8d5f2e9c17"
down_revision = "7c1e2b9a4d05"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "scoring_published_setups",
        sa.Column("unit_id", sa.String(length=100), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.Column("criteria_set", sa.String(length=100), nullable=False),
        sa.Column("overlays", sa.JSON(), nullable=False),
        sa.Column("criteria_digest", sa.String(length=64), nullable=False),
        sa.Column("not_applicable", sa.JSON(), nullable=False),
        sa.Column("maximum", sa.String(length=40), nullable=True),
        sa.Column("ranked", sa.Boolean(), nullable=False),
        sa.Column("ranking_group", sa.String(length=100), nullable=True),
        sa.Column("lock_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decision_number", sa.String(length=100), nullable=False),
        sa.Column("event_id", sa.String(length=36), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("unit_id", "year", name=op.f("pk_scoring_published_setups")),
    )
    # Existing rows: None means "the unit's registration decides", as before this column.
    op.add_column("scoring_scores", sa.Column("ranked", sa.Boolean(), nullable=True))


def downgrade() -> None:
    op.drop_column("scoring_scores", "ranked")
    op.drop_table("scoring_published_setups")
