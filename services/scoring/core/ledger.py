"""One unit's scores for one year as an immutable state machine: `apply` returns a new ledger
or raises `ScoringError` (the old ledger is untouched either way).

Rules and their seeds:
- points lie in [0, leaf maximum] and on the leaf's allowed step (seed 003, Phụ lục I–III);
- survey leaves are imported, never self-scored or appraised (seed 003, III.1.c);
- after Submitted ("Gửi đi") the unit changes nothing (seed 004);
- the period locks itself at the level's deadline (seeds 003 IV.2, 004);
- after submission or lock, evidence is refused unless the council's SupplementRequested covers
  that leaf and date (seed 001);
- after Published nothing changes but a ResultCorrected naming the province's decision (issue 13:
  a published year is immutable except through a recorded correction); it is checked like any
  command (leaf, maximum, step) and kept in `corrections` with the totals before and after.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import TypeVar

from criteria.model import Level, Source
from services.scoring.core.commands import (
    AppraisalRecorded,
    Command,
    EvidenceUnlinked,
    EvidenceVerdict,
    Published,
    ResultCorrected,
    SelfScoreEntered,
    Submitted,
    SupplementRequested,
    SurveyResultsImported,
    Verdict,
)
from services.scoring.core.deadlines import DeadlineTable, local_date, lock_time
from services.scoring.core.errors import ScoringError, ScoringReason
from services.scoring.core.totals import ZERO, ZERO_SUMS, Sums, apply_leaf_change, totals_from_leaves
from services.scoring.core.tree import ROOT, ScoringTree

FIRST_ROUND = 1


@dataclass(frozen=True, slots=True)
class LeafState:
    self_points: Decimal | None = None
    explanation: str = ""
    accepted_links: int = 0
    appraised: Decimal | None = None
    appraisal_round: int = 0
    appraisal_comment: str = ""
    survey_points: Decimal | None = None

    @property
    def supported(self) -> bool:
        """Self points count as verified only with accepted evidence or an explanation (seed 001)."""
        return self.accepted_links > 0 or bool(self.explanation.strip())


EMPTY_LEAF = LeafState()


@dataclass(frozen=True, slots=True)
class EvidenceLink:
    leaf: str
    decision: Verdict
    reasons: tuple[str, ...]
    # When the verifier reported it (the event's time): an older verdict never replaces it.
    verified_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Supplement:
    leaves: frozenset[str]
    until: date
    requested_at: datetime


@dataclass(frozen=True, slots=True)
class Correction:
    """A recorded correction of a published result: the decision, why, when, and the total
    (achieved over the applicable maximum) before and after it."""

    decision_number: str
    reason: str
    at: datetime
    achieved_before: Decimal
    maximum_before: Decimal
    achieved_after: Decimal
    maximum_after: Decimal
    leaves: tuple[str, ...] = ()
    # Attributes the correction set: "maximum", "not_applicable", "ranked".
    attributes: tuple[str, ...] = ()


@dataclass(frozen=True)
class UnitSetup:
    """What a ledger needs before any command: data about the unit, not commands."""

    unit_id: str
    year: int
    tree: ScoringTree
    lock_at: datetime
    # Codes (fields, criteria or leaves) that do not apply to this unit (DOMAIN.md: Hà Nam 2023).
    not_applicable: frozenset[str] = frozenset()
    # Evaluated but not ranked (seed 003: Ban Dân tộc, Thanh tra tỉnh).
    ranked: bool = True
    # The applicable maximum as the province published it when it does not name the exempted
    # criteria (DOMAIN.md: Thanh Hóa 2023, Ban Dân tộc 68.32 points over 84 -> 81.33%).
    published_maximum: Decimal | None = None


def unit_setup(
    unit_id: str,
    year: int,
    tree: ScoringTree,
    deadlines: DeadlineTable,
    not_applicable: frozenset[str] = frozenset(),
    ranked: bool = True,
    published_maximum: Decimal | None = None,
) -> UnitSetup:
    lock_at = lock_time(tree.level, year, deadlines)
    return UnitSetup(unit_id, year, tree, lock_at, not_applicable, ranked, published_maximum)


@dataclass(frozen=True)
class Ledger:
    """Immutable by contract: the tables are plain dicts (fast copy-on-write) exposed as
    read-only Mappings; every change goes through `apply`, which copies before writing."""

    unit_id: str
    year: int
    tree: ScoringTree
    lock_at: datetime
    not_applicable: frozenset[str]
    ranked: bool
    leaves: Mapping[str, LeafState]
    links: Mapping[str, EvidenceLink]
    supplements: tuple[Supplement, ...]
    submitted_at: datetime | None
    published_at: datetime | None
    totals: Mapping[str, Sums]
    # Count of accepted commands; a consumer never sees it go backwards.
    version: int = 0
    published_maximum: Decimal | None = None
    # Links the unit removed: unlinking is final for a link id, so a verdict that arrives after
    # the unlink (the verifier was still working) is refused instead of bringing it back.
    removed_links: frozenset[str] = frozenset()
    corrections: tuple[Correction, ...] = ()

    @property
    def level(self) -> Level:
        return self.tree.level

    def leaf(self, code: str) -> LeafState:
        return self.leaves.get(code, EMPTY_LEAF)

    def is_locked(self, now: datetime) -> bool:
        return now >= self.lock_at


def published_total(ledger: Ledger) -> tuple[Decimal, Decimal]:
    """(achieved, applicable maximum) of the whole set, the published reduced maximum if any."""
    total = ledger.totals[ROOT]
    maximum = ledger.published_maximum if ledger.published_maximum is not None else total.maximum
    return total.achieved, maximum


def leaf_contribution(ledger: Ledger, code: str, state: LeafState) -> Sums:
    """A leaf's share of every sum (totals.py explains the four sums)."""
    if code in ledger.not_applicable:
        return ZERO_SUMS
    spec = ledger.tree.leaves[code]
    if spec.source is Source.SURVEY:
        survey = state.survey_points if state.survey_points is not None else ZERO
        return Sums(spec.maximum, ZERO, survey, survey)
    claimed = state.self_points if state.self_points is not None else ZERO
    verified = claimed if state.supported else ZERO
    # Appraised points are final (seed 003: "Điểm đạt được" is the council's column).
    achieved = state.appraised if state.appraised is not None else verified
    return Sums(spec.maximum, claimed, verified, achieved)


