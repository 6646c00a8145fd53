"""A province's own tables in: units, appraisals and survey results, as the ledger events they
stand for, all or none.

The tables are the province's, not ours: each sheet's heading is found by meaning (layout.py),
units are matched by id or by name (unitmatch.py), numbers may be text with a decimal comma.
Shapes read, for appraisals and survey results:
- appendix: a sheet per unit (criterion code in "STT"/"Mã tiêu chí", points in "Điểm thẩm
  định"/"Điểm đạt được", or for survey results "Điểm điều tra XHH"/"Điểm khảo sát"), the unit
  named in the title block ("Đơn vị: Sở Nội vụ", our export's "Đơn vị: name (id)", "… của Sở Nội
  vụ") or by the sheet's name; `export xlsx` writes this shape;
- flat: one row per unit and criterion (Mã đơn vị or Tên đơn vị, Mã tiêu chí, Điểm);
- wide: one row per unit, one column per criterion code; for survey results also a single
  survey column, which stands for the set's survey criterion when the set has exactly one.
Units: a table naming at least the unit (Mã đơn vị and/or Tên đơn vị); level, council and
criteria set come from their columns or from the options (`--level`, `--council`,
`--criteria-set`); a missing id is made from the name.

Every row is checked first, against the pure scoring core applied to the units' current ledgers
in file order (the same `apply` the service runs), so a refusal names its sheet, row, column and
reason code; only a file with no refusal is committed, in one transaction. A row whose value is
already recorded produces no event, so importing an exported workbook again changes nothing.
Rows that are not data (totals, group headings, column numbers, hidden rows) and sheets that hold
no table are listed as notes, never skipped silently.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
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
from services.scoring.core.tree import ScoringTree
from services.scoring.export import HEADINGS
from services.scoring.handlers import build_handlers, current_ledger, load_units
from services.scoring.layout import (
    CODE_PATTERN,
    Field,
    Layout,
    Skip,
    find_layouts,
    heading_code,
    is_roman,
    skip_reason,
)
from services.scoring.service import CriteriaCatalogue, UnitInfo
from services.scoring.store import rejections
from services.scoring.tables import (
    Cell,
    CellError,
    Sheet,
    TableError,
    TableReason,
    column_letter,
    decimal,
    text,
)
from services.scoring.unitmatch import MatchReason, UnitDirectory
from services.scoring.vntext import fold, legacy_encoding

IMPORT_PRODUCER = "kiemchung.import"
SCORING_PRODUCER = "kiemchung.scoring"
APPRAISED_COLUMN = HEADINGS.index("Điểm thẩm định") + 1
MAX_UNIT_ID_CHARS = 100
SHEET_TITLE_MAX = 31
_UNIT_ID_IN_TITLE = re.compile(r"\(([^()]+)\)\s*$")
_UNIT_LABEL = re.compile(
    r"^\s*(?:tên\s+)?(?:cơ\s+quan,?\s*)?(?:đơn\s+vị|cơ\s+quan|địa\s+phương)\s*(?:được\s+đánh\s+giá)?\s*:\s*(.+)$",
    re.IGNORECASE,
)
_OF_UNIT = re.compile(
    r"\bcủa\s+((?:sở|ban|ubnd|ủy ban|uỷ ban|văn phòng|thanh tra|huyện|thị xã|thành phố)\b.+)$", re.IGNORECASE
)
_YEAR = re.compile(r"\bnam\s+(\d{4})\b")
_DATE_BEFORE = re.compile(r"thang\s+\d{1,2}\s*$")
_LIST_SEPARATORS = re.compile(r"[,;\s]+")
_SLUG = re.compile(r"[^a-z0-9]+")
_FOUR_DIGITS = re.compile(r"\d{4}")


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
    AMBIGUOUS_UNIT = "ambiguous_unit"
    UNKNOWN_CRITERIA_SET = "unknown_criteria_set"
    UNKNOWN_CRITERION = "unknown_criterion"
    # A not-applicable code the set as amended for the import's year no longer scores (seed 000).
    NOT_SCORED_THAT_YEAR = "not_scored_that_year"
    NOT_A_CRITERION_CODE = "not_a_criterion_code"
    AMBIGUOUS_CODE = "ambiguous_code"
    AMBIGUOUS_COLUMN = "ambiguous_column"
    SURVEY_TOTAL_AMBIGUOUS = "survey_total_ambiguous"
    DUPLICATE_ROW = "duplicate_row"
    NO_ROWS = "no_rows"
    EXTRA_VALUES = "extra_values"
    TOO_LONG = "too_long"
    REFUSED_ON_COMMIT = "refused_on_commit"


class NoteKind(StrEnum):
    """What the import says about a sheet or row it did not take as data (never silent)."""

    SHEET_USED = "sheet_used"
    SHEET_IGNORED = "sheet_ignored"
    COLUMN_IGNORED = "column_ignored"
    UNIT_FROM = "unit_from"
    ID_FROM_NAME = "id_from_name"
    SAME_VALUE_TWICE = "same_value_twice"


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
class Note:
    """A sheet or row not taken as data, or how a table was read (a skip reason or NoteKind)."""

    sheet: str
    row: int
    what: str
    detail: str = ""

    def render(self) -> str:
        where = f"{self.sheet} row {self.row}" if self.row else self.sheet
        return f"{where}: {self.what}" + (f" ({self.detail})" if self.detail else "")


@dataclass(frozen=True)
class Planned:
    """A value the file stands for: recorded by the import, or already recorded (no event)."""

    sheet: str
    row: int
    column: str
    unit_id: str
    year: int
    code: str
    points: Decimal
    recorded: bool

    def render(self) -> str:
        state = "record" if self.recorded else "unchanged"
        where = f"{self.sheet}!{self.column}{self.row}"
        return f"{where}: {state} {self.unit_id} {self.year} {self.code} = {self.points}"


@dataclass(frozen=True)
class ImportPlan:
    kind: ImportKind
    events: tuple[Event, ...]
    refusals: tuple[Refusal, ...]
    # Rows read that stand for a value (including unchanged ones that need no event).
    rows: int
    notes: tuple[Note, ...] = ()
    planned: tuple[Planned, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.refusals


@dataclass(frozen=True)
class ImportOptions:
    year: int | None = None
    source: str = ""
    actor: str = IMPORT_PRODUCER
    # Units: used where the table has no such column (or leaves the cell empty).
    level: str = ""
    council_id: str = ""
    criteria_set: str = ""


def file_refusal(exc: TableError, name: str) -> Refusal:
    return Refusal(name, 0, "", exc.reason.value, exc.detail)


LEVEL_WORDS: Mapping[str, Level] = MappingProxyType(
    {
        **{level.value: level for level in Level},
        "so": Level.DEPARTMENT,
        "so ban nganh": Level.DEPARTMENT,
        "cap so": Level.DEPARTMENT,
        "huyen": Level.DISTRICT,
        "cap huyen": Level.DISTRICT,
        "xa": Level.COMMUNE,
        "cap xa": Level.COMMUNE,
        "co quan chuyen mon": Level.DEPARTMENT,
        "ubnd cap huyen": Level.DISTRICT,
        "ubnd huyen": Level.DISTRICT,
        "huyen thi xa thanh pho": Level.DISTRICT,
        "ubnd cap xa": Level.COMMUNE,
        "xa phuong thi tran": Level.COMMUNE,
    }
)
YES_WORDS = frozenset({"", "co", "x", "1", "true", "yes", "co xep hang"})
NO_WORDS = frozenset({"khong", "0", "false", "no", "khong xep hang"})
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
UNIT_FIELDS = frozenset(
    {
        Field.UNIT_ID,
        Field.NAME,
        Field.STT,
        Field.NOTE,
        Field.LEVEL,
        Field.COUNCIL,
        Field.CRITERIA_SET,
        Field.RANKED,
        Field.NOT_APPLICABLE,
    }
)
VALUE_FIELDS = frozenset(
    {
        Field.YEAR,
        Field.UNIT_ID,
        Field.NAME,
        Field.STT,
        Field.NOTE,
        Field.CODE,
        Field.CONTENT,
        Field.APPRAISED,
        Field.SELF,
        Field.MAXIMUM,
        Field.SURVEY,
        Field.POINTS,
        Field.TOTAL,
        Field.INDEX,
        Field.RANK,
    }
)
_UNIT_COLUMNS = (Field.UNIT_ID, Field.NAME)


def _accept_values(survey: bool) -> tuple[frozenset[Field], ...]:
    values = (Field.SURVEY, Field.APPRAISED, Field.POINTS) if survey else (Field.APPRAISED, Field.POINTS)
    out: list[frozenset[Field]] = []
    for value in values:
        # A lone "Mã" (UNIT_ID) may head the criterion codes (_codes_under_ma).
        out += [frozenset({code, value}) for code in (Field.CODE, Field.STT, Field.UNIT_ID)]
        out += [frozenset({unit, Field.CODE, value}) for unit in _UNIT_COLUMNS]
    if survey:
        out += [frozenset({unit, Field.SURVEY}) for unit in _UNIT_COLUMNS]
    return tuple(out)


def _value_field(layout: Layout, survey: bool) -> Field | None:
    order = (Field.SURVEY, Field.APPRAISED, Field.POINTS) if survey else (Field.APPRAISED, Field.POINTS)
    return next((f for f in order if f in layout.columns), None)


def normal_code(value: Cell, tree: ScoringTree) -> tuple[str, ImportReason | None]:
    """A criterion code as the set writes it, or why the cell is not one. A code typed as a
    number loses a trailing zero (1.10 becomes 1.1): refused when the set has both."""
    raw = text(value).replace(" ", "").rstrip(".")
    if not CODE_PATTERN.match(raw):
        prefixed = heading_code(text(value))  # "TC 1.1", "Tiêu chí 2.2.1"
        if prefixed is None:
            return raw, ImportReason.NOT_A_CRITERION_CODE
        raw = prefixed
    if isinstance(value, float) and f"{raw}0" in tree.leaves_under:
        return raw, ImportReason.AMBIGUOUS_CODE
    return raw, None


def slug(name: str) -> str:
    return _SLUG.sub("-", fold(name)).strip("-")[:MAX_UNIT_ID_CHARS]


# ---- the plan ----------------------------------------------------------------------------------

# (unit, criterion, year) -> (points, where)
Results = dict[tuple[str, str, int], tuple[Decimal, str]]


@dataclass
class _Planner:
    session: Session
    catalogue: CriteriaCatalogue
    events: EventFactory
    options: ImportOptions
    now: datetime
    correlation: UUID
    refusals: list[Refusal] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)
    planned: list[Planned] = field(default_factory=list)
    out: list[Event] = field(default_factory=list)
    rows: int = 0
    _units: UnitDirectory | None = None
    _ledgers: dict[tuple[str, int], Ledger] = field(default_factory=dict)

    def refuse(self, sheet: str, row: int, column: int | str, reason: StrEnum, detail: str = "") -> None:
        letter = column_letter(column) if isinstance(column, int) else column
        self.refusals.append(Refusal(sheet, row, letter, reason.value, detail))

    def note(self, sheet: str, row: int, what: StrEnum, detail: str = "") -> None:
        self.notes.append(Note(sheet, row, what.value, detail))

    def directory(self) -> UnitDirectory:
        if self._units is None:
            self._units = UnitDirectory.of(load_units(self.session))
        return self._units

    def units(self) -> Mapping[str, UnitInfo]:
        return self.directory().by_id

    def ledger(self, unit: UnitInfo, year: int) -> Ledger:
        key = (unit.unit_id, year)
        if key not in self._ledgers:
            self._ledgers[key] = current_ledger(self.session, unit, year, self.catalogue)
        return self._ledgers[key]

    def make(self, model: type[Event], **fields: Any) -> Event:
        return self.events.make(model, correlation_id=self.correlation, **fields)

    def readable(self, sheet: Sheet) -> bool:
        """False (refused) when the sheet's text is typed in a legacy Vietnamese encoding."""
        texts = [v for row in sheet.rows[:200] for v in row if isinstance(v, str)]
        found = legacy_encoding(texts)
        if found is None:
            return True
        self.refuse(
            sheet.name,
            0,
            "",
            TableReason.LEGACY_ENCODING,
            f"the text looks typed in {found.value}; convert it to Unicode (e.g. Unikey's converter)",
        )
        return False

    # ---- units ----

    def plan_units(self, sheets: Sequence[Sheet]) -> None:
        accept = (frozenset({Field.UNIT_ID}), frozenset({Field.NAME}))
        chosen: Layout | None = None
        for sheet in sheets:
            if not self.readable(sheet):
                return
            layout = find_layouts(sheet, UNIT_FIELDS, accept)
            if layout is not None and chosen is None and not sheet.hidden:
                chosen = layout
                self.note(sheet.name, 0, NoteKind.SHEET_USED, layout.describe())
            elif layout is None:
                self.note(sheet.name, 0, NoteKind.SHEET_IGNORED, "no units table (Mã đơn vị / Tên đơn vị)")
        if chosen is None:
            name = sheets[0].name if sheets else ""
            self.refuse(
                name, 1, "A", ImportReason.MISSING_COLUMN, "no heading row naming 'Mã đơn vị' or 'Tên đơn vị'"
            )
            return
        defaults = {
            "level": self.options.level,
            "council_id": self.options.council_id,
            "criteria_set": self.options.criteria_set,
        }
        missing = [
            UNIT_HEADINGS[k][0]
            for k, f in (
                ("level", Field.LEVEL),
                ("council_id", Field.COUNCIL),
                ("criteria_set", Field.CRITERIA_SET),
            )
            if f not in chosen.columns and not defaults[k]
        ]
        if missing:
            self.refuse(
                chosen.sheet.name,
                chosen.first,
                "A",
                ImportReason.MISSING_COLUMN,
                ", ".join(missing) + " (or give --level / --council / --criteria-set)",
            )
            return
        seen: dict[str, int] = {}
        for row in chosen.data_rows():
            skipped = skip_reason(chosen, row, (Field.NAME, Field.UNIT_ID))
            if skipped is not None:
                self.note(chosen.sheet.name, row, skipped, text(chosen.value(row, Field.NAME)))
                continue
            self.rows += 1
            self._unit_row(chosen, row, seen, defaults)
        if not self.rows:
            self.refuse(chosen.sheet.name, chosen.first, "A", ImportReason.NO_ROWS)

    def _unit_row(self, table: Layout, row: int, seen: dict[str, int], defaults: Mapping[str, str]) -> None:
        name = table.sheet.name
        keys = {
            "unit_id": Field.UNIT_ID,
            "name": Field.NAME,
            "level": Field.LEVEL,
            "council_id": Field.COUNCIL,
            "criteria_set": Field.CRITERIA_SET,
            "ranked": Field.RANKED,
            "not_applicable": Field.NOT_APPLICABLE,
        }
        values = {key: text(table.value(row, f)) for key, f in keys.items()}
        for key, default in defaults.items():
            values[key] = values[key] or default
        letters = {key: table.letter(f) or "A" for key, f in keys.items()}
        ok = True
        if not values["unit_id"] and values["name"]:
            values["unit_id"] = slug(values["name"])
            self.note(name, row, NoteKind.ID_FROM_NAME, f"{values['name']} → {values['unit_id']}")
        for key in ("unit_id", "name", "level", "council_id", "criteria_set"):
            if not values[key]:
                self.refuse(name, row, letters[key], ImportReason.MISSING_VALUE, UNIT_HEADINGS[key][0])
                ok = False
        unit_id = values["unit_id"]
        if unit_id in seen:
            self.refuse(
                name,
                row,
                letters["unit_id"],
                ImportReason.DUPLICATE_ROW,
                f"{unit_id} is on row {seen[unit_id]}",
            )
            ok = False
        seen[unit_id] = row
        if len(unit_id) > MAX_UNIT_ID_CHARS:
            self.refuse(
                name,
                row,
                letters["unit_id"],
                ImportReason.TOO_LONG,
                f"at most {MAX_UNIT_ID_CHARS} characters",
            )
            ok = False
        level = LEVEL_WORDS.get(fold(values["level"])) if values["level"] else None
        if values["level"] and level is None:
            self.refuse(name, row, letters["level"], ImportReason.BAD_LEVEL, values["level"])
            ok = False
        flag = fold(values["ranked"])
        if flag not in YES_WORDS | NO_WORDS:
            self.refuse(name, row, letters["ranked"], ImportReason.BAD_FLAG, values["ranked"])
            ok = False
        set_id = values["criteria_set"]
        codes = [c for c in _LIST_SEPARATORS.split(values["not_applicable"]) if c]
        if set_id and set_id not in self.catalogue.trees:
            self.refuse(name, row, letters["criteria_set"], ImportReason.UNKNOWN_CRITERIA_SET, set_id)
            ok = False
        elif set_id:
            tree = self.catalogue.trees[set_id]
            if level is not None and tree.level.value != level.value:
                self.refuse(
                    name,
                    row,
                    letters["level"],
                    ImportReason.BAD_LEVEL,
                    f"{set_id} is a {tree.level.value} set",
                )
                ok = False
            unknown = [c for c in codes if c not in tree.leaves_under]
            if unknown:
                self.refuse(
                    name, row, letters["not_applicable"], ImportReason.UNKNOWN_CRITERION, ", ".join(unknown)
                )
                ok = False
            elif codes and level is not None and self.options.year is not None:
                ok = self._scored_that_year(name, row, letters, level, set_id, codes) and ok
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
        self, name: str, row: int, letters: Mapping[str, str], level: Level, set_id: str, codes: list[str]
    ) -> bool:
        """With --year: the not-applicable codes against the set as amended for that year."""
        year = self.options.year
        assert year is not None
        try:
            gone = self.catalogue.unscored_codes(level.value, set_id, year, codes)
        except ScoringError as exc:
            self.refuse(name, row, letters["criteria_set"], exc.reason, str(exc))
            return False
        if gone:
            detail = f"{', '.join(gone)} not scored in {year}"
            self.refuse(name, row, letters["not_applicable"], ImportReason.NOT_SCORED_THAT_YEAR, detail)
        return not gone

    # ---- appraisals and survey results ----

    def _year(self, layout: Layout, *, required: bool = True) -> int | None:
        """The scored year: the title block's "năm YYYY" (not a date's), or --year; refused when
        they disagree or neither says."""
        sheet = layout.sheet
        found: dict[int, tuple[int, int]] = {}
        for row, column, value in layout.title_texts():
            folded = fold(value)
            for match in _YEAR.finditer(folded):
                if _DATE_BEFORE.search(folded[: match.start()]):
                    continue
                found.setdefault(int(match.group(1)), (row, column))
        wanted = self.options.year
        if wanted is not None:
            other = {y: where for y, where in found.items() if y != wanted}
            if other and wanted not in found:
                year, (row, column) = next(iter(other.items()))
                self.refuse(
                    sheet.name,
                    row,
                    column,
                    ImportReason.YEAR_MISMATCH,
                    f"the title says {year}, asked {wanted}",
                )
                return None
            return wanted
        if len(found) == 1:
            year = next(iter(found))
            if YEAR_MIN <= year <= YEAR_MAX:
                return year
        if not required:
            return None  # each row's "Năm" says
        detail = (
            f"the title names several years ({', '.join(map(str, sorted(found)))}); pass --year"
            if len(found) > 1
            else "no year in the title; pass --year"
        )
        self.refuse(sheet.name, layout.first, "A", ImportReason.BAD_YEAR, detail)
        return None

    def _row_year(self, layout: Layout, row: int, default: int | None) -> int | None:
        """The row's year from a "Năm" column (a number, text or a date cell, as Excel stores
        dates: a serial shown as a date), else the table's; refused when neither or when it
        disagrees with --year."""
        cell = layout.value(row, Field.YEAR)
        sheet, letter = layout.sheet.name, layout.letter(Field.YEAR)
        if cell is None or text(cell) == "":
            if default is None:
                self.rows += 1
                self.refuse(sheet, row, letter or "A", ImportReason.BAD_YEAR, "no year: pass --year")
            return default
        year = _year_of(cell)
        if year is None or not YEAR_MIN <= year <= YEAR_MAX:
            self.rows += 1
            self.refuse(sheet, row, letter, ImportReason.BAD_YEAR, f"{text(cell)!r} is not a year")
            return None
        wanted = self.options.year
        if wanted is not None and wanted != year:
            self.rows += 1
            self.refuse(
                sheet, row, letter, ImportReason.YEAR_MISMATCH, f"the row says {year}, asked {wanted}"
            )
            return None
        return year

    def plan_values(self, sheets: Sequence[Sheet], survey: bool) -> Results:
        results: Results = {}
        used = 0
        for sheet in sheets:
            if not sheet.rows:
                continue
            if not self.readable(sheet):
                continue
            layout = find_layouts(sheet, VALUE_FIELDS, _accept_values(survey), wide=True)
            if layout is None:
                self.note(sheet.name, 0, NoteKind.SHEET_IGNORED, "no table of criteria and points")
                continue
            if sheet.hidden:
                self.note(sheet.name, 0, NoteKind.SHEET_IGNORED, "hidden sheet")
                continue
            layout = _codes_under_ma(layout)
            unit_column = next((f for f in _UNIT_COLUMNS if f in layout.columns), None)
            value = _value_field(layout, survey)
            if unit_column is None and value is not None:
                shape = "appendix"
            elif unit_column is not None and Field.CODE in layout.columns and value is not None:
                shape = "flat"
            elif unit_column is not None and (
                layout.codes or layout.conflicts or (survey and Field.SURVEY in layout.columns)
            ):
                shape = "wide"
            else:
                self.note(sheet.name, 0, NoteKind.SHEET_IGNORED, f"no points column ({layout.describe()})")
                continue
            used += 1
            self.note(sheet.name, 0, NoteKind.SHEET_USED, f"{shape} table, {layout.describe()}")
            unread = layout.unread()
            if unread:
                names = ", ".join(
                    f"{column_letter(c)} {' '.join(layout.labels[c].split())!r}" for c in unread
                )
                self.note(sheet.name, layout.first, NoteKind.COLUMN_IGNORED, f"not read: {names}")
            for unused in (Field.SELF, Field.TOTAL, Field.INDEX, Field.RANK):
                if unused in layout.columns:
                    heading = " ".join(layout.labels[layout.columns[unused]].split())
                    self.note(
                        sheet.name,
                        layout.first,
                        NoteKind.COLUMN_IGNORED,
                        f"{layout.letter(unused)} {heading!r}: {_UNUSED[unused]}",
                    )
            year = self._year(layout, required=shape == "appendix" or Field.YEAR not in layout.columns)
            if year is None and (shape == "appendix" or Field.YEAR not in layout.columns):
                continue
            if shape == "appendix":
                assert year is not None
                assert value is not None
                self._appendix(layout, value, year, survey, results)
            elif shape == "flat":
                assert value is not None
                assert unit_column is not None
                self._flat(layout, value, year, survey, results)
            else:
                self._wide(layout, year, survey, results)
        if not used and not self.refusals:
            what = "survey results" if survey else "appraisals"
            self.refuse(
                sheets[0].name if sheets else "",
                0,
                "",
                ImportReason.MISSING_COLUMN,
                f"no sheet holds {what}: expected a criterion code column (STT / Mã tiêu chí) with "
                "points (Điểm thẩm định / Điểm đạt được / Điểm), or a unit column (Mã đơn vị / Tên đơn "
                "vị) with criterion columns" + (" or a survey column (Điểm điều tra XHH)" if survey else ""),
            )
        return results

    def _unit_of_sheet(self, layout: Layout) -> UnitInfo | None:
        sheet = layout.sheet
        directory = self.directory()
        tried: list[str] = []
        for row, column, value in layout.title_texts():
            found = _UNIT_LABEL.match(value) or _OF_UNIT.search(value)
            if found is None:
                continue
            named = found.group(1).strip()
            in_title = _UNIT_ID_IN_TITLE.search(named)
            if in_title and in_title.group(1).strip() in directory.by_id:
                return directory.by_id[in_title.group(1).strip()]
            match = directory.find(name=named)
            if match.unit is not None:
                self.note(sheet.name, row, NoteKind.UNIT_FROM, f"{value!r} → {match.unit.unit_id}")
                return match.unit
            if match.reason is MatchReason.AMBIGUOUS_UNIT:
                self.refuse(sheet.name, row, column, ImportReason.AMBIGUOUS_UNIT, match.detail)
                return None
            tried.append(named)
        match = directory.find(name=sheet.name, prefix=len(sheet.name) >= SHEET_TITLE_MAX)
        if match.unit is not None:
            self.note(sheet.name, 0, NoteKind.UNIT_FROM, f"the sheet's name → {match.unit.unit_id}")
            return match.unit
        tried.append(sheet.name)
        reason = (
            ImportReason.AMBIGUOUS_UNIT
            if match.reason is MatchReason.AMBIGUOUS_UNIT
            else ImportReason.UNKNOWN_UNIT
        )
        self.refuse(
            sheet.name,
            1,
            "A",
            reason,
            match.detail
            if reason is ImportReason.AMBIGUOUS_UNIT
            else f"no registered unit named {' / '.join(map(repr, tried))}",
        )
        return None

    def _unit_ledger(self, sheet: str, row: int, column: str, unit: UnitInfo, year: int) -> Ledger | None:
        try:
            return self.ledger(unit, year)
        except ScoringError as exc:
            self.refuse(sheet, row, column, exc.reason, str(exc))
        except KeyError:
            self.refuse(sheet, row, column, ImportReason.UNKNOWN_CRITERIA_SET, unit.criteria_set)
        return None

    def _appendix(self, layout: Layout, value: Field, year: int, survey: bool, results: Results) -> None:
        sheet = layout.sheet
        unit = self._unit_of_sheet(layout)
        if unit is None:
            return
        ledger = self._unit_ledger(sheet.name, layout.first, "A", unit, year)
        if ledger is None:
            return
        code_field = _code_column(layout)
        code_column = layout.columns[code_field]
        value_column = layout.columns[value]
        for row in layout.data_rows():
            skipped = skip_reason(layout, row, (Field.CONTENT,), groups=False)
            raw = sheet.cell(row, code_column)
            if skipped is None and text(raw) and is_roman(text(raw)):
                skipped = Skip.GROUP_ROW
            if skipped is not None:
                self.note(
                    sheet.name,
                    row,
                    skipped,
                    text(sheet.cell(row, code_column)) or text(layout.value(row, Field.CONTENT)),
                )
                continue
            cell = sheet.cell(row, value_column)
            if not text(raw):
                continue  # a content line, the total and index rows of our own export
            tree = self.ledger(unit, year).tree
            code, problem = normal_code(raw, tree)
            if problem is ImportReason.NOT_A_CRITERION_CODE:
                if text(cell):
                    self.refuse(sheet.name, row, code_column, problem, f"{code!r} with points {text(cell)!r}")
                continue
            if problem is not None:
                self.refuse(
                    sheet.name,
                    row,
                    code_column,
                    problem,
                    f"{code} typed as a number; the set also has {code}0",
                )
                continue
            if code not in tree.leaves_under:
                self.refuse(
                    sheet.name,
                    row,
                    code_column,
                    ImportReason.UNKNOWN_CRITERION,
                    f"{code} is not in {unit.criteria_set}",
                )
                continue
            spec = tree.leaves.get(code)
            if spec is None or (spec.source is Source.SURVEY) is not survey:
                continue  # sums, or the other import's leaves
            self._record(sheet.name, row, value_column, unit, year, code, cell, survey, results)

    def _extra_values(self, layout: Layout, row: int) -> bool:
        """A CSV line with more fields than its heading: a decimal comma in a comma-separated
        file ("Sở Nội vụ,17,25") would otherwise be read as 17."""
        sheet = layout.sheet
        width = max(layout.labels, default=0)
        values = sheet.rows[row - 1]
        if not sheet.encoding or len(values) <= width:
            return False
        self.rows += 1
        self.refuse(
            sheet.name,
            row,
            width + 1,
            ImportReason.EXTRA_VALUES,
            f"{len(values)} fields under a heading of {width}: quote numbers with a decimal comma "
            "(\"17,25\") or separate the fields with ';'",
        )
        return True

    def _row_unit(self, layout: Layout, row: int, values: Sequence[int]) -> tuple[UnitInfo | None, str]:
        """The row's unit, by id or name; a row naming no unit is refused when it holds points
        (and is a blank line of the table otherwise)."""
        unit_id = text(layout.value(row, Field.UNIT_ID))
        name = text(layout.value(row, Field.NAME))
        letter = layout.letter(Field.UNIT_ID) if unit_id else layout.letter(Field.NAME)
        if not unit_id and not name:
            if any(text(layout.sheet.cell(row, c)) for c in values):
                letter = layout.letter(Field.NAME) or layout.letter(Field.UNIT_ID)
                self.rows += 1
                self.refuse(layout.sheet.name, row, letter, ImportReason.MISSING_VALUE, "points with no unit")
            return None, letter
        match = self.directory().find(unit_id=unit_id, name=name)
        if match.unit is None:
            self.rows += 1
            reason = (
                ImportReason.AMBIGUOUS_UNIT
                if match.reason is MatchReason.AMBIGUOUS_UNIT
                else ImportReason.UNKNOWN_UNIT
            )
            self.refuse(layout.sheet.name, row, letter or "A", reason, match.detail)
        return match.unit, letter

    def _flat(
        self, layout: Layout, value: Field, default_year: int | None, survey: bool, results: Results
    ) -> None:
        sheet = layout.sheet
        for row in layout.data_rows():
            skipped = skip_reason(layout, row, _UNIT_COLUMNS)
            if skipped is not None:
                self.note(sheet.name, row, skipped, text(layout.value(row, Field.NAME)))
                continue
            if self._extra_values(layout, row):
                continue
            unit, letter = self._row_unit(layout, row, (layout.columns[value], layout.columns[Field.CODE]))
            if unit is None:
                continue
            year = self._row_year(layout, row, default_year)
            if year is None:
                continue
            ledger = self._unit_ledger(sheet.name, row, letter, unit, year)
            if ledger is None:
                self.rows += 1
                continue
            code, problem = normal_code(layout.value(row, Field.CODE), ledger.tree)
            if problem is not None:
                self.rows += 1
                self.refuse(sheet.name, row, layout.letter(Field.CODE), problem, code)
                continue
            self._record(
                sheet.name,
                row,
                layout.columns[value],
                unit,
                year,
                code,
                layout.value(row, value),
                survey,
                results,
                code_column=layout.letter(Field.CODE),
                unit_column=letter,
                required=True,
            )

    def _wide(self, layout: Layout, default_year: int | None, survey: bool, results: Results) -> None:
        sheet = layout.sheet
        columns = dict(layout.codes)
        total_column = layout.columns.get(Field.SURVEY) if survey and not columns else None
        value_columns = [*columns.values(), *([total_column] if total_column else [])]
        sums: set[tuple[str, int]] = set()
        for code, heading in sorted(layout.conflicts.items()):
            letters = ", ".join(column_letter(c) for c in heading)
            self.refuse(
                sheet.name,
                layout.last,
                column_letter(heading[0]),
                ImportReason.AMBIGUOUS_COLUMN,
                f"{code} heads columns {letters}: name the council's one (Điểm thẩm định) or the survey's",
            )
        if layout.conflicts:
            return
        for row in layout.data_rows():
            skipped = skip_reason(layout, row, _UNIT_COLUMNS)
            if skipped is not None:
                self.note(sheet.name, row, skipped, text(layout.value(row, Field.NAME)))
                continue
            if self._extra_values(layout, row):
                continue
            unit, letter = self._row_unit(layout, row, value_columns)
            if unit is None:
                continue
            year = self._row_year(layout, row, default_year)
            if year is None:
                continue
            ledger = self._unit_ledger(sheet.name, row, letter, unit, year)
            if ledger is None:
                self.rows += 1
                continue
            tree = ledger.tree
            if total_column is not None:
                leaves = sorted(c for c, spec in tree.leaves.items() if spec.source is Source.SURVEY)
                if len(leaves) != 1:
                    self.rows += 1
                    self.refuse(
                        sheet.name,
                        row,
                        total_column,
                        ImportReason.SURVEY_TOTAL_AMBIGUOUS,
                        f"{unit.criteria_set} has {len(leaves)} survey criteria ({', '.join(leaves)}): "
                        "give one column per criterion",
                    )
                    continue
                self._record(
                    sheet.name,
                    row,
                    total_column,
                    unit,
                    year,
                    leaves[0],
                    sheet.cell(row, total_column),
                    survey,
                    results,
                )
                continue
            for code, column in columns.items():
                cell = sheet.cell(row, column)
                if code in tree.leaves_under and code not in tree.leaves and (code, column) not in sums:
                    sums.add((code, column))
                    self.note(
                        sheet.name,
                        layout.first,
                        NoteKind.COLUMN_IGNORED,
                        f"{column_letter(column)} {code} is a field or criterion of {unit.criteria_set} "
                        "(a sum of its leaves): only leaves are recorded",
                    )
                if code not in tree.leaves_under:
                    if text(cell):
                        self.refuse(
                            sheet.name,
                            row,
                            column,
                            ImportReason.UNKNOWN_CRITERION,
                            f"{code} is not in {unit.criteria_set}",
                        )
                    continue
                spec = tree.leaves.get(code)
                if spec is None or (spec.source is Source.SURVEY) is not survey:
                    continue
                self._record(sheet.name, row, column, unit, year, code, cell, survey, results)

    def _record(
        self,
        sheet: str,
        row: int,
        column: int,
        unit: UnitInfo,
        year: int,
        code: str,
        cell: Cell,
        survey: bool,
        results: Results,
        *,
        code_column: str = "",
        unit_column: str = "",
        required: bool = False,
    ) -> None:
        """One value checked against the unit's ledger as it stands after the rows before it."""
        letter = column_letter(column)
        try:
            points = decimal(cell)
        except CellError as exc:
            self.rows += 1
            self.refuse(sheet, row, column, exc.reason, exc.detail)
            return
        if points is None:
            if required:
                self.rows += 1
                self.refuse(sheet, row, column, ImportReason.MISSING_VALUE, "points")
            return
        self.rows += 1
        where = f"{sheet}!{letter}{row}"
        earlier = results.get((unit.unit_id, code, year))
        if earlier is not None:
            if earlier[0] == points:
                self.note(sheet, row, NoteKind.SAME_VALUE_TWICE, f"{unit.unit_id} {code} as at {earlier[1]}")
                return
            self.refuse(
                sheet,
                row,
                code_column or letter,
                ImportReason.DUPLICATE_ROW,
                f"{unit.unit_id} {code} is {earlier[0]} at {earlier[1]}",
            )
            return
        ledger = self.ledger(unit, year)
        state = ledger.leaf(code) if code in ledger.tree.leaves else None
        if survey:
            unchanged = state is not None and state.survey_points == points
            command: cmd.Command = cmd.SurveyResultsImported(MappingProxyType({code: points}))
        else:
            unchanged = state is not None and state.appraised == points
            command = cmd.AppraisalRecorded(code, points, "", max(state.appraisal_round if state else 1, 1))
        if not unchanged:
            try:
                self._ledgers[(unit.unit_id, year)] = apply(ledger, command, self.now)
            except ScoringError as exc:
                if exc.reason in _SETUP_REASONS and unit_column:
                    at = unit_column
                elif exc.reason in _CODE_REASONS and code_column:
                    at = code_column
                else:
                    at = letter
                self.refuse(sheet, row, at, exc.reason, str(exc))
                return
        results[(unit.unit_id, code, year)] = (points, where)
        self.planned.append(Planned(sheet, row, letter, unit.unit_id, year, code, points, not unchanged))
        if survey or unchanged:
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

    def survey_events(self, results: Results, name: str) -> None:
        by_year: dict[int, list[SurveyPoints]] = {}
        changed = {(p.unit_id, p.code, p.year) for p in self.planned if p.recorded}
        for (unit_id, code, year), (points, _) in sorted(results.items()):
            if (unit_id, code, year) not in changed:
                continue
            by_year.setdefault(year, []).append(
                SurveyPoints(unit_id=unit_id, criterion_code=code, points=points)
            )
        for year, entries in sorted(by_year.items()):
            self.out.append(
                self.make(
                    SurveyResultsImported, year=year, source=self.options.source or name, results=entries
                )
            )


