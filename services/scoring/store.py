"""Scoring state: units, the append-only ledger, rejected commands, the latest scores and rankings.

Each ledger row keeps what a reader of the history needs without replaying it: who acted, when,
which leaf, the leaf's values before and after (`changes`), and the score version it produced.
"""

from __future__ import annotations

from sqlalchemy import JSON, Boolean, Column, Index, Integer, String, Table, Text, UniqueConstraint

from kiemchung.runtime.db import AutoId, UtcDateTime, metadata

CODE_LENGTH = 32

units = Table(
    "scoring_units",
    metadata,
    Column("unit_id", String(100), primary_key=True),
    Column("name", String(300), nullable=False),
    Column("level", String(16), nullable=False),
    Column("council_id", String(100), nullable=False),
    Column("criteria_set", String(100), nullable=False),
    Column("ranked", Boolean, nullable=False),
    Column("not_applicable", JSON, nullable=False),
)
Index("ix_scoring_units_council", units.c.council_id)

ledger = Table(
    "scoring_ledger",
    metadata,
    Column("seq", AutoId, primary_key=True, autoincrement=True),
    Column("unit_id", String(100), nullable=False),
    Column("year", Integer, nullable=False),
    Column("event_id", String(36), nullable=False),
    Column("event_type", String(64), nullable=False),
    Column("actor", String(200), nullable=False),
    # The single leaf the command named (None for Submitted, a survey import of many leaves, …).
    Column("criterion_code", String(CODE_LENGTH), nullable=True),
    # [{"code", "before": {...}, "after": {...}}] for every leaf whose values changed.
    Column("changes", JSON, nullable=False),
    Column("score_version", Integer, nullable=False),
    Column("payload", JSON, nullable=False),
    Column("occurred_at", UtcDateTime(), nullable=False),
    Column("recorded_at", UtcDateTime(), nullable=False),
    UniqueConstraint("event_id", "unit_id", name="uq_scoring_ledger_event_unit"),
)
Index("ix_scoring_ledger_unit_year", ledger.c.unit_id, ledger.c.year, ledger.c.seq)

rejections = Table(
    "scoring_rejections",
    metadata,
    Column("seq", AutoId, primary_key=True, autoincrement=True),
    Column("unit_id", String(100), nullable=False),
    Column("year", Integer, nullable=False),
    Column("event_id", String(36), nullable=False),
    Column("event_type", String(64), nullable=False),
    Column("actor", String(200), nullable=False),
    Column("criterion_code", String(CODE_LENGTH), nullable=True),
    Column("reason", String(64), nullable=False),
    Column("detail", Text, nullable=False),
    Column("occurred_at", UtcDateTime(), nullable=False),
    Column("recorded_at", UtcDateTime(), nullable=False),
)
Index("ix_scoring_rejections_unit_year", rejections.c.unit_id, rejections.c.year)

scores = Table(
    "scoring_scores",
    metadata,
    Column("unit_id", String(100), primary_key=True),
    Column("year", Integer, primary_key=True),
    Column("level", String(16), nullable=False),
    Column("version", Integer, nullable=False),
    Column("index_value", String(60), nullable=False),
    Column("snapshot", JSON, nullable=False),
    # Whether the unit is ranked that year, as its ledger says (a correction may change it for a
    # published year); None on rows written before it existed: the unit's registration decides.
    Column("ranked", Boolean, nullable=True),
    Column("updated_at", UtcDateTime(), nullable=False),
)
# A ranking cache miss reloads one level's scores.
Index("ix_scoring_scores_level_year", scores.c.level, scores.c.year)

# One row per level and year: the latest RankingUpdated. `event_id` (that event's id) and `version`
# tag the in-process standings (cache.RankingCache); a rolled-back write leaves no matching tag.
rankings = Table(
    "scoring_rankings",
    metadata,
    Column("level", String(16), primary_key=True),
    Column("year", Integer, primary_key=True),
    Column("version", Integer, nullable=False),
    Column("event_id", String(36), nullable=False),
    Column("snapshot", JSON, nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
)

# A published unit-year's setup as it was at publication (core/published.py: YearSetup): every
# later replay of that year uses it, not what the rules files and the registration say today.
# Written once by the Published event, never updated; corrections are ledger events.
published_setups = Table(
    "scoring_published_setups",
    metadata,
    Column("unit_id", String(100), primary_key=True),
    Column("year", Integer, primary_key=True),
    Column("level", String(16), nullable=False),
    Column("criteria_set", String(100), nullable=False),
    Column("overlays", JSON, nullable=False),
    Column("criteria_digest", String(64), nullable=False),
    Column("not_applicable", JSON, nullable=False),
    Column("maximum", String(40), nullable=True),
    Column("ranked", Boolean, nullable=False),
    Column("ranking_group", String(100), nullable=True),
    Column("lock_at", UtcDateTime(), nullable=False),
    Column("decision_number", String(100), nullable=False),
    Column("event_id", String(36), nullable=False),
    Column("published_at", UtcDateTime(), nullable=False),
)

# How a published level-year was shown (core/published.py: PublishedDisplay): the index's decimals
# and decimal mark, the rating bands and the level's ranking group names as the year's rules file
# said at publication. Written once, with the first publication of the level's year; the views,
# pages and the workbook of that year use it whatever the file says later.
published_displays = Table(
    "scoring_published_displays",
    metadata,
    Column("level", String(16), primary_key=True),
    Column("year", Integer, primary_key=True),
    Column("from_file", Boolean, nullable=False),
    Column("decimals", Integer, nullable=False),
    Column("decimal_comma", Boolean, nullable=False),
    # [{"name", "min"}] highest first, minimums as exact decimal strings.
    Column("bands", JSON, nullable=False),
    # [{"id", "name", "level"}] in the file's order.
    Column("groups", JSON, nullable=False),
    Column("event_id", String(36), nullable=False),
    Column("published_at", UtcDateTime(), nullable=False),
)
