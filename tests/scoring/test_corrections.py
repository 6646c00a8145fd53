"""A published year is immutable except through a recorded correction (issue 13).

Seeds 003/004: after the province publishes ("công bố") a level's results, nothing the units or
the council send changes them. A province that must change a published result does so by a
decision (e.g. after a re-check, "phúc tra"): the ResultCorrected event names the decision and the
reason and is checked like any other command. These tests drive the pure core, then the scoring
service on both stores (SQLite embedded, PostgreSQL distributed).
"""

from __future__ import annotations

from decimal import Decimal
from types import MappingProxyType

import pytest
from sqlalchemy import func, select

from contracts.events import Published, PublishedSetup, RankingUpdated, ScoreUpdated
from contracts.vocabulary import Level
from kiemchung.runtime.messaging import Status
from services.scoring.core import commands as cmd
from services.scoring.core.errors import ScoringError, ScoringReason
from services.scoring.core.ledger import Ledger, apply, recompute_totals
from services.scoring.core.published import tree_digest
from services.scoring.core.scores import ratio_index, score
from services.scoring.service import DEMO_SET_ID
from services.scoring.store import ledger as ledger_rows
from services.scoring.store import published_setups
from tests.scoring.conftest import vn
from tests.scoring.kit import Scoring, catalogue

D = Decimal
DECISION = "215/QĐ-UBND"


def _published(ledger: Ledger) -> Ledger:
    state = apply(ledger, cmd.SelfScoreEntered("1.1", D("8"), "KH số 1"), vn(11, 20))
    state = apply(state, cmd.Submitted(), vn(11, 21))
    state = apply(state, cmd.AppraisalRecorded("1.1", D("7")), vn(12, 20))
    state = apply(state, cmd.SurveyResultsImported(MappingProxyType({"4.1": D("15")})), vn(12, 21))
    return apply(state, cmd.Published(), vn(12, 30))


def _correction(**fields: object) -> cmd.ResultCorrected:
    return cmd.ResultCorrected(decision_number=DECISION, reason="phúc tra", **fields)  # type: ignore[arg-type]


AFTER = vn(2, 5, year=2026)


# ---- the pure core ----------------------------------------------------------------------------


def test_a_correction_of_an_unpublished_year_is_refused(ledger: Ledger) -> None:
    with pytest.raises(ScoringError) as caught:
        apply(ledger, _correction(points=MappingProxyType({"1.1": D("9")})), AFTER)
    assert caught.value.reason is ScoringReason.NOT_PUBLISHED


def test_every_other_command_on_a_published_year_stays_refused(ledger: Ledger) -> None:
    published = _published(ledger)
    corrected = apply(published, _correction(points=MappingProxyType({"1.1": D("9")})), AFTER)
    for command in (
        cmd.AppraisalRecorded("1.1", D("10"), round=2),
        cmd.SurveyResultsImported(MappingProxyType({"4.1": D("20")})),
        cmd.Published(),
    ):
        for state in (published, corrected):
            with pytest.raises(ScoringError) as caught:
                apply(state, command, AFTER)
            assert caught.value.reason is ScoringReason.ALREADY_PUBLISHED


def test_a_correction_changes_points_and_records_the_totals_before_and_after(ledger: Ledger) -> None:
    published = _published(ledger)
    assert score(published).total.achieved == D("22")  # 7 appraised + 15 survey
    corrected = apply(
        published, _correction(points=MappingProxyType({"1.1": D("9.5"), "4.1": D("16.25")})), AFTER
    )
    assert score(corrected).total.achieved == D("25.75")
    assert corrected.version == published.version + 1
    assert corrected.published_at == published.published_at
    assert corrected.leaf("1.1").appraised == D("9.5")
    (record,) = corrected.corrections
    assert (record.decision_number, record.reason, record.at) == (DECISION, "phúc tra", AFTER)
    assert (record.achieved_before, record.achieved_after) == (D("22"), D("25.75"))
    assert record.maximum_before == record.maximum_after == D("100")
    assert record.leaves == ("1.1", "4.1")
    assert published.corrections == ()  # the old ledger is untouched


