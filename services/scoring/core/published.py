"""A published unit-year's setup, frozen at publication (issue 13: a published year is immutable
except through a recorded correction).

A ledger's setup (criteria set and the overlays applied, exemptions, the published reduced
maximum, ranked, ranking group) is otherwise recomputed from the rules files and the unit's
registration whenever the ledger is replayed. Once the year is published the setup captured at
publication is used instead; what the files now say differently is only reported
(`setup_differences`, reason `published_year_changed`).

How the level's year was shown at publication (decimals, decimal mark, rating bands, group names:
`PublishedDisplay`) is frozen the same way, per level and year, and read back through
`shown_as_published`; a later edit of those in the year's file is reported (`display_differences`).
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from types import MappingProxyType

from criteria.model import Level
from services.scoring.core.ledger import Ledger
from services.scoring.core.rules import Band, ProvinceRules, RankingGroup, UnitYear, default_rules
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


# ---- how a published year was shown ---------------------------------------------------------

# The display fields compared between the publication and what the year's file says now.
DISPLAY_COMPARED = ("decimals", "decimal_comma", "bands", "groups")


@dataclass(frozen=True)
class PublishedDisplay:
    """How a level's year was shown when it was published (issue 13: the published years stay
    as published): the index's decimals and decimal mark, the rating bands and the names of the
    level's ranking groups, as the year's rules file said then. `from_file`: False when the
    year had no rules file (two decimals, a point, no bands, no groups)."""

    from_file: bool
    decimals: int
    decimal_comma: bool
    bands: tuple[Band, ...]
    groups: tuple[RankingGroup, ...]


def published_display(rules: ProvinceRules | None, level: Level) -> PublishedDisplay:
    """The display of `level` that `rules` (the year's file, None without one) gives."""
    shown = rules if rules is not None else default_rules(0)
    return PublishedDisplay(
        from_file=rules is not None,
        decimals=shown.decimals,
        decimal_comma=shown.decimal_comma,
        bands=shown.bands,
        groups=tuple(g for g in shown.groups if g.level is level),
    )


def display_differences(frozen: PublishedDisplay, now: PublishedDisplay) -> tuple[str, ...]:
    """The display fields the year's file now sets differently from the publication."""
    return tuple(name for name in DISPLAY_COMPARED if getattr(frozen, name) != getattr(now, name))


def shown_as_published(
    rules: ProvinceRules | None,
    year: int,
    frozen: PublishedDisplay,
    groups_of: Mapping[str, str | None],
) -> ProvinceRules | None:
    """The year's rules as the publication showed them: its display (`frozen`) and each unit's
    ranking group as frozen with its setup (`groups_of`), whatever the file says now. None when
    the year had no rules file at publication (the default display, as then)."""
    if not frozen.from_file:
        return None
    base = rules if rules is not None else default_rules(year)
    return dataclasses.replace(
        base,
        decimals=frozen.decimals,
        decimal_comma=frozen.decimal_comma,
        bands=frozen.bands,
        groups=frozen.groups,
        units=MappingProxyType({unit: UnitYear(group=group) for unit, group in groups_of.items()}),
    )