def open_ledger(setup: UnitSetup) -> Ledger:
    if setup.lock_at.tzinfo is None:
        raise ScoringError(ScoringReason.NAIVE_TIME, "lock_at must carry a time zone")
    tree = setup.tree
    not_applicable = tree.expand(setup.not_applicable)
    ledger = Ledger(
        unit_id=setup.unit_id,
        year=setup.year,
        tree=tree,
        lock_at=setup.lock_at,
        not_applicable=not_applicable,
        ranked=setup.ranked,
        leaves={},
        links={},
        supplements=(),
        submitted_at=None,
        published_at=None,
        totals={},
        published_maximum=setup.published_maximum,
    )
    contributions = {code: leaf_contribution(ledger, code, EMPTY_LEAF) for code in tree.leaves}
    ancestors = {code: spec.ancestors for code, spec in tree.leaves.items()}
    totals = totals_from_leaves(contributions, ancestors, tree.leaves_under)
    return dataclasses.replace(ledger, totals=totals)


def recompute_totals(ledger: Ledger) -> dict[str, Sums]:
    """Totals from scratch; equals `ledger.totals` (checked by tests and the benchmark)."""
    tree = ledger.tree
    contributions = {code: leaf_contribution(ledger, code, ledger.leaf(code)) for code in tree.leaves}
    ancestors = {code: spec.ancestors for code, spec in tree.leaves.items()}
    return totals_from_leaves(contributions, ancestors, tree.leaves_under)


_K = TypeVar("_K")
_V = TypeVar("_V")


def _copy(table: Mapping[_K, _V]) -> dict[_K, _V]:
    """Copy-on-write: tables are plain dicts typed as read-only Mappings; dict.copy is C-fast."""
    return table.copy() if isinstance(table, dict) else dict(table)


# ---- guards -------------------------------------------------------------------------------


def _refuse(reason: ScoringReason, message: str = "") -> ScoringError:
    return ScoringError(reason, message)


def _not_published(ledger: Ledger) -> None:
    if ledger.published_at is not None:
        raise _refuse(ScoringReason.ALREADY_PUBLISHED)


def _unit_may_edit(ledger: Ledger, now: datetime) -> None:
    """The unit's own changes: refused after submission, lock or publication."""
    _not_published(ledger)
    if ledger.submitted_at is not None:
        raise _refuse(ScoringReason.ALREADY_SUBMITTED)
    if ledger.is_locked(now):
        raise _refuse(ScoringReason.PERIOD_LOCKED, f"locked at {ledger.lock_at.isoformat()}")


