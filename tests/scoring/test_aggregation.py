"""Sums, indexes, the incremental path and ranking."""

from __future__ import annotations

from decimal import Decimal

from criteria.model import Level
from services.scoring.core import (
    ROOT,
    SEED_003_DEADLINES,
    AppraisalRecorded,
    EvidenceUnlinked,
    EvidenceVerdict,
    Ledger,
    RankEntry,
    ScoringTree,
    SelfScoreEntered,
    Submitted,
    Sums,
    SurveyResultsImported,
    Verdict,
    apply,
    apply_leaf_change,
    display,
    open_ledger,
    rank,
    rank_scores,
    recompute_totals,
    score,
    unit_setup,
)
from tests.scoring.conftest import YEAR, vn

D = Decimal
JUNE = vn(6, 1)


def test_seed_001_self_points_count_only_with_accepted_evidence_or_an_explanation(ledger: Ledger) -> None:
    scored = apply(ledger, SelfScoreEntered("1.2", D(8)), JUNE)
    assert (scored.totals[ROOT].claimed, scored.totals[ROOT].achieved) == (D(8), D(0))
    rejected = apply(scored, EvidenceVerdict("a", "1.2", Verdict.REJECTED, ("scan",)), JUNE)
    review = apply(rejected, EvidenceVerdict("b", "1.2", Verdict.NEEDS_REVIEW), JUNE)
    assert review.totals[ROOT].achieved == D(0)
    accepted = apply(review, EvidenceVerdict("c", "1.2", Verdict.ACCEPTED), JUNE)
    assert accepted.totals[ROOT].achieved == D(8)
    unlinked = apply(accepted, EvidenceUnlinked("c"), JUNE)
    assert unlinked.totals[ROOT].achieved == D(0)
    explained = apply(unlinked, SelfScoreEntered("1.2", D(8), "Báo cáo số 12/BC-SNV, mục II.3"), JUNE)
    assert explained.totals[ROOT].achieved == D(8)


def test_seed_003_appraised_points_are_final_and_projected_keeps_the_verified_view(ledger: Ledger) -> None:
    state = ledger
    for command in (
        SelfScoreEntered("1.2", D(8), "giải trình"),
        SelfScoreEntered("1.1", D(10)),
        Submitted(),
        AppraisalRecorded("1.2", D(5), "thiếu tài liệu"),
        AppraisalRecorded("1.1", D(7)),
    ):
        state = apply(state, command, JUNE)
    total = score(state).total
    # 1.1 had no evidence (verified 0) but the council gave 7: appraisal decides.
    assert (total.claimed, total.projected, total.achieved) == (D(18), D(8), D(12))
    assert total.index == D(12)
    assert total.projected_index == D(8)


def test_thanh_hoa_style_reduced_maximum_gives_81_33(demo_tree: ScoringTree) -> None:
    """DOMAIN.md: 68.32 points over an applicable maximum of 84 is published as 81.33%."""
    setup = unit_setup("ban-dan-toc", YEAR, demo_tree, SEED_003_DEADLINES, frozenset({"3.2", "2.2.2"}))
    state = open_ledger(setup)
    points = {"1.1": 10, "1.2": 8, "1.3.1": 6, "1.3.2": 6, "2.1.1": 8, "2.1.2": 6, "2.2.1": 8}
    for leaf, value in points.items():
        state = apply(state, SelfScoreEntered(leaf, D(value), "giải trình"), JUNE)
    state = apply(state, SurveyResultsImported({"4.1": D("16.32")}), JUNE)
    result = score(state)
    assert result.total.maximum == D(84)
    assert result.total.achieved == D("68.32")
    assert display(result.total.index or D(0)) == D("81.33")
    assert result.components["2"].maximum == D(24)
    assert result.components["3"].maximum == D(10)


