"""Bounded in-process caches: core Ledgers per (unit, year) and Standings per (level, year).

An entry is tagged with the last ledger row it includes (seq and event id) and the unit's
registration it was built from. The handler reads the database's latest row for the unit inside
its transaction, while it holds the unit's row lock, and uses the cached ledger only when the tags
agree; anything else (another worker wrote, a transaction rolled back, the unit was re-registered)
is a miss and the ledger is replayed from the store. So the cache can make scoring faster but
never different.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

from services.scoring.core.ledger import Ledger
from services.scoring.core.standings import Standings
from services.scoring.service import UnitInfo

DEFAULT_CAPACITY = 4096
# Levels × years a worker ranks: 3 levels for a handful of years is the realistic load.
DEFAULT_RANKING_CAPACITY = 64


@dataclass(frozen=True, slots=True)
class LedgerTag:
    """The newest ledger row folded into a cached Ledger; None seq means "no rows yet"."""

    seq: int | None
    event_id: str | None


NO_ROWS = LedgerTag(None, None)


@dataclass(frozen=True, slots=True)
class _Entry:
    unit: UnitInfo
    tag: LedgerTag
    ledger: Ledger


class LedgerCache:
    """Least-recently-used, at most `capacity` ledgers; `hits`/`misses` count lookups."""

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        if capacity < 0:
            raise ValueError("capacity must be >= 0")
        self.capacity = capacity
        self._items: OrderedDict[tuple[str, int], _Entry] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._items)

    def get(self, unit: UnitInfo, year: int, tag: LedgerTag) -> Ledger | None:
        key = (unit.unit_id, year)
        entry = self._items.get(key)
        if entry is None or entry.tag != tag or entry.unit != unit:
            self.misses += 1
            return None
        self._items.move_to_end(key)
        self.hits += 1
        return entry.ledger

    def put(self, unit: UnitInfo, year: int, tag: LedgerTag, ledger: Ledger) -> None:
        if self.capacity == 0:
            return
        key = (unit.unit_id, year)
        self._items[key] = _Entry(unit, tag, ledger)
        self._items.move_to_end(key)
        while len(self._items) > self.capacity:
            self._items.popitem(last=False)

    def forget_unit(self, unit_id: str) -> None:
        for key in [k for k in self._items if k[0] == unit_id]:
            del self._items[key]

    def clear(self) -> None:
        self._items.clear()


# ---- rankings ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RankingTag:
    """The stored ranking row a cached Standings matches: its version and the id of the
    RankingUpdated that wrote it (unique, so a rolled-back write can never be matched)."""

    version: int | None
    event_id: str | None


NO_RANKING = RankingTag(None, None)


class RankingCache:
    """The standings of each (level, year), tagged with the ranking row they match.

    Validity rests on one rule kept by the handlers: whoever changes a unit's entry (its index,
    whether it is ranked, its level) bumps the ranking row in the same transaction, while holding
    the row's lock. So equal tags mean equal standings; anything else is a miss and the standings
    are rebuilt from the score rows. Tables written behind the handlers' back need `clear()`.
    """

    def __init__(self, capacity: int = DEFAULT_RANKING_CAPACITY) -> None:
        if capacity < 0:
            raise ValueError("capacity must be >= 0")
        self.capacity = capacity
        self._items: OrderedDict[tuple[str, int], tuple[RankingTag, Standings]] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._items)

    def get(self, level: str, year: int, tag: RankingTag) -> Standings | None:
        key = (level, year)
        entry = self._items.get(key)
        if entry is None or entry[0] != tag:
            self.misses += 1
            return None
        self._items.move_to_end(key)
        self.hits += 1
        return entry[1]

    def put(self, level: str, year: int, tag: RankingTag, table: Standings) -> None:
        if self.capacity == 0:
            return
        key = (level, year)
        self._items[key] = (tag, table)
        self._items.move_to_end(key)
        while len(self._items) > self.capacity:
            self._items.popitem(last=False)

    def clear(self) -> None:
        self._items.clear()
