"""Benchmarks of the pure scoring core. Run: .venv/bin/python bench/scoring.py

Prints: events applied per second, one leaf change's propagation time, re-ranking 10,000
units, and replaying a province-sized year (500 units × 100 leaves × 3 events per leaf).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal

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


if __name__ == "__main__":
    main()
