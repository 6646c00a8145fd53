"""The pure scoring core: ledger rules, tree sums, indexes, ranking and replay. No I/O."""

from services.scoring.core.commands import (
    AppraisalRecorded,
    Command,
    EvidenceUnlinked,
    EvidenceVerdict,
    Published,
    ResultCorrected,
    SelfScoreEntered,
    Submitted,
    SupplementRequested,
    SurveyResultsImported,
    Verdict,
)
from services.scoring.core.deadlines import SEED_003_DEADLINES, VIETNAM_TZ, DeadlineTable, MonthDay, lock_time
from services.scoring.core.errors import ScoringError, ScoringReason
from services.scoring.core.ledger import (
    Correction,
    Ledger,
    UnitSetup,
    apply,
    open_ledger,
    recompute_totals,
    unit_setup,
)
from services.scoring.core.published import YearSetup, setup_differences
from services.scoring.core.ranking import RankedUnit, RankEntry, Ranking, rank, rank_scores
from services.scoring.core.replay import ReplayResult, UnitEvent, UnitKey, apply_event, replay, setup_table
from services.scoring.core.scores import NodeScore, UnitScore, display, ratio_index, score
from services.scoring.core.standings import EMPTY_STANDINGS, Standings, standings
from services.scoring.core.totals import Sums, apply_leaf_change
from services.scoring.core.tree import ROOT, ScoringTree, compile_tree

__all__ = [
    "EMPTY_STANDINGS",
    "ROOT",
    "SEED_003_DEADLINES",
    "VIETNAM_TZ",
    "AppraisalRecorded",
    "Command",
    "Correction",
    "DeadlineTable",
    "EvidenceUnlinked",
    "EvidenceVerdict",
    "Ledger",
    "MonthDay",
    "NodeScore",
    "Published",
    "RankEntry",
    "RankedUnit",
    "Ranking",
    "ReplayResult",
    "ResultCorrected",
    "ScoringError",
    "ScoringReason",
    "ScoringTree",
    "SelfScoreEntered",
    "Standings",
    "Submitted",
    "Sums",
    "SupplementRequested",
    "SurveyResultsImported",
    "UnitEvent",
    "UnitKey",
    "UnitScore",
    "UnitSetup",
    "Verdict",
    "YearSetup",
    "apply",
    "apply_event",
    "apply_leaf_change",
    "compile_tree",
    "display",
    "lock_time",
    "open_ledger",
    "rank",
    "rank_scores",
    "ratio_index",
    "recompute_totals",
    "replay",
    "score",
    "setup_differences",
    "setup_table",
    "standings",
    "unit_setup",
]
