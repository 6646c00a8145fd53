"""scoring published displays

How a published level-year was shown (decimals, decimal mark, rating bands, ranking group names)
is kept as published (issue 13: the published years stay as published). Years published before
this revision have no row: they keep being shown as the year's rules file says.

Revision ID: 9e4a6c1d7b38
Revises: 3b8d5f2e9c17
Create Date: 2026-12-04 23:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "9e4a6c1d7b38"
down_revision = "3b8d5f2e9c17"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "scoring_published_displays",
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("from_file", sa.Boolean(), nullable=False),
        sa.Column("decimals", sa.Integer(), nullable=False),
        sa.Column("decimal_comma", sa.Boolean(), nullable=False),
        sa.Column("bands", sa.JSON(), nullable=False),
        sa.Column("groups", sa.JSON(), nullable=False),
        sa.Column("event_id", sa.String(length=36), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("level", "year", name=op.f("pk_scoring_published_displays")),
    )


def downgrade() -> None:
    op.drop_table("scoring_published_displays")
