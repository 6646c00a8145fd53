"""Rankings kept incrementally: always equal to a full re-ranking, emitted only when they change."""

from __future__ import annotations

import random
import uuid
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from contracts.events import RankingUpdated
from services.scoring.core import EMPTY_STANDINGS, RankEntry, rank, standings
from services.scoring.handlers import stored_index
from services.scoring.service import ranking_entries
from services.scoring.store import rankings, scores, units
from tests.scoring.kit import Scoring, vn

UNITS = ("so-noi-vu", "so-tai-chinh", "so-y-te", "ban-dan-toc")
LEAVES = ("1.1", "1.2", "2.1.1")
EVENTS = 30
SEED = 20251124

unit_ids = st.sampled_from(["a", "b", "c", "d", "e", "f"])
indexes = st.one_of(
    st.none(),
    st.sampled_from([Decimal("50"), Decimal("50.00"), Decimal("75.5")]),
    st.decimals(0, 100, places=2),
)
changes = st.lists(
    st.one_of(
        st.builds(RankEntry, unit_ids, indexes, st.booleans()),
        unit_ids,  # the unit leaves the level
    ),
    max_size=40,
)


@settings(max_examples=300, deadline=None)
@given(changes)
def test_incremental_standings_equal_a_full_re_ranking_after_every_change(
    steps: list[RankEntry | str],
) -> None:
    table = EMPTY_STANDINGS
    current: dict[str, RankEntry] = {}
    for step in steps:
        before = table
        if isinstance(step, str):
            table = table.without(step)
            changed = current.pop(step, None) is not None
        else:
            table = table.with_entry(step)
            changed = current.get(step.unit_id) != step
            current[step.unit_id] = step
        assert (table is not before) == changed
        assert table.ranking() == rank(current.values())
        assert standings(current.values()).ranking() == table.ranking()


def test_unchanged_contract_entries_are_reused_and_changed_ones_rebuilt() -> None:
    first = standings([RankEntry("a", Decimal(90)), RankEntry("b", Decimal(80)), RankEntry("c", Decimal(70))])
    entries, _ = ranking_entries(first.ranking())
    moved = first.with_entry(RankEntry("c", Decimal(85)))
    again, _ = ranking_entries(moved.ranking(), {e.unit_id: e for e in entries})
    assert [(e.unit_id, e.rank) for e in again] == [("a", 1), ("c", 2), ("b", 3)]
    assert again[0] is entries[0]
    assert again[2] is not entries[1]


def _recomputed(sessions: sessionmaker[Session]) -> dict[str, list[dict[str, Any]]]:
    """The department ranking from every score row, from scratch: what the stored one must equal."""
    with sessions() as session:
        rows = session.execute(
            select(scores.c.unit_id, scores.c.index_value, units.c.ranked).join(
                units, units.c.unit_id == scores.c.unit_id
            )
        ).all()
    entries, apart = ranking_entries(
        rank(RankEntry(r.unit_id, stored_index(r.index_value), r.ranked) for r in rows)
    )
    return {
        "entries": [e.model_dump(mode="json") for e in entries],
        "not_ranked": [e.model_dump(mode="json") for e in apart],
    }


def _stored(sessions: sessionmaker[Session]) -> dict[str, list[dict[str, Any]]]:
    with sessions() as session:
        snapshot = session.execute(select(rankings.c.snapshot)).scalar_one()
    return {"entries": snapshot["entries"], "not_ranked": snapshot["not_ranked"]}


async def test_two_workers_keep_the_stored_ranking_equal_to_a_full_re_ranking(
    sessions: sessionmaker[Session],
) -> None:
    workers = (Scoring(sessions, seed=1), Scoring(sessions, seed=2))
    for unit in UNITS:
        await workers[0].register(unit, unit, ranked=unit != "ban-dan-toc")
    rnd = random.Random(SEED)
    for step in range(EVENTS):
        worker = rnd.choice(workers)
        unit, leaf = rnd.choice(UNITS), rnd.choice(LEAVES)
        if rnd.random() < 0.6:
            points = str(Decimal(rnd.randint(0, 10)) / 2)
            await worker.self_score(unit, leaf, points, at=vn(11, 1 + step % 28), explanation="BC")
        else:
            await worker.verdict(unit, leaf, uuid.uuid4(), at=vn(11, 1 + step % 28))
        assert _stored(sessions) == _recomputed(sessions)
    emitted = [e.version for w in workers for e in w.produced if isinstance(e, RankingUpdated)]
    # Every worker's RankingUpdated is a new version: together they count 1, 2, 3, … with no repeat.
    assert sorted(emitted) == list(range(1, len(emitted) + 1))


async def test_a_rolled_back_ranking_change_is_never_served_from_the_cache(scoring: Scoring) -> None:
    other = Scoring(scoring.sessions, seed=7)
    for unit in UNITS[:3]:
        await scoring.register(unit, unit)
    await scoring.self_score("so-noi-vu", "1.2", "8", explanation="BC")
    produced = scoring.rolled_back_self_score("so-tai-chinh", "1.1", "10")
    assert any(isinstance(e, RankingUpdated) for e in produced)
    # Another worker writes the same ranking version the rolled-back one would have had.
    await other.self_score("so-y-te", "1.2", "6", explanation="BC")
    await scoring.self_score("so-noi-vu", "1.1", "4", explanation="KH")
    assert _stored(scoring.sessions) == _recomputed(scoring.sessions)
    assert [e["unit_id"] for e in _stored(scoring.sessions)["entries"]] == ["so-noi-vu", "so-y-te"]


async def test_re_registering_a_unit_as_not_ranked_moves_it_apart_at_once(scoring: Scoring) -> None:
    await scoring.register("so-noi-vu", "Sở Nội vụ")
    await scoring.register("ban-dan-toc", "Ban Dân tộc")
    await scoring.self_score("so-noi-vu", "1.2", "8", explanation="BC")
    await scoring.self_score("ban-dan-toc", "1.2", "6", explanation="BC")
    moved = await scoring.register("ban-dan-toc", "Ban Dân tộc", ranked=False)
    [ranking] = [e for e in moved.produced if isinstance(e, RankingUpdated)]
    assert ([e.unit_id for e in ranking.entries], [e.unit_id for e in ranking.not_ranked]) == (
        ["so-noi-vu"],
        ["ban-dan-toc"],
    )
    assert _stored(scoring.sessions) == _recomputed(scoring.sessions)
    same = await scoring.register("ban-dan-toc", "Ban Dân tộc (tên mới)", ranked=False)
    assert same.produced == ()
