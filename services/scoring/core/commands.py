"""Commands applied to one unit's ledger for one year. Each is a frozen value."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from types import MappingProxyType


class Verdict(StrEnum):
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    NEEDS_REVIEW = "needs_review"


@dataclass(frozen=True)
class SelfScoreEntered:
    """The unit's self-assessed points for a leaf; a non-empty explanation (giải trình) supports
    the score when no evidence is accepted (seed 001, 1.b)."""

    leaf: str
    points: Decimal
    explanation: str = ""


@dataclass(frozen=True)
class EvidenceVerdict:
    """The verifier's verdict on one linked document. `linked_at` is when the unit linked it
    (the unit's action); when absent, `now` of the command is used."""

    link_id: str
    leaf: str
    decision: Verdict
    reasons: tuple[str, ...] = ()
    linked_at: datetime | None = None


@dataclass(frozen=True)
class EvidenceUnlinked:
    link_id: str
    unlinked_at: datetime | None = None
    # The leaf the unit had linked it to: lets an unlink that overtook its verdict be recorded.
    leaf: str | None = None


@dataclass(frozen=True)
class Submitted:
    """The unit pressed "Gửi đi" (seed 004, step 4)."""


@dataclass(frozen=True)
class AppraisalRecorded:
    """The appraisal council's points for a leaf (seed 003, III.1.c); a later round supersedes."""

    leaf: str
    points: Decimal
    comment: str = ""
    round: int = 1


@dataclass(frozen=True)
class SupplementRequested:
    """The council asks in writing for more evidence on these leaves until `until` inclusive
    (seed 001: nothing is added after the deadline without such a request). Codes may name a
    criterion or field, covering every leaf under it."""

    leaves: tuple[str, ...]
    until: date


@dataclass(frozen=True)
class SurveyResultsImported:
    results: Mapping[str, Decimal] = field(default_factory=lambda: MappingProxyType({}))


@dataclass(frozen=True)
class Published:
    """The province published the year's results; the ledger is final."""


@dataclass(frozen=True)
class ResultCorrected:
    """A correction of a published result by the province's decision: corrected points per leaf
    (the council's final figure; survey leaves: the survey's) and/or the unit-year's attributes.
    None leaves an attribute as published. The only change a published ledger accepts."""

    decision_number: str
    reason: str
    points: Mapping[str, Decimal] = field(default_factory=lambda: MappingProxyType({}))
    maximum: Decimal | None = None
    not_applicable: frozenset[str] | None = None
    ranked: bool | None = None


Command = (
    SelfScoreEntered
    | EvidenceVerdict
    | EvidenceUnlinked
    | Submitted
    | AppraisalRecorded
    | SupplementRequested
    | SurveyResultsImported
    | Published
    | ResultCorrected
)
