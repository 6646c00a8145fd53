"""Property tests: sums, index range, replay equals live, ranking order independence."""

from __future__ import annotations

import contextlib
import random
from datetime import date, datetime, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from criteria.loader import load_packaged_set
from services.scoring.core import (
    ROOT,
    SEED_003_DEADLINES,
    VIETNAM_TZ,
    AppraisalRecorded,
    Command,
    EvidenceUnlinked,
    EvidenceVerdict,
    Ledger,
    Published,
    RankEntry,
    ScoringError,
    SelfScoreEntered,
    Submitted,
    SupplementRequested,
    SurveyResultsImported,
    UnitEvent,
    UnitKey,
    Verdict,
    apply_event,
    compile_tree,
    rank,
    recompute_totals,
    replay,
    score,
    setup_table,
    unit_setup,
)

TREE = compile_tree(load_packaged_set("demo.yaml"))
SELF_LEAVES = sorted(c for c, s in TREE.leaves.items() if s.source.value == "self_assessed")
YEAR = 2025
UNITS = ("so-a", "so-b", "so-c")
START = datetime(YEAR, 11, 1, tzinfo=VIETNAM_TZ)

quarters = st.integers(min_value=-4, max_value=44).map(lambda q: Decimal(q) / 4)
leaves = st.sampled_from(SELF_LEAVES)
commands: st.SearchStrategy[Command] = st.one_of(
    st.builds(SelfScoreEntered, leaves, quarters, st.sampled_from(["", "giải trình"])),
    st.builds(
        EvidenceVerdict,
        st.sampled_from(["k1", "k2", "k3", "k4"]),
        leaves,
        st.sampled_from(list(Verdict)),
    ),
    st.builds(EvidenceUnlinked, st.sampled_from(["k1", "k2", "k3"])),
    st.just(Submitted()),
    st.builds(AppraisalRecorded, leaves, quarters, st.just(""), st.integers(0, 3)),
    st.builds(
        SupplementRequested,
        st.lists(leaves, min_size=1, max_size=3).map(tuple),
        st.dates(date(YEAR, 11, 1), date(YEAR, 12, 31)),
    ),
    st.builds(lambda p: SurveyResultsImported({"4.1": p}), st.decimals(0, 21, places=4)),
    st.just(Published()),
)
events = st.lists(
    st.tuples(st.sampled_from(UNITS), st.integers(0, 60 * 24 * 60), commands),
    max_size=60,
).map(
    lambda items: [
        UnitEvent(unit, YEAR, START + timedelta(minutes=m), cmd)
        for unit, m, cmd in sorted(items, key=lambda item: item[1])
    ]
)
SETUPS = setup_table(
    unit_setup(unit, YEAR, TREE, SEED_003_DEADLINES, frozenset({"3.2"}) if unit == "so-c" else frozenset())
    for unit in UNITS
)


def live(log: list[UnitEvent]) -> dict[UnitKey, Ledger]:
    ledgers: dict[UnitKey, Ledger] = {}
    for event in log:
        with contextlib.suppress(ScoringError):
            ledgers[event.key] = apply_event(ledgers, SETUPS, event)
    return ledgers


@settings(max_examples=150, deadline=None)
@given(events)
def test_replay_equals_live_and_totals_equal_their_leaves(log: list[UnitEvent]) -> None:
    live_ledgers = live(log)
    result = replay(log, SETUPS)
    for key, ledger in live_ledgers.items():
        assert result.ledgers[key] == ledger
        assert score(result.ledgers[key]) == score(ledger)
    for ledger in result.ledgers.values():
        # Incremental sums equal the sums recomputed from the leaves.
        assert dict(ledger.totals) == recompute_totals(ledger)
        total = ledger.totals[ROOT]
        index = score(ledger).index
        assert index is not None
        assert Decimal(0) <= index <= Decimal(100)
        assert Decimal(0) <= total.achieved <= total.maximum
        assert Decimal(0) <= total.projected <= total.maximum


indexes = st.decimals(0, 100, places=2)
entries = st.lists(
    st.builds(
        RankEntry, st.text("abcdef", min_size=1, max_size=4), st.one_of(st.none(), indexes), st.booleans()
    ),
    max_size=30,
    unique_by=lambda e: e.unit_id,
)


@settings(max_examples=200, deadline=None)
@given(entries, st.randoms(use_true_random=False))
def test_ranking_does_not_depend_on_input_order(items: list[RankEntry], rnd: random.Random) -> None:
    shuffled = list(items)
    rnd.shuffle(shuffled)
    first, second = rank(items), rank(shuffled)
    assert first == second
    ranks = [r.rank for r in first.ranked]
    assert ranks == sorted(ranks)
    for earlier, later in zip(first.ranked, first.ranked[1:], strict=False):
        assert earlier.index >= later.index
        assert (earlier.rank == later.rank) == (earlier.index == later.index)
