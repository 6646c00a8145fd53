"""The scoring service's rules through its real handlers, on SQLite and on PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select

from contracts.events import RankingUpdated, ScoreUpdated
from contracts.vocabulary import Decision, ReasonCode
from kiemchung.runtime.messaging import Status
from services.scoring.store import ledger, rejections
from tests.scoring.kit import OTHER_COUNCIL, Scoring, vn

NOI_VU = "so-noi-vu"
TAI_CHINH = "so-tai-chinh"
DAN_TOC = "ban-dan-toc"


async def _units(scoring: Scoring) -> None:
    await scoring.register(NOI_VU, "Sở Nội vụ")
    await scoring.register(TAI_CHINH, "Sở Tài chính", council=OTHER_COUNCIL)
    await scoring.register(DAN_TOC, "Ban Dân tộc", ranked=False, not_applicable=("3",))


async def test_the_period_locks_at_the_start_of_the_day_after_the_deadline(scoring: Scoring) -> None:
    await _units(scoring)
    last_minute = await scoring.self_score(NOI_VU, "1.2", "8", at=vn(12, 15, 23, 59), explanation="BC số 5")
    too_late = await scoring.self_score(NOI_VU, "1.2", "4", at=vn(12, 16, 0, 0), explanation="BC số 5")
    assert (last_minute.status, too_late.status) == (Status.PROCESSED, Status.PROCESSED)
    assert too_late.produced == ()
    assert scoring.snapshot(NOI_VU)["self_assessed"] == "8"
    assert scoring.rejection_reasons() == [(NOI_VU, "SelfScoreEntered", "period_locked")]


async def test_a_submitted_unit_changes_nothing(scoring: Scoring) -> None:
    await _units(scoring)
    await scoring.self_score(NOI_VU, "1.2", "8", explanation="BC số 5")
    await scoring.submit(NOI_VU, at=vn(11, 25))
    before = scoring.snapshot(NOI_VU)
    await scoring.self_score(NOI_VU, "1.2", "2", at=vn(11, 26), explanation="sửa")
    await scoring.verdict(NOI_VU, "1.1", uuid.uuid4(), at=vn(11, 26))
    await scoring.submit(NOI_VU, at=vn(11, 27))
    assert scoring.snapshot(NOI_VU) == before
    assert [r[2] for r in scoring.rejection_reasons()] == [
        "already_submitted",
        "evidence_after_lock",
        "already_submitted",
    ]


async def test_a_written_supplement_request_reopens_only_the_named_leaves(scoring: Scoring) -> None:
    await _units(scoring)
    await scoring.self_score(NOI_VU, "1.1", "10")
    await scoring.self_score(NOI_VU, "1.2", "8")
    await scoring.submit(NOI_VU, at=vn(11, 25))
    assert scoring.snapshot(NOI_VU)["verified"] == "0"
    # The council cannot ask before the unit submitted or the period locked; here it has submitted.
    asked = await scoring.supplement(NOI_VU, ["1.1"], date(2025, 12, 22), at=vn(12, 18))
    assert asked.status is Status.PROCESSED
    assert asked.produced
    await scoring.verdict(NOI_VU, "1.1", uuid.uuid4(), at=vn(12, 19))
    await scoring.verdict(NOI_VU, "1.2", uuid.uuid4(), at=vn(12, 19))
    await scoring.verdict(NOI_VU, "1.1", uuid.uuid4(), at=vn(12, 23))  # after `until`
    assert scoring.snapshot(NOI_VU)["verified"] == "10"
    assert [r[2] for r in scoring.rejection_reasons()] == ["evidence_after_lock", "evidence_after_lock"]


async def test_survey_results_are_imported_for_many_units_and_never_typed(scoring: Scoring) -> None:
    await _units(scoring)
    await scoring.survey({NOI_VU: "17.5", TAI_CHINH: "16.25"})
    typed = await scoring.self_score(NOI_VU, "4.1", "20")
    assert typed.produced == ()
    assert (scoring.snapshot(NOI_VU)["survey"], scoring.snapshot(TAI_CHINH)["survey"]) == ("17.5", "16.25")
    assert scoring.rejection_reasons() == [(NOI_VU, "SelfScoreEntered", "survey_leaf_self_scored")]


async def test_not_ranked_units_are_listed_apart_over_their_applicable_maximum(scoring: Scoring) -> None:
    await _units(scoring)
    await scoring.self_score(NOI_VU, "1.1", "10", explanation="KH số 1")
    await scoring.self_score(DAN_TOC, "1.1", "10", explanation="KH số 1")
    refused = await scoring.self_score(DAN_TOC, "3.2", "10", explanation="không áp dụng")
    assert refused.produced == ()
    ranking = scoring.ranking()
    assert [e["unit_id"] for e in ranking["entries"]] == [NOI_VU]
    assert [(e["unit_id"], e["rank"]) for e in ranking["not_ranked"]] == [(DAN_TOC, None)]
    # Field 3 (20 points) does not apply: 10 / 80 × 100.
    assert scoring.snapshot(DAN_TOC)["maximum"] == "80"
    assert scoring.index(DAN_TOC) == Decimal("12.5")
    assert scoring.rejection_reasons()[-1] == (DAN_TOC, "SelfScoreEntered", "leaf_not_applicable")


async def test_equal_indices_share_a_rank_and_the_next_rank_skips(scoring: Scoring) -> None:
    await _units(scoring)
    await scoring.register("so-y-te", "Sở Y tế")
    for unit, points in ((NOI_VU, "8"), (TAI_CHINH, "8"), ("so-y-te", "6")):
        await scoring.self_score(unit, "1.2", points, explanation="BC")
    entries = [(e["unit_id"], e["rank"]) for e in scoring.ranking()["entries"]]
    assert entries == [(NOI_VU, 1), (TAI_CHINH, 1), ("so-y-te", 3)]


async def test_score_and_ranking_versions_only_grow(scoring: Scoring) -> None:
    await _units(scoring)
    await scoring.self_score(NOI_VU, "1.1", "10")
    await scoring.self_score(NOI_VU, "1.1", "11")  # refused: above the maximum
    await scoring.self_score(TAI_CHINH, "1.2", "3")
    await scoring.verdict(NOI_VU, "1.1", uuid.uuid4())
    survey = await scoring.survey({NOI_VU: "15", TAI_CHINH: "14"})
    submitted = await scoring.submit(NOI_VU)
    await scoring.appraise(NOI_VU, "1.1", "9.5")
    assert scoring.score_versions(NOI_VU) == [1, 2, 3, 4, 5]
    assert scoring.score_versions(TAI_CHINH) == [1, 2]
    # One RankingUpdated for the two units the survey moved; none for the submission, which
    # changes no index: versions grow by one per ranking that actually changed.
    assert [type(e).__name__ for e in survey.produced] == ["ScoreUpdated", "ScoreUpdated", "RankingUpdated"]
    assert [e for e in submitted.produced if isinstance(e, RankingUpdated)] == []
    assert scoring.ranking_versions() == [1, 2, 3, 4, 5]
    assert scoring.ranking()["version"] == 5
    assert scoring.snapshot(NOI_VU)["version"] == 5
    assert scoring.snapshot(NOI_VU)["appraised"] == "9.5"


async def test_a_refused_command_is_recorded_and_changes_nothing_already_recorded(scoring: Scoring) -> None:
    await _units(scoring)
    await scoring.self_score(NOI_VU, "1.1", "10", explanation="KH số 1")
    with scoring.sessions() as session:
        ledger_before = session.execute(select(ledger).order_by(ledger.c.seq)).all()
    score_before, ranking_before = scoring.snapshot(NOI_VU), scoring.ranking()
    outcomes = [
        await scoring.self_score(NOI_VU, "1.1", "9.25"),  # off the 0.5 step of 1.1
        await scoring.self_score(NOI_VU, "9.9", "1"),
        await scoring.self_score("khong-co", "1.1", "1"),
        await scoring.appraise(NOI_VU, "1.1", "5", at=vn(11, 21)),  # not submitted, not locked
        await scoring.unlink(NOI_VU, "9.9", uuid.uuid4()),
    ]
    assert all(o.status is Status.PROCESSED and o.produced == () for o in outcomes)
    with scoring.sessions() as session:
        assert session.execute(select(ledger).order_by(ledger.c.seq)).all() == ledger_before
        details = session.execute(select(rejections.c.detail).order_by(rejections.c.seq)).scalars().all()
    assert (scoring.snapshot(NOI_VU), scoring.ranking()) == (score_before, ranking_before)
    assert [r[2] for r in scoring.rejection_reasons()] == [
        "points_off_step",
        "unknown_leaf",
        "unknown_unit",
        "not_yet_submitted",
        "unknown_leaf",
    ]
    assert all(details)


async def test_a_verdict_that_arrives_after_the_unit_unlinked_the_document_counts_for_nothing(
    scoring: Scoring,
) -> None:
    # Seed 001: evidence the unit removed is not evidence. The verifier works in parallel with
    # the unit, so its verdict may come after the unlink, or the unlink before any verdict.
    await _units(scoring)
    await scoring.self_score(NOI_VU, "1.2", "8", at=vn(11, 1))
    before = scoring.snapshot(NOI_VU)
    late, early = uuid.uuid4(), uuid.uuid4()
    await scoring.verdict(NOI_VU, "1.2", late, at=vn(11, 2))
    assert scoring.snapshot(NOI_VU)["verified"] != before["verified"]
    await scoring.unlink(NOI_VU, "1.2", late, at=vn(11, 3))
    await scoring.unlink(NOI_VU, "1.2", early, at=vn(11, 3))
    for link in (late, early):
        outcome = await scoring.verdict(NOI_VU, "1.2", link, at=vn(11, 4), linked_at=vn(11, 2))
        assert (outcome.status, outcome.produced) == (Status.PROCESSED, ())
    after = scoring.snapshot(NOI_VU)
    assert after["verified"] == before["verified"]
    assert [r[2] for r in scoring.rejection_reasons()] == ["link_removed", "link_removed"]


async def test_a_stale_verdict_redelivered_after_a_newer_one_changes_nothing(scoring: Scoring) -> None:
    await _units(scoring)
    await scoring.self_score(NOI_VU, "1.2", "8", at=vn(11, 1))
    link = uuid.uuid4()
    await scoring.verdict(NOI_VU, "1.2", link, at=vn(11, 2))
    await scoring.verdict(
        NOI_VU, "1.2", link, decision=Decision.REJECTED, reasons=(ReasonCode.LETTERED_NUMBER,), at=vn(11, 5)
    )
    rejected = scoring.snapshot(NOI_VU)
    # A dead letter of the first verdict replayed later (a new event id, the old time).
    await scoring.verdict(NOI_VU, "1.2", link, at=vn(11, 2), linked_at=vn(11, 1))
    assert scoring.snapshot(NOI_VU) == rejected
    assert [r[2] for r in scoring.rejection_reasons()] == ["stale_verdict"]


async def test_the_ledger_keeps_who_when_which_leaf_and_the_values_before_and_after(scoring: Scoring) -> None:
    await _units(scoring)
    await scoring.self_score(NOI_VU, "1.1", "10", at=vn(11, 1))
    await scoring.self_score(NOI_VU, "1.1", "9.5", at=vn(11, 2), explanation="KH số 1")
    link = uuid.uuid4()
    await scoring.verdict(
        NOI_VU, "1.1", link, decision=Decision.REJECTED, reasons=(ReasonCode.LETTERED_NUMBER,)
    )
    with scoring.sessions() as session:
        rows = session.execute(select(ledger).where(ledger.c.unit_id == NOI_VU).order_by(ledger.c.seq)).all()
    second = rows[1]
    assert (second.actor, second.criterion_code, second.score_version) == (f"{NOI_VU}.vanthu", "1.1", 2)
    assert second.occurred_at == vn(11, 2)
    [change] = second.changes
    assert (change["before"]["self_assessed"], change["after"]["self_assessed"]) == ("10", "9.5")
    assert (change["before"]["explanation"], change["after"]["explanation"]) == ("", "KH số 1")
    # A rejected verdict is recorded (the unit sees it) but changes no value of the leaf.
    assert (rows[2].event_type, rows[2].changes[0]["after"]["accepted_links"]) == ("EvidenceVerified", 0)


async def test_redelivery_and_publication(scoring: Scoring) -> None:
    await _units(scoring)
    first = await scoring.self_score(NOI_VU, "1.2", "8", explanation="BC")
    assert first.event is not None
    again = await scoring.send(first.event)
    assert again.status is Status.DUPLICATE
    await scoring.submit(NOI_VU)
    await scoring.submit(TAI_CHINH)
    await scoring.submit(DAN_TOC)
    published = await scoring.publish()
    assert {e.unit_id for e in published.produced if isinstance(e, ScoreUpdated)} == {
        NOI_VU,
        TAI_CHINH,
        DAN_TOC,
    }
    # Publication changes no index, so the ranking stands as it was: no RankingUpdated.
    assert not any(isinstance(e, RankingUpdated) for e in published.produced)
    # Sở Tài chính submitted no points: no result, listed apart, not ranked last at 0 (issue 13).
    assert [e["unit_id"] for e in scoring.ranking()["entries"]] == [NOI_VU]
    assert (TAI_CHINH, True) in [(e["unit_id"], e["no_result"]) for e in scoring.ranking()["not_ranked"]]
    late = await scoring.appraise(NOI_VU, "1.2", "7")
    assert late.produced == ()
    assert scoring.rejection_reasons()[-1] == (NOI_VU, "AppraisalRecorded", "already_published")
    with scoring.sessions() as session:
        counted = session.execute(select(func.count()).select_from(ledger)).scalar_one()
    assert counted == 1 + 3 + 3  # one score, three submissions, three publications