def _council_may_act(ledger: Ledger, now: datetime) -> None:
    _not_published(ledger)
    if ledger.submitted_at is None and not ledger.is_locked(now):
        raise _refuse(ScoringReason.NOT_YET_SUBMITTED)


def _supplement_covers(ledger: Ledger, leaf: str, at: datetime) -> bool:
    day = local_date(at)
    return any(leaf in s.leaves and s.requested_at <= at and day <= s.until for s in ledger.supplements)


def _evidence_window(ledger: Ledger, leaf: str, at: datetime) -> None:
    """Evidence changes by the unit at `at`: open until submission/lock, then only on request."""
    _not_published(ledger)
    closed = (ledger.submitted_at is not None and ledger.submitted_at <= at) or ledger.is_locked(at)
    if closed and not _supplement_covers(ledger, leaf, at):
        raise _refuse(ScoringReason.EVIDENCE_AFTER_LOCK, f"no supplement request covers {leaf} at {at}")


def _scoreable_leaf(ledger: Ledger, code: str) -> None:
    tree = ledger.tree
    if code not in tree.leaves:
        if code in tree.leaves_under:
            raise _refuse(ScoringReason.NOT_A_LEAF, f"{code} has sub-criteria; score those")
        raise _refuse(ScoringReason.UNKNOWN_LEAF, code)
    if code in ledger.not_applicable:
        raise _refuse(ScoringReason.LEAF_NOT_APPLICABLE, code)


def _check_points(ledger: Ledger, code: str, points: Decimal, enforce_step: bool = True) -> None:
    if not isinstance(points, Decimal) or not points.is_finite():
        raise _refuse(ScoringReason.BAD_POINTS, f"{points!r} is not a finite Decimal")
    spec = ledger.tree.leaves[code]
    if points < ZERO or points > spec.maximum:
        raise _refuse(ScoringReason.POINTS_OUT_OF_RANGE, f"{points} not in [0, {spec.maximum}] for {code}")
    if enforce_step and spec.step is not None and points % spec.step != ZERO:
        raise _refuse(ScoringReason.POINTS_OFF_STEP, f"{points} is not a multiple of {spec.step} for {code}")


def _check_now(now: datetime) -> None:
    if now.tzinfo is None:
        raise _refuse(ScoringReason.NAIVE_TIME, "now must carry a time zone")


# ---- state changes --------------------------------------------------------------------------


def _with_leaves(ledger: Ledger, changes: Mapping[str, LeafState], **fields: object) -> Ledger:
    totals: Mapping[str, Sums] = ledger.totals
    leaves = _copy(ledger.leaves)
    for code, state in changes.items():
        delta = leaf_contribution(ledger, code, state).minus(
            leaf_contribution(ledger, code, ledger.leaf(code))
        )
        totals = apply_leaf_change(totals, code, ledger.tree.leaves[code].ancestors, delta)
        leaves[code] = state
    return dataclasses.replace(
        ledger,
        leaves=leaves,
        totals=totals,
        version=ledger.version + 1,
        **fields,  # type: ignore[arg-type]
    )


def _self_score(ledger: Ledger, cmd: SelfScoreEntered, now: datetime) -> Ledger:
    _unit_may_edit(ledger, now)
    _scoreable_leaf(ledger, cmd.leaf)
    if ledger.tree.leaves[cmd.leaf].source is Source.SURVEY:
        raise _refuse(ScoringReason.SURVEY_LEAF_SELF_SCORED, cmd.leaf)
    _check_points(ledger, cmd.leaf, cmd.points)
    state = dataclasses.replace(ledger.leaf(cmd.leaf), self_points=cmd.points, explanation=cmd.explanation)
    return _with_leaves(ledger, {cmd.leaf: state})


