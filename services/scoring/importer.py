"""A province's own tables in: units, appraisals and survey results, as the ledger events they
stand for, all or none.

Layouts:
- units: a table with a heading row (Mã đơn vị, Tên đơn vị, Cấp, Hội đồng thẩm định, Bộ tiêu chí,
  Xếp hạng, Không áp dụng), as `export units` writes it; one UnitRegistered per row.
- appraisals: the appendix workbook `export xlsx` writes (a sheet per unit, "Đơn vị: name (id)"
  in A2, the year in A1's title); each leaf row with a value in "Điểm thẩm định" becomes an
  AppraisalRecorded (survey leaves are left to the survey import).
- survey: either the same appendix workbook (its survey leaves) or a flat table (Mã đơn vị,
  Mã tiêu chí, Điểm); one SurveyResultsImported for the whole file.

Every row is checked first, against the pure scoring core applied to the units' current ledgers
in file order (the same `apply` the service runs), so a refusal names its sheet, row, column and
reason code; only a file with no refusal is committed, in one transaction. A row whose value is
already recorded produces no event, so importing an exported workbook again changes nothing.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from types import MappingProxyType
from typing import Any
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from contracts.envelope import Event
from contracts.events import YEAR_MAX, YEAR_MIN, AppraisalRecorded, SurveyPoints, SurveyResultsImported
from contracts.events import UnitRegistered as UnitRegisteredEvent
from contracts.routing import Service
from contracts.vocabulary import Level
from criteria.model import Source
from kiemchung.runtime.clock import Clock, IdSource
from kiemchung.runtime.messaging import EventFactory, ServiceRuntime, Status
from services.scoring.core import commands as cmd
from services.scoring.core.errors import ScoringError, ScoringReason
from services.scoring.core.ledger import Ledger, apply
from services.scoring.export import HEADER_ROW, HEADINGS
from services.scoring.handlers import build_handlers, current_ledger, load_units
from services.scoring.service import CriteriaCatalogue, UnitInfo
from services.scoring.store import rejections
from services.scoring.tables import Cell, Sheet, TableError, column_letter, decimal, text

IMPORT_PRODUCER = "kiemchung.import"
SCORING_PRODUCER = "kiemchung.scoring"
UNIT_ID_CELL = (2, 1)
TITLE_CELL = (1, 1)
CODE_COLUMN = 1
APPRAISED_COLUMN = HEADINGS.index("Điểm thẩm định") + 1
# How far down a flat table's heading row may be (titles above it are common).
HEADING_SEARCH_ROWS = 10
_UNIT_ID_IN_TITLE = re.compile(r"\(([^()]+)\)\s*$")
_YEAR_IN_TITLE = re.compile(r"NĂM\s+(\d{4})", re.IGNORECASE)
_LIST_SEPARATORS = re.compile(r"[,;\s]+")


class ImportKind(StrEnum):
    UNITS = "units"
    APPRAISALS = "appraisals"
    SURVEY = "survey"


class ImportReason(StrEnum):
    """Why a row (or the file) is refused before any scoring rule is asked."""

    MISSING_COLUMN = "missing_column"
    MISSING_VALUE = "missing_value"
    BAD_NUMBER = "bad_number"
    BAD_LEVEL = "bad_level"
    BAD_FLAG = "bad_flag"
    BAD_YEAR = "bad_year"
    YEAR_MISMATCH = "year_mismatch"
    NO_UNIT_ID = "no_unit_id"
    UNKNOWN_UNIT = "unknown_unit"
    UNKNOWN_CRITERIA_SET = "unknown_criteria_set"
    UNKNOWN_CRITERION = "unknown_criterion"
    # A not-applicable code the set as amended for the import's year no longer scores (seed 000).
    NOT_SCORED_THAT_YEAR = "not_scored_that_year"
    DUPLICATE_ROW = "duplicate_row"
    NO_ROWS = "no_rows"
    TOO_LONG = "too_long"
    REFUSED_ON_COMMIT = "refused_on_commit"


@dataclass(frozen=True)
class Refusal:
    """One refused row: where (sheet, 1-based row, column letter) and why (a reason code)."""

    sheet: str
    row: int
    column: str
    reason: str
    detail: str = ""

    def render(self) -> str:
        where = f"{self.sheet}!{self.column}{self.row}" if self.row else self.sheet
        return f"{where}: {self.reason}" + (f" ({self.detail})" if self.detail else "")


@dataclass(frozen=True)
class ImportPlan:
    kind: ImportKind
    events: tuple[Event, ...]
    refusals: tuple[Refusal, ...]
    # Rows read that stand for a value (including unchanged ones that need no event).
    rows: int

    @property
    def ok(self) -> bool:
        return not self.refusals


@dataclass(frozen=True)
class ImportOptions:
    year: int | None = None
    source: str = ""
    actor: str = IMPORT_PRODUCER


def file_refusal(exc: TableError, name: str) -> Refusal:
    return Refusal(name, 0, "", exc.reason.value, exc.detail)


# ---- flat tables --------------------------------------------------------------------------------

UNIT_HEADINGS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "unit_id": ("Mã đơn vị", "unit_id"),
        "name": ("Tên đơn vị", "name"),
        "level": ("Cấp", "level"),
        "council_id": ("Hội đồng thẩm định", "council_id"),
        "criteria_set": ("Bộ tiêu chí", "criteria_set"),
        "ranked": ("Xếp hạng", "ranked"),
        "not_applicable": ("Không áp dụng", "not_applicable"),
    }
)
UNIT_REQUIRED = ("unit_id", "name", "level", "council_id", "criteria_set")
SURVEY_HEADINGS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "unit_id": ("Mã đơn vị", "unit_id"),
        "criterion_code": ("Mã tiêu chí", "criterion_code"),
        "points": ("Điểm", "points"),
    }
)
LEVEL_WORDS: Mapping[str, Level] = MappingProxyType(
    {
        **{level.value: level for level in Level},
        "sở": Level.DEPARTMENT,
        "sở, ban, ngành": Level.DEPARTMENT,
        "cấp sở": Level.DEPARTMENT,
        "huyện": Level.DISTRICT,
        "cấp huyện": Level.DISTRICT,
        "xã": Level.COMMUNE,
        "cấp xã": Level.COMMUNE,
    }
)
YES_WORDS = frozenset({"", "có", "x", "1", "true", "yes", "có xếp hạng"})
NO_WORDS = frozenset({"không", "0", "false", "no", "không xếp hạng"})
LEVEL_NAMES: Mapping[Level, str] = MappingProxyType(
    {Level.DEPARTMENT: "sở", Level.DISTRICT: "huyện", Level.COMMUNE: "xã"}
)


def _fold(heading: Cell) -> str:
    return " ".join(text(heading).lower().split())


@dataclass(frozen=True)
class FlatTable:
    sheet: Sheet
    heading_row: int
    columns: Mapping[str, int]

    def value(self, row: int, key: str) -> Cell:
        column = self.columns.get(key)
        return None if column is None else self.sheet.cell(row, column)

    def letter(self, key: str) -> str:
        return column_letter(self.columns.get(key, 0)) if key in self.columns else ""

    def data_rows(self) -> Iterable[int]:
        for number in range(self.heading_row + 1, len(self.sheet.rows) + 1):
            if any(text(v) for v in self.sheet.rows[number - 1]):
                yield number


def find_flat_table(sheet: Sheet, headings: Mapping[str, tuple[str, ...]]) -> FlatTable | None:
    """The first row (of the first few) naming the table's first column; columns by heading."""
    first = {_fold(a) for a in next(iter(headings.values()))}
    for number, row in enumerate(sheet.rows[:HEADING_SEARCH_ROWS], start=1):
        folded = [_fold(v) for v in row]
        if not first & set(folded):
            continue
        columns: dict[str, int] = {}
        for key, aliases in headings.items():
            wanted = {_fold(a) for a in aliases}
            for position, value in enumerate(folded, start=1):
                if value in wanted:
                    columns[key] = position
                    break
        return FlatTable(sheet, number, MappingProxyType(columns))
    return None


