"""Scoring state: units, the append-only ledger, and the latest scores and rankings."""

from __future__ import annotations

from sqlalchemy import JSON, Boolean, Column, DateTime, Index, Integer, String, Table, Text, UniqueConstraint

from kiemchung.db import AutoId, metadata

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

ledger = Table(
    "scoring_ledger",
    metadata,
    Column("seq", AutoId, primary_key=True, autoincrement=True),
    Column("unit_id", String(100), nullable=False),
    Column("year", Integer, nullable=False),
    Column("event_id", String(36), nullable=False),
    Column("event_type", String(64), nullable=False),
    Column("actor", String(200), nullable=False),
    Column("payload", JSON, nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
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
    Column("reason", String(64), nullable=False),
    Column("detail", Text, nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
)

scores = Table(
    "scoring_scores",
    metadata,
    Column("unit_id", String(100), primary_key=True),
    Column("year", Integer, primary_key=True),
    Column("level", String(16), nullable=False),
    Column("version", Integer, nullable=False),
    Column("index_value", String(40), nullable=False),
    Column("snapshot", JSON, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

rankings = Table(
    "scoring_rankings",
    metadata,
    Column("level", String(16), primary_key=True),
    Column("year", Integer, primary_key=True),
    Column("version", Integer, nullable=False),
    Column("snapshot", JSON, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)