def _verdict(ledger: Ledger, cmd: EvidenceVerdict, now: datetime) -> Ledger:
    _scoreable_leaf(ledger, cmd.leaf)
    if ledger.tree.leaves[cmd.leaf].source is Source.SURVEY:
        raise _refuse(ScoringReason.EVIDENCE_ON_SURVEY_LEAF, cmd.leaf)
    if cmd.link_id in ledger.removed_links:
        raise _refuse(ScoringReason.LINK_REMOVED, cmd.link_id)
    previous = ledger.links.get(cmd.link_id)
    if previous is not None and previous.verified_at is not None and now < previous.verified_at:
        raise _refuse(
            ScoringReason.STALE_VERDICT, f"{cmd.link_id}: {now} is older than {previous.verified_at}"
        )
    if previous is None:
        at = cmd.linked_at or now
        _check_now(at)
        _evidence_window(ledger, cmd.leaf, at)
    else:
        # A new verdict on a link made in time (a re-verification) is not a change by the unit.
        _not_published(ledger)
        if previous.leaf != cmd.leaf:
            raise _refuse(ScoringReason.LINK_LEAF_MISMATCH, f"{cmd.link_id} is linked to {previous.leaf}")
    was = previous is not None and previous.decision is Verdict.ACCEPTED
    now_accepted = cmd.decision is Verdict.ACCEPTED
    state = ledger.leaf(cmd.leaf)
    state = dataclasses.replace(state, accepted_links=state.accepted_links + int(now_accepted) - int(was))
    links = _copy(ledger.links)
    links[cmd.link_id] = EvidenceLink(cmd.leaf, cmd.decision, cmd.reasons, now)
    return _with_leaves(ledger, {cmd.leaf: state}, links=links)


def _unlink(ledger: Ledger, cmd: EvidenceUnlinked, now: datetime) -> Ledger:
    link = ledger.links.get(cmd.link_id)
    removed = ledger.removed_links | {cmd.link_id}
    at = cmd.unlinked_at or now
    if link is None:
        # Scoring learns of a link from its verdict; an unlink may overtake it. Recorded, so the
        # verdict that follows is refused; nothing is counted either way.
        if cmd.leaf is None or cmd.link_id in ledger.removed_links:
            raise _refuse(ScoringReason.UNKNOWN_LINK, cmd.link_id)
        _scoreable_leaf(ledger, cmd.leaf)
        _check_now(at)
        _evidence_window(ledger, cmd.leaf, at)
        return dataclasses.replace(ledger, removed_links=removed, version=ledger.version + 1)
    _check_now(at)
    _evidence_window(ledger, link.leaf, at)
    state = ledger.leaf(link.leaf)
    if link.decision is Verdict.ACCEPTED:
        state = dataclasses.replace(state, accepted_links=state.accepted_links - 1)
    links = _copy(ledger.links)
    del links[cmd.link_id]
    return _with_leaves(ledger, {link.leaf: state}, links=links, removed_links=removed)


def _submit(ledger: Ledger, now: datetime) -> Ledger:
    _unit_may_edit(ledger, now)
    return dataclasses.replace(ledger, submitted_at=now, version=ledger.version + 1)


def _appraise(ledger: Ledger, cmd: AppraisalRecorded, now: datetime) -> Ledger:
    _council_may_act(ledger, now)
    _scoreable_leaf(ledger, cmd.leaf)
    if ledger.tree.leaves[cmd.leaf].source is Source.SURVEY:
        raise _refuse(ScoringReason.SURVEY_LEAF_APPRAISED, cmd.leaf)
    if cmd.round < FIRST_ROUND:
        raise _refuse(ScoringReason.BAD_ROUND, f"round {cmd.round}")
    _check_points(ledger, cmd.leaf, cmd.points)
    state = ledger.leaf(cmd.leaf)
    if cmd.round < state.appraisal_round:
        raise _refuse(ScoringReason.STALE_APPRAISAL_ROUND, f"round {cmd.round} < {state.appraisal_round}")
    state = dataclasses.replace(
        state, appraised=cmd.points, appraisal_round=cmd.round, appraisal_comment=cmd.comment
    )
    return _with_leaves(ledger, {cmd.leaf: state})


def _supplement(ledger: Ledger, cmd: SupplementRequested, now: datetime) -> Ledger:
    _council_may_act(ledger, now)
    if not cmd.leaves:
        raise _refuse(ScoringReason.EMPTY_COMMAND, "a supplement request names at least one criterion")
    leaves = ledger.tree.expand(cmd.leaves)
    if cmd.until < local_date(now):
        raise _refuse(ScoringReason.SUPPLEMENT_IN_PAST, f"until {cmd.until}")
    supplement = Supplement(leaves, cmd.until, now)
    return dataclasses.replace(
        ledger, supplements=(*ledger.supplements, supplement), version=ledger.version + 1
    )