@pytest.mark.parametrize(
    ("correction", "reason"),
    [
        (_correction(points=MappingProxyType({"1.1": D("10.5")})), ScoringReason.POINTS_OUT_OF_RANGE),
        (_correction(points=MappingProxyType({"1.1": D("7.25")})), ScoringReason.POINTS_OFF_STEP),
        (_correction(points=MappingProxyType({"9.9": D("1")})), ScoringReason.UNKNOWN_LEAF),
        (_correction(points=MappingProxyType({"1.3": D("1")})), ScoringReason.NOT_A_LEAF),
        (_correction(maximum=D("0")), ScoringReason.BAD_MAXIMUM),
        (_correction(maximum=D("101")), ScoringReason.BAD_MAXIMUM),
        # 22 points achieved (7 appraised + 15 survey) cannot sit under a maximum of 20.
        (_correction(maximum=D("20")), ScoringReason.BAD_MAXIMUM),
        (_correction(not_applicable=frozenset({"7"})), ScoringReason.UNKNOWN_LEAF),
        (_correction(), ScoringReason.EMPTY_COMMAND),
        (
            _correction(not_applicable=frozenset({"1"}), points=MappingProxyType({"1.1": D("9")})),
            ScoringReason.LEAF_NOT_APPLICABLE,
        ),
        (
            cmd.ResultCorrected(decision_number=" ", reason="x", ranked=False),
            ScoringReason.EMPTY_COMMAND,
        ),
    ],
    ids=[
        "over-max",
        "off-step",
        "unknown",
        "not-a-leaf",
        "zero-max",
        "max-over-set",
        "max-under-achieved",
        "bad-na",
        "empty",
        "na-leaf",
        "no-decision",
    ],
)
def test_a_correction_is_checked_like_any_command(
    ledger: Ledger, correction: cmd.ResultCorrected, reason: ScoringReason
) -> None:
    published = _published(ledger)
    with pytest.raises(ScoringError) as caught:
        apply(published, correction, AFTER)
    assert caught.value.reason is reason


def test_a_correction_of_attributes_reduces_the_maximum_and_takes_a_unit_out_of_the_ranking(
    ledger: Ledger,
) -> None:
    """Thanh Hóa 2023 style: a reduced maximum as published (84), the exempted codes unnamed."""
    published = _published(ledger)
    corrected = apply(published, _correction(maximum=D("84"), ranked=False), AFTER)
    assert score(corrected).total.maximum == D("84")
    assert not corrected.ranked
    exempted = apply(published, _correction(not_applicable=frozenset({"3"})), AFTER)
    assert score(exempted).total.maximum == D("80")
    assert exempted.totals == recompute_totals(exempted)
    assert exempted.corrections[0].attributes == ("not_applicable",)


# ---- the scoring service, on both stores ------------------------------------------------------


async def _published_level(scoring: Scoring) -> None:
    await scoring.register("so-noi-vu", "Sở Nội vụ")
    await scoring.register("so-tu-phap", "Sở Tư pháp")
    await scoring.self_score("so-noi-vu", "1.2", "8", explanation="BC số 1")
    await scoring.self_score("so-tu-phap", "1.2", "6", explanation="BC số 2")
    await scoring.publish()


async def test_a_correction_rescores_reranks_and_is_kept_in_the_ledger(scoring: Scoring) -> None:
    await _published_level(scoring)
    assert [e["unit_id"] for e in scoring.ranking()["entries"]] == ["so-noi-vu", "so-tu-phap"]
    versions = scoring.score_versions("so-tu-phap")
    rankings = scoring.ranking_versions()
    outcome = await scoring.correct("so-tu-phap", points={"1.2": "8", "1.1": "2"})
    assert outcome.status is Status.PROCESSED
    assert scoring.index("so-tu-phap") == D(10)
    assert scoring.score_versions("so-tu-phap") == [*versions, versions[-1] + 1]
    assert scoring.ranking_versions() == [*rankings, rankings[-1] + 1]
    assert [e["unit_id"] for e in scoring.ranking()["entries"]] == ["so-tu-phap", "so-noi-vu"]
    with scoring.sessions() as session:
        types = session.execute(
            select(ledger_rows.c.event_type, ledger_rows.c.actor)
            .where(ledger_rows.c.unit_id == "so-tu-phap")
            .order_by(ledger_rows.c.seq)
        ).all()
    assert types[-1] == ("ResultCorrected", "so-noi-vu.cchc")
    # Anything but a correction is still refused on the published year.
    await scoring.appraise("so-tu-phap", "1.2", "2", round=2)
    assert scoring.rejection_reasons()[-1] == ("so-tu-phap", "AppraisalRecorded", "already_published")
    assert scoring.index("so-tu-phap") == D(10)


async def test_a_correction_of_an_unpublished_year_is_refused_by_the_service(scoring: Scoring) -> None:
    await scoring.register("so-noi-vu", "Sở Nội vụ")
    await scoring.self_score("so-noi-vu", "1.2", "8", explanation="BC số 1")
    await scoring.correct("so-noi-vu", points={"1.2": "4"})
    assert scoring.rejection_reasons() == [("so-noi-vu", "ResultCorrected", "not_published")]
    assert scoring.index("so-noi-vu") == D(8)