# ---- the plan ----------------------------------------------------------------------------------


@dataclass
class _Planner:
    session: Session
    catalogue: CriteriaCatalogue
    events: EventFactory
    options: ImportOptions
    now: datetime
    correlation: UUID
    refusals: list[Refusal] = field(default_factory=list)
    out: list[Event] = field(default_factory=list)
    rows: int = 0
    _units: dict[str, UnitInfo] | None = None
    _ledgers: dict[tuple[str, int], Ledger] = field(default_factory=dict)

    def refuse(self, sheet: str, row: int, column: int | str, reason: StrEnum, detail: str = "") -> None:
        letter = column_letter(column) if isinstance(column, int) else column
        self.refusals.append(Refusal(sheet, row, letter, reason.value, detail))

    def units(self) -> dict[str, UnitInfo]:
        if self._units is None:
            self._units = {u.unit_id: u for u in load_units(self.session)}
        return self._units

    def ledger(self, unit: UnitInfo, year: int) -> Ledger:
        key = (unit.unit_id, year)
        if key not in self._ledgers:
            self._ledgers[key] = current_ledger(self.session, unit, year, self.catalogue)
        return self._ledgers[key]

    def make(self, model: type[Event], **fields: Any) -> Event:
        return self.events.make(model, correlation_id=self.correlation, **fields)

    # ---- units ----

    def plan_units(self, sheets: Sequence[Sheet]) -> None:
        sheet = sheets[0]
        table = find_flat_table(sheet, UNIT_HEADINGS)
        if table is None:
            self.refuse(
                sheet.name,
                1,
                "A",
                ImportReason.MISSING_COLUMN,
                f"no heading row naming {UNIT_HEADINGS['unit_id'][0]!r}",
            )
            return
        missing = [UNIT_HEADINGS[k][0] for k in UNIT_REQUIRED if k not in table.columns]
        if missing:
            self.refuse(sheet.name, table.heading_row, "A", ImportReason.MISSING_COLUMN, ", ".join(missing))
            return
        seen: dict[str, int] = {}
        for row in table.data_rows():
            self.rows += 1
            self._unit_row(table, row, seen)
        if not self.rows:
            self.refuse(sheet.name, table.heading_row, "A", ImportReason.NO_ROWS)

    def _unit_row(self, table: FlatTable, row: int, seen: dict[str, int]) -> None:
        name = table.sheet.name
        values = {key: text(table.value(row, key)) for key in UNIT_HEADINGS}
        ok = True
        for key in UNIT_REQUIRED:
            if not values[key]:
                self.refuse(name, row, table.letter(key), ImportReason.MISSING_VALUE, UNIT_HEADINGS[key][0])
                ok = False
        unit_id = values["unit_id"]
        if unit_id in seen:
            self.refuse(
                name,
                row,
                table.letter("unit_id"),
                ImportReason.DUPLICATE_ROW,
                f"{unit_id} is on row {seen[unit_id]}",
            )
            ok = False
        seen[unit_id] = row
        if len(unit_id) > 100:
            self.refuse(name, row, table.letter("unit_id"), ImportReason.TOO_LONG, "at most 100 characters")
            ok = False
        level = LEVEL_WORDS.get(values["level"].lower()) if values["level"] else None
        if values["level"] and level is None:
            self.refuse(name, row, table.letter("level"), ImportReason.BAD_LEVEL, values["level"])
            ok = False
        flag = values["ranked"].lower()
        if flag not in YES_WORDS | NO_WORDS:
            self.refuse(name, row, table.letter("ranked"), ImportReason.BAD_FLAG, values["ranked"])
            ok = False
        set_id = values["criteria_set"]
        codes = [c for c in _LIST_SEPARATORS.split(values["not_applicable"]) if c]
        if set_id and set_id not in self.catalogue.trees:
            self.refuse(name, row, table.letter("criteria_set"), ImportReason.UNKNOWN_CRITERIA_SET, set_id)
            ok = False
        elif set_id:
            tree = self.catalogue.trees[set_id]
            if level is not None and tree.level.value != level.value:
                self.refuse(
                    name,
                    row,
                    table.letter("level"),
                    ImportReason.BAD_LEVEL,
                    f"{set_id} is a {tree.level.value} set",
                )
                ok = False
            unknown = [c for c in codes if c not in tree.leaves_under]
            if unknown:
                self.refuse(
                    name,
                    row,
                    table.letter("not_applicable"),
                    ImportReason.UNKNOWN_CRITERION,
                    ", ".join(unknown),
                )
                ok = False
            elif codes and level is not None and self.options.year is not None:
                ok = self._scored_that_year(table, row, level, set_id, codes) and ok
        if not ok or level is None:
            return
        known = self.units().get(unit_id)
        fields = {
            "unit_id": unit_id,
            "name": values["name"],
            "level": level,
            "council_id": values["council_id"],
            "criteria_set": set_id,
            "ranked": flag not in NO_WORDS,
            "not_applicable": codes,
        }
        if known is not None and _same_unit(known, fields):
            return
        self.out.append(self.make(UnitRegisteredEvent, **fields))

    def _scored_that_year(
        self, table: FlatTable, row: int, level: Level, set_id: str, codes: list[str]
    ) -> bool:
        """With --year: the not-applicable codes against the set as amended for that year."""
        year = self.options.year
        assert year is not None
        try:
            gone = self.catalogue.unscored_codes(level.value, set_id, year, codes)
        except ScoringError as exc:
            self.refuse(table.sheet.name, row, table.letter("criteria_set"), exc.reason, str(exc))
            return False
        if gone:
            detail = f"{', '.join(gone)} not scored in {year}"
            self.refuse(
                table.sheet.name,
                row,
                table.letter("not_applicable"),
                ImportReason.NOT_SCORED_THAT_YEAR,
                detail,
            )
        return not gone

    # ---- appendix workbooks ----

    def _year(self, sheet: Sheet) -> int | None:
        found = _YEAR_IN_TITLE.search(text(sheet.cell(*TITLE_CELL)))
        year = int(found.group(1)) if found else None
        wanted = self.options.year
        if wanted is not None and year is not None and wanted != year:
            self.refuse(
                sheet.name,
                TITLE_CELL[0],
                TITLE_CELL[1],
                ImportReason.YEAR_MISMATCH,
                f"sheet says {year}, asked {wanted}",
            )
            return None
        chosen = year if year is not None else wanted
        if chosen is None or not YEAR_MIN <= chosen <= YEAR_MAX:
            self.refuse(
                sheet.name,
                TITLE_CELL[0],
                TITLE_CELL[1],
                ImportReason.BAD_YEAR,
                "no year in the title; pass --year",
            )
            return None
        return chosen

    def plan_appendix(
        self, sheets: Sequence[Sheet], survey: bool
    ) -> dict[tuple[str, str], tuple[Decimal, int]]:
        """Appraisals (events appended) or survey points by (unit, leaf) with their year."""
        results: dict[tuple[str, str], tuple[Decimal, int]] = {}
        seen: dict[str, str] = {}
        for sheet in sheets:
            if not is_unit_sheet(sheet):
                continue
            found = _UNIT_ID_IN_TITLE.search(text(sheet.cell(*UNIT_ID_CELL)))
            if found is None:
                self.refuse(
                    sheet.name,
                    UNIT_ID_CELL[0],
                    UNIT_ID_CELL[1],
                    ImportReason.NO_UNIT_ID,
                    "expected 'Đơn vị: name (id)'",
                )
                continue
            unit_id = found.group(1).strip()
            if unit_id in seen:
                self.refuse(
                    sheet.name,
                    UNIT_ID_CELL[0],
                    UNIT_ID_CELL[1],
                    ImportReason.DUPLICATE_ROW,
                    f"{unit_id} also on sheet {seen[unit_id]!r}",
                )
                continue
            seen[unit_id] = sheet.name
            year = self._year(sheet)
            unit = self.units().get(unit_id)
            if unit is None:
                self.refuse(sheet.name, UNIT_ID_CELL[0], UNIT_ID_CELL[1], ImportReason.UNKNOWN_UNIT, unit_id)
                continue
            if year is None:
                continue
            try:
                self.ledger(unit, year)
            except ScoringError as exc:
                self.refuse(sheet.name, UNIT_ID_CELL[0], UNIT_ID_CELL[1], exc.reason, str(exc))
                continue
            except KeyError:
                self.refuse(
                    sheet.name,
                    UNIT_ID_CELL[0],
                    UNIT_ID_CELL[1],
                    ImportReason.UNKNOWN_CRITERIA_SET,
                    unit.criteria_set,
                )
                continue
            for row in range(HEADER_ROW + 1, len(sheet.rows) + 1):
                self._appendix_row(sheet, row, unit, year, survey, results)
        return results

    def _appendix_row(
        self,
        sheet: Sheet,
        row: int,
        unit: UnitInfo,
        year: int,
        survey: bool,
        results: dict[tuple[str, str], tuple[Decimal, int]],
    ) -> None:
        code = text(sheet.cell(row, CODE_COLUMN))
        if not code:
            return  # the total and index rows, blank lines
        ledger = self.ledger(unit, year)
        tree = ledger.tree
        if code not in tree.leaves_under:
            self.refuse(
                sheet.name,
                row,
                CODE_COLUMN,
                ImportReason.UNKNOWN_CRITERION,
                f"{code} is not in {unit.criteria_set}",
            )
            return
        spec = tree.leaves.get(code)
        if spec is None or (spec.source is Source.SURVEY) is not survey:
            return  # sums, or the other import's leaves
        try:
            points = decimal(sheet.cell(row, APPRAISED_COLUMN))
        except ValueError as exc:
            self.refuse(sheet.name, row, APPRAISED_COLUMN, ImportReason.BAD_NUMBER, str(exc))
            return
        if points is None:
            return
        self.rows += 1
        state = ledger.leaf(code)
        if survey:
            if state.survey_points == points:
                return
            command: cmd.Command = cmd.SurveyResultsImported(MappingProxyType({code: points}))
        else:
            if state.appraised == points:
                return
            command = cmd.AppraisalRecorded(code, points, "", max(state.appraisal_round, 1))
        try:
            self._ledgers[(unit.unit_id, year)] = apply(ledger, command, self.now)
        except ScoringError as exc:
            self.refuse(sheet.name, row, APPRAISED_COLUMN, exc.reason, str(exc))
            return
        if survey:
            results[(unit.unit_id, code)] = (points, year)
            return
        assert isinstance(command, cmd.AppraisalRecorded)
        self.out.append(
            self.make(
                AppraisalRecorded,
                unit_id=unit.unit_id,
                year=year,
                criterion_code=code,
                points=points,
                round=command.round,
                council_id=unit.council_id,
                appraised_by=self.options.actor,
            )
        )

    def plan_survey_table(self, sheet: Sheet) -> dict[tuple[str, str], tuple[Decimal, int]]:
        results: dict[tuple[str, str], tuple[Decimal, int]] = {}
        table = find_flat_table(sheet, SURVEY_HEADINGS)
        year = self.options.year
        if table is None or len(table.columns) < len(SURVEY_HEADINGS):
            names = ", ".join(h[0] for h in SURVEY_HEADINGS.values())
            self.refuse(
                sheet.name,
                table.heading_row if table else 1,
                "A",
                ImportReason.MISSING_COLUMN,
                f"expected {names}",
            )
            return results
        if year is None:
            self.refuse(sheet.name, 0, "", ImportReason.BAD_YEAR, "a survey table needs --year")
            return results
        for row in table.data_rows():
            self.rows += 1
            unit_id = text(table.value(row, "unit_id"))
            code = text(table.value(row, "criterion_code"))
            unit = self.units().get(unit_id)
            if unit is None:
                self.refuse(sheet.name, row, table.letter("unit_id"), ImportReason.UNKNOWN_UNIT, unit_id)
                continue
            if (unit_id, code) in results:
                self.refuse(
                    sheet.name,
                    row,
                    table.letter("criterion_code"),
                    ImportReason.DUPLICATE_ROW,
                    f"{unit_id} {code}",
                )
                continue
            try:
                points = decimal(table.value(row, "points"))
            except ValueError as exc:
                self.refuse(sheet.name, row, table.letter("points"), ImportReason.BAD_NUMBER, str(exc))
                continue
            if points is None:
                self.refuse(sheet.name, row, table.letter("points"), ImportReason.MISSING_VALUE, "Điểm")
                continue
            try:
                ledger = self.ledger(unit, year)
                after = apply(ledger, cmd.SurveyResultsImported(MappingProxyType({code: points})), self.now)
            except KeyError:
                self.refuse(
                    sheet.name,
                    row,
                    table.letter("unit_id"),
                    ImportReason.UNKNOWN_CRITERIA_SET,
                    unit.criteria_set,
                )
                continue
            except ScoringError as exc:
                if exc.reason in _SETUP_REASONS:
                    column = "unit_id"
                elif exc.reason in _CODE_REASONS:
                    column = "criterion_code"
                else:
                    column = "points"
                self.refuse(sheet.name, row, table.letter(column), exc.reason, str(exc))
                continue
            self._ledgers[(unit_id, year)] = after
            results[(unit_id, code)] = (points, year)
        if not self.rows:
            self.refuse(sheet.name, table.heading_row, "A", ImportReason.NO_ROWS)
        return results

    def survey_events(self, results: Mapping[tuple[str, str], tuple[Decimal, int]], name: str) -> None:
        by_year: dict[int, list[SurveyPoints]] = {}
        for (unit_id, code), (points, year) in sorted(results.items()):
            by_year.setdefault(year, []).append(
                SurveyPoints(unit_id=unit_id, criterion_code=code, points=points)
            )
        for year, entries in sorted(by_year.items()):
            self.out.append(
                self.make(
                    SurveyResultsImported, year=year, source=self.options.source or name, results=entries
                )
            )


