"""The verifier's own record of every verdict it issued (the index is rebuilt from these)."""

from __future__ import annotations

from sqlalchemy import JSON, Column, Integer, String, Table, Text

from kiemchung.runtime.db import UtcDateTime, metadata

verdicts = Table(
    "verifier_verdicts",
    metadata,
    Column("link_id", String(36), primary_key=True),
    Column("unit_id", String(100), nullable=False, index=True),
    Column("year", Integer, nullable=False),
    Column("criterion_code", String(32), nullable=False),
    Column("document_id", String(200), nullable=False),
    Column("sha256", String(64), nullable=True),
    Column("decision", String(16), nullable=False),
    Column("reasons", JSON, nullable=False),
    Column("report", JSON, nullable=False),
    Column("text", Text, nullable=False),
    Column("verified_at", UtcDateTime(), nullable=False),
)
