"""Publishing a level: a unit with no points has no result (seed 003 III.1.đ ranks units by their
index; a unit that reported nothing has no index), never an index of 0 ranked last."""

from __future__ import annotations

from contracts.vocabulary import Level
from services.scoring.handlers import load_units
from services.scoring.views import ranking_view
from tests.scoring.kit import YEAR, Scoring, vn


async def test_publishing_gives_a_unit_with_no_data_no_result_not_a_last_place(scoring: Scoring) -> None:
    await scoring.register("so-noi-vu", "Sở Nội vụ")
    await scoring.register("so-tu-phap", "Sở Tư pháp")
    await scoring.register("so-im-lang", "Sở chưa nộp")
    await scoring.self_score("so-noi-vu", "1.2", "8", explanation="BC số 1")
    await scoring.self_score("so-tu-phap", "1.2", "4", explanation="BC số 2")
    await scoring.publish(at=vn(12, 30))
    ranking = scoring.ranking()
    assert [(e["unit_id"], e["rank"]) for e in ranking["entries"]] == [("so-noi-vu", 1), ("so-tu-phap", 2)]
    assert [(e["unit_id"], e["rank"], e["no_result"]) for e in ranking["not_ranked"]] == [
        ("so-im-lang", None, True)
    ]
    assert scoring.snapshot("so-im-lang")["has_result"] is False
    assert scoring.snapshot("so-tu-phap")["has_result"] is True


async def test_before_publication_the_rankings_list_a_unit_that_sent_nothing_as_no_result(
    scoring: Scoring,
) -> None:
    """Seed 003 III.1.đ: the office ranks the units that reported; one that sent nothing has no
    score row yet, and the rankings (API, the export's ranking sheet: both read `ranking_view`)
    list it as no result, not ranked, never 0, before publication as after it."""
    await scoring.register("so-noi-vu", "Sở Nội vụ")
    await scoring.register("so-im-lang", "Sở chưa nộp")
    await scoring.register("xa-a", "Xã A", level=Level.COMMUNE)
    await scoring.self_score("so-noi-vu", "1.2", "8", explanation="BC số 1")
    with scoring.sessions() as session:
        readable = {u.unit_id: u for u in load_units(session)}
        before = ranking_view(session, "department", YEAR, readable)
        communes = ranking_view(session, "commune", YEAR, readable)
    assert before is not None
    assert [(r.unit_id, r.rank) for r in before.ranked] == [("so-noi-vu", 1)]
    assert [(r.unit_id, r.rank, r.no_result, r.index_text) for r in before.not_ranked] == [
        ("so-im-lang", None, True, None)
    ]
    # A level where nobody sent anything yet still lists its units, all without a result.
    assert communes is not None
    assert (communes.version, communes.ranked) == (0, [])
    assert [(r.unit_id, r.no_result) for r in communes.not_ranked] == [("xa-a", True)]

    await scoring.publish(at=vn(12, 30))
    with scoring.sessions() as session:
        after = ranking_view(session, "department", YEAR, {u.unit_id: u for u in load_units(session)})
    assert after is not None
    assert [(r.unit_id, r.rank, r.no_result) for r in after.not_ranked] == [
        (r.unit_id, r.rank, r.no_result) for r in before.not_ranked
    ]