_CODE_REASONS = frozenset(
    {
        ScoringReason.UNKNOWN_LEAF,
        ScoringReason.NOT_A_LEAF,
        ScoringReason.NOT_SURVEY_LEAF,
        ScoringReason.LEAF_NOT_APPLICABLE,
    }
)


_SETUP_REASONS = frozenset({ScoringReason.SET_NOT_FOR_YEAR, ScoringReason.SET_LEVEL_MISMATCH})


def _same_unit(known: UnitInfo, fields: Mapping[str, Any]) -> bool:
    return (
        known.name == fields["name"]
        and known.level == fields["level"].value
        and known.council_id == fields["council_id"]
        and known.criteria_set == fields["criteria_set"]
        and known.ranked == fields["ranked"]
        and known.not_applicable == frozenset(fields["not_applicable"])
    )


def is_unit_sheet(sheet: Sheet) -> bool:
    """A sheet in the appendix layout: the export's headings on the heading row."""
    heads = tuple(text(sheet.cell(HEADER_ROW, c)) for c in range(1, APPRAISED_COLUMN + 1))
    return heads == HEADINGS[:APPRAISED_COLUMN]


def plan_import(
    kind: ImportKind,
    sheets: Sequence[Sheet],
    name: str,
    session: Session,
    catalogue: CriteriaCatalogue,
    clock: Clock,
    ids: IdSource,
    options: ImportOptions = ImportOptions(),
) -> ImportPlan:
    """Every event the file stands for, or every refusal; nothing is written."""
    factory = EventFactory(IMPORT_PRODUCER, clock, ids)
    planner = _Planner(session, catalogue, factory, options, clock(), ids())
    if kind is ImportKind.UNITS:
        planner.plan_units(sheets)
    else:
        survey = kind is ImportKind.SURVEY
        appendix = [s for s in sheets if is_unit_sheet(s)]
        if appendix:
            results = planner.plan_appendix(appendix, survey)
        elif survey and sheets:
            results = planner.plan_survey_table(sheets[0])
        else:
            planner.refuse(
                name, HEADER_ROW, "A", ImportReason.MISSING_COLUMN, "no sheet in the appendix layout"
            )
            results = {}
        if survey:
            planner.survey_events(results, name)
        if not planner.rows and not planner.refusals:
            planner.refuse(name, 0, "", ImportReason.NO_ROWS)
    return ImportPlan(kind, tuple(planner.out), tuple(planner.refusals), planner.rows)


