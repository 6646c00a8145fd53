"""Indexes from a ledger's sums, and the display rounding.

index = achieved / applicable maximum × 100 (seed 003, III.1.d; DOMAIN.md: leaves that do not
apply to a unit leave the maximum). The same ratio for a field or criterion is its component
index. Before appraisal, `projected_index` uses verified self points and survey points.

Exactness: sums are exact Decimals. The division is done in a fixed 50-digit context and is
correctly rounded, so two equal ratios give equal Decimals and two different ratios of
realistic point values (a few decimals, maxima ≤ 100) never collapse together: ranking
compares these values directly. Rounding to two decimals (ROUND_HALF_UP, as published tables
do: 81.325 -> 81.33) happens only in `display`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Context, Decimal
from types import MappingProxyType

from criteria.model import Level
from services.scoring.core.ledger import Ledger
from services.scoring.core.totals import ZERO, Sums
from services.scoring.core.tree import ROOT

HUNDRED = Decimal(100)
INDEX_CONTEXT = Context(prec=50, rounding=ROUND_HALF_EVEN)
DISPLAY_PLACES = 2


def ratio_index(part: Decimal, maximum: Decimal) -> Decimal | None:
    """part / maximum × 100, or None when nothing applies (maximum 0)."""
    if maximum <= ZERO:
        return None
    return INDEX_CONTEXT.divide(INDEX_CONTEXT.multiply(part, HUNDRED), maximum)


def display(value: Decimal, places: int = DISPLAY_PLACES) -> Decimal:
    """Round for display or export only: `places` decimals, half up (81.325 -> 81.33)."""
    return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


@dataclass(frozen=True, slots=True)
class NodeScore:
    code: str
    maximum: Decimal
    claimed: Decimal
    projected: Decimal
    achieved: Decimal
    index: Decimal | None
    projected_index: Decimal | None


def node_score(code: str, sums: Sums) -> NodeScore:
    return NodeScore(
        code,
        sums.maximum,
        sums.claimed,
        sums.projected,
        sums.achieved,
        ratio_index(sums.achieved, sums.maximum),
        ratio_index(sums.projected, sums.maximum),
    )


@dataclass(frozen=True)
class UnitScore:
    unit_id: str
    year: int
    level: Level
    ranked: bool
    version: int
    submitted: bool
    published: bool
    total: NodeScore
    # Every field and criterion (codes of depth 1 and 2).
    components: Mapping[str, NodeScore]

    @property
    def index(self) -> Decimal | None:
        return self.total.index


def _total(ledger: Ledger) -> Sums:
    total = ledger.totals[ROOT]
    if ledger.published_maximum is None:
        return total
    return total._replace(maximum=ledger.published_maximum)


def has_result(ledger: Ledger) -> bool:
    """Whether any points were recorded (self-assessed, appraised or survey). A unit with none
    has no result: it is not ranked, and never published as an index of 0 ranked last."""
    return any(
        state.self_points is not None or state.appraised is not None or state.survey_points is not None
        for state in ledger.leaves.values()
    )


def score(ledger: Ledger) -> UnitScore:
    totals = ledger.totals
    return UnitScore(
        unit_id=ledger.unit_id,
        year=ledger.year,
        level=ledger.level,
        ranked=ledger.ranked,
        version=ledger.version,
        submitted=ledger.submitted_at is not None,
        published=ledger.published_at is not None,
        total=node_score(ROOT, _total(ledger)),
        components=MappingProxyType(
            {code: node_score(code, totals[code]) for code in ledger.tree.components}
        ),
    )
