"""Version 1 of every event kiemchung consumes or produces.

A breaking change gets a new model with `schema_version: Literal[2]` beside the old one; the old
one stays until no producer sends it (see tests/contracts/test_compatibility.py).
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import ClassVar, Literal
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from contracts.envelope import Event
from contracts.report import VerificationReport
from contracts.vocabulary import Level, ReasonCode

CriterionCode = str
MAX_SEARCH_TEXT_CHARS = 100_000
YEAR_MIN = 2000
YEAR_MAX = 2100
# Provinces publish survey results with up to 4 decimals (e.g. SIPAS 8.1: 17.2534); 6 leaves room.
# Widening the places keeps every message valid that was valid before (the schema snapshot holds
# no bound on places, so consumers see the same contract).
POINT_PLACES = 6
POINT_DIGITS = 12
_CODE_PATTERN = r"^[0-9]+(\.[0-9]+)*$"
# Widths of what consumers store (their columns are no narrower: tests/contracts checks it), so a
# message too long for a store is refused as INVALID_PAYLOAD at the door on every runtime,
# instead of failing one database and not another.
CODE_CHARS = 32
UNIT_ID_CHARS = 100
NAME_CHARS = 300
REF_CHARS = 100  # council ids, criteria set ids
DOCUMENT_ID_CHARS = 200
ACTOR_CHARS = 200
_CODE_RE = re.compile(_CODE_PATTERN)
_SHA256_PATTERN = r"^[0-9a-f]{64}$"


class UnitRegistered(Event):
    """A unit to be scored: its level, council and which leaves do not apply to it."""

    TYPE: ClassVar[str] = "UnitRegistered"
    VERSION: ClassVar[int] = 1
    type: Literal["UnitRegistered"] = "UnitRegistered"
    schema_version: Literal[1] = 1

    unit_id: str = Field(min_length=1, max_length=UNIT_ID_CHARS)
    name: str = Field(min_length=1, max_length=NAME_CHARS)
    level: Level
    council_id: str = Field(
        min_length=1, max_length=REF_CHARS, description="The appraisal council that scores this unit"
    )
    criteria_set: str = Field(
        min_length=1, max_length=REF_CHARS, description="Id of the criteria set, e.g. demo-department"
    )
    ranked: bool = True
    not_applicable: list[str] = Field(default_factory=list, description="Criterion codes not scored")
    organisation_names: list[str] = Field(
        default_factory=list,
        max_length=20,
        description="Names on the unit's seal certificates (O or CN) when they differ from `name`",
    )
    parent_unit_id: str | None = Field(
        default=None,
        max_length=UNIT_ID_CHARS,
        description="The body the unit belongs to (a district's commune)",
    )


class DocumentLinked(Event):
    """A unit linked an e-office document to a criterion leaf as evidence for a year."""

    TYPE: ClassVar[str] = "DocumentLinked"
    VERSION: ClassVar[int] = 1
    type: Literal["DocumentLinked"] = "DocumentLinked"
    schema_version: Literal[1] = 1

    link_id: UUID
    unit_id: str = Field(min_length=1, max_length=UNIT_ID_CHARS)
    year: int = Field(ge=YEAR_MIN, le=YEAR_MAX)
    criterion_code: CriterionCode = Field(pattern=_CODE_PATTERN, max_length=CODE_CHARS)
    document_id: str = Field(
        min_length=1, max_length=DOCUMENT_ID_CHARS, description="The document's id in the e-office system"
    )
    fetch_url: str = Field(min_length=1, description="Claim check: where to fetch the PDF")
    sha256: str | None = Field(default=None, pattern=_SHA256_PATTERN)
    number: str | None = Field(default=None, description='Number and notation, e.g. "15/KH-UBND"')
    issuer: str | None = None
    issued_on: date | None = None
    title: str = ""
    linked_by: str = Field(min_length=1, max_length=ACTOR_CHARS)


class DocumentUnlinked(Event):
    TYPE: ClassVar[str] = "DocumentUnlinked"
    VERSION: ClassVar[int] = 1
    type: Literal["DocumentUnlinked"] = "DocumentUnlinked"
    schema_version: Literal[1] = 1

    link_id: UUID
    unit_id: str = Field(min_length=1, max_length=UNIT_ID_CHARS)
    year: int = Field(ge=YEAR_MIN, le=YEAR_MAX)
    criterion_code: CriterionCode = Field(pattern=_CODE_PATTERN, max_length=CODE_CHARS)
    unlinked_by: str = Field(min_length=1, max_length=ACTOR_CHARS)


class SelfScoreEntered(Event):
    TYPE: ClassVar[str] = "SelfScoreEntered"
    VERSION: ClassVar[int] = 1
    type: Literal["SelfScoreEntered"] = "SelfScoreEntered"
    schema_version: Literal[1] = 1

    unit_id: str = Field(min_length=1, max_length=UNIT_ID_CHARS)
    year: int = Field(ge=YEAR_MIN, le=YEAR_MAX)
    criterion_code: CriterionCode = Field(pattern=_CODE_PATTERN, max_length=CODE_CHARS)
    points: Decimal = Field(ge=0, max_digits=POINT_DIGITS, decimal_places=POINT_PLACES)
    explanation: str | None = None
    entered_by: str = Field(min_length=1, max_length=ACTOR_CHARS)


MAX_RELATED_LINKS = 50


class RelatedLink(BaseModel):
    """Another link that makes a register finding true, as an appraiser needs to see it."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    link_id: UUID
    unit_id: str = Field(min_length=1, max_length=UNIT_ID_CHARS)
    year: int = Field(ge=YEAR_MIN, le=YEAR_MAX)
    criterion_code: CriterionCode = Field(pattern=_CODE_PATTERN, max_length=CODE_CHARS)
    number: str | None = None
    issued_on: date | None = None