def commit_plan(
    plan: ImportPlan,
    sessions: sessionmaker[Session],
    catalogue: CriteriaCatalogue,
    clock: Clock,
    ids: IdSource,
) -> tuple[Refusal, ...]:
    """Run the plan's events through the scoring handlers in one transaction; refusals found
    only then (another writer got there between planning and commit) are returned."""
    if not plan.events:
        return ()
    handlers = build_handlers(catalogue, EventFactory(SCORING_PRODUCER, clock, ids), clock)
    runtime = ServiceRuntime(Service.SCORING, handlers, sessions, clock)
    outcomes = asyncio.run(runtime.handle_batch(list(plan.events)))
    late = [
        Refusal(
            "",
            0,
            "",
            ImportReason.REFUSED_ON_COMMIT.value,
            f"{o.event.type if o.event else '?'}: {o.reason} {o.detail}",
        )
        for o in outcomes
        if o.status not in (Status.PROCESSED, Status.DUPLICATE)
    ]
    event_ids = [str(e.event_id) for e in plan.events]
    with sessions() as session:
        for row in session.execute(select(rejections).where(rejections.c.event_id.in_(event_ids))).mappings():
            late.append(
                Refusal(
                    "",
                    0,
                    "",
                    row["reason"],
                    f"{row['event_type']} {row['unit_id']} {row['criterion_code'] or ''}".strip(),
                )
            )
    return tuple(late)


