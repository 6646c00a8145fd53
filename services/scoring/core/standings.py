"""A level's ranking kept incrementally: one unit's change costs a binary search, not a re-sort.

`Standings` holds the competing units sorted by (index descending, unit id) and the units listed
apart (not ranked, or with no index). `with_entry`/`without` return a new Standings (copy on
write: a list copy is a memcpy, cheap next to sorting) and return the same object when nothing
changes, so "did the ranking change?" is an identity check. `ranking()` assigns competition ranks
(1, 2, 2, 4) in one pass and equals `ranking.rank` over the same entries (property-tested).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Mapping
from decimal import Decimal
from types import MappingProxyType

from services.scoring.core.ranking import FIRST_RANK, RankedUnit, RankEntry, Ranking


def _competes(entry: RankEntry) -> bool:
    return entry.ranked and entry.index is not None


def _order(entry: RankEntry) -> tuple[Decimal, str]:
    # Highest index first, ties by unit id: the order `rank` lists them in.
    assert entry.index is not None  # only competing entries are ordered
    return (-entry.index, entry.unit_id)


class Standings:
    """Immutable once built; build with `standings(entries)`."""

    __slots__ = ("_by_unit", "_ordered")

    def __init__(self, by_unit: dict[str, RankEntry], ordered: list[RankEntry]) -> None:
        self._by_unit = by_unit
        self._ordered = ordered

    @property
    def entries(self) -> Mapping[str, RankEntry]:
        return MappingProxyType(self._by_unit)

    def __len__(self) -> int:
        return len(self._by_unit)

    def _position(self, entry: RankEntry) -> int:
        return bisect_left(self._ordered, _order(entry), key=_order)

    def with_entry(self, entry: RankEntry) -> Standings:
        """Add or replace one unit's entry; `self` when it is already there unchanged."""
        old = self._by_unit.get(entry.unit_id)
        if old == entry:
            return self
        ordered = self._ordered.copy()
        if old is not None and _competes(old):
            del ordered[self._position(old)]
        if _competes(entry):
            ordered.insert(bisect_left(ordered, _order(entry), key=_order), entry)
        by_unit = self._by_unit.copy()
        by_unit[entry.unit_id] = entry
        return Standings(by_unit, ordered)

    def without(self, unit_id: str) -> Standings:
        old = self._by_unit.get(unit_id)
        if old is None:
            return self
        ordered = self._ordered.copy()
        if _competes(old):
            del ordered[self._position(old)]
        by_unit = self._by_unit.copy()
        del by_unit[unit_id]
        return Standings(by_unit, ordered)

    def ranking(self) -> Ranking:
        out: list[RankedUnit] = []
        previous: Decimal | None = None
        current_rank = FIRST_RANK
        for position, entry in enumerate(self._ordered, start=FIRST_RANK):
            index = entry.index
            assert index is not None  # only competing entries are ordered
            if index != previous:
                current_rank = position
                previous = index
            out.append(RankedUnit(current_rank, entry.unit_id, index))
        apart = sorted((e for e in self._by_unit.values() if not _competes(e)), key=lambda e: e.unit_id)
        return Ranking(tuple(out), tuple(apart))


EMPTY_STANDINGS = Standings({}, [])


def standings(entries: Iterable[RankEntry]) -> Standings:
    """Standings of `entries` (one per unit; a later entry for the same unit replaces it)."""
    by_unit = {e.unit_id: e for e in entries}
    ordered = sorted((e for e in by_unit.values() if _competes(e)), key=_order)
    return Standings(by_unit, ordered)
