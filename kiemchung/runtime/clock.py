"""Time and identity sources, injected so the cores stay deterministic in tests."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

Clock = Callable[[], datetime]
IdSource = Callable[[], uuid.UUID]


def system_clock() -> datetime:
    return datetime.now(UTC)


@dataclass
class FrozenClock:
    """A clock for tests and the demo: returns `now`, moved only by `advance`."""

    now: datetime
    step: timedelta = field(default=timedelta(0))

    def __call__(self) -> datetime:
        current = self.now
        self.now = self.now + self.step
        return current


def random_ids() -> uuid.UUID:
    return uuid.uuid4()


@dataclass
class SeededIds:
    """Deterministic UUIDs for reproducible demos and tests."""

    seed: int = 0
    counter: int = 0

    def __call__(self) -> uuid.UUID:
        self.counter += 1
        return uuid.UUID(int=(self.seed << 64) | self.counter, version=4)
