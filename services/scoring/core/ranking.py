"""Ranking units of one level and year by index, highest first (seed 003, III.1.đ).

Ties share a rank and the next rank skips (1, 2, 2, 4), comparing exact Decimals. Units that
are evaluated but not ranked (seed 003: Ban Dân tộc, Thanh tra tỉnh; seed 000: Văn phòng
HĐND&UBND, Thanh tra Thành phố) and units with no applicable maximum are listed apart.
Within a tie, units are listed by id so the result does not depend on input order.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from operator import attrgetter
from typing import NamedTuple

from criteria.model import Level
from services.scoring.core.scores import UnitScore

FIRST_RANK = 1


class RankEntry(NamedTuple):
    """NamedTuples here: ranking builds 10,000 of them and frozen dataclasses are slower."""

    unit_id: str
    # Shadows tuple.index on purpose: "index" is the domain's word (Chỉ số).
    index: Decimal | None  # type: ignore[assignment]
    ranked: bool = True


class RankedUnit(NamedTuple):
    rank: int
    unit_id: str
    index: Decimal  # type: ignore[assignment]


@dataclass(frozen=True)
class Ranking:
    ranked: tuple[RankedUnit, ...]
    not_ranked: tuple[RankEntry, ...]


def rank(entries: Iterable[RankEntry]) -> Ranking:
    competing: list[RankEntry] = []
    apart: list[RankEntry] = []
    for entry in entries:
        (competing if entry.ranked and entry.index is not None else apart).append(entry)
    # Two stable sorts: by id, then by index descending, keep ties in id order.
    competing.sort(key=attrgetter("unit_id"))
    competing.sort(key=attrgetter("index"), reverse=True)
    out: list[RankedUnit] = []
    previous: Decimal | None = None
    current_rank = FIRST_RANK
    for position, entry in enumerate(competing, start=FIRST_RANK):
        index = entry.index
        assert index is not None  # filtered above
        if index != previous:
            current_rank = position
            previous = index
        out.append(RankedUnit(current_rank, entry.unit_id, index))
    apart.sort(key=attrgetter("unit_id"))
    return Ranking(tuple(out), tuple(apart))


def rank_scores(scores: Iterable[UnitScore], level: Level, year: int) -> Ranking:
    """Rank the scores of one level and year; others in `scores` are ignored."""
    return rank(
        RankEntry(s.unit_id, s.index, s.ranked) for s in scores if s.level is level and s.year == year
    )
