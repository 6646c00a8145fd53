"""The ledger cache makes scoring incremental but never different from a replay of the store."""

from __future__ import annotations

import dataclasses
import random
import uuid
from decimal import Decimal

from sqlalchemy.orm import Session, sessionmaker

from contracts.vocabulary import Decision
from services.scoring.cache import NO_ROWS, LedgerCache
from services.scoring.core import SEED_003_DEADLINES, open_ledger, unit_setup
from services.scoring.core.ledger import Ledger, recompute_totals
from services.scoring.handlers import current_ledger, latest_tag, load_unit
from services.scoring.service import UnitInfo
from tests.scoring.kit import Scoring, catalogue, vn

UNITS = ("so-noi-vu", "so-tai-chinh")
LEAVES = ("1.1", "1.2", "1.3.1", "2.1.1", "3.2")
EVENTS = 40
SEED = 1124


def _comparable(state: Ledger) -> tuple[object, ...]:
    return (
        dict(state.leaves),
        dict(state.links),
        dict(state.totals),
        state.supplements,
        state.submitted_at,
        state.version,
    )


def _replayed(sessions: sessionmaker[Session], unit_id: str) -> Ledger:
    with sessions() as session:
        unit = load_unit(session, unit_id)
        assert unit is not None
        return current_ledger(session, unit, 2025, catalogue())


def _cached(scoring: Scoring, sessions: sessionmaker[Session], unit_id: str) -> Ledger:
    with sessions() as session:
        unit = load_unit(session, unit_id)
        assert unit is not None
        state = scoring.cache.get(unit, 2025, latest_tag(session, unit_id, 2025))
    assert state is not None, "the cache should hold the unit's current ledger"
    return state


async def _random_event(scoring: Scoring, rnd: random.Random, links: list[uuid.UUID], step: int) -> None:
    unit = rnd.choice(UNITS)
    leaf = rnd.choice(LEAVES)
    at = vn(11, 1 + step % 28)
    roll = rnd.random()
    if roll < 0.5:
        await scoring.self_score(
            unit, leaf, str(Decimal(rnd.randint(0, 12)) / 2), at=at, explanation=rnd.choice(["", "BC"])
        )
    elif roll < 0.8 or not links:
        link = uuid.uuid4()
        links.append(link)
        await scoring.verdict(unit, leaf, link, decision=rnd.choice(list(Decision)), at=at)
    else:
        await scoring.unlink(unit, leaf, links.pop(rnd.randrange(len(links))), at=at)


async def test_cached_ledgers_equal_replayed_ledgers_after_every_event(scoring: Scoring) -> None:
    for unit in UNITS:
        await scoring.register(unit, unit)
    rnd = random.Random(SEED)
    links: list[uuid.UUID] = []
    compared = 0
    for step in range(EVENTS):
        await _random_event(scoring, rnd, links, step)
        for unit in UNITS:
            replayed = _replayed(scoring.sessions, unit)
            with scoring.sessions() as session:
                info = load_unit(session, unit)
                assert info is not None
                cached = scoring.cache.get(info, 2025, latest_tag(session, unit, 2025))
            if cached is not None:
                assert _comparable(cached) == _comparable(replayed)
                assert dict(cached.totals) == recompute_totals(cached)
                compared += 1
    assert compared >= EVENTS
    assert scoring.cache.hits > EVENTS // 2


async def test_two_workers_never_serve_each_other_a_stale_ledger(sessions: sessionmaker[Session]) -> None:
    first, second = Scoring(sessions, seed=1), Scoring(sessions, seed=2)
    await first.register("so-noi-vu", "Sở Nội vụ")
    points = ["1", "2", "3", "4", "5", "6"]
    for n, value in enumerate(points):
        worker = first if n % 2 == 0 else second
        await worker.self_score("so-noi-vu", "1.2", value, at=vn(11, 1 + n), explanation="BC")
    # Each worker's cache was out of date every other event; each time it replayed instead.
    assert first.snapshot("so-noi-vu")["self_assessed"] == "6"
    assert first.snapshot("so-noi-vu")["version"] == len(points)
    assert _comparable(_cached(second, sessions, "so-noi-vu")) == _comparable(
        _replayed(sessions, "so-noi-vu")
    )


async def test_a_rolled_back_transaction_leaves_no_trace_in_the_cache(scoring: Scoring) -> None:
    await scoring.register("so-noi-vu", "Sở Nội vụ")
    await scoring.self_score("so-noi-vu", "1.2", "8", explanation="BC")
    scoring.rolled_back_self_score("so-noi-vu", "1.1", "10")
    await scoring.self_score("so-noi-vu", "2.1.1", "8", explanation="QĐ")
    snapshot = scoring.snapshot("so-noi-vu")
    assert snapshot["self_assessed"] == "16"  # 8 + 8, without the rolled-back 10
    assert _comparable(_cached(scoring, scoring.sessions, "so-noi-vu")) == _comparable(
        _replayed(scoring.sessions, "so-noi-vu")
    )


async def test_re_registering_a_unit_is_never_served_from_the_old_cache(scoring: Scoring) -> None:
    await scoring.register("ban-dan-toc", "Ban Dân tộc")
    await scoring.self_score("ban-dan-toc", "1.2", "8", explanation="BC")
    await scoring.register("ban-dan-toc", "Ban Dân tộc", ranked=False, not_applicable=("3",))
    await scoring.self_score("ban-dan-toc", "1.1", "10", explanation="KH")
    assert scoring.snapshot("ban-dan-toc")["maximum"] == "80"


def test_the_cache_is_bounded_and_forgets_the_least_recently_used() -> None:
    cache = LedgerCache(capacity=2)
    tree = catalogue().tree("demo-department")
    infos = [
        UnitInfo(f"u{i}", "x", "department", "c", "demo-department", True, frozenset()) for i in range(3)
    ]
    for info in infos:
        state = open_ledger(unit_setup(info.unit_id, 2025, tree, SEED_003_DEADLINES))
        cache.put(info, 2025, NO_ROWS, state)
    assert len(cache) == 2
    assert cache.get(infos[0], 2025, NO_ROWS) is None
    assert cache.get(infos[2], 2025, NO_ROWS) is not None
    assert cache.get(dataclasses.replace(infos[2], ranked=False), 2025, NO_ROWS) is None
