"""A province table uploaded on the web page, run through the importer `kiemchung import` and
`POST /imports/{kind}` use (services/scoring/importer.py): the same reader, bounds and rules,
all rows or none. This module only arranges the importer's plan for the page."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from contracts.events import UnitRegistered
from kiemchung.runtime.clock import Clock, random_ids
from services.scoring.importer import (
    ImportKind,
    ImportOptions,
    Note,
    Planned,
    Refusal,
    file_refusal,
    run_import,
)
from services.scoring.service import CriteriaCatalogue
from services.scoring.tables import TableError, read_table_bytes

# What one page shows of a large file (the counts always cover all of it).
MAX_SHOWN_ROWS = 500


@dataclass(frozen=True)
class UnitCount:
    unit_id: str
    record: int
    unchanged: int


@dataclass(frozen=True)
class NewUnit:
    unit_id: str
    name: str
    level: str
    council_id: str
    criteria_set: str


@dataclass(frozen=True)
class ImportOutcome:
    kind: ImportKind
    dry_run: bool
    rows: int
    would_record: int  # events the file stands for
    recorded: int  # events written (0 for a dry run or when anything is refused)
    refusals: tuple[Refusal, ...]
    notes: tuple[Note, ...]
    planned: tuple[Planned, ...]
    per_unit: tuple[UnitCount, ...]
    new_units: tuple[NewUnit, ...]

    @property
    def ok(self) -> bool:
        return not self.refusals


def run_upload(
    sessions: sessionmaker[Session],
    catalogue: CriteriaCatalogue,
    clock: Clock,
    kind: ImportKind,
    data: bytes,
    filename: str,
    options: ImportOptions,
    *,
    dry_run: bool,
) -> ImportOutcome:
    """Read the upload and plan it (dry run) or plan and commit it, as the API does."""
    try:
        sheets = read_table_bytes(data, filename)
    except TableError as exc:
        return ImportOutcome(kind, dry_run, 0, 0, 0, (file_refusal(exc, filename),), (), (), (), ())
    plan = run_import(
        kind, sheets, filename, sessions, catalogue, clock, random_ids, options, dry_run=dry_run
    )
    recorded = Counter(p.unit_id for p in plan.planned if p.recorded)
    unchanged = Counter(p.unit_id for p in plan.planned if not p.recorded)
    units = sorted(set(recorded) | set(unchanged))
    return ImportOutcome(
        kind=kind,
        dry_run=dry_run,
        rows=plan.rows,
        would_record=len(plan.events),
        recorded=0 if plan.refusals or dry_run else len(plan.events),
        refusals=plan.refusals,
        notes=plan.notes,
        planned=plan.planned,
        per_unit=tuple(UnitCount(u, recorded[u], unchanged[u]) for u in units),
        new_units=tuple(
            NewUnit(e.unit_id, e.name, e.level.value, e.council_id, e.criteria_set)
            for e in plan.events
            if isinstance(e, UnitRegistered)
        ),
    )
