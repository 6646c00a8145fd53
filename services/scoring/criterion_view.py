"""The appraiser's view of one criterion across units: points, evidence with verdicts, gaps.

Appraisers go criterion by criterion across every unit of their council (seed 001: evidence is
organised by field → criterion → sub-criterion). The index entries and the ledger are read from
the state database; the pure grouping is the indexer's `criterion_across_units`.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.orm import Session

from contracts.events import SelfScoreEntered
from services.indexer.criteria_codes import in_subtree
from services.indexer.handlers import entry_from_json
from services.indexer.store import entries as index_entries
from services.indexer.views import UnitRef, criterion_across_units
from services.scoring.service import UnitInfo
from services.scoring.store import ledger as ledger_rows
from services.scoring.views import Figure, maybe_figure

SEPARATOR = "."
AFTER_SEPARATOR = chr(ord(SEPARATOR) + 1)


class _View(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class EvidenceBrief(_View):
    link_id: str
    criterion_code: str
    number: str | None
    title: str
    decision: str
    reasons: list[str]
    link: str


class UnitOnCriterion(_View):
    unit_id: str
    name: str
    self_assessed: Figure | None
    evidence: list[EvidenceBrief]


class CriterionAcrossUnitsView(_View):
    criterion: str
    year: int
    units: list[UnitOnCriterion]
    without_evidence: list[str]
    signals: dict[str, int] = Field(
        default_factory=dict, description="Evidence carrying each check of the evidence register"
    )


def _self_assessed(session: Session, unit_ids: set[str], year: int, code: str) -> dict[str, Decimal]:
    """Each unit's self-assessed points under `code`: the last accepted SelfScoreEntered per leaf,
    summed. One query over the ledger (which holds only accepted events), not a replay per unit."""
    rows = session.execute(
        select(ledger_rows.c.unit_id, ledger_rows.c.criterion_code, ledger_rows.c.payload)
        .where(
            ledger_rows.c.unit_id.in_(unit_ids),
            ledger_rows.c.year == year,
            ledger_rows.c.event_type == SelfScoreEntered.TYPE,
            or_(
                ledger_rows.c.criterion_code == code,
                ledger_rows.c.criterion_code.startswith(f"{code}.", autoescape=True),
            ),
        )
        .order_by(ledger_rows.c.seq)
    ).all()
    latest = {(r.unit_id, r.criterion_code): Decimal(str(r.payload["points"])) for r in rows}
    points: dict[str, Decimal] = {}
    for (unit_id, leaf), value in latest.items():
        if in_subtree(leaf, code):
            points[unit_id] = points.get(unit_id, Decimal(0)) + value
    return points


def _in_subtree(session: Session, column: ColumnElement[str], code: str) -> ColumnElement[bool]:
    """`code` or any code below it, on the plain criterion column (indexed with the year).
    SQLite compares bytes, so the children are the range between "code." and "code/" (the next
    character) and the index serves it; PostgreSQL's collation may not order punctuation by
    byte, so there the prefix is a LIKE (its planner scans the plain column cheaply)."""
    if session.get_bind().dialect.name == "sqlite":
        below = and_(column > f"{code}{SEPARATOR}", column < f"{code}{AFTER_SEPARATOR}")
    else:
        below = column.startswith(f"{code}{SEPARATOR}", autoescape=True)
    return or_(column == code, below)


def units_without_evidence(session: Session, units: Sequence[UnitInfo], code: str, year: int) -> list[str]:
    """The units, in their order, with no live evidence under `code`: one query over the indexed
    criterion column, without reading any entry, so a paged table can still list them all."""
    wanted = [u.unit_id for u in units]
    with_evidence = set(
        session.execute(
            select(index_entries.c.unit_id)
            .where(
                index_entries.c.year == year,
                _in_subtree(session, index_entries.c.criterion_code, code),
                index_entries.c.removed.is_(False),
                index_entries.c.unit_id.in_(wanted),
            )
            .distinct()
        ).scalars()
    )
    return [unit_id for unit_id in wanted if unit_id not in with_evidence]


def criterion_view(
    session: Session, units: Sequence[UnitInfo], code: str, year: int
) -> CriterionAcrossUnitsView:
    wanted = {u.unit_id for u in units}
    rows = session.execute(
        select(index_entries.c.entry).where(
            index_entries.c.year == year,
            _in_subtree(session, index_entries.c.criterion_code, code),
            index_entries.c.removed.is_(False),
            index_entries.c.unit_id.in_(wanted),
        )
    ).scalars()
    found = [entry_from_json(row) for row in rows if row is not None]
    points = _self_assessed(session, wanted, year, code)
    view = criterion_across_units(
        code,
        found,
        [UnitRef(u.unit_id, u.name) for u in units],
        points,
        year,
    )
    return CriterionAcrossUnitsView(
        criterion=code,
        year=year,
        units=[
            UnitOnCriterion(
                unit_id=u.unit_id,
                name=u.unit_name,
                self_assessed=maybe_figure(u.points),
                evidence=[
                    EvidenceBrief(
                        link_id=e.link_id,
                        criterion_code=e.criterion_code,
                        number=e.number,
                        title=e.title,
                        decision=e.decision.value,
                        reasons=list(e.reasons),
                        link=e.link,
                    )
                    for e in u.evidence
                ],
            )
            for u in view.units
        ],
        without_evidence=[u.unit_id for u in view.without_evidence],
        signals=view.signals,
    )
