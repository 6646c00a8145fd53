"""The appraiser's view of one criterion across units: points, evidence with verdicts, gaps.

Appraisers go criterion by criterion across every unit of their council (seed 001: evidence is
organised by field → criterion → sub-criterion). The index entries and the ledger are read from
the state database; the pure grouping is the indexer's `criterion_across_units`.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from contracts.events import SelfScoreEntered
from services.indexer.criteria_codes import in_subtree
from services.indexer.handlers import entry_from_json
from services.indexer.store import entries as index_entries
from services.indexer.views import UnitRef, criterion_across_units
from services.scoring.service import UnitInfo
from services.scoring.store import ledger as ledger_rows
from services.scoring.views import Figure, maybe_figure


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


def criterion_view(
    session: Session, units: Sequence[UnitInfo], code: str, year: int
) -> CriterionAcrossUnitsView:
    wanted = {u.unit_id for u in units}
    # The subtree is cut in SQL (the entry's criterion code, read from its JSON): a council's
    # units hold every criterion's evidence, and decoding all of it cost seconds at 100,000.
    criterion = index_entries.c.entry["criterion_code"].as_string()
    rows = session.execute(
        select(index_entries.c.entry).where(
            index_entries.c.year == year,
            index_entries.c.removed.is_(False),
            index_entries.c.unit_id.in_(wanted),
            or_(criterion == code, criterion.startswith(f"{code}.", autoescape=True)),
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
