"""The indexer's durable state: units and the latest entry per link (the search index is derived)."""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Boolean, Column, Index, Integer, String, Table

from kiemchung.runtime.db import metadata

units = Table(
    "indexer_units",
    metadata,
    Column("unit_id", String(100), primary_key=True),
    Column("name", String(300), nullable=False),
    Column("level", String(16), nullable=False),
    Column("council_id", String(100), nullable=False),
)

entries = Table(
    "indexer_entries",
    metadata,
    Column("link_id", String(36), primary_key=True),
    Column("version", BigInteger, nullable=False),
    Column("removed", Boolean, nullable=False, default=False),
    Column("unit_id", String(100), nullable=False, index=True),
    Column("year", Integer, nullable=False),
    Column("entry", JSON, nullable=True),
    # The entry's criterion, copied out of the JSON so the council page reads only the chosen
    # criterion's rows through an index instead of decoding every entry of every unit.
    Column("criterion_code", String(64), nullable=True),
    Index("ix_indexer_entries_year_criterion", "year", "criterion_code"),
)
