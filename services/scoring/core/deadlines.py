"""Submission deadlines per level and the moment a period locks itself.

Seed 003 (IV.2): communes submit by 30/11, departments by 15/12, districts by 20/12 of the
scored year. "By 30/11" includes that whole day in Vietnam time, so the period locks at the
start of the following day, 00:00 UTC+7. Each year's plan may set other dates: pass a table.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from types import MappingProxyType

from criteria.model import Level
from services.scoring.core.errors import ScoringError, ScoringReason

VIETNAM_TZ = timezone(timedelta(hours=7), "ICT")
ONE_DAY = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class MonthDay:
    month: int
    day: int


DeadlineTable = Mapping[Level, MonthDay]

SEED_003_DEADLINES: DeadlineTable = MappingProxyType(
    {
        Level.COMMUNE: MonthDay(11, 30),
        Level.DEPARTMENT: MonthDay(12, 15),
        Level.DISTRICT: MonthDay(12, 20),
    }
)


def last_day(level: Level, year: int, table: DeadlineTable) -> date:
    if level not in table:
        raise ScoringError(ScoringReason.UNKNOWN_LEVEL_DEADLINE, f"no deadline for {level.value}")
    deadline = table[level]
    return date(year, deadline.month, deadline.day)


def lock_time(level: Level, year: int, table: DeadlineTable) -> datetime:
    """The first instant after the deadline day, in Vietnam time."""
    return datetime.combine(last_day(level, year, table) + ONE_DAY, time(0), tzinfo=VIETNAM_TZ)


def local_date(moment: datetime) -> date:
    return moment.astimezone(VIETNAM_TZ).date()
