"""The appraiser's view of one criterion across units: points, evidence with verdicts, gaps.

Appraisers go criterion by criterion across every unit of their council (seed 001: evidence is
organised by field → criterion → sub-criterion). The index entries and the ledger are read from
the state database; the pure grouping is the indexer's `criterion_across_units`.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from pydantic import BaseModel, ConfigDict
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.indexer.handlers import entry_from_json
from services.indexer.store import entries as index_entries
from services.indexer.views import UnitRef, criterion_across_units
from services.scoring.handlers import current_ledger
from services.scoring.service import CriteriaCatalogue, UnitInfo
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


def _self_assessed(
    session: Session, unit: UnitInfo, year: int, code: str, catalogue: CriteriaCatalogue
) -> Decimal | None:
    if unit.criteria_set not in catalogue.trees:
        return None
    ledger = current_ledger(session, unit, year, catalogue)
    leaves = ledger.tree.leaves_under.get(code, ())
    if not any(ledger.leaf(leaf).self_points is not None for leaf in leaves):
        return None  # the unit entered nothing for this criterion
    return ledger.totals[code].claimed


def criterion_view(
    session: Session, units: Sequence[UnitInfo], code: str, year: int, catalogue: CriteriaCatalogue
) -> CriterionAcrossUnitsView:
    wanted = {u.unit_id for u in units}
    rows = session.execute(
        select(index_entries.c.entry).where(
            index_entries.c.year == year,
            index_entries.c.removed.is_(False),
            index_entries.c.unit_id.in_(wanted),
        )
    ).scalars()
    found = [entry_from_json(row) for row in rows if row is not None]
    points: dict[str, Decimal] = {}
    for unit in units:
        value = _self_assessed(session, unit, year, code, catalogue)
        if value is not None:
            points[unit.unit_id] = value
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
    )
