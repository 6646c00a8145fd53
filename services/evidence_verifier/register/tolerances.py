"""How much a province tolerates before a cross-document check fires. Typed, with named defaults;
`kiemchung/runtime/settings.py` exposes each as KIEMCHUNG_REGISTER_*."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from typing import Protocol

from contracts.vocabulary import Level

# A registry numbers documents as they are issued; a drafter may print yesterday's date or the
# office may number a document a few days after it was dated. A week covers that; "document 20
# dated weeks before document 15" does not fit in it.
DEFAULT_NUMBER_ORDER_TOLERANCE = timedelta(days=7)
# Documents are signed the day they are dated, or within a few days when a head is away. A plan
# dated January and signed in December is far beyond this.
DEFAULT_SIGNING_TOLERANCE = timedelta(days=15)


class NumberSeries(StrEnum):
    """What one number sequence covers. Nghị định 30/2020 gives each issuer one sequence per
    year; some offices still keep one per kind of document (KH, QĐ, BC…)."""

    PER_ISSUER = "per_issuer"
    PER_NOTATION = "per_notation"


# The last day a unit of a level may submit for a year; None when no deadline is known.
DeadlineLookup = Callable[[Level, int], date | None]


def no_deadlines(level: Level, year: int) -> date | None:
    return None


@dataclass(frozen=True)
class RegisterTolerances:
    number_order: timedelta = DEFAULT_NUMBER_ORDER_TOLERANCE
    signed_after_issue: timedelta = DEFAULT_SIGNING_TOLERANCE
    number_series: NumberSeries = NumberSeries.PER_ISSUER
    # A joint document (liên tịch, sealed by several organisations) may be linked by each of them.
    allow_joint_reuse: bool = True
    # A unit may link a document its parent body issued (a commune citing the district's plan).
    allow_parent_issuer: bool = False


DEFAULT_TOLERANCES = RegisterTolerances()


class RegisterSettings(Protocol):
    """The slice of the runtime settings the register reads (kiemchung/runtime/settings.py)."""

    @property
    def register_number_order_days(self) -> int | None: ...
    @property
    def register_signed_after_issue_days(self) -> int | None: ...
    @property
    def register_number_series(self) -> str: ...
    @property
    def register_allow_joint_reuse(self) -> bool: ...
    @property
    def register_allow_parent_issuer(self) -> bool: ...


def register_tolerances(settings: RegisterSettings) -> RegisterTolerances:
    order, signed = settings.register_number_order_days, settings.register_signed_after_issue_days
    return RegisterTolerances(
        number_order=DEFAULT_NUMBER_ORDER_TOLERANCE if order is None else timedelta(days=order),
        signed_after_issue=DEFAULT_SIGNING_TOLERANCE if signed is None else timedelta(days=signed),
        number_series=NumberSeries(settings.register_number_series),
        allow_joint_reuse=settings.register_allow_joint_reuse,
        allow_parent_issuer=settings.register_allow_parent_issuer,
    )