def test_component_index_for_every_field_and_criterion(ledger: Ledger) -> None:
    state = apply(ledger, SelfScoreEntered("1.3.1", D(3), "giải trình"), JUNE)
    components = score(state).components
    assert set(components) == {"1", "1.1", "1.2", "1.3", "2", "2.1", "2.2", "3", "3.1", "3.2", "4", "4.1"}
    assert components["1.3"].index == D(25)
    assert components["1"].index == D(10)


def test_a_unit_with_nothing_applicable_has_no_index(demo_tree: ScoringTree) -> None:
    setup = unit_setup("x", YEAR, demo_tree, SEED_003_DEADLINES, frozenset({"1", "2", "3", "4"}))
    assert score(open_ledger(setup)).index is None


def test_display_rounds_half_up_to_two_places() -> None:
    assert display(D("81.325")) == D("81.33")
    assert display(D("2.675")) == D("2.68")
    assert display(D("81.3249999")) == D("81.32")
    assert display(D("99.9951"), 3) == D("99.995")


def test_one_leaf_change_touches_only_its_ancestors(ledger: Ledger) -> None:
    before = ledger.totals
    after = apply(ledger, SelfScoreEntered("2.1.1", D(4), "giải trình"), JUNE).totals
    changed = {code for code in before if after[code] is not before[code]}
    assert after is not before
    assert changed == {"2.1.1", "2.1", "2", ROOT}
    assert after["2.1"].achieved == D(4)


def test_apply_leaf_change_adds_the_delta_up_the_chain(demo_tree: ScoringTree, ledger: Ledger) -> None:
    delta = Sums(D(0), D(1), D(1), D(1))
    new = apply_leaf_change(ledger.totals, "3.1.2", demo_tree.ancestors("3.1.2"), delta)
    assert [new[c].achieved for c in ("3.1.2", "3.1", "3", ROOT)] == [D(1)] * 4
    assert new["3.2"] is ledger.totals["3.2"]
    assert ledger.totals[ROOT].achieved == D(0)  # the old table is untouched


def test_incremental_totals_equal_a_full_recomputation(ledger: Ledger) -> None:
    state = ledger
    for leaf, value in (("1.1", "9.5"), ("2.2.1", "7.25"), ("1.1", "3")):
        state = apply(state, SelfScoreEntered(leaf, D(value), "gt"), JUNE)
    state = apply(state, SurveyResultsImported({"4.1": D("12.5")}), JUNE)
    assert dict(state.totals) == recompute_totals(state)


def test_seed_003_ranking_ties_share_a_rank_and_not_ranked_units_are_apart() -> None:
    ranking = rank(
        [
            RankEntry("so-tu-phap", D("90.5")),
            RankEntry("so-y-te", D("88")),
            RankEntry("so-gd", D("88.0")),
            RankEntry("so-ct", D("70")),
            RankEntry("ban-dan-toc", D("99"), ranked=False),
            RankEntry("thanh-tra", D("95"), ranked=False),
            RankEntry("chua-co", None),
        ]
    )
    assert [(r.rank, r.unit_id) for r in ranking.ranked] == [
        (1, "so-tu-phap"),
        (2, "so-gd"),
        (2, "so-y-te"),
        (4, "so-ct"),
    ]
    assert [e.unit_id for e in ranking.not_ranked] == ["ban-dan-toc", "chua-co", "thanh-tra"]


def test_ranks_compare_exact_values_not_display_values() -> None:
    ranking = rank([RankEntry("a", D("81.334")), RankEntry("b", D("81.331"))])
    assert [(r.rank, r.unit_id) for r in ranking.ranked] == [(1, "a"), (2, "b")]


def test_rank_scores_keeps_one_level_and_year(demo_tree: ScoringTree) -> None:
    a = score(open_ledger(unit_setup("a", YEAR, demo_tree, SEED_003_DEADLINES)))
    b = score(open_ledger(unit_setup("b", YEAR - 1, demo_tree, SEED_003_DEADLINES)))
    assert [r.unit_id for r in rank_scores([a, b], Level.DEPARTMENT, YEAR).ranked] == ["a"]
    assert rank_scores([a, b], Level.COMMUNE, YEAR).ranked == ()
