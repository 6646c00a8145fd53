"""Adapters between the contracts and the pure scoring core: the criteria catalogue, replay of a
unit's stored ledger into a core Ledger, and the ScoreUpdated / RankingUpdated payloads."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from types import MappingProxyType
from typing import Any

from contracts.envelope import Event
from contracts.events import (
    AppraisalRecorded,
    ComponentScore,
    DocumentUnlinked,
    EvidenceVerified,
    Published,
    RankEntry,
    ResultCorrected,
    SelfScoreEntered,
    Submitted,
    SupplementRequested,
    SurveyResultsImported,
)
from contracts.registry import parse_event_dict
from criteria.errors import CriteriaError, CriteriaLoadError
from criteria.loader import data_path, load_document, load_set
from criteria.model import CriteriaSet, Level, Overlay, Source
from criteria.overlay import resolve
from services.scoring.core import commands as cmd
from services.scoring.core.deadlines import SEED_003_DEADLINES, DeadlineTable
from services.scoring.core.errors import ScoringError, ScoringReason
from services.scoring.core.ledger import Ledger, UnitSetup, apply, open_ledger, unit_setup
from services.scoring.core.published import YearSetup, setup_differences, year_setup
from services.scoring.core.ranking import Ranking
from services.scoring.core.rules import ProvinceRules, default_rules
from services.scoring.core.scores import has_result, score
from services.scoring.core.tree import ScoringTree, compile_tree
from services.scoring.rules import (
    PROVINCES_DIR,
    RulesError,
    RulesProblem,
    RulesReason,
    check_criteria,
    check_units,
    load_rules_dir,
    tree_total,
)

log = logging.getLogger(__name__)
DEMO_SET_ID = "demo-department"
PACKAGED_SETS: Mapping[str, str] = MappingProxyType({DEMO_SET_ID: "demo.yaml"})


@dataclass(frozen=True)
class CriteriaCatalogue:
    """Criteria sets by id, compiled once (a set is data; its id is the file's stem)."""

    sets: Mapping[str, CriteriaSet]
    trees: Mapping[str, ScoringTree]
    deadlines: DeadlineTable = field(default_factory=lambda: SEED_003_DEADLINES)
    # Files of the criteria folder that were not loaded, and why (one bad file stops no other).
    refused: Mapping[str, str] = field(default_factory=dict)
    # The province's own rules per year (services/scoring/rules.py), from <criteria dir>/provinces.
    rules: Mapping[int, ProvinceRules] = field(default_factory=lambda: MappingProxyType({}))
    # Sets as amended for one year by the overlays in the folder (seed 000), by (set id, year).
    amended: Mapping[tuple[str, int], ScoringTree] = field(default_factory=lambda: MappingProxyType({}))
    # The amended sets themselves (titles renamed, nodes excluded), for views of that year.
    amended_sets: Mapping[tuple[str, int], CriteriaSet] = field(default_factory=lambda: MappingProxyType({}))
    # (set id, year) whose overlays could not be applied: the base alone would score that year wrongly.
    unamendable: Mapping[tuple[str, int], str] = field(default_factory=lambda: MappingProxyType({}))
    # The overlays' decisions applied to a set for a year, by (set id, year).
    overlays: Mapping[tuple[str, int], tuple[str, ...]] = field(default_factory=lambda: MappingProxyType({}))

    def overlays_for(self, set_id: str, year: int) -> tuple[str, ...]:
        return self.overlays.get((set_id, year), ())

    def group_of(self, unit_id: str, year: int) -> str | None:
        rules = self.rules.get(year)
        return rules.group_of(unit_id) if rules is not None else None

    def tree_for(self, set_id: str, year: int) -> ScoringTree:
        """The tree that scores `year`: the set amended for that year when an overlay covers it."""
        why = self.unamendable.get((set_id, year))
        if why is not None:
            raise ScoringError(ScoringReason.INCOMPLETE_CRITERIA, why)
        amended = self.amended.get((set_id, year))
        return amended if amended is not None else self.tree(set_id)

    def set_for(self, set_id: str, year: int) -> CriteriaSet:
        """The set as in force in `year` (amended titles and nodes), for display."""
        amended = self.amended_sets.get((set_id, year))
        return amended if amended is not None else self.sets[set_id]

    def deadlines_for(self, year: int) -> DeadlineTable:
        """The year's deadlines; a level its rules file leaves out keeps the default date."""
        rules = self.rules.get(year)
        return rules.deadlines_or(self.deadlines) if rules is not None else self.deadlines

    def rules_for(self, year: int) -> ProvinceRules:
        """The year's rules, or the default display (two decimals, no bands) without a file."""
        rules = self.rules.get(year)
        return rules if rules is not None else default_rules(year)

    def set_id_for(self, level: str, registered: str, year: int) -> str:
        """The set scoring a unit of `level` in `year`: the year's choice, else its registered set."""
        rules = self.rules.get(year)
        if rules is None:
            return registered
        try:
            choice = rules.criteria.get(Level(level))
        except ValueError:
            return registered
        return choice.set_id if choice is not None else registered

    def ranked_for(self, unit_id: str, registered: bool, year: int) -> bool:
        """Whether the unit is ranked in `year`: the year's rules file, else its registration."""
        rules = self.rules.get(year)
        return rules.ranked_of(unit_id, registered) if rules is not None else registered

    def unscored_codes(self, level: str, set_id: str, year: int, codes: Iterable[str]) -> list[str]:
        """The codes the set scoring a unit of `level` registered with `set_id` no longer has in
        `year` (an overlay excluded them, seed 000's 7.3 in 2023; the year's rules file chose
        another set). Raises ScoringError when that year cannot be scored with the set."""
        tree = self.tree_for(self.set_id_for(level, set_id, year), year)
        return [code for code in codes if code not in tree.leaves_under]

    def tree(self, set_id: str) -> ScoringTree:
        try:
            return self.trees[set_id]
        except KeyError:
            raise KeyError(f"unknown criteria set {set_id!r}; known: {sorted(self.trees)}") from None


def load_catalogue(directory: Path | None = None) -> CriteriaCatalogue:
    sets: dict[str, CriteriaSet] = {name: load_set(data_path(file)) for name, file in PACKAGED_SETS.items()}
    refused: dict[str, str] = {}
    overlays: dict[str, Overlay] = {}
    if directory is not None:
        for path in sorted(directory.glob("*.yaml")):
            try:
                doc = load_document(path)
            except CriteriaLoadError as exc:  # a file with errors: not a set to score
                refused[path.name] = "; ".join(i.render() for i in exc.issues)
                log.warning("criteria %s not loaded: %s", path, refused[path.name])
                continue
            if isinstance(doc, Overlay):
                overlays[path.name] = doc
            else:
                sets[path.stem] = doc
    trees: dict[str, ScoringTree] = {}
    for name, cset in sets.items():
        try:
            trees[name] = compile_tree(cset)
        except ScoringError as exc:  # template sets wait for their official points
            log.warning("criteria set %s cannot be scored yet: %s", name, exc)
    unamendable: dict[tuple[str, int], str] = {}
    amended_sets: dict[tuple[str, int], CriteriaSet] = {}
    applied: dict[tuple[str, int], tuple[str, ...]] = {}
    amended = _amended_trees(sets, overlays, refused, unamendable, amended_sets, applied)
    rules: Mapping[int, ProvinceRules] = MappingProxyType({})
    if directory is not None and (directory / PROVINCES_DIR).is_dir():
        try:
            rules = load_rules_dir(directory / PROVINCES_DIR)
            _chosen_criteria(rules, sets, trees, overlays, amended, amended_sets, unamendable, applied)
        except RulesError as exc:  # a deployment with broken rules scores with none, loudly
            rules = MappingProxyType({})
            refused[PROVINCES_DIR] = str(exc)
            log.error("province rules in %s not loaded: %s", directory / PROVINCES_DIR, exc)
    return CriteriaCatalogue(
        MappingProxyType(sets),
        MappingProxyType(trees),
        refused=MappingProxyType(refused),
        rules=rules,
        amended=MappingProxyType(amended),
        amended_sets=MappingProxyType(amended_sets),
        unamendable=MappingProxyType(unamendable),
        overlays=MappingProxyType(applied),
    )


def _amended_trees(
    sets: Mapping[str, CriteriaSet],
    overlays: Mapping[str, Overlay],
    refused: dict[str, str],
    unamendable: dict[tuple[str, int], str],
    amended_sets: dict[tuple[str, int], CriteriaSet],
    applied: dict[tuple[str, int], tuple[str, ...]],
) -> dict[tuple[str, int], ScoringTree]:
    """Each set amended for each year some overlay covers, overlays applied in file-name order.

    An overlay that amends no loaded set, or whose amended set cannot be scored, is recorded in
    `refused` (the year then cannot be scored with that set: the base alone would be wrong).
    """
    amended: dict[tuple[str, int], ScoringTree] = {}
    matched: set[str] = set()
    for set_id, cset in sets.items():
        mine = [
            (name, o)
            for name, o in overlays.items()
            if o.base_decision == cset.decision and o.base_level is cset.level
        ]
        matched.update(name for name, _ in mine)
        for year in sorted({y for _, o in mine for y in o.years if y in cset.years}):
            try:
                resolved = resolve(cset, [o for _, o in mine], year)
                amended[(set_id, year)] = compile_tree(resolved)
                amended_sets[(set_id, year)] = resolved
                applied[(set_id, year)] = tuple(o.decision for _, o in mine if year in o.years)
            except (CriteriaError, ScoringError) as exc:
                unamendable[(set_id, year)] = f"{set_id} amended for {year} cannot be scored: {exc}"
                for name, o in mine:
                    if year in o.years:
                        refused[name] = f"{set_id} amended for {year} cannot be scored: {exc}"
                log.warning("criteria set %s amended for %s cannot be scored: %s", set_id, year, exc)
    for name in overlays.keys() - matched:
        o = overlays[name]
        refused[name] = f"amends {o.base_decision} ({o.base_level.value}), which no loaded set is"
        log.warning("overlay %s not applied: %s", name, refused[name])
    return amended


def _chosen_criteria(
    rules: Mapping[int, ProvinceRules],
    sets: Mapping[str, CriteriaSet],
    trees: Mapping[str, ScoringTree],
    overlays: Mapping[str, Overlay],
    amended: dict[tuple[str, int], ScoringTree],
    amended_sets: dict[tuple[str, int], CriteriaSet],
    unamendable: dict[tuple[str, int], str],
    applied: dict[tuple[str, int], tuple[str, ...]],
) -> None:
    """Each year's criteria choice (rules `criteria`): the chosen set amended by exactly the
    chosen overlays replaces what the folder's overlays gave for that set and year. Raises
    RulesError, naming every problem, when a choice names what the folder lacks or cannot score;
    the maps are changed only when every choice holds."""
    by_id = {Path(name).stem: overlay for name, overlay in overlays.items()}
    problems = [
        problem
        for year_rules in rules.values()
        for problem in check_criteria(year_rules, sets, frozenset(trees), by_id)
    ]
    chosen: dict[tuple[str, int], tuple[ScoringTree, CriteriaSet, tuple[str, ...]] | None] = {}
    for year, year_rules in sorted(rules.items()):
        for level, choice in year_rules.criteria.items():
            if choice.overlays is None or choice.set_id not in trees:
                continue  # the folder's overlays for that year, as without a choice
            if not choice.overlays:
                chosen[(choice.set_id, year)] = None
                continue
            try:
                listed = [by_id[o] for o in choice.overlays]
                resolved = resolve(sets[choice.set_id], listed, year)
                chosen[(choice.set_id, year)] = (
                    compile_tree(resolved),
                    resolved,
                    tuple(o.decision for o in listed),
                )
            except (CriteriaError, ScoringError, KeyError) as exc:
                where = f"{year_rules.origin}: " if year_rules.origin else ""
                path = f"{where}criteria.{level.value}.overlays"
                problems.append(RulesProblem(RulesReason.AMENDED_SET_NOT_SCORABLE, path, str(exc)))

    def tree_for(set_id: str, year: int) -> ScoringTree | None:
        """The set as it will score `year` once the choices apply (None: cannot be scored)."""
        if (set_id, year) in chosen:
            result = chosen[(set_id, year)]
            return trees.get(set_id) if result is None else result[0]
        if (set_id, year) in unamendable:
            return None
        return amended.get((set_id, year), trees.get(set_id))

    for year_rules in rules.values():
        problems.extend(check_units(year_rules, sets, tree_for))
    if problems:
        raise RulesError(tuple(problems))
    for key, result in chosen.items():
        unamendable.pop(key, None)
        if result is None:  # the base set alone, though some overlay in the folder covers the year
            amended.pop(key, None)
            amended_sets.pop(key, None)
            applied.pop(key, None)
        else:
            amended[key], amended_sets[key], applied[key] = result


def to_command(event: Event, unit_id: str) -> cmd.Command | None:
    """The core command a stored contract event stands for, for one unit."""
    match event:
        case SelfScoreEntered():
            return cmd.SelfScoreEntered(event.criterion_code, event.points, event.explanation or "")
        case EvidenceVerified():
            return cmd.EvidenceVerdict(
                link_id=str(event.link_id),
                leaf=event.criterion_code,
                decision=cmd.Verdict(event.report.decision.value),
                reasons=tuple(r.value for r in event.report.reasons),
                linked_at=event.linked_at,
            )
        case DocumentUnlinked():
            return cmd.EvidenceUnlinked(str(event.link_id), event.occurred_at, event.criterion_code)
        case Submitted():
            return cmd.Submitted()
        case AppraisalRecorded():
            return cmd.AppraisalRecorded(event.criterion_code, event.points, event.comment, event.round)
        case SupplementRequested():
            return cmd.SupplementRequested(tuple(event.criterion_codes), event.until)
        case SurveyResultsImported():
            mine = {r.criterion_code: r.points for r in event.results if r.unit_id == unit_id}
            return cmd.SurveyResultsImported(MappingProxyType(mine)) if mine else None
        case Published():
            return cmd.Published()
        case ResultCorrected() if event.unit_id == unit_id:
            return cmd.ResultCorrected(
                decision_number=event.decision_number,
                reason=event.reason,
                points=MappingProxyType({p.criterion_code: p.points for p in event.points}),
                maximum=event.maximum,
                not_applicable=None if event.not_applicable is None else frozenset(event.not_applicable),
                ranked=event.ranked,
            )
    return None


@dataclass(frozen=True)
class UnitInfo:
    unit_id: str
    name: str
    level: str
    council_id: str
    criteria_set: str
    ranked: bool
    not_applicable: frozenset[str]


def fresh_ledger(
    unit: UnitInfo, year: int, catalogue: CriteriaCatalogue, frozen: YearSetup | None = None
) -> Ledger:
    """The unit's empty ledger for `year`; the year's rules file, when there is one, decides its
    deadlines and the unit's attributes that year (so a later year's file changes nothing here).
    A published year opens with the setup frozen at its publication instead (`frozen`)."""
    if frozen is not None:
        return open_ledger(frozen_setup(unit.unit_id, year, catalogue, frozen))
    set_id = catalogue.set_id_for(unit.level, unit.criteria_set, year)
    cset = catalogue.sets[set_id]
    if cset.years and year not in cset.years:
        raise ScoringError(ScoringReason.SET_NOT_FOR_YEAR, f"{set_id} is for {list(cset.years)}, not {year}")
    if cset.level.value != unit.level:
        raise ScoringError(
            ScoringReason.SET_LEVEL_MISMATCH,
            f"{set_id} is a {cset.level.value} set; {unit.unit_id} is {unit.level}",
        )
    tree = catalogue.tree_for(set_id, year)
    rules = catalogue.rules.get(year)
    attributes = rules.units.get(unit.unit_id) if rules is not None else None
    not_applicable = unit.not_applicable
    maximum = None
    if attributes is not None and rules is not None:
        # The set is known here (the year's choice, else the registered one): the year's file
        # must name its criteria and a maximum it can hold (checked at load where it could be).
        path = f"{rules.origin}: units.{unit.unit_id}" if rules.origin else f"units.{unit.unit_id}"
        if attributes.not_applicable is not None:
            unknown = sorted(c for c in attributes.not_applicable if c not in tree.leaves_under)
            if unknown:
                raise ScoringError(
                    ScoringReason.UNKNOWN_LEAF,
                    f"{path}.not_applicable: {unknown} not in {set_id} ({year})",
                )
            not_applicable = attributes.not_applicable
        maximum = attributes.maximum
        if maximum is not None and maximum > tree_total(tree):
            raise ScoringError(
                ScoringReason.BAD_MAXIMUM,
                f"{path}.maximum: {maximum} above the total of {set_id} ({tree_total(tree)})",
            )
    ranked = catalogue.ranked_for(unit.unit_id, unit.ranked, year)
    setup = unit_setup(
        unit.unit_id, year, tree, catalogue.deadlines_for(year), not_applicable, ranked, maximum
    )
    return open_ledger(setup)


def frozen_setup(unit_id: str, year: int, catalogue: CriteriaCatalogue, frozen: YearSetup) -> UnitSetup:
    """A published unit-year's setup as frozen; only the set's tree is read from the catalogue
    (its id as frozen; what changed there since is reported by `published_changes`)."""
    tree = catalogue.tree_for(frozen.criteria_set, year)
    return UnitSetup(
        unit_id, year, tree, frozen.lock_at, frozen.not_applicable, frozen.ranked, frozen.maximum
    )


def setup_now(unit: UnitInfo, year: int, catalogue: CriteriaCatalogue) -> YearSetup:
    """The unit-year's setup as the files and the registration say today (raises ScoringError
    or KeyError when they no longer score it)."""
    ledger = fresh_ledger(unit, year, catalogue)
    set_id = catalogue.set_id_for(unit.level, unit.criteria_set, year)
    overlays = catalogue.overlays_for(set_id, year)
    return year_setup(ledger, set_id, overlays, catalogue.group_of(unit.unit_id, year))


def published_changes(
    unit: UnitInfo, year: int, catalogue: CriteriaCatalogue, frozen: YearSetup
) -> tuple[str, ...]:
    """What the files now set differently for a published unit-year (not applied: reported with
    reason `published_year_changed`); ("criteria",) when they can no longer score it at all."""
    try:
        now = setup_now(unit, year, catalogue)
    except (ScoringError, KeyError):
        return ("criteria",)
    return setup_differences(frozen, now)


def replay(
    unit: UnitInfo,
    year: int,
    catalogue: CriteriaCatalogue,
    stored: Iterable[dict[str, Any]],
    frozen: YearSetup | None = None,
) -> Ledger:
    """Rebuild a unit's ledger from its stored, already accepted events, in order (a published
    year from the setup frozen at its publication)."""
    ledger = fresh_ledger(unit, year, catalogue, frozen)
    for payload in stored:
        event = parse_event_dict(payload)
        command = to_command(event, unit.unit_id)
        if command is not None:
            ledger = apply(ledger, command, event.occurred_at)
    return ledger


@dataclass(frozen=True)
class ScoreFigures:
    maximum: Decimal
    self_assessed: Decimal
    verified: Decimal
    appraised: Decimal | None
    survey: Decimal
    achieved: Decimal
    index: Decimal
    projected_index: Decimal
    components: tuple[ComponentScore, ...]
    has_result: bool = True


def figures(ledger: Ledger) -> ScoreFigures:
    """The core's score, plus the split the provincial software shows: verified, appraised, survey."""
    result = score(ledger)
    verified = survey = appraised = Decimal(0)
    any_appraisal = False
    for code, spec in ledger.tree.leaves.items():
        if code in ledger.not_applicable:
            continue
        state = ledger.leaf(code)
        if spec.source is Source.SURVEY:
            survey += state.survey_points or Decimal(0)
            continue
        if state.supported and state.self_points is not None:
            verified += state.self_points
        if state.appraised is not None:
            any_appraisal = True
            appraised += state.appraised
    total = result.total
    components = tuple(
        ComponentScore(code=node.code, maximum=node.maximum, achieved=node.achieved, index=node.index)
        for node in result.components.values()
    )
    return ScoreFigures(
        maximum=total.maximum,
        self_assessed=total.claimed,
        verified=verified,
        appraised=appraised if any_appraisal else None,
        survey=survey,
        achieved=total.achieved,
        index=total.index or Decimal(0),
        projected_index=total.projected_index or Decimal(0),
        components=components,
        has_result=has_result(ledger),
    )


def ranking_entries(
    ranking: Ranking, reuse: Mapping[str, RankEntry] | None = None
) -> tuple[list[RankEntry], list[RankEntry]]:
    """A core Ranking as the contract's entries: ranked ones in order, the others apart by id.

    `reuse` holds entries built for an earlier ranking of the same level: one whose rank and
    (identical) index object still match is reused, since building 10,000 validated entries
    costs more than ranking them and one unit's move changes only the ranks it passes.
    """
    known = reuse or {}

    def entry(unit_id: str, index: Decimal, rank: int | None) -> RankEntry:
        old = known.get(unit_id)
        if old is not None and old.rank == rank and old.index is index:
            return old
        return RankEntry(unit_id=unit_id, index=index, rank=rank)

    def no_result(unit_id: str) -> RankEntry:
        old = known.get(unit_id)
        if old is not None and old.no_result:
            return old
        return RankEntry(unit_id=unit_id, index=Decimal(0), rank=None, no_result=True)

    entries = [entry(u.unit_id, u.index, u.rank) for u in ranking.ranked]
    apart = [
        no_result(u.unit_id) if u.index is None else entry(u.unit_id, u.index, None)
        for u in ranking.not_ranked
    ]  # by unit id
    return entries, apart