_UNUSED: Mapping[Field, str] = MappingProxyType(
    {
        Field.SELF: "the unit's self-assessment is entered by the unit, not imported",
        Field.TOTAL: "totals are computed from the criteria, not imported",
        Field.INDEX: "the index is computed, not imported (`kiemchung compare` checks it)",
        Field.RANK: "ranks are computed, not imported (`kiemchung compare` checks them)",
    }
)


def _year_of(cell: Cell) -> int | None:
    if isinstance(cell, datetime | date):
        return cell.year
    if isinstance(cell, int) and not isinstance(cell, bool):
        return cell
    if isinstance(cell, float) and cell.is_integer():
        return int(cell)
    found = _FOUR_DIGITS.fullmatch(fold(text(cell)).removeprefix("nam ").strip())
    return int(found.group()) if found else None


def _codes_under_ma(layout: Layout) -> Layout:
    """A column headed only "Mã" holding criterion codes (1, 1.1, 1.1.2) in a sheet naming no
    unit is the criterion code column, not a unit id column."""
    column = layout.columns.get(Field.UNIT_ID)
    if column is None or Field.NAME in layout.columns or Field.CODE in layout.columns:
        return layout
    cells = [text(layout.sheet.cell(row, column)) for row in layout.data_rows()]
    filled = [c for c in cells if c]
    if not filled or sum(1 for c in filled if CODE_PATTERN.match(c.rstrip("."))) * 2 <= len(filled):
        return layout
    columns: dict[Field, int] = {k: v for k, v in layout.columns.items() if k is not Field.UNIT_ID}
    columns[Field.CODE] = column
    return replace(layout, columns=MappingProxyType(columns))


