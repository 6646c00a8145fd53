"""Province rules files (one YAML per province and year) read and validated.

A deployment serves one province: its files live in `<criteria dir>/provinces/*.yaml`; examples
for real provinces are in criteria/provinces/. Every problem is reported with a reason code and
the path inside the file, and a file with any problem is not used. A file's `criteria` choices
name sets and overlays of the criteria folder: `check_criteria` checks them once both are loaded.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType
from typing import Any

from criteria.errors import CriteriaLoadError
from criteria.model import CriteriaSet, Level, Overlay
from criteria.safe_yaml import MAX_YAML_BYTES, safe_load
from services.scoring.core.deadlines import MonthDay
from services.scoring.core.rules import Band, CriteriaChoice, ProvinceRules, RankingGroup, UnitYear
from services.scoring.core.tree import ScoringTree

PROVINCES_DIR = "provinces"
MAX_DECIMALS = 4
MAX_UNITS = 20_000
MAX_OVERLAYS = 50
# What a publication keeps of the display (contracts.events.PublishedDisplay) is bounded alike.
MAX_BANDS = 20
MAX_GROUPS = 200
MAX_NAME_CHARS = 300
MAX_GROUP_ID_CHARS = 100
TOP_KEYS = frozenset(
    {"province", "name", "year", "source", "display", "groups", "bands", "deadlines", "units", "criteria"}
)
UNIT_KEYS = frozenset({"group", "maximum", "not_applicable", "ranked"})
CHOICE_KEYS = frozenset({"set", "overlays"})


class RulesReason(StrEnum):
    UNREADABLE = "unreadable"
    NOT_A_MAPPING = "not_a_mapping"
    UNKNOWN_KEY = "unknown_key"
    MISSING_KEY = "missing_key"
    BAD_YEAR = "bad_year"
    BAD_DECIMALS = "bad_decimals"
    BAD_LEVEL = "bad_level"
    DUPLICATE_GROUP = "duplicate_group"
    UNKNOWN_GROUP = "unknown_group"
    TOO_LONG = "too_long"
    BAD_NUMBER = "bad_number"
    BANDS_NOT_DESCENDING = "bands_not_descending"
    BAD_DEADLINE = "bad_deadline"
    TOO_MANY_UNITS = "too_many_units"
    MIXED_PROVINCES = "mixed_provinces"
    DUPLICATE_YEAR = "duplicate_year"
    BAD_FLAG = "bad_flag"
    BAD_LIST = "bad_list"
    # The year's criteria choice against the criteria folder (check_criteria).
    UNKNOWN_SET = "unknown_set"
    UNKNOWN_OVERLAY = "unknown_overlay"
    SET_LEVEL_MISMATCH = "set_level_mismatch"
    SET_NOT_FOR_YEAR = "set_not_for_year"
    SET_NOT_SCORABLE = "set_not_scorable"
    OVERLAY_NOT_FOR_SET = "overlay_not_for_set"
    OVERLAY_NOT_FOR_YEAR = "overlay_not_for_year"
    AMENDED_SET_NOT_SCORABLE = "amended_set_not_scorable"
    # A unit's attributes against the set its level scores with that year (check_units).
    UNKNOWN_CODE = "unknown_code"
    MAXIMUM_ABOVE_TOTAL = "maximum_above_total"


@dataclass(frozen=True)
class RulesProblem:
    reason: RulesReason
    path: str
    detail: str = ""

    def render(self) -> str:
        return f"{self.path}: {self.reason.value}" + (f" ({self.detail})" if self.detail else "")


class RulesError(Exception):
    def __init__(self, problems: tuple[RulesProblem, ...]) -> None:
        super().__init__("; ".join(p.render() for p in problems))
        self.problems = problems


class _Reader:
    def __init__(self) -> None:
        self.problems: list[RulesProblem] = []

    def problem(self, reason: RulesReason, path: str, detail: str = "") -> None:
        self.problems.append(RulesProblem(reason, path, detail))

    def mapping(self, value: Any, path: str, allowed: frozenset[str]) -> dict[str, Any]:
        if not isinstance(value, dict):
            self.problem(RulesReason.NOT_A_MAPPING, path)
            return {}
        for key in sorted(set(map(str, value)) - allowed):
            self.problem(RulesReason.UNKNOWN_KEY, f"{path}.{key}")
        return {str(k): v for k, v in value.items()}

    def bounded_list(self, value: Any, path: str, most: int) -> list[Any]:
        """A list of at most `most` items (None: empty)."""
        if value is None:
            return []
        if not isinstance(value, list) or len(value) > most:
            self.problem(RulesReason.BAD_LIST, path, f"a list of at most {most} items")
            return []
        return value

    def short(self, value: str, path: str, most: int) -> None:
        if len(value) > most:
            self.problem(RulesReason.TOO_LONG, path, f"more than {most} characters")

    def number(self, value: Any, path: str) -> Decimal | None:
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            self.problem(RulesReason.BAD_NUMBER, path, repr(value))
            return None
        try:
            number = Decimal(str(value).replace(",", "."))
        except InvalidOperation:
            self.problem(RulesReason.BAD_NUMBER, path, repr(value))
            return None
        if not number.is_finite() or number < 0 or number > 100:
            self.problem(RulesReason.BAD_NUMBER, path, f"{value} not in [0, 100]")
            return None
        return number

    def level(self, value: Any, path: str) -> Level | None:
        try:
            return Level(str(value))
        except ValueError:
            self.problem(RulesReason.BAD_LEVEL, path, repr(value))
            return None


def parse_rules(document: Any, origin: str = "") -> ProvinceRules:
    """A rules document as loaded from YAML; RulesError lists every problem."""
    r = _Reader()
    top = r.mapping(document, origin or "$", TOP_KEYS)
    for key in ("province", "year"):
        if key not in top and isinstance(document, dict):
            r.problem(RulesReason.MISSING_KEY, key)
    province = str(top.get("province", "")).strip()
    year = top.get("year")
    if not isinstance(year, int) or isinstance(year, bool) or not 2000 <= year <= 2100:
        r.problem(RulesReason.BAD_YEAR, "year", repr(year))
        year = 0
    display = r.mapping(top.get("display", {}), "display", frozenset({"decimals", "decimal_comma"}))
    decimals = display.get("decimals", 2)
    if not isinstance(decimals, int) or isinstance(decimals, bool) or not 0 <= decimals <= MAX_DECIMALS:
        r.problem(RulesReason.BAD_DECIMALS, "display.decimals", repr(decimals))
        decimals = 2
    groups: list[RankingGroup] = []
    raw_groups = r.bounded_list(top.get("groups"), "groups", MAX_GROUPS)
    for i, raw in enumerate(raw_groups):
        item = r.mapping(raw, f"groups[{i}]", frozenset({"id", "name", "level"}))
        level = r.level(item.get("level"), f"groups[{i}].level")
        group_id = str(item.get("id", "")).strip()
        r.short(group_id, f"groups[{i}].id", MAX_GROUP_ID_CHARS)
        r.short(str(item.get("name", group_id)), f"groups[{i}].name", MAX_NAME_CHARS)
        if not group_id:
            r.problem(RulesReason.MISSING_KEY, f"groups[{i}].id")
        elif any(g.id == group_id for g in groups):
            r.problem(RulesReason.DUPLICATE_GROUP, f"groups[{i}].id", group_id)
        elif level is not None:
            groups.append(RankingGroup(group_id, str(item.get("name", group_id)), level))
    bands: list[Band] = []
    for i, raw in enumerate(r.bounded_list(top.get("bands"), "bands", MAX_BANDS)):
        item = r.mapping(raw, f"bands[{i}]", frozenset({"name", "min"}))
        r.short(str(item.get("name", "")), f"bands[{i}].name", MAX_NAME_CHARS)
        minimum = r.number(item.get("min"), f"bands[{i}].min")
        if minimum is None:
            continue
        if bands and minimum >= bands[-1].minimum:
            r.problem(
                RulesReason.BANDS_NOT_DESCENDING, f"bands[{i}].min", f"{minimum} >= {bands[-1].minimum}"
            )
        bands.append(Band(str(item.get("name", "")), minimum))
    deadlines: dict[Level, MonthDay] | None = None
    if "deadlines" in top:
        deadlines = {}
        levels = frozenset(level.value for level in Level)
        table = r.mapping(top["deadlines"], "deadlines", levels)
        for key, value in table.items():
            if key not in levels:
                continue  # reported as unknown_key
            day = _month_day(str(value))
            if day is None:
                r.problem(RulesReason.BAD_DEADLINE, f"deadlines.{key}", f"{value!r}: expected MM-DD")
            else:
                deadlines[Level(key)] = day
    units: dict[str, UnitYear] = {}
    raw_units = r.mapping(top.get("units") or {}, "units", frozenset(map(str, top.get("units") or {})))
    if len(raw_units) > MAX_UNITS:
        r.problem(RulesReason.TOO_MANY_UNITS, "units", f"more than {MAX_UNITS}")
        raw_units = {}
    known_groups = {g.id for g in groups}
    for unit_id, raw in raw_units.items():
        item = r.mapping(raw, f"units.{unit_id}", UNIT_KEYS)
        group = item.get("group")
        if group is not None and str(group) not in known_groups:
            r.problem(RulesReason.UNKNOWN_GROUP, f"units.{unit_id}.group", str(group))
        maximum = r.number(item["maximum"], f"units.{unit_id}.maximum") if "maximum" in item else None
        codes = item.get("not_applicable")
        ranked = item.get("ranked")
        if ranked is not None and not isinstance(ranked, bool):
            r.problem(RulesReason.BAD_FLAG, f"units.{unit_id}.ranked", f"{ranked!r}: expected true or false")
            ranked = None
        units[unit_id] = UnitYear(
            group=None if group is None else str(group),
            maximum=maximum,
            not_applicable=None if codes is None else frozenset(str(c) for c in codes),
            ranked=ranked,
        )
    criteria = _criteria_choices(r, top.get("criteria"))
    if r.problems:
        raise RulesError(tuple(r.problems))
    return ProvinceRules(
        province=province,
        year=int(year),
        name=str(top.get("name", "")),
        source=str(top.get("source", "")),
        decimals=decimals,
        decimal_comma=bool(display.get("decimal_comma", False)),
        groups=tuple(groups),
        bands=tuple(bands),
        deadlines=MappingProxyType(deadlines) if deadlines is not None else None,
        units=MappingProxyType(units),
        criteria=MappingProxyType(criteria),
    )


def _criteria_choices(r: _Reader, raw: Any) -> dict[Level, CriteriaChoice]:
    """`criteria: {level: {set: id, overlays: [id, ...]}}`; checked against the folder later."""
    out: dict[Level, CriteriaChoice] = {}
    if raw is None:
        return out
    levels = frozenset(level.value for level in Level)
    table = r.mapping(raw, "criteria", levels)
    for key, value in table.items():
        if key not in levels:
            continue  # reported as unknown_key
        path = f"criteria.{key}"
        item = r.mapping(value, path, CHOICE_KEYS)
        set_id = item.get("set")
        if not isinstance(set_id, str) or not set_id.strip():
            r.problem(RulesReason.MISSING_KEY, f"{path}.set")
            continue
        overlays: tuple[str, ...] | None = None
        if "overlays" in item:
            listed = item["overlays"]
            if (
                not isinstance(listed, list)
                or len(listed) > MAX_OVERLAYS
                or not all(isinstance(o, str) and o.strip() for o in listed)
            ):
                r.problem(RulesReason.BAD_LIST, f"{path}.overlays", f"a list of at most {MAX_OVERLAYS} ids")
                continue
            overlays = tuple(o.strip() for o in listed)
        out[Level(key)] = CriteriaChoice(set_id.strip(), overlays)
    return out


def check_criteria(
    rules: ProvinceRules,
    sets: Mapping[str, CriteriaSet],
    scorable: frozenset[str],
    overlays: Mapping[str, Overlay],
) -> tuple[RulesProblem, ...]:
    """The year's criteria choices against the folder's sets and overlays (overlay id: its file's
    stem): the set exists, can be scored, is of that level and for that year; each overlay
    exists, amends that set and covers that year."""
    problems: list[RulesProblem] = []
    where = f"{rules.origin}: " if rules.origin else ""
    for level, choice in rules.criteria.items():
        path = f"{where}criteria.{level.value}"
        cset = sets.get(choice.set_id)
        if cset is None:
            problems.append(RulesProblem(RulesReason.UNKNOWN_SET, f"{path}.set", choice.set_id))
            continue
        if cset.level is not level:
            detail = f"{choice.set_id} is a {cset.level.value} set"
            problems.append(RulesProblem(RulesReason.SET_LEVEL_MISMATCH, f"{path}.set", detail))
        if cset.years and rules.year not in cset.years:
            detail = f"{choice.set_id} is for {list(cset.years)}, not {rules.year}"
            problems.append(RulesProblem(RulesReason.SET_NOT_FOR_YEAR, f"{path}.set", detail))
        if choice.set_id not in scorable:
            problems.append(RulesProblem(RulesReason.SET_NOT_SCORABLE, f"{path}.set", choice.set_id))
        for i, overlay_id in enumerate(choice.overlays or ()):
            opath = f"{path}.overlays[{i}]"
            overlay = overlays.get(overlay_id)
            if overlay is None:
                problems.append(RulesProblem(RulesReason.UNKNOWN_OVERLAY, opath, overlay_id))
                continue
            if (overlay.base_decision, overlay.base_level) != (cset.decision, cset.level):
                detail = f"{overlay_id} amends {overlay.base_decision} ({overlay.base_level.value})"
                problems.append(RulesProblem(RulesReason.OVERLAY_NOT_FOR_SET, opath, detail))
            if rules.year not in overlay.years:
                detail = f"{overlay_id} is for {list(overlay.years)}, not {rules.year}"
                problems.append(RulesProblem(RulesReason.OVERLAY_NOT_FOR_YEAR, opath, detail))
    return tuple(problems)


def tree_total(tree: ScoringTree) -> Decimal:
    """The points a set scored with `tree` can give: its leaves' maxima."""
    return sum((spec.maximum for spec in tree.leaves.values()), Decimal(0))


