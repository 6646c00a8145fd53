"""Per-node sums kept incrementally: a leaf change adds its delta to that leaf's ancestors only.

Four sums per node, all exact Decimals:
- maximum: the applicable maximum (leaves not applicable to the unit count 0);
- claimed: the unit's self-assessed points (the "Điểm tự đánh giá" column);
- projected: what the unit would get before appraisal (verified self points + survey points);
- achieved: appraised points where recorded, else verified self points, plus survey points.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import NamedTuple

ZERO = Decimal(0)


class Sums(NamedTuple):
    """Immutable; a NamedTuple because it is built on every leaf change (cheaper than a frozen
    dataclass). Use `plus`/`minus`: `+` on a tuple concatenates."""

    maximum: Decimal = ZERO
    claimed: Decimal = ZERO
    projected: Decimal = ZERO
    achieved: Decimal = ZERO

    def plus(self, other: Sums) -> Sums:
        return Sums(
            self.maximum + other.maximum,
            self.claimed + other.claimed,
            self.projected + other.projected,
            self.achieved + other.achieved,
        )

    def minus(self, other: Sums) -> Sums:
        return Sums(
            self.maximum - other.maximum,
            self.claimed - other.claimed,
            self.projected - other.projected,
            self.achieved - other.achieved,
        )

    @property
    def is_zero(self) -> bool:
        return not (self.maximum or self.claimed or self.projected or self.achieved)


ZERO_SUMS = Sums()

TreeTotals = Mapping[str, Sums]


def apply_leaf_change(
    totals: TreeTotals, leaf: str, ancestors: Iterable[str], delta: Sums
) -> dict[str, Sums]:
    """New totals with `delta` added to `leaf` and its `ancestors`; no other node is recomputed.

    The returned table is a shallow copy (one C-level dict copy) so the old state stays valid;
    only the len(ancestors) + 1 entries on the chain get new sums.
    """
    new = totals.copy() if isinstance(totals, dict) else dict(totals)
    if delta.is_zero:
        return new
    for code in (leaf, *ancestors):
        new[code] = new.get(code, ZERO_SUMS).plus(delta)
    return new


def totals_from_leaves(
    contributions: Mapping[str, Sums], ancestors: Mapping[str, tuple[str, ...]], nodes: Iterable[str]
) -> dict[str, Sums]:
    """Full recomputation (used to open a ledger and to check the incremental path)."""
    out = dict.fromkeys(nodes, ZERO_SUMS)
    for leaf, sums in contributions.items():
        for code in (leaf, *ancestors[leaf]):
            out[code] = out[code].plus(sums)
    return out