class RegisterFinding(BaseModel):
    """A cross-document check of the province-wide register that holds for this link."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    code: ReasonCode
    detail: str = Field(default="", max_length=500, description="The facts behind it (dates, numbers)")
    related: list[RelatedLink] = Field(default_factory=list, max_length=MAX_RELATED_LINKS)
    related_total: int = Field(default=0, ge=0, description="How many links are involved, shown or not")


class EvidenceVerified(Event):
    """The verifier's verdict on one linked document."""

    TYPE: ClassVar[str] = "EvidenceVerified"
    VERSION: ClassVar[int] = 1
    type: Literal["EvidenceVerified"] = "EvidenceVerified"
    schema_version: Literal[1] = 1

    link_id: UUID
    unit_id: str = Field(min_length=1, max_length=UNIT_ID_CHARS)
    year: int = Field(ge=YEAR_MIN, le=YEAR_MAX)
    criterion_code: CriterionCode = Field(pattern=_CODE_PATTERN, max_length=CODE_CHARS)
    document_id: str = Field(max_length=DOCUMENT_ID_CHARS)
    fetch_url: str
    title: str = ""
    issuer: str | None = None
    report: VerificationReport
    text: str = Field(default="", max_length=MAX_SEARCH_TEXT_CHARS)
    linked_at: AwareDatetime | None = Field(
        default=None, description="When the unit linked the document (decides the deadline rules)"
    )
    findings: list[RegisterFinding] = Field(
        default_factory=list,
        description="Register checks across documents; their codes are also in report.reasons. A new "
        "EvidenceVerified for the same link replaces the earlier verdict when these change.",
    )


class Submitted(Event):
    """The unit pressed "Gửi đi": its self-assessment is final."""

    TYPE: ClassVar[str] = "Submitted"
    VERSION: ClassVar[int] = 1
    type: Literal["Submitted"] = "Submitted"
    schema_version: Literal[1] = 1

    unit_id: str = Field(min_length=1, max_length=UNIT_ID_CHARS)
    year: int = Field(ge=YEAR_MIN, le=YEAR_MAX)
    submitted_by: str = Field(min_length=1, max_length=ACTOR_CHARS)


class AppraisalRecorded(Event):
    TYPE: ClassVar[str] = "AppraisalRecorded"
    VERSION: ClassVar[int] = 1
    type: Literal["AppraisalRecorded"] = "AppraisalRecorded"
    schema_version: Literal[1] = 1

    unit_id: str = Field(min_length=1, max_length=UNIT_ID_CHARS)
    year: int = Field(ge=YEAR_MIN, le=YEAR_MAX)
    criterion_code: CriterionCode = Field(pattern=_CODE_PATTERN, max_length=CODE_CHARS)
    points: Decimal = Field(ge=0, max_digits=POINT_DIGITS, decimal_places=POINT_PLACES)
    comment: str = ""
    round: int = Field(default=1, ge=1)
    council_id: str = Field(min_length=1, max_length=REF_CHARS)
    appraised_by: str = Field(min_length=1, max_length=ACTOR_CHARS)