def check_units(
    rules: ProvinceRules,
    sets: Mapping[str, CriteriaSet],
    tree_for: Callable[[str, int], ScoringTree | None],
) -> tuple[RulesProblem, ...]:
    """Each unit's `not_applicable` codes and `maximum` against the set scoring it that year, so
    a typo never silently exempts nothing. The set is the `criteria` choice of the unit's level
    when its group names the level; otherwise the unit's registered set decides, known only when
    scoring (`service.fresh_ledger` checks it there), and here the candidates are, for the
    unit's level (every level without a group), the level's choice, else each scorable set of
    the level covering the year. A code none of them has is
    `unknown_code`; a maximum above every candidate's total is `maximum_above_total`.
    `tree_for(set_id, year)`: the set as amended for the year, None when it cannot be scored."""
    problems: list[RulesProblem] = []
    where = f"{rules.origin}: " if rules.origin else ""
    group_levels = {g.id: g.level for g in rules.groups}
    for unit_id, attributes in sorted(rules.units.items()):
        if attributes.not_applicable is None and attributes.maximum is None:
            continue
        level = group_levels.get(attributes.group) if attributes.group is not None else None
        candidates: list[str] = []
        for each in (level,) if level is not None else tuple(Level):
            choice = rules.criteria.get(each)
            if choice is not None:
                candidates.append(choice.set_id)
                continue
            candidates.extend(
                sorted(
                    set_id
                    for set_id, cset in sets.items()
                    if cset.level is each and (not cset.years or rules.year in cset.years)
                )
            )
        trees = [tree for tree in (tree_for(set_id, rules.year) for set_id in candidates) if tree is not None]
        if not trees:
            continue  # nothing scorable to check against: check_criteria or scoring says why
        path = f"{where}units.{unit_id}"
        named = ", ".join(candidates)
        for code in sorted(attributes.not_applicable or ()):
            if all(code not in tree.leaves_under for tree in trees):
                detail = f"{code!r} is in no criterion of {named} ({rules.year})"
                problems.append(RulesProblem(RulesReason.UNKNOWN_CODE, f"{path}.not_applicable", detail))
        maximum = attributes.maximum
        if maximum is not None and all(maximum > tree_total(tree) for tree in trees):
            totals = ", ".join(str(tree_total(tree)) for tree in trees)
            detail = f"{maximum} is above the total of {named} ({totals})"
            problems.append(RulesProblem(RulesReason.MAXIMUM_ABOVE_TOTAL, f"{path}.maximum", detail))
    return tuple(problems)


