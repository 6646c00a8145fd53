"""Published years: corrections and what the files now say differently (issue 13).

- `submit_correction` runs a ResultCorrected through the scoring handlers in one transaction, as
  an import does, and answers with the ledger's verdict (accepted, or the reason code).
- `published_year_changes` compares each published unit-year's frozen setup with what the rules
  files and the registration say today; a difference is never applied, only reported with reason
  `published_year_changed` (the API, the CLI and a log line per unit-year).
- `mark_corrections` notes corrected values in the appendix workbook: a comment on each corrected
  cell of the unit sheet and on its index, and the decision in the ranking sheet's note column, so
  both sheets say the same.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from types import MappingProxyType
from typing import Any

from openpyxl import Workbook
from openpyxl.comments import Comment
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlalchemy.orm import Session, sessionmaker

from contracts.events import (
    MAX_CORRECTED_LEAVES,
    MAX_REASON_CHARS,
    POINT_DIGITS,
    POINT_PLACES,
    CorrectedPoints,
    ResultCorrected,
)
from kiemchung.runtime.clock import Clock, IdSource
from kiemchung.runtime.messaging import EventFactory
from services.scoring.commands import scoring_runtime, submit_command
from services.scoring.core.errors import ScoringReason
from services.scoring.core.rules import ProvinceRules, UnitYear
from services.scoring.display import display_changes
from services.scoring.handlers import frozen_setups, load_units
from services.scoring.service import CriteriaCatalogue, published_changes
from services.scoring.store import ledger, scores

log = logging.getLogger(__name__)

CORRECTION_PRODUCER = "kiemchung.corrections"


# ---- submitting ----------------------------------------------------------------------------------


class CorrectionRequest(BaseModel):
    """A correction as the province sends it (HTTP body; the CLI builds the same)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    decision_number: str = Field(min_length=1, max_length=100)
    reason: str = Field(min_length=1, max_length=MAX_REASON_CHARS)
    points: list[CorrectedPoints] = Field(default_factory=list, max_length=MAX_CORRECTED_LEAVES)
    maximum: Decimal | None = Field(default=None, gt=0, max_digits=POINT_DIGITS, decimal_places=POINT_PLACES)
    not_applicable: list[str] | None = Field(default=None, max_length=MAX_CORRECTED_LEAVES)
    ranked: bool | None = None


@dataclass(frozen=True)
class CorrectionResult:
    accepted: bool
    event_id: str
    reason: str = ""
    detail: str = ""
    version: int | None = None
    index: str | None = None


def correction_event(
    events: EventFactory, unit_id: str, year: int, request: CorrectionRequest, actor: str
) -> ResultCorrected:
    """Raises pydantic's ValidationError on a value the contract refuses (e.g. a bad code)."""
    return events.make(
        ResultCorrected,
        correlation_id=events.ids(),
        unit_id=unit_id,
        year=year,
        decision_number=request.decision_number,
        reason=request.reason,
        points=list(request.points),
        maximum=request.maximum,
        not_applicable=request.not_applicable,
        ranked=request.ranked,
        corrected_by=actor,
    )


def submit_correction(
    event: ResultCorrected,
    sessions: sessionmaker[Session],
    catalogue: CriteriaCatalogue,
    clock: Clock,
    ids: IdSource,
) -> CorrectionResult:
    """Score the correction through the scoring handlers (one transaction, the inbox makes a
    second delivery of the same event id a no-op) and read back the ledger's answer."""
    runtime = scoring_runtime(catalogue, sessions, clock, ids, CORRECTION_PRODUCER)
    answer = asyncio.run(submit_command(runtime, sessions, event))
    event_id = str(event.event_id)
    if not answer.accepted:
        return CorrectionResult(False, event_id, answer.reason, answer.detail)
    with sessions() as session:
        recorded = session.execute(
            select(ledger.c.seq).where(ledger.c.event_id == event_id).limit(1)
        ).scalar_one_or_none()
        if recorded is None:  # e.g. an unknown unit is refused before any ledger is read
            return CorrectionResult(False, event_id, ScoringReason.UNKNOWN_UNIT.value, event.unit_id)
        row = session.execute(
            select(scores.c.version, scores.c.index_value).where(
                scores.c.unit_id == event.unit_id, scores.c.year == event.year
            )
        ).first()
    if row is None:
        return CorrectionResult(True, event_id)
    return CorrectionResult(True, event_id, version=int(row.version), index=row.index_value or None)


# ---- what changed in the files since publication ----------------------------------------------


@dataclass(frozen=True)
class PublishedChange:
    unit_id: str
    year: int
    fields: tuple[str, ...]
    reason: str = ScoringReason.PUBLISHED_YEAR_CHANGED.value

    def render(self) -> str:
        return (
            f"{self.reason}: {self.unit_id} {self.year}: {', '.join(self.fields)} differ from the "
            "setup it was published with; not applied (a correction needs a ResultCorrected)"
        )


def published_year_changes(
    session: Session, catalogue: CriteriaCatalogue, year: int | None = None
) -> list[PublishedChange]:
    """Every published unit-year whose files now say something else (each also logged)."""
    units = {u.unit_id: u for u in load_units(session)}
    shown = display_changes(session, catalogue, year)  # decimals, bands, …: per level-year
    out: list[PublishedChange] = []
    for (unit_id, published_year), frozen in sorted(frozen_setups(session, year).items()):
        unit = units.get(unit_id)
        if unit is None:
            continue
        fields = published_changes(unit, published_year, catalogue, frozen)
        fields += shown.get((frozen.level, published_year), ())
        if fields:
            change = PublishedChange(unit_id, published_year, fields)
            log.warning("%s", change.render())
            out.append(change)
    return out