def _code_column(layout: Layout) -> Field:
    """The column holding criterion codes: "Mã tiêu chí" or "STT", whichever holds more codes
    (a province may head its titles column "Tiêu chí")."""
    candidates = [f for f in (Field.CODE, Field.STT) if f in layout.columns]

    def codes(f: Field) -> int:
        return sum(
            1 for row in layout.data_rows() if CODE_PATTERN.match(text(layout.value(row, f)).rstrip("."))
        )

    return max(candidates, key=codes)


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
        results = planner.plan_values(sheets, survey)
        if survey:
            planner.survey_events(results, name)
        if not planner.rows and not planner.refusals:
            planner.refuse(name, 0, "", ImportReason.NO_ROWS)
    return ImportPlan(
        kind,
        tuple(planner.out),
        tuple(planner.refusals),
        planner.rows,
        tuple(planner.notes),
        tuple(planner.planned),
    )


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
    *,
    dry_run: bool = False,
) -> ImportPlan:
    """Plan, then commit only when nothing is refused (and not `dry_run`); the plan returned
    lists every refusal."""
    with sessions() as session:
        plan = plan_import(kind, sheets, name, session, catalogue, clock, ids, options)
    if not plan.ok or dry_run:
        return plan
    late = commit_plan(plan, sessions, catalogue, clock, ids)
    return plan if not late else replace(plan, refusals=late)


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
