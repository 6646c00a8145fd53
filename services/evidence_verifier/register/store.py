"""The register's tables: one row per link (facts, where to re-emit it from, current findings)
and one per unit (level and names, from UnitRegistered)."""

from __future__ import annotations

from sqlalchemy import JSON, Boolean, Column, Date, Index, Integer, String, Table, Text

from kiemchung.runtime.db import AutoId, UtcDateTime, metadata

register_entries = Table(
    "register_entries",
    metadata,
    Column("link_id", String(36), primary_key=True),
    Column("unit_id", String(100), nullable=False, index=True),
    Column("year", Integer, nullable=False),
    Column("criterion_code", String(32), nullable=False),
    Column("decision", String(16), nullable=False),
    Column("sha256", String(64), nullable=True, index=True),
    Column("issuer", String(300), nullable=True),
    # the issuer's numbering year: the issue date's year, else the scored year
    Column("number_year", Integer, nullable=False),
    Column("organisations", JSON, nullable=False),
    Column("number", String(100), nullable=True),
    Column("sequence", Integer, nullable=True),
    Column("notation", String(100), nullable=True),
    Column("issued_on", Date, nullable=True),
    Column("signed_at", UtcDateTime(), nullable=True),
    Column("signing_proven", Boolean, nullable=False),
    Column("document_id", String(200), nullable=False),
    Column("fetch_url", Text, nullable=False),
    Column("title", Text, nullable=False),
    Column("reported_issuer", Text, nullable=True),
    Column("linked_at", UtcDateTime(), nullable=True),
    Column("removed", Boolean, nullable=False),
    Column("findings", JSON, nullable=False),
)
Index("ix_register_entries_issuer_year", register_entries.c.issuer, register_entries.c.number_year)

register_units = Table(
    "register_units",
    metadata,
    Column("unit_id", String(100), primary_key=True),
    Column("level", String(16), nullable=False),
    Column("name", Text, nullable=False),
    Column("names", JSON, nullable=False),
    Column("parent_unit_id", String(100), nullable=True),
)

# The council's written requests for more evidence (SupplementRequested): a document issued for
# one after the deadline, and before its `until`, is what the council asked for.
register_supplements = Table(
    "register_supplements",
    metadata,
    Column("id", AutoId, primary_key=True, autoincrement=True),
    Column("unit_id", String(100), nullable=False, index=True),
    Column("year", Integer, nullable=False),
    Column("criterion_code", String(64), nullable=False),
    Column("until", Date, nullable=False),
)