def run_import(
    kind: ImportKind,
    sheets: Sequence[Sheet],
    name: str,
    sessions: sessionmaker[Session],
    catalogue: CriteriaCatalogue,
    clock: Clock,
    ids: IdSource,
    options: ImportOptions = ImportOptions(),
) -> ImportPlan:
    """Plan, then commit only when nothing is refused; the plan returned lists every refusal."""
    with sessions() as session:
        plan = plan_import(kind, sheets, name, session, catalogue, clock, ids, options)
    if not plan.ok:
        return plan
    late = commit_plan(plan, sessions, catalogue, clock, ids)
    return plan if not late else ImportPlan(plan.kind, plan.events, late, plan.rows)


UNITS_SHEET = "Đơn vị"


def units_table(units: Iterable[UnitInfo]) -> list[list[str]]:
    """The units in the layout `import units` reads: a heading row, then one row per unit."""
    rows = [[aliases[0] for aliases in UNIT_HEADINGS.values()]]
    for unit in sorted(units, key=lambda u: u.unit_id):
        rows.append(
            [
                unit.unit_id,
                unit.name,
                unit.level,
                unit.council_id,
                unit.criteria_set,
                "có" if unit.ranked else "không",
                ", ".join(sorted(unit.not_applicable)),
            ]
        )
    return rows
