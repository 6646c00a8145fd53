"""Publishing a level: a unit with no points has no result (seed 003 III.1.đ ranks units by their
index; a unit that reported nothing has no index), never an index of 0 ranked last."""

from __future__ import annotations

from tests.scoring.kit import Scoring, vn


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
