"""Benchmarks of scoring. Run: .venv/bin/python bench/scoring.py [--no-postgres]

Core (pure, no I/O): events applied per second, one leaf change's propagation time,
re-ranking 10,000 units, and replaying a province-sized year (500 units × 100 leaves × 3
events per leaf).

Service (the real handlers and ServiceRuntime on SQLite and on PostgreSQL): events per second
with one commit per event and in batched commits, the time for one leaf change to reach its
ScoreUpdated (ledger cache hit vs. replay from the store), and one event in a level of 10,000
units (its standings update and the RankingUpdated of 10,000 entries it emits). The embedded
runtime (the in-process bus) handles consecutive messages for one service as one batch in one
transaction (ServiceRuntime.handle_batch), emitting one RankingUpdated per level per batch: its
events/s, and the cost per event in the 10,000-unit level in batches of 100. PostgreSQL uses a
fresh database (tests/servers.py).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from criteria.model import CriteriaSet, Level, Node, Source
from services.scoring.core import (
    SEED_003_DEADLINES,
    VIETNAM_TZ,
    AppraisalRecorded,
    Command,
    EvidenceVerdict,
    RankEntry,
    SelfScoreEntered,
    Submitted,
    Sums,
    UnitEvent,
    Verdict,
    apply,
    apply_leaf_change,
    compile_tree,
    open_ledger,
    rank,
    recompute_totals,
    replay,
    setup_table,
    standings,
    unit_setup,
)

YEAR = 2025
FIELDS = 8
CRITERIA_PER_FIELD = 4
LEAVES_PER_CRITERION = 3  # 8 × 4 × 3 = 96 leaves, plus 4 single-leaf criteria = 100
UNITS_RANKED = 10_000
UNITS_PROVINCE = 500
SEED = 20251124
LINKS_PER_UNIT = 300


def province_set() -> CriteriaSet:
    """A 100-leaf, 100-point set shaped like seed 003 (field 8 from the survey)."""
    fields = []
    for f in range(1, FIELDS + 1):
        criteria = []
        for c in range(1, CRITERIA_PER_FIELD + 1):
            leaves = tuple(
                Node(f"{f}.{c}.{s}", f"Tiêu chí thành phần {f}.{c}.{s}", Decimal(1))
                for s in range(1, LEAVES_PER_CRITERION + 1)
            )
            criteria.append(Node(f"{f}.{c}", f"Tiêu chí {f}.{c}", Decimal(len(leaves)), children=leaves))
        if f <= CRITERIA_PER_FIELD:
            criteria.append(Node(f"{f}.9", f"Tiêu chí {f}.9", Decimal(1)))
        source = Source.SURVEY if f == FIELDS else None
        total = sum((c.maximum or Decimal(0) for c in criteria), Decimal(0))
        fields.append(Node(str(f), f"Lĩnh vực {f}", total, source=source, children=tuple(criteria)))
    return CriteriaSet("Bench", "0/BENCH", Level.DISTRICT, (YEAR,), tuple(fields), step=Decimal("0.25"))


def timed(fn: Callable[[], object], repeat: int = 1) -> float:
    start = time.perf_counter()
    for _ in range(repeat):
        fn()
    elapsed = (time.perf_counter() - start) / repeat
    return elapsed


def main() -> None:
    rnd = random.Random(SEED)
    tree = compile_tree(province_set())
    self_leaves = [c for c, s in tree.leaves.items() if s.source is Source.SELF_ASSESSED]
    print(f"criteria tree: {len(tree.leaves)} leaves ({len(self_leaves)} self-assessed)")
    now = datetime(YEAR, 11, 1, tzinfo=VIETNAM_TZ)

    # 1. Events per second on one ledger.
    ledger = open_ledger(unit_setup("u", YEAR, tree, SEED_003_DEADLINES))
    commands: list[Command] = []
    for i in range(20_000):
        leaf = rnd.choice(self_leaves)
        if i % 2:
            commands.append(SelfScoreEntered(leaf, Decimal(rnd.randint(0, 4)) / 4, "giải trình"))
        else:
            # A realistic pool of ~300 linked documents per unit (about 3 per leaf).
            link = rnd.randrange(LINKS_PER_UNIT)
            link_leaf = self_leaves[link % len(self_leaves)]
            commands.append(EvidenceVerdict(f"k{link}", link_leaf, rnd.choice(list(Verdict))))
    start = time.perf_counter()
    for command in commands:
        ledger = apply(ledger, command, now)
    elapsed = time.perf_counter() - start
    print(f"events applied (self scores + verdicts, one ledger): {len(commands) / elapsed:,.0f} events/s")
    assert dict(ledger.totals) == recompute_totals(ledger)

    # 2. One leaf change: the ancestor update alone, and the whole command.
    leaf = self_leaves[0]
    delta = Sums(Decimal(0), Decimal("0.25"), Decimal("0.25"), Decimal("0.25"))
    ancestors = tree.ancestors(leaf)
    reps = 20_000
    t_change = timed(lambda: apply_leaf_change(ledger.totals, leaf, ancestors, delta), reps)
    t_full = timed(lambda: recompute_totals(ledger), 200)
    one = SelfScoreEntered(leaf, Decimal("0.5"), "gt")
    t_cmd = timed(lambda: apply(ledger, one, now), reps)
    print(f"one leaf change, ancestor sums only: {t_change * 1e6:.1f} µs (depth {len(ancestors)})")
    print(f"one leaf change, whole command (new immutable ledger): {t_cmd * 1e6:.1f} µs")
    print(f"for comparison, full recomputation of the tree: {t_full * 1e6:.1f} µs")

    # 3. Re-ranking 10,000 units (exact Decimals, ties, some not ranked).
    entries = [
        RankEntry(f"unit-{i:05d}", Decimal(rnd.randint(5000, 10000)) / 100, ranked=rnd.random() > 0.01)
        for i in range(UNITS_RANKED)
    ]
    t_rank = timed(lambda: rank(entries), 20)
    print(f"re-ranking {UNITS_RANKED:,} units: {t_rank * 1e3:.1f} ms")
    # The service's in-process standings: built once on a cache miss, then one unit at a time.
    t_build = timed(lambda: standings(entries).ranking(), 20)
    table = standings(entries)
    moves = [
        RankEntry(f"unit-{rnd.randrange(UNITS_RANKED):05d}", Decimal(rnd.randint(5000, 10000)) / 100)
        for _ in range(1000)
    ]
    start = time.perf_counter()
    for move in moves:
        table = table.with_entry(move)
    t_move = (time.perf_counter() - start) / len(moves)
    t_ranks = timed(lambda: table.ranking(), 20)
    assert table.ranking() == rank(table.entries.values())
    print(
        f"standings of {UNITS_RANKED:,} units: full build + ranks {t_build * 1e3:.1f} ms; "
        f"one unit's change {t_move * 1e6:.0f} µs; ranks from the standings {t_ranks * 1e3:.1f} ms"
    )

    # 4. Replay a province-sized year.
    setups = setup_table(
        unit_setup(f"xa-{u:03d}", YEAR, tree, SEED_003_DEADLINES) for u in range(UNITS_PROVINCE)
    )
    log: list[UnitEvent] = []
    for key in setups:
        t = now
        for leaf in self_leaves:
            t += timedelta(seconds=1)
            log.append(
                UnitEvent(key.unit_id, YEAR, t, SelfScoreEntered(leaf, Decimal(rnd.randint(0, 4)) / 4))
            )
            log.append(
                UnitEvent(
                    key.unit_id, YEAR, t, EvidenceVerdict(f"{key.unit_id}-{leaf}", leaf, Verdict.ACCEPTED)
                )
            )
        log.append(UnitEvent(key.unit_id, YEAR, t, Submitted()))
        for leaf in self_leaves:
            log.append(
                UnitEvent(key.unit_id, YEAR, t, AppraisalRecorded(leaf, Decimal(rnd.randint(0, 4)) / 4))
            )
    start = time.perf_counter()
    result = replay(log, setups)
    elapsed = time.perf_counter() - start
    print(
        f"replay: {UNITS_PROVINCE} units × {len(tree.leaves)} leaves, {len(log):,} events: "
        f"{elapsed:.2f} s ({len(log) / elapsed:,.0f} events/s, {len(result.rejected)} rejected)"
    )
    start = time.perf_counter()
    scores = result.scores()
    ranking = rank(RankEntry(k.unit_id, s.index, s.ranked) for k, s in scores.items())
    print(f"scores + ranking of the replayed year: {(time.perf_counter() - start) * 1e3:.1f} ms")
    print(f"top unit: {ranking.ranked[0].unit_id} index {ranking.ranked[0].index:.2f}")


SERVICE_UNITS = 20
SERVICE_EVENTS = 2_000
BATCH = 100
LEVEL_UNITS = 10_000
LATENCY_REPEAT = 50
LEVEL_REPEAT = 20
LEVEL_BATCHES = 3


def _service_events(factory: Any, rnd: random.Random, leaves: list[str], count: int) -> list[Any]:
    from contracts.events import SelfScoreEntered as SelfScoreEvent

    at = datetime(YEAR, 11, 1, tzinfo=VIETNAM_TZ)
    return [
        factory.make(
            SelfScoreEvent,
            correlation_id=factory.ids(),
            unit_id=f"so-{i % SERVICE_UNITS:03d}",
            year=YEAR,
            criterion_code=rnd.choice(leaves),
            points=Decimal(rnd.randint(0, 8)) / 2,
            explanation="giải trình",
            entered_by="bench",
        ).model_copy(update={"occurred_at": at})
        for i in range(count)
    ]


def service_bench(label: str, url: str) -> None:
    import asyncio

    from sqlalchemy import insert

    from contracts.events import SelfScoreEntered as SelfScoreEvent
    from contracts.events import UnitRegistered
    from contracts.routing import Service
    from kiemchung.runtime.bus.inprocess import InProcessBus
    from kiemchung.runtime.clock import FrozenClock, SeededIds
    from kiemchung.runtime.db import make_engine, session_factory
    from kiemchung.runtime.messaging import EventFactory, ServiceRuntime, Status
    from kiemchung.schema import create_all_tables
    from services.scoring.cache import LedgerCache, RankingCache
    from services.scoring.handlers import build_handlers
    from services.scoring.service import load_catalogue
    from services.scoring.store import scores, units

    engine = make_engine(url)
    create_all_tables(engine)
    sessions = session_factory(engine)
    clock = FrozenClock(datetime(YEAR, 12, 31, tzinfo=VIETNAM_TZ))
    catalogue = load_catalogue()
    cache = LedgerCache()
    ranking_cache = RankingCache()
    handlers = build_handlers(
        catalogue, EventFactory("bench", clock, SeededIds(1)), clock, cache, ranking_cache
    )
    runtime = ServiceRuntime(Service.SCORING, handlers, sessions, clock)
    factory = EventFactory("bench.eoffice", clock, SeededIds(2))
    rnd = random.Random(SEED)
    leaves = [
        c
        for c, spec in catalogue.tree("demo-department").leaves.items()
        if spec.source is Source.SELF_ASSESSED
    ]

    async def run() -> None:
        for u in range(SERVICE_UNITS):
            await runtime.handle(
                factory.make(
                    UnitRegistered,
                    correlation_id=factory.ids(),
                    unit_id=f"so-{u:03d}",
                    name=f"Sở {u}",
                    level="department",
                    council_id="hdtd",
                    criteria_set="demo-department",
                )
            )
        events = _service_events(factory, rnd, leaves, SERVICE_EVENTS)
        start = time.perf_counter()
        for event in events:
            await runtime.handle(event)
        elapsed = time.perf_counter() - start
        print(
            f"[{label}] events through ServiceRuntime, one commit each: {len(events) / elapsed:,.0f} events/s"
        )

        # Batched commits: the handler table inside one transaction per BATCH events.
        handler = handlers[SelfScoreEvent]
        events = _service_events(factory, rnd, leaves, SERVICE_EVENTS)
        start = time.perf_counter()
        for i in range(0, len(events), BATCH):
            with sessions() as session, session.begin():
                for event in events[i : i + BATCH]:
                    handler.apply(event, None, session)
        elapsed = time.perf_counter() - start
        print(
            f"[{label}] events through the handlers, {BATCH} per commit: "
            f"{len(events) / elapsed:,.0f} events/s"
        )

        # The embedded runtime: the in-process bus, one message per transaction vs. batches.
        for max_batch in (1, BATCH):
            bus = InProcessBus({Service.SCORING: runtime}, max_batch=max_batch)
            events = _service_events(factory, rnd, leaves, SERVICE_EVENTS)
            start = time.perf_counter()
            for event in events:
                await bus.publish_raw_to(Service.SCORING, event.model_dump_json().encode())
            await bus.drain()
            elapsed = time.perf_counter() - start
            print(
                f"[{label}] embedded runtime (in-process bus, handle_batch of at most {max_batch}): "
                f"{len(events) / elapsed:,.0f} events/s"
            )

        # One leaf change to its ScoreUpdated (committed): cache hit, then a forced replay.
        for name, clear in (("ledger cache hit", False), ("replay from the store", True)):
            samples = []
            for event in _service_events(factory, rnd, leaves, LATENCY_REPEAT):
                if clear:
                    cache.clear()
                start = time.perf_counter()
                outcome = await runtime.handle(event)
                samples.append(time.perf_counter() - start)
                assert any(e.type == "ScoreUpdated" for e in outcome.produced)
            samples.sort()
            median = samples[len(samples) // 2]
            print(f"[{label}] one leaf change → ScoreUpdated ({name}): {median * 1e3:.2f} ms median")

        # A level of 10,000 units: one event re-ranks all of them.
        with sessions() as session, session.begin():
            session.execute(
                insert(units),
                [
                    {
                        "unit_id": f"xa-{i:05d}",
                        "name": f"Xã {i}",
                        "level": "department",
                        "council_id": "hdtd",
                        "criteria_set": "demo-department",
                        "ranked": i % 100 != 0,
                        "not_applicable": [],
                    }
                    for i in range(LEVEL_UNITS)
                ],
            )
            session.execute(
                insert(scores),
                [
                    {
                        "unit_id": f"xa-{i:05d}",
                        "year": YEAR,
                        "level": "department",
                        "version": 1,
                        "index_value": str(Decimal(rnd.randint(5000, 10000)) / 100),
                        "snapshot": {},
                        "updated_at": clock(),
                    }
                    for i in range(LEVEL_UNITS)
                ],
            )
        # Rows written behind the handlers' back: the standings must be rebuilt (a cache miss).
        ranking_cache.clear()
        samples = []
        emitted = 0
        for event in _service_events(factory, rnd, leaves, LEVEL_REPEAT):
            start = time.perf_counter()
            outcome = await runtime.handle(event)
            samples.append(time.perf_counter() - start)
            emitted += sum(e.type == "RankingUpdated" for e in outcome.produced)
        miss = samples[0]
        samples.sort()
        print(
            f"[{label}] one event in a level of {LEVEL_UNITS + SERVICE_UNITS:,} units "
            f"(score + RankingUpdated of all when the ranking changed, {emitted}/{LEVEL_REPEAT} did): "
            f"{samples[len(samples) // 2] * 1e3:.1f} ms median; first (standings rebuilt from the "
            f"store): {miss * 1e3:.1f} ms"
        )
        per_event = []
        rankings_per_batch = []
        for _ in range(LEVEL_BATCHES):
            batch = _service_events(factory, rnd, leaves, BATCH)
            start = time.perf_counter()
            outcomes = await runtime.handle_batch(batch)
            per_event.append((time.perf_counter() - start) / len(batch))
            assert all(o.status is Status.PROCESSED for o in outcomes)
            rankings_per_batch.append(sum(e.type == "RankingUpdated" for o in outcomes for e in o.produced))
        per_event.sort()
        print(
            f"[{label}] one event in a level of {LEVEL_UNITS + SERVICE_UNITS:,} units, in a batch of "
            f"{BATCH} (one commit, RankingUpdated per batch: {rankings_per_batch}): "
            f"{per_event[len(per_event) // 2] * 1e3:.2f} ms per event median of {LEVEL_BATCHES} batches"
        )

    asyncio.run(run())
    engine.dispose()


def services_main(with_postgres: bool) -> None:
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as directory:
        service_bench("sqlite", f"sqlite:///{Path(directory) / 'bench.db'}")
    if with_postgres:
        import sys

        sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
        from tests.servers import fresh_database

        with fresh_database() as url:
            service_bench("postgres", url)


if __name__ == "__main__":
    import sys

    main()
    services_main(with_postgres="--no-postgres" not in sys.argv)
