"""A published unit-year's setup, frozen at publication (issue 13: a published year is immutable
except through a recorded correction).

A ledger's setup (criteria set and the overlays applied, exemptions, the published reduced
maximum, ranked, ranking group) is otherwise recomputed from the rules files and the unit's
registration whenever the ledger is replayed. Once the year is published the setup captured at
publication is used instead; what the files now say differently is only reported
(`setup_differences`, reason `published_year_changed`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from services.scoring.core.ledger import Ledger
from services.scoring.core.tree import ScoringTree

# The fields compared between a frozen setup and what the files say now, in report order.
COMPARED = (
    "level",
    "criteria_set",
    "overlays",
    "criteria",
    "not_applicable",
    "maximum",
    "ranked",
    "group",
    "lock_at",
)


def _step(step: Decimal | None) -> str:
    return "" if step is None else str(step.normalize())


def tree_digest(tree: ScoringTree) -> str:
    """A fingerprint of what scoring reads from a compiled set: every leaf's code, maximum,
    source and step (a changed set file under the same id changes it)."""
    lines = sorted(
        f"{code}|{spec.maximum.normalize()}|{spec.source.value}|{_step(spec.step)}"
        for code, spec in tree.leaves.items()
    )
    return hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class YearSetup:
    """What scoring needs of a unit for one year before any command."""

    level: str
    criteria_set: str
    # Decisions of the amendment overlays applied to the set for that year (seed 000).
    overlays: tuple[str, ...]
    criteria: str  # tree_digest of the set as scored that year
    # Leaf codes not scored (already expanded from fields or criteria).
    not_applicable: frozenset[str]
    maximum: Decimal | None
    ranked: bool
    group: str | None
    # The period's lock as it was (a later deadline change must not refuse stored events).
    lock_at: datetime


def year_setup(ledger: Ledger, criteria_set: str, overlays: tuple[str, ...], group: str | None) -> YearSetup:
    """The setup a ledger was opened with (taken at publication, before any correction)."""
    return YearSetup(
        level=ledger.level.value,
        criteria_set=criteria_set,
        overlays=overlays,
        criteria=tree_digest(ledger.tree),
        not_applicable=ledger.not_applicable,
        maximum=ledger.published_maximum,
        ranked=ledger.ranked,
        group=group,
        lock_at=ledger.lock_at,
    )


def setup_differences(frozen: YearSetup, now: YearSetup) -> tuple[str, ...]:
    """The fields the files now set differently from the published setup."""
    return tuple(name for name in COMPARED if getattr(frozen, name) != getattr(now, name))