class SupplementRequested(Event):
    TYPE: ClassVar[str] = "SupplementRequested"
    VERSION: ClassVar[int] = 1
    type: Literal["SupplementRequested"] = "SupplementRequested"
    schema_version: Literal[1] = 1

    unit_id: str = Field(min_length=1, max_length=UNIT_ID_CHARS)
    year: int = Field(ge=YEAR_MIN, le=YEAR_MAX)
    criterion_codes: list[CriterionCode] = Field(min_length=1)
    until: date
    council_id: str = Field(min_length=1, max_length=REF_CHARS)
    document_number: str = Field(min_length=1, description="The council's written request")

    @field_validator("criterion_codes")
    @classmethod
    def _codes_are_codes(cls, codes: list[str]) -> list[str]:
        # Checked here, not in the item schema: a changed item schema would read as a breaking
        # change to consumers of the published v1 snapshot, and this only refuses what no
        # consumer could score anyway.
        for code in codes:
            if len(code) > CODE_CHARS or not _CODE_RE.fullmatch(code):
                raise ValueError(f"{code[:40]!r} is not a criterion code")
        return codes


class SurveyPoints(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    unit_id: str = Field(min_length=1, max_length=UNIT_ID_CHARS)
    criterion_code: CriterionCode = Field(pattern=_CODE_PATTERN, max_length=CODE_CHARS)
    points: Decimal = Field(ge=0, max_digits=POINT_DIGITS, decimal_places=POINT_PLACES)


class SurveyResultsImported(Event):
    TYPE: ClassVar[str] = "SurveyResultsImported"
    VERSION: ClassVar[int] = 1
    type: Literal["SurveyResultsImported"] = "SurveyResultsImported"
    schema_version: Literal[1] = 1

    year: int = Field(ge=YEAR_MIN, le=YEAR_MAX)
    source: str = Field(min_length=1, description="e.g. SIPAS 2024")
    results: list[SurveyPoints] = Field(min_length=1)


MAX_PUBLISHED_UNITS = 20_000
MAX_SETUP_CODES = 500


class PublishedSetup(BaseModel):
    """A unit-year's setup as it was published (issue 13): what its ledger is opened with."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    unit_id: str = Field(min_length=1, max_length=100)
    criteria_set: str = Field(min_length=1, max_length=100)
    overlays: list[str] = Field(default_factory=list, max_length=50)
    criteria_digest: str = Field(min_length=64, max_length=64, pattern=_SHA256_PATTERN)
    not_applicable: list[CriterionCode] = Field(default_factory=list, max_length=MAX_SETUP_CODES)
    maximum: Decimal | None = Field(default=None, gt=0, max_digits=POINT_DIGITS, decimal_places=POINT_PLACES)
    ranked: bool = True
    group: str | None = Field(default=None, max_length=100)
    lock_at: AwareDatetime


MAX_PUBLISHED_BANDS = 20
MAX_PUBLISHED_GROUPS = 200
SHOWN_NAME_CHARS = 300


class PublishedBand(BaseModel):
    """A rating band as published: its name and the lowest printed index it takes."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str = Field(max_length=SHOWN_NAME_CHARS)
    minimum: Decimal = Field(ge=0, le=100)


class PublishedGroup(BaseModel):
    """A ranking group of the level as published: its id (the setups' `group`) and name."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str = Field(min_length=1, max_length=100)
    name: str = Field(max_length=SHOWN_NAME_CHARS)
    level: Level


class PublishedDisplay(BaseModel):
    """How the level's year was shown when it was published (issue 13): the index's decimals
    and decimal mark, the rating bands (highest first) and the level's ranking groups, as the
    year's rules file said then; `from_file` false: there was none (two decimals, a point)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    from_file: bool = True
    decimals: int = Field(ge=0, le=4)
    decimal_comma: bool = False
    bands: list[PublishedBand] = Field(default_factory=list, max_length=MAX_PUBLISHED_BANDS)
    groups: list[PublishedGroup] = Field(default_factory=list, max_length=MAX_PUBLISHED_GROUPS)


class Published(Event):
    TYPE: ClassVar[str] = "Published"
    VERSION: ClassVar[int] = 1
    type: Literal["Published"] = "Published"
    schema_version: Literal[1] = 1

    year: int = Field(ge=YEAR_MIN, le=YEAR_MAX)
    level: Level
    decision_number: str = Field(min_length=1, max_length=REF_CHARS)
    setups: list[PublishedSetup] | None = Field(
        default=None,
        max_length=MAX_PUBLISHED_UNITS,
        description=(
            "The setup each unit was published with, as `kiemchung ledger export` writes it so a "
            "replay rebuilds the published year as published; absent, today's rules files decide"
        ),
    )
    display: PublishedDisplay | None = Field(
        default=None,
        description=(
            "How the level's year was shown when published, as `kiemchung ledger export` writes it "
            "so a replay shows it as published; absent, the year's rules file at hand decides"
        ),
    )


MAX_CORRECTED_LEAVES = 500
MAX_REASON_CHARS = 2000


class CorrectedPoints(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    criterion_code: CriterionCode = Field(pattern=_CODE_PATTERN, max_length=CODE_CHARS)
    points: Decimal = Field(ge=0, max_digits=POINT_DIGITS, decimal_places=POINT_PLACES)


class ResultCorrected(Event):
    """The province corrects a published result by a decision (issue 13: a published year is
    immutable except through a recorded correction): corrected points per leaf (the council's
    final points; the survey's for survey leaves) and/or the unit-year's attributes. An absent
    attribute stays as published."""

    TYPE: ClassVar[str] = "ResultCorrected"
    VERSION: ClassVar[int] = 1
    type: Literal["ResultCorrected"] = "ResultCorrected"
    schema_version: Literal[1] = 1

    unit_id: str = Field(min_length=1, max_length=UNIT_ID_CHARS)
    year: int = Field(ge=YEAR_MIN, le=YEAR_MAX)
    decision_number: str = Field(min_length=1, max_length=100, description="The correcting decision")
    reason: str = Field(min_length=1, max_length=MAX_REASON_CHARS)
    points: list[CorrectedPoints] = Field(default_factory=list, max_length=MAX_CORRECTED_LEAVES)
    maximum: Decimal | None = Field(
        default=None,
        gt=0,
        max_digits=POINT_DIGITS,
        decimal_places=POINT_PLACES,
        description="The applicable maximum as corrected (a published reduced maximum)",
    )
    not_applicable: list[CriterionCode] | None = Field(
        default=None, max_length=MAX_CORRECTED_LEAVES, description="Codes not scored, as corrected"
    )
    ranked: bool | None = None
    corrected_by: str = Field(min_length=1, max_length=200)


class ComponentScore(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    code: CriterionCode
    maximum: Decimal
    achieved: Decimal
    index: Decimal | None = Field(description="achieved / maximum x 100; None when nothing applies")


class ScoreUpdated(Event):
    """A unit's running score; `version` only grows per unit and year."""

    TYPE: ClassVar[str] = "ScoreUpdated"
    VERSION: ClassVar[int] = 1
    type: Literal["ScoreUpdated"] = "ScoreUpdated"
    schema_version: Literal[1] = 1

    unit_id: str = Field(max_length=UNIT_ID_CHARS)
    year: int
    level: Level
    version: int = Field(ge=1)
    maximum: Decimal = Field(description="Applicable maximum")
    self_assessed: Decimal
    verified: Decimal
    appraised: Decimal | None = None
    survey: Decimal
    achieved: Decimal
    index: Decimal
    projected_index: Decimal
    components: list[ComponentScore] = Field(default_factory=list)
    has_result: bool = Field(
        default=True, description="False when no points are recorded: `index` means nothing"
    )


class RankEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    unit_id: str = Field(max_length=UNIT_ID_CHARS)
    index: Decimal
    rank: int | None = Field(description="None for units evaluated but not ranked")
    no_result: bool = Field(default=False, description="No points recorded: no index (not 0), not ranked")


class RankingUpdated(Event):
    TYPE: ClassVar[str] = "RankingUpdated"
    VERSION: ClassVar[int] = 1
    type: Literal["RankingUpdated"] = "RankingUpdated"
    schema_version: Literal[1] = 1

    year: int
    level: Level
    version: int = Field(ge=1)
    entries: list[RankEntry]
    not_ranked: list[RankEntry] = Field(default_factory=list)


ALL_EVENTS: tuple[type[Event], ...] = (
    UnitRegistered,
    DocumentLinked,
    DocumentUnlinked,
    SelfScoreEntered,
    EvidenceVerified,
    Submitted,
    AppraisalRecorded,
    SupplementRequested,
    SurveyResultsImported,
    Published,
    ResultCorrected,
    ScoreUpdated,
    RankingUpdated,
)
