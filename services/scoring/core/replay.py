"""Many units: apply addressed events live, or replay a whole log into every unit's ledger.

`replay(events, setups)` folds the same `apply` the live path uses, so replaying the log gives
exactly the live state; refused events are refused again and listed with their reason.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType

from services.scoring.core.commands import Command
from services.scoring.core.errors import ScoringError, ScoringReason
from services.scoring.core.ledger import Ledger, UnitSetup, apply, open_ledger
from services.scoring.core.scores import UnitScore, score


@dataclass(frozen=True, slots=True, order=True)
class UnitKey:
    unit_id: str
    year: int


@dataclass(frozen=True)
class UnitEvent:
    unit_id: str
    year: int
    now: datetime
    command: Command

    @property
    def key(self) -> UnitKey:
        return UnitKey(self.unit_id, self.year)


@dataclass(frozen=True)
class Rejection:
    position: int
    event: UnitEvent
    reason: ScoringReason


@dataclass(frozen=True)
class ReplayResult:
    ledgers: Mapping[UnitKey, Ledger]
    rejected: tuple[Rejection, ...]

    def scores(self) -> dict[UnitKey, UnitScore]:
        return {key: score(ledger) for key, ledger in self.ledgers.items()}


def setup_table(setups: Iterable[UnitSetup]) -> dict[UnitKey, UnitSetup]:
    return {UnitKey(s.unit_id, s.year): s for s in setups}


def apply_event(
    ledgers: Mapping[UnitKey, Ledger], setups: Mapping[UnitKey, UnitSetup], event: UnitEvent
) -> Ledger:
    """The unit's new ledger after `event` (opened from its setup on first use); raises to refuse."""
    key = event.key
    ledger = ledgers.get(key)
    if ledger is None:
        setup = setups.get(key)
        if setup is None:
            raise ScoringError(ScoringReason.UNKNOWN_UNIT, f"{key.unit_id}/{key.year}")
        ledger = open_ledger(setup)
    return apply(ledger, event.command, event.now)


def replay(events: Iterable[UnitEvent], setups: Mapping[UnitKey, UnitSetup]) -> ReplayResult:
    """Every unit's ledger after the log; units with a setup but no events are opened empty."""
    ledgers: dict[UnitKey, Ledger] = {key: open_ledger(setup) for key, setup in setups.items()}
    rejected: list[Rejection] = []
    for position, event in enumerate(events):
        try:
            ledgers[event.key] = apply_event(ledgers, setups, event)
        except ScoringError as exc:
            rejected.append(Rejection(position, event, exc.reason))
    return ReplayResult(MappingProxyType(ledgers), tuple(rejected))