def report_published_changes(sessions: sessionmaker[Session], catalogue: CriteriaCatalogue) -> int:
    """At start: log every published unit-year the files now contradict; how many."""
    try:
        with sessions() as session:
            return len(published_year_changes(session, catalogue))
    except (OperationalError, ProgrammingError) as exc:  # no schema yet: nothing published
        log.info("published years not checked: %s", exc.__class__.__name__)
        return 0


def as_published(session: Session, rules: ProvinceRules, year: int) -> ProvinceRules:
    """The year's rules with each published unit's ranking group as frozen at its publication
    (a group moved in the file since is reported, not applied)."""
    frozen = frozen_setups(session, year)
    units = dict(rules.units)
    changed = False
    for (unit_id, _), setup in frozen.items():
        current = units.get(unit_id, UnitYear())
        if current.group != setup.group:
            units[unit_id] = dataclasses.replace(current, group=setup.group)
            changed = True
    return dataclasses.replace(rules, units=MappingProxyType(units)) if changed else rules


# ---- the appendix workbook ----------------------------------------------------------------------

_UNIT_ID = re.compile(r"\(([^()]+)\)\s*$")
COMMENT_AUTHOR = "kiemchung"
CORRECTED_NOTE = "Đính chính"
_CODE_COLUMN = 1
_LABEL_COLUMN = 2
_MAXIMUM_COLUMN = 3
_APPRAISED_COLUMN = 5
_NOTE_COLUMN = 5
_UNIT_COLUMN = 2


@dataclass(frozen=True)
class _Corrected:
    decision: str
    reason: str
    at: str
    leaves: tuple[str, ...]
    attributes: tuple[str, ...]

    def text(self) -> str:
        return f"{CORRECTED_NOTE} theo {self.decision} ({self.at}): {self.reason}"


def corrections_of_year(session: Session, year: int) -> dict[str, list[_Corrected]]:
    """Accepted corrections of `year` by unit, in ledger order."""
    out: dict[str, list[_Corrected]] = {}
    rows = session.execute(
        select(ledger.c.unit_id, ledger.c.payload)
        .where(ledger.c.year == year, ledger.c.event_type == ResultCorrected.TYPE)
        .order_by(ledger.c.seq)
    )
    for row in rows:
        p = row.payload
        attributes = tuple(k for k in ("maximum", "not_applicable", "ranked") if p.get(k) is not None)
        out.setdefault(row.unit_id, []).append(
            _Corrected(
                decision=str(p["decision_number"]),
                reason=str(p["reason"]),
                at=str(p["occurred_at"])[:10],
                leaves=tuple(str(x["criterion_code"]) for x in p.get("points", [])),
                attributes=attributes,
            )
        )
    return out


def _comment(cell: Any, lines: Sequence[str]) -> None:
    text = "\n".join(lines)
    cell.comment = Comment(text, COMMENT_AUTHOR, width=320, height=40 + 20 * len(lines))


@dataclass(frozen=True)
class SheetLabels:
    """The export's labels (services/scoring/export.py) that locate the rows to mark."""

    total: str
    index: str
    ranking_sheet: str


def mark_corrections(book: Workbook, session: Session, year: int, labels: SheetLabels) -> None:
    """Comments on corrected cells of each unit sheet (leaf rows, the total's maximum when an
    attribute was corrected, the index) and the decisions in the ranking sheet's note column."""
    corrected = corrections_of_year(session, year)
    if not corrected:
        return
    for sheet in book.worksheets:
        if sheet.title == labels.ranking_sheet:
            for row in sheet.iter_rows(min_row=1):
                unit_id = row[_UNIT_COLUMN - 1].value
                if isinstance(unit_id, str) and unit_id in corrected:
                    note = sheet.cell(row=row[0].row, column=_NOTE_COLUMN)
                    decisions = "; ".join(c.decision for c in corrected[unit_id])
                    added = f"{CORRECTED_NOTE}: {decisions}"
                    note.value = f"{note.value}; {added}" if note.value else added
            continue
        found = _UNIT_ID.search(str(sheet["A2"].value or ""))
        items = corrected.get(found.group(1).strip(), []) if found else []
        if not items:
            continue
        for row in sheet.iter_rows(min_row=1):
            code = row[_CODE_COLUMN - 1].value
            label = row[_LABEL_COLUMN - 1].value
            on_leaf = [c.text() for c in items if code in c.leaves]
            if on_leaf:
                _comment(sheet.cell(row=row[0].row, column=_APPRAISED_COLUMN), on_leaf)
            if label == labels.index:
                _comment(sheet.cell(row=row[0].row, column=_APPRAISED_COLUMN), [c.text() for c in items])
            elif label == labels.total:
                lines = [f"{c.text()} ({', '.join(c.attributes)})" for c in items if c.attributes]
                if lines:  # the applicable maximum, the exemptions or the ranked flag were corrected
                    _comment(sheet.cell(row=row[0].row, column=_MAXIMUM_COLUMN), lines)