async def test_a_correction_delivered_twice_is_applied_once(scoring: Scoring) -> None:
    await _published_level(scoring)
    correction = scoring.correction("so-noi-vu", points={"1.1": "5"})
    first = await scoring.send(correction)
    again = await scoring.send(correction)
    assert (first.status, again.status) == (Status.PROCESSED, Status.DUPLICATE)
    assert scoring.index("so-noi-vu") == D(13)
    produced = [e for e in again.produced if isinstance(e, ScoreUpdated | RankingUpdated)]
    assert produced == []
    with scoring.sessions() as session:
        count = session.execute(
            select(func.count())
            .select_from(ledger_rows)
            .where(ledger_rows.c.event_id == str(correction.event_id))
        ).scalar_one()
    assert count == 1


async def test_re_registering_a_unit_leaves_its_published_year_alone_until_corrected(
    scoring: Scoring,
) -> None:
    await _published_level(scoring)
    with scoring.sessions() as session:
        frozen = session.execute(
            select(
                published_setups.c.unit_id, published_setups.c.ranked, published_setups.c.decision_number
            ).order_by(published_setups.c.unit_id)
        ).all()
    assert frozen == [("so-noi-vu", True, "99/QĐ-UBND"), ("so-tu-phap", True, "99/QĐ-UBND")]
    # The unit is registered again as not ranked and with field 1 exempted: 2025 is published.
    await scoring.register("so-noi-vu", "Sở Nội vụ", ranked=False, not_applicable=("1",))
    assert [e["unit_id"] for e in scoring.ranking()["entries"]] == ["so-noi-vu", "so-tu-phap"]
    assert scoring.index("so-noi-vu") == D(8)
    # A correction of the other unit re-scores it from its frozen setup, not the registration.
    await scoring.correct("so-tu-phap", points={"1.1": "1"})
    assert [e["unit_id"] for e in scoring.ranking()["entries"]] == ["so-noi-vu", "so-tu-phap"]
    # Only a correction takes the unit out of the ranking of its published year.
    await scoring.correct("so-noi-vu", ranked=False)
    ranking = scoring.ranking()
    assert [e["unit_id"] for e in ranking["entries"]] == ["so-tu-phap"]
    assert [e["unit_id"] for e in ranking["not_ranked"]] == ["so-noi-vu"]
    assert scoring.index("so-noi-vu") == D(8)


async def test_a_fresh_worker_replays_a_corrected_published_year_from_its_frozen_setup(
    scoring: Scoring,
) -> None:
    await _published_level(scoring)
    await scoring.correct("so-noi-vu", maximum="84")
    await scoring.register("so-noi-vu", "Sở Nội vụ", not_applicable=("1",))
    # A new worker (empty caches) re-scores from the store on the next correction.
    fresh = Scoring(scoring.sessions, seed=7)
    await fresh.correct("so-noi-vu", points={"1.1": "4"})
    # (8 + 4) / 84: the corrected maximum and field 1 scored, as published.
    assert fresh.index("so-noi-vu") == ratio_index(D(12), D(84))


async def test_a_replayed_publication_freezes_the_setups_it_carries(scoring: Scoring) -> None:
    """What `ledger export` writes: Published with each unit's setup as published. A replay uses
    it instead of today's files; a setup naming a set nobody has is refused with its reason."""
    await scoring.register("so-noi-vu", "Sở Nội vụ")
    await scoring.register("so-tu-phap", "Sở Tư pháp")
    await scoring.self_score("so-noi-vu", "1.2", "8", explanation="BC số 1")
    await scoring.self_score("so-tu-phap", "1.2", "6", explanation="BC số 2")
    lock = vn(12, 16, 0)
    digest = tree_digest(catalogue().trees[DEMO_SET_ID])
    setups = [
        PublishedSetup(
            unit_id="so-noi-vu", criteria_set=DEMO_SET_ID, criteria_digest=digest, maximum=D(80), lock_at=lock
        ),
        PublishedSetup(unit_id="so-tu-phap", criteria_set="khong-co", criteria_digest=digest, lock_at=lock),
    ]
    published = scoring.make(
        Published, vn(12, 30), year=2025, level=Level.DEPARTMENT, decision_number="99/QĐ-UBND", setups=setups
    )
    assert (await scoring.send(published)).status is Status.PROCESSED
    assert scoring.index("so-noi-vu") == D(10)  # 8 over the published maximum of 80
    assert ("so-tu-phap", "Published", "unknown_criteria_set") in scoring.rejection_reasons()
    with scoring.sessions() as session:
        frozen = session.execute(select(published_setups.c.unit_id, published_setups.c.maximum)).all()
    assert frozen == [("so-noi-vu", "80")]