def _survey(ledger: Ledger, cmd: SurveyResultsImported, now: datetime) -> Ledger:
    _not_published(ledger)
    if not cmd.results:
        raise _refuse(ScoringReason.EMPTY_COMMAND, "no survey results")
    changes: dict[str, LeafState] = {}
    for code, points in cmd.results.items():
        _scoreable_leaf(ledger, code)
        if ledger.tree.leaves[code].source is not Source.SURVEY:
            raise _refuse(ScoringReason.NOT_SURVEY_LEAF, code)
        # Survey points are computed by the survey, not typed: no step applies.
        _check_points(ledger, code, points, enforce_step=False)
        changes[code] = dataclasses.replace(ledger.leaf(code), survey_points=points)
    return _with_leaves(ledger, changes)


def _publish(ledger: Ledger, now: datetime) -> Ledger:
    _council_may_act(ledger, now)
    return dataclasses.replace(ledger, published_at=now, version=ledger.version + 1)


def _correct(ledger: Ledger, cmd: ResultCorrected, now: datetime) -> Ledger:
    if ledger.published_at is None:
        raise _refuse(ScoringReason.NOT_PUBLISHED, f"{ledger.unit_id} {ledger.year} is not published")
    if not cmd.decision_number.strip():
        raise _refuse(ScoringReason.EMPTY_COMMAND, "a correction names the decision that makes it")
    attributes = tuple(
        name
        for name, value in (
            ("maximum", cmd.maximum),
            ("not_applicable", cmd.not_applicable),
            ("ranked", cmd.ranked),
        )
        if value is not None
    )
    if not cmd.points and not attributes:
        raise _refuse(ScoringReason.EMPTY_COMMAND, "a correction changes at least one value")
    corrected = ledger
    if cmd.not_applicable is not None:
        corrected = dataclasses.replace(corrected, not_applicable=corrected.tree.expand(cmd.not_applicable))
        corrected = dataclasses.replace(corrected, totals=recompute_totals(corrected))
    fields: dict[str, object] = {
        "not_applicable": corrected.not_applicable,
        "ranked": ledger.ranked if cmd.ranked is None else cmd.ranked,
    }
    if cmd.maximum is not None:
        whole = sum((spec.maximum for spec in ledger.tree.leaves.values()), ZERO)
        maximum = cmd.maximum
        if not isinstance(maximum, Decimal) or not maximum.is_finite() or not ZERO < maximum <= whole:
            raise _refuse(ScoringReason.BAD_MAXIMUM, f"{maximum!r} not in (0, {whole}]")
        fields["published_maximum"] = maximum
    changes: dict[str, LeafState] = {}
    for code in sorted(cmd.points):
        points = cmd.points[code]
        _scoreable_leaf(corrected, code)
        state = corrected.leaf(code)
        if corrected.tree.leaves[code].source is Source.SURVEY:
            _check_points(corrected, code, points, enforce_step=False)
            changes[code] = dataclasses.replace(state, survey_points=points)
        else:
            _check_points(corrected, code, points)
            comment = f"{cmd.decision_number}: {cmd.reason}".strip()
            changes[code] = dataclasses.replace(state, appraised=points, appraisal_comment=comment)
    after = _with_leaves(corrected, changes, **fields)
    achieved_before, maximum_before = published_total(ledger)
    achieved_after, maximum_after = published_total(after)
    if achieved_after > maximum_after:
        # An index above 100: the applicable maximum must hold the points achieved.
        raise _refuse(
            ScoringReason.BAD_MAXIMUM, f"{achieved_after} achieved over a maximum of {maximum_after}"
        )
    record = Correction(
        cmd.decision_number,
        cmd.reason,
        now,
        achieved_before,
        maximum_before,
        achieved_after,
        maximum_after,
        tuple(changes),
        attributes,
    )
    return dataclasses.replace(after, corrections=(*ledger.corrections, record))


def apply(ledger: Ledger, command: Command, now: datetime) -> Ledger:
    """Apply one command at `now` (timezone-aware); raise ScoringError to refuse it."""
    _check_now(now)
    match command:
        case SelfScoreEntered():
            return _self_score(ledger, command, now)
        case EvidenceVerdict():
            return _verdict(ledger, command, now)
        case EvidenceUnlinked():
            return _unlink(ledger, command, now)
        case Submitted():
            return _submit(ledger, now)
        case AppraisalRecorded():
            return _appraise(ledger, command, now)
        case SupplementRequested():
            return _supplement(ledger, command, now)
        case SurveyResultsImported():
            return _survey(ledger, command, now)
        case Published():
            return _publish(ledger, now)
        case ResultCorrected():
            return _correct(ledger, command, now)
    raise TypeError(f"not a scoring command: {command!r}")  # pragma: no cover - exhaustive above