def _month_day(value: str) -> MonthDay | None:
    parts = value.strip().split("-")
    if len(parts) != 2 or not all(p.isdigit() for p in parts):
        return None
    month, day = int(parts[0]), int(parts[1])
    try:
        from datetime import date

        date(2000, month, day)  # a leap year: 02-29 is a real deadline in some years
    except ValueError:
        return None
    return MonthDay(month, day)


def load_rules(path: Path) -> ProvinceRules:
    try:
        if path.stat().st_size > MAX_YAML_BYTES:
            raise RulesError(
                (RulesProblem(RulesReason.UNREADABLE, str(path), f"over {MAX_YAML_BYTES} bytes"),)
            )
        document = safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise RulesError((RulesProblem(RulesReason.UNREADABLE, str(path), str(exc)),)) from exc
    except CriteriaLoadError as exc:
        detail = "; ".join(i.render() for i in exc.issues)
        raise RulesError((RulesProblem(RulesReason.UNREADABLE, str(path), detail),)) from exc
    try:
        rules = parse_rules(document)
    except RulesError as exc:  # name the file: a deployment has one per year
        named = tuple(dataclasses.replace(p, path=f"{path.name}: {p.path}") for p in exc.problems)
        raise RulesError(named) from exc
    return dataclasses.replace(rules, origin=path.name)


def load_rules_dir(directory: Path) -> Mapping[int, ProvinceRules]:
    """The deployment's rules by year; one province per directory."""
    by_year: dict[int, ProvinceRules] = {}
    for path in sorted(directory.glob("*.yaml")):
        rules = load_rules(path)
        if by_year and next(iter(by_year.values())).province != rules.province:
            raise RulesError((RulesProblem(RulesReason.MIXED_PROVINCES, str(path), rules.province),))
        if rules.year in by_year:
            raise RulesError((RulesProblem(RulesReason.DUPLICATE_YEAR, str(path), str(rules.year)),))
        by_year[rules.year] = rules
    return MappingProxyType(by_year)
