"""A province's own rules for one year, as data: ranking groups, display decimals, rating bands,
deadlines and per-unit attributes of that year. Pure values and functions; the YAML adapter is
services/scoring/rules.py.

- Ranking groups (Vĩnh Phúc 2019 ranks central agencies located in the province, departments and
  districts separately): a unit's rank inside its group follows the level's ranking order, ties
  share a rank and the next skips, as in ranking.py.
- Display (Thừa Thiên Huế publishes three decimals with a decimal comma: 97,685): `text`.
- Rating bands (Xuất sắc / Tốt / Khá / Trung bình / Yếu): the first band whose minimum the
  displayed index reaches, since provinces band the figure they publish.
- Unit attributes belong to the year's file, so next year's exemption never reaches a published
  year (issue 13: changing 2024's exemption rewrote 2023's result). Whether a unit is ranked is
  one of them (seed 003: Ban Dân tộc and Thanh tra tỉnh are evaluated but not ranked).
- Criteria per level: the year's file may name the set and the amendment overlays that score
  each level that year (`CriteriaChoice`); without it the unit's registered set and every
  overlay covering the year apply.
- Deadlines: a level the year's file leaves out keeps the default (seed 003's) date.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType

from criteria.model import Level
from services.scoring.core.deadlines import DeadlineTable
from services.scoring.core.ranking import Ranking
from services.scoring.core.scores import display

DEFAULT_DECIMALS = 2


@dataclass(frozen=True, slots=True)
class RankingGroup:
    id: str
    name: str
    level: Level


@dataclass(frozen=True, slots=True)
class Band:
    name: str
    minimum: Decimal


@dataclass(frozen=True, slots=True)
class UnitYear:
    """A unit's attributes for one year; None keeps what the unit's registration says."""

    group: str | None = None
    # The published reduced maximum when the exempted criteria are not named (Thanh Hóa 2023).
    maximum: Decimal | None = None
    not_applicable: frozenset[str] | None = None
    # Evaluated but not ranked that year (seed 003: Ban Dân tộc, Thanh tra tỉnh).
    ranked: bool | None = None


@dataclass(frozen=True, slots=True)
class CriteriaChoice:
    """The criteria set scoring one level in the year, and exactly the overlays amending it
    (None: every overlay in the criteria folder that covers the year, as without a choice)."""

    set_id: str
    overlays: tuple[str, ...] | None = None


@dataclass(frozen=True)
class ProvinceRules:
    province: str
    year: int
    # The file it was read from (problems name it).
    origin: str = ""
    name: str = ""
    source: str = ""
    decimals: int = DEFAULT_DECIMALS
    decimal_comma: bool = False
    groups: tuple[RankingGroup, ...] = ()
    # Highest minimum first.
    bands: tuple[Band, ...] = ()
    deadlines: DeadlineTable | None = None
    units: Mapping[str, UnitYear] = field(default_factory=lambda: MappingProxyType({}))
    criteria: Mapping[Level, CriteriaChoice] = field(default_factory=lambda: MappingProxyType({}))

    def shown(self, value: Decimal) -> Decimal:
        return display(value, self.decimals)

    def text(self, value: Decimal) -> str:
        """The figure as the province prints it: its decimals, its decimal mark (97,685)."""
        shown = str(self.shown(value))
        return shown.replace(".", ",") if self.decimal_comma else shown

    def band(self, index: Decimal | None) -> str | None:
        if index is None:
            return None
        shown = self.shown(index)
        for band in self.bands:
            if shown >= band.minimum:
                return band.name
        return None

    def group_of(self, unit_id: str) -> str | None:
        attributes = self.units.get(unit_id)
        return attributes.group if attributes is not None else None

    def ranked_of(self, unit_id: str, registered: bool) -> bool:
        """Whether the unit is ranked this year: the year's file, else its registration."""
        attributes = self.units.get(unit_id)
        if attributes is None or attributes.ranked is None:
            return registered
        return attributes.ranked

    def deadlines_or(self, default: DeadlineTable) -> DeadlineTable:
        """The year's deadlines; a level the file leaves out keeps `default`'s date."""
        if self.deadlines is None:
            return default
        return MappingProxyType({**default, **self.deadlines})


def default_rules(year: int) -> ProvinceRules:
    """The display without a rules file: two decimals, a decimal point, no bands."""
    return ProvinceRules(province="", year=year)


def group_ranks(ranking: Ranking, rules: ProvinceRules) -> dict[str, int]:
    """Each ranked unit's rank inside its group (units with no group get none)."""
    out: dict[str, int] = {}
    seen: dict[str, int] = {}
    last: dict[str, tuple[Decimal, int]] = {}
    for unit in ranking.ranked:
        group = rules.group_of(unit.unit_id)
        if group is None:
            continue
        position = seen.get(group, 0) + 1
        seen[group] = position
        previous = last.get(group)
        rank = previous[1] if previous is not None and previous[0] == unit.index else position
        last[group] = (unit.index, rank)
        out[unit.unit_id] = rank
    return out
