from __future__ import annotations

from datetime import datetime

import pytest

from criteria.loader import load_packaged_set
from services.scoring.core import (
    SEED_003_DEADLINES,
    VIETNAM_TZ,
    Ledger,
    ScoringTree,
    compile_tree,
    open_ledger,
    unit_setup,
)

YEAR = 2025


def vn(month: int, day: int, hour: int = 9, minute: int = 0, year: int = YEAR) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=VIETNAM_TZ)


@pytest.fixture(scope="session")
def demo_tree() -> ScoringTree:
    return compile_tree(load_packaged_set("demo.yaml"))


@pytest.fixture
def ledger(demo_tree: ScoringTree) -> Ledger:
    """A department (so-noi-vu) ledger for 2025: it locks at 16/12/2025 00:00 UTC+7."""
    return open_ledger(unit_setup("so-noi-vu", YEAR, demo_tree, SEED_003_DEADLINES))
