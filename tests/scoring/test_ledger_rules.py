"""Ledger rules, each named with the seed that states it."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from criteria.loader import load_packaged_set
from criteria.model import Level
from services.scoring.core import (
    SEED_003_DEADLINES,
    AppraisalRecorded,
    Command,
    EvidenceUnlinked,
    EvidenceVerdict,
    Ledger,
    Published,
    ScoringError,
    ScoringReason,
    ScoringTree,
    SelfScoreEntered,
    Submitted,
    SupplementRequested,
    SurveyResultsImported,
    Verdict,
    apply,
    compile_tree,
    open_ledger,
    unit_setup,
)
from services.scoring.core.deadlines import lock_time
from tests.scoring.conftest import YEAR, vn

D = Decimal
JUNE = vn(6, 1)


def refused(ledger: Ledger, command: Command, now: datetime) -> ScoringReason:
    before = ledger
    with pytest.raises(ScoringError) as caught:
        apply(ledger, command, now)
    # State is immutable: a refused command leaves the ledger exactly as it was.
    assert ledger == before
    return caught.value.reason


def run(ledger: Ledger, *steps: tuple[Command, datetime]) -> Ledger:
    for command, now in steps:
        ledger = apply(ledger, command, now)
    return ledger


def test_seed_003_points_must_lie_within_the_leaf_maximum(ledger: Ledger) -> None:
    assert refused(ledger, SelfScoreEntered("1.2", D("8.25")), JUNE) is ScoringReason.POINTS_OUT_OF_RANGE
    assert refused(ledger, SelfScoreEntered("1.2", D("-0.25")), JUNE) is ScoringReason.POINTS_OUT_OF_RANGE
    assert refused(ledger, SelfScoreEntered("1.2", D("NaN")), JUNE) is ScoringReason.BAD_POINTS
    assert apply(ledger, SelfScoreEntered("1.2", D(8)), JUNE).leaf("1.2").self_points == D(8)


def test_points_must_be_on_the_leaf_step(ledger: Ledger) -> None:
    # 1.1 allows half points, the rest of the demo set quarter points.
    assert refused(ledger, SelfScoreEntered("1.1", D("9.25")), JUNE) is ScoringReason.POINTS_OFF_STEP
    assert refused(ledger, SelfScoreEntered("1.2", D("7.1")), JUNE) is ScoringReason.POINTS_OFF_STEP
    assert apply(ledger, SelfScoreEntered("1.2", D("7.75")), JUNE).totals["1"].claimed == D("7.75")


def test_seed_003_survey_leaves_are_imported_not_self_scored_or_appraised(ledger: Ledger) -> None:
    assert refused(ledger, SelfScoreEntered("4.1", D(10)), JUNE) is ScoringReason.SURVEY_LEAF_SELF_SCORED
    ev = EvidenceVerdict("l1", "4.1", Verdict.ACCEPTED)
    assert refused(ledger, ev, JUNE) is ScoringReason.EVIDENCE_ON_SURVEY_LEAF
    submitted = apply(ledger, Submitted(), JUNE)
    assert refused(submitted, AppraisalRecorded("4.1", D(5)), JUNE) is ScoringReason.SURVEY_LEAF_APPRAISED
    imported = apply(ledger, SurveyResultsImported({"4.1": D("17.3456")}), JUNE)
    assert imported.totals[""].achieved == D("17.3456")
    assert refused(ledger, SurveyResultsImported({"1.1": D(1)}), JUNE) is ScoringReason.NOT_SURVEY_LEAF
    assert refused(ledger, SurveyResultsImported({"4.1": D(21)}), JUNE) is ScoringReason.POINTS_OUT_OF_RANGE


def test_only_known_leaves_are_scored(ledger: Ledger) -> None:
    assert refused(ledger, SelfScoreEntered("1.3", D(1)), JUNE) is ScoringReason.NOT_A_LEAF
    assert refused(ledger, SelfScoreEntered("9.9", D(1)), JUNE) is ScoringReason.UNKNOWN_LEAF


def test_seed_004_after_submitting_the_unit_changes_nothing(ledger: Ledger) -> None:
    submitted = run(ledger, (SelfScoreEntered("1.2", D(6)), JUNE), (Submitted(), vn(6, 2)))
    assert refused(submitted, SelfScoreEntered("1.2", D(8)), vn(6, 3)) is ScoringReason.ALREADY_SUBMITTED
    assert refused(submitted, Submitted(), vn(6, 3)) is ScoringReason.ALREADY_SUBMITTED
    new_link = EvidenceVerdict("late", "1.2", Verdict.ACCEPTED, linked_at=vn(6, 3))
    assert refused(submitted, new_link, vn(6, 3)) is ScoringReason.EVIDENCE_AFTER_LOCK


def test_seed_003_department_period_locks_itself_after_15_12(ledger: Ledger) -> None:
    last_minute = vn(12, 15, 23, 59)
    assert apply(ledger, SelfScoreEntered("1.2", D(8)), last_minute).leaf("1.2").self_points == D(8)
    midnight_utc = datetime(YEAR, 12, 15, 17, 0, tzinfo=UTC)  # 16/12 00:00 in Vietnam
    assert refused(ledger, SelfScoreEntered("1.2", D(8)), midnight_utc) is ScoringReason.PERIOD_LOCKED
    assert refused(ledger, Submitted(), vn(12, 16)) is ScoringReason.PERIOD_LOCKED


def test_seed_003_deadline_table_per_level() -> None:
    assert lock_time(Level.COMMUNE, YEAR, SEED_003_DEADLINES) == vn(12, 1, 0)
    assert lock_time(Level.DEPARTMENT, YEAR, SEED_003_DEADLINES) == vn(12, 16, 0)
    assert lock_time(Level.DISTRICT, YEAR, SEED_003_DEADLINES) == vn(12, 21, 0)
    with pytest.raises(ScoringError) as caught:
        lock_time(Level.COMMUNE, YEAR, {})
    assert caught.value.reason is ScoringReason.UNKNOWN_LEVEL_DEADLINE


def test_seed_001_evidence_after_lock_needs_a_written_supplement_request(ledger: Ledger) -> None:
    late = vn(12, 20)
    assert (
        refused(ledger, EvidenceVerdict("a", "1.2", Verdict.ACCEPTED), late)
        is ScoringReason.EVIDENCE_AFTER_LOCK
    )
    asked = apply(ledger, SupplementRequested(("1.2", "2.1"), until=date(YEAR, 12, 25)), vn(12, 18))
    # Covered: 1.2 itself and every leaf under criterion 2.1, until 25/12 inclusive.
    covered = run(
        asked,
        (EvidenceVerdict("a", "1.2", Verdict.ACCEPTED), late),
        (EvidenceVerdict("b", "2.1.2", Verdict.ACCEPTED), vn(12, 25, 23)),
    )
    assert covered.leaf("1.2").accepted_links == 1
    assert (
        refused(asked, EvidenceVerdict("c", "1.1", Verdict.ACCEPTED), late)
        is ScoringReason.EVIDENCE_AFTER_LOCK
    )
    assert (
        refused(asked, EvidenceVerdict("d", "1.2", Verdict.ACCEPTED), vn(12, 26))
        is ScoringReason.EVIDENCE_AFTER_LOCK
    )
    # A request cannot reopen what was added before it was made.
    early = EvidenceVerdict("e", "1.2", Verdict.ACCEPTED, linked_at=vn(12, 17))
    assert refused(asked, early, late) is ScoringReason.EVIDENCE_AFTER_LOCK


def test_verdict_arriving_after_lock_counts_when_the_link_was_made_in_time(ledger: Ledger) -> None:
    verdict = EvidenceVerdict("a", "1.2", Verdict.ACCEPTED, linked_at=vn(12, 15, 22))
    assert apply(ledger, verdict, vn(12, 17)).leaf("1.2").accepted_links == 1


def test_seed_001_unlinking_after_lock_is_refused(ledger: Ledger) -> None:
    linked = apply(ledger, EvidenceVerdict("a", "1.2", Verdict.ACCEPTED), JUNE)
    assert refused(linked, EvidenceUnlinked("a"), vn(12, 20)) is ScoringReason.EVIDENCE_AFTER_LOCK
    assert (
        refused(linked, EvidenceUnlinked("zz", leaf="1.2"), vn(12, 20)) is ScoringReason.EVIDENCE_AFTER_LOCK
    )
    assert refused(linked, EvidenceUnlinked("zz"), JUNE) is ScoringReason.UNKNOWN_LINK
    assert apply(linked, EvidenceUnlinked("a"), JUNE).leaf("1.2").accepted_links == 0


def test_a_verdict_arriving_after_the_unit_unlinked_does_not_bring_the_link_back(ledger: Ledger) -> None:
    # Seed 001: the unit removes a document it linked; the verifier, still working on it,
    # reports afterwards. The late verdict must not count the removed document as evidence.
    verified = apply(ledger, EvidenceVerdict("a", "1.2", Verdict.ACCEPTED), JUNE)
    unlinked = apply(verified, EvidenceUnlinked("a"), vn(6, 2))
    late = EvidenceVerdict("a", "1.2", Verdict.ACCEPTED, linked_at=JUNE)
    assert refused(unlinked, late, vn(6, 3)) is ScoringReason.LINK_REMOVED
    assert unlinked.leaf("1.2").accepted_links == 0
    # Unlinked before its verdict arrived (scoring learns of a link from its verdict): the
    # unlink is recorded, and the verdict that follows is refused the same way.
    pending = apply(ledger, EvidenceUnlinked("b", leaf="1.2"), JUNE)
    assert (
        refused(pending, EvidenceVerdict("b", "1.2", Verdict.ACCEPTED), vn(6, 2))
        is ScoringReason.LINK_REMOVED
    )
    assert pending.leaf("1.2").accepted_links == 0


def test_an_older_verdict_delivered_late_does_not_replace_a_newer_one(ledger: Ledger) -> None:
    # A re-verification (new trust list, register finding) is newer than the first verdict;
    # when redelivery or a replayed dead letter brings the first one back, it is stale.
    first = EvidenceVerdict("a", "1.2", Verdict.ACCEPTED, linked_at=JUNE)
    second = EvidenceVerdict("a", "1.2", Verdict.REJECTED, ("register_duplicate_number",), linked_at=JUNE)
    accepted = apply(ledger, first, vn(6, 2))
    rejected = apply(accepted, second, vn(6, 5))
    assert rejected.leaf("1.2").accepted_links == 0
    assert refused(rejected, first, vn(6, 2)) is ScoringReason.STALE_VERDICT
    # The same moment again (a duplicate, not an older one) is not stale.
    assert apply(rejected, second, vn(6, 5)).leaf("1.2").accepted_links == 0


def test_reverification_may_not_move_a_link_to_another_leaf(ledger: Ledger) -> None:
    linked = apply(ledger, EvidenceVerdict("a", "1.2", Verdict.REJECTED), JUNE)
    moved = EvidenceVerdict("a", "1.1", Verdict.ACCEPTED)
    assert refused(linked, moved, JUNE) is ScoringReason.LINK_LEAF_MISMATCH


def test_seed_003_council_acts_after_submission_with_rounds(ledger: Ledger) -> None:
    early = AppraisalRecorded("1.2", D(5))
    assert refused(ledger, early, JUNE) is ScoringReason.NOT_YET_SUBMITTED
    submitted = apply(ledger, Submitted(), JUNE)
    second = apply(submitted, AppraisalRecorded("1.2", D(6), "vòng 2", round=2), vn(12, 20))
    stale = AppraisalRecorded("1.2", D(1), round=1)
    assert refused(second, stale, vn(12, 21)) is ScoringReason.STALE_APPRAISAL_ROUND
    assert refused(submitted, AppraisalRecorded("1.2", D(1), round=0), JUNE) is ScoringReason.BAD_ROUND
    past = SupplementRequested(("1.2",), until=date(YEAR, 6, 1))
    assert refused(submitted, past, vn(6, 2)) is ScoringReason.SUPPLEMENT_IN_PAST
    # A unit that never submitted is appraised once the period has locked.
    assert apply(ledger, early, vn(12, 20)).leaf("1.2").appraised == D(5)


def test_after_publication_nothing_changes(ledger: Ledger) -> None:
    assert refused(ledger, Published(), JUNE) is ScoringReason.NOT_YET_SUBMITTED
    published = run(ledger, (Submitted(), JUNE), (Published(), vn(12, 30)))
    for command in (
        AppraisalRecorded("1.2", D(1)),
        SurveyResultsImported({"4.1": D(1)}),
        EvidenceVerdict("x", "1.2", Verdict.ACCEPTED),
        Published(),
    ):
        assert refused(published, command, vn(12, 31)) is ScoringReason.ALREADY_PUBLISHED


def test_time_must_carry_a_zone(ledger: Ledger) -> None:
    naive = datetime(YEAR, 6, 1, 9)
    assert refused(ledger, SelfScoreEntered("1.2", D(1)), naive) is ScoringReason.NAIVE_TIME


def test_not_applicable_leaves_cannot_be_scored(demo_tree: ScoringTree) -> None:
    ledger = open_ledger(unit_setup("van-phong", YEAR, demo_tree, SEED_003_DEADLINES, frozenset({"3"})))
    assert refused(ledger, SelfScoreEntered("3.2", D(1)), JUNE) is ScoringReason.LEAF_NOT_APPLICABLE


def test_seed_003_template_sets_cannot_be_scored_until_their_points_are_filled_in() -> None:
    with pytest.raises(ScoringError) as caught:
        compile_tree(load_packaged_set("vinhlong-1877-2023-commune.yaml"))
    assert caught.value.reason is ScoringReason.INCOMPLETE_CRITERIA


def test_version_counts_accepted_commands_only(ledger: Ledger) -> None:
    after = apply(ledger, SelfScoreEntered("1.2", D(1)), JUNE)
    with pytest.raises(ScoringError):
        apply(after, SelfScoreEntered("1.2", D(99)), JUNE)
    assert (ledger.version, after.version) == (0, 1)
