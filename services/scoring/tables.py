"""Reading a province's tables (xlsx or delimited text) as bounded rows of cell values.

Every input is bounded before it is trusted: file size, zip directory (members, unpacked size),
sheets, rows, columns, cells and characters per cell. What a file is comes from its bytes, not its
name: a zip is read as xlsx, an OLE2 file (Excel 97-2003 .xls, or a password-protected workbook)
is refused with its own reason, anything else named .csv/.txt/.tsv is delimited text.

xlsx is streamed (openpyxl's sheet parser, read-only) with cached values: a formula is never
evaluated, only its stored result read; a formula saved without a result (written by a program
that does not compute) reads as `NoCachedValue`, so the row is refused rather than read as empty.
A cell formatted as a percent reads as `Percent` (97.685 for 97,685%), a date-formatted cell as a
date (Excel's serial converted). Hidden rows, hidden columns, hidden sheets and merged ranges are
kept so the importer can tell headings and skipped rows apart.

Delimited text: UTF-8 with or without BOM, UTF-16 with BOM (Excel's "Unicode text", tabs);
anything else is a legacy Vietnamese encoding and refused (`legacy_encoding`, naming it).
The delimiter (`;`, `,` or tab) is the one that splits the most lines into the same number of
fields.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import unicodedata
import zipfile
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from pathlib import Path
from typing import Any

from services.scoring.vntext import legacy_bytes

MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_UNPACKED_BYTES = 200 * 1024 * 1024
MAX_ZIP_MEMBERS = 5_000
MAX_SHEETS = 2_000
MAX_ROWS = 20_000
MAX_COLUMNS = 256
# Cells parsed in a whole workbook, empty ones included: bounds the time a crafted sheet costs.
MAX_CELLS = 1_000_000
MAX_CELL_CHARS = 10_000
# Merged cells are filled in (headings read as on screen) on the first rows only.
MERGE_ROWS = 60
# A point value with more places than this is not a published figure (provinces publish 2-4).
MAX_POINT_PLACES = 6
FLOAT_NOISE = Decimal("1e-12")
TEXT_SUFFIXES = (".csv", ".txt", ".tsv")
XLSX_SUFFIXES = (".xlsx", ".xlsm")
CSV_SUFFIX = ".csv"
ZIP_MAGIC = b"PK\x03\x04"
OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
DELIMITERS = ("\t", ";", ",")
HTML_SNIFF_BYTES = 2048
HTML_STARTS = (b"<!doctype html", b"<html", b"<?xml", b"<table")
SNIFF_LINES = 60
SNIFF_CHARS = 64 * 1024
PERCENT_SIGN = "%"
HIDDEN_VALUES = frozenset({"1", "true"})
# "8,5 điểm", "8,5đ": the unit written after the figure.
_POINTS_WORD = re.compile(r"\s*(?:điểm|đ)\.?$", re.IGNORECASE)


@dataclass(frozen=True)
class Percent:
    """A cell shown as a percent: `value` in percent (97.685 for a cell showing 97,685%)."""

    value: Decimal

    def __str__(self) -> str:
        return f"{self.value}%"


@dataclass(frozen=True)
class NoCachedValue:
    """A formula saved without its computed result."""

    formula: str

    def __str__(self) -> str:
        return f"={self.formula}"


Cell = (
    str | int | float | Decimal | bool | date | datetime | time | timedelta | Percent | NoCachedValue | None
)


class TableReason(StrEnum):
    """Why a file (or one of its rows) cannot be read as a table."""

    FILE_TOO_LARGE = "file_too_large"
    EMPTY_FILE = "empty_file"
    UNREADABLE_FILE = "unreadable_file"
    UNKNOWN_FORMAT = "unknown_format"
    XLS_NOT_XLSX = "xls_not_xlsx"
    HTML_NOT_XLSX = "html_not_xlsx"
    UNPACKS_TOO_LARGE = "unpacks_too_large"
    LEGACY_ENCODING = "legacy_encoding"
    TOO_MANY_SHEETS = "too_many_sheets"
    TOO_MANY_ROWS = "too_many_rows"
    TOO_MANY_COLUMNS = "too_many_columns"
    TOO_MANY_CELLS = "too_many_cells"
    CELL_TOO_LONG = "cell_too_long"


class CellReason(StrEnum):
    """Why one cell is not the number its column asks for."""

    BAD_NUMBER = "bad_number"
    FORMULA_WITHOUT_VALUE = "formula_without_value"
    DATE_NOT_A_NUMBER = "date_not_a_number"
    PERCENT_NOT_POINTS = "percent_not_points"


class TableError(Exception):
    def __init__(self, reason: TableReason, detail: str = "") -> None:
        super().__init__(f"{reason.value}: {detail}" if detail else reason.value)
        self.reason = reason
        self.detail = detail


class CellError(ValueError):
    def __init__(self, reason: CellReason, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class Sheet:
    """A sheet's rows as read; `rows[i]` is spreadsheet row i + 1 (csv: line i + 1)."""

    name: str
    rows: tuple[tuple[Cell, ...], ...]
    hidden_rows: frozenset[int] = frozenset()
    hidden_columns: frozenset[int] = frozenset()
    # Merged ranges as (min_row, min_column, max_row, max_column), 1-based.
    merged: tuple[tuple[int, int, int, int], ...] = ()
    hidden: bool = False
    # How a text file was decoded ("utf-8", "utf-16"); "" for xlsx.
    encoding: str = ""
    _merge_origin: Mapping[tuple[int, int], tuple[int, int]] = field(
        default_factory=dict, repr=False, compare=False
    )

    def cell(self, row: int, column: int) -> Cell:
        """1-based, as the spreadsheet numbers them; None outside the data."""
        if row < 1 or row > len(self.rows):
            return None
        values = self.rows[row - 1]
        return values[column - 1] if 0 < column <= len(values) else None

    def filled(self, row: int, column: int) -> Cell:
        """The cell, or inside a merged range the value of the range's first cell (how a merged
        heading reads on screen)."""
        origin = self._merge_origin.get((row, column))
        return self.cell(*origin) if origin else self.cell(row, column)

    def continues_above(self, row: int) -> bool:
        """Whether a merged range that starts on an earlier row covers a cell of `row` (a heading
        cell merged down over the rows of a multi-row heading)."""
        return any(r == row and origin[0] < row for (r, _), origin in self._merge_origin.items())

    def width(self) -> int:
        return max((len(r) for r in self.rows), default=0)


def make_sheet(
    name: str,
    rows: tuple[tuple[Cell, ...], ...],
    *,
    hidden_rows: Iterable[int] = (),
    hidden_columns: Iterable[int] = (),
    merged: Iterable[tuple[int, int, int, int]] = (),
    hidden: bool = False,
    encoding: str = "",
) -> Sheet:
    ranges = tuple(merged)
    origin: dict[tuple[int, int], tuple[int, int]] = {}
    for min_row, min_col, max_row, max_col in ranges:
        # Only headings are read through merges, so only the first rows are expanded (a crafted
        # A1:XFD1048576 costs nothing).
        for r in range(min_row, min(max_row, len(rows), MERGE_ROWS) + 1):
            for c in range(min_col, min(max_col, MAX_COLUMNS) + 1):
                if (r, c) != (min_row, min_col):
                    origin[(r, c)] = (min_row, min_col)
    return Sheet(
        name,
        rows,
        frozenset(hidden_rows),
        frozenset(hidden_columns),
        ranges,
        hidden,
        encoding,
        origin,
    )


def column_letter(column: int) -> str:
    letters = ""
    while column > 0:
        column, rest = divmod(column - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


def _clean(value: Any, sheet: str, row: int) -> Cell:
    if isinstance(value, str):
        if len(value) > MAX_CELL_CHARS:
            raise TableError(
                TableReason.CELL_TOO_LONG, f"{sheet} row {row}: more than {MAX_CELL_CHARS} characters"
            )
        return unicodedata.normalize("NFC", value)
    if value is None or isinstance(
        value, int | float | Decimal | bool | date | datetime | time | timedelta | Percent | NoCachedValue
    ):
        return value
    return str(value)


def _trimmed(values: Iterable[Any], sheet: str, row: int) -> tuple[Cell, ...]:
    cells = [_clean(v, sheet, row) for v in values]
    while cells and (cells[-1] is None or cells[-1] == ""):
        cells.pop()
    if len(cells) > MAX_COLUMNS:
        raise TableError(
            TableReason.TOO_MANY_COLUMNS,
            f"{sheet} row {row}: a value in column {column_letter(len(cells))}, past {MAX_COLUMNS} columns",
        )
    return tuple(cells)


def _dense(rows: Mapping[int, tuple[Cell, ...]]) -> tuple[tuple[Cell, ...], ...]:
    last = max((r for r, values in rows.items() if values), default=0)
    return tuple(rows.get(r, ()) for r in range(1, last + 1))


# ---- delimited text ---------------------------------------------------------------------------


def decode_text(data: bytes, name: str) -> tuple[str, str]:
    """The text and the encoding it was read as; a legacy encoding is refused, named."""
    for bom, encoding in (
        (codecs.BOM_UTF8, "utf-8-sig"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    ):
        if data.startswith(bom):
            try:
                return data.decode(encoding), encoding.removesuffix("-sig")
            except UnicodeDecodeError as exc:
                raise TableError(
                    TableReason.UNREADABLE_FILE, f"{name}: starts as {encoding} but is not ({exc.reason})"
                ) from exc
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    if data.count(b"\x00") * 4 > len(data):
        raise TableError(
            TableReason.UNREADABLE_FILE, f"{name}: UTF-16 without a byte order mark; save as 'CSV UTF-8'"
        )
    found = legacy_bytes(data)
    raise TableError(
        TableReason.LEGACY_ENCODING,
        f"{name}: not Unicode; looks like {found.value}. Convert it to Unicode (e.g. Unikey's "
        "converter) and save as 'CSV UTF-8'",
    )


def sniff_delimiter(text: str) -> str:
    """The delimiter that splits the most of the first lines into one same number (≥ 2) of
    fields; a decimal comma in a `;` file or a comma inside a heading does not win."""
    sample = text[:SNIFF_CHARS].splitlines()[:SNIFF_LINES]
    best, best_score = ",", (0, 0)
    for delimiter in DELIMITERS:
        try:
            counts = Counter(len(r) for r in csv.reader(sample, delimiter=delimiter) if len(r) > 1)
        except csv.Error:
            continue
        if not counts:
            continue
        width, lines = max(counts.items(), key=lambda item: (item[1], item[0]))
        if (lines, width) > best_score:
            best, best_score = delimiter, (lines, width)
    return best


def read_csv(data: bytes, name: str) -> tuple[Sheet, ...]:
    text, encoding = decode_text(data, name)
    first_line = text.split("\n", 1)[0].strip()
    # Excel's "sep=;" hint line names the delimiter (and reads as a title line, not a heading).
    delimiter = first_line[4:5] if first_line.lower().startswith("sep=") and len(first_line) == 5 else ""
    delimiter = delimiter or sniff_delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows: dict[int, tuple[Cell, ...]] = {}
    try:
        for number, values in enumerate(reader, start=1):
            if number > MAX_ROWS:
                if any(v.strip() for v in values):
                    raise TableError(TableReason.TOO_MANY_ROWS, f"{name}: more than {MAX_ROWS} rows")
                continue
            rows[number] = _trimmed(values, name, number)
    except csv.Error as exc:
        raise TableError(TableReason.UNREADABLE_FILE, f"{name}: {exc}") from exc
    return (make_sheet(name, _dense(rows), encoding=encoding),)


# ---- xlsx -------------------------------------------------------------------------------------


def _check_zip(data: bytes, name: str) -> None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise TableError(TableReason.UNREADABLE_FILE, f"{name}: not an xlsx (zip): {exc}") from exc
    if len(members) > MAX_ZIP_MEMBERS:
        raise TableError(TableReason.UNPACKS_TOO_LARGE, f"{name}: {len(members)} zip members")
    unpacked = sum(member.file_size for member in members)
    if unpacked > MAX_UNPACKED_BYTES:
        raise TableError(
            TableReason.UNPACKS_TOO_LARGE, f"{name}: unpacks to {unpacked} bytes, over {MAX_UNPACKED_BYTES}"
        )


def _percent_styles(book: Any) -> frozenset[int]:
    from openpyxl.styles.numbers import BUILTIN_FORMATS

    custom = list(getattr(book, "_number_formats", []))
    found = set()
    for index, style in enumerate(getattr(book, "_cell_styles", [])):
        number_format = style.numFmtId
        code = BUILTIN_FORMATS.get(number_format)
        if code is None and 0 <= number_format - 164 < len(custom):
            code = custom[number_format - 164]
        if code and PERCENT_SIGN in "".join(str(code).split('"')[0::2]):
            found.add(index)
    return frozenset(found)


def _parser_class() -> Any:
    from openpyxl.worksheet._reader import FORMULA_TAG, WorkSheetParser

    class BoundedParser(WorkSheetParser):  # type: ignore[misc]
        """openpyxl's sheet parser, counting cells and keeping what data_only would lose."""

        percent_styles: frozenset[int] = frozenset()
        cells = 0

        def parse_cell(self, element: Any) -> Any:
            BoundedParser.cells += 1
            if BoundedParser.cells > MAX_CELLS:
                raise TableError(TableReason.TOO_MANY_CELLS, f"more than {MAX_CELLS} cells")
            cell = super().parse_cell(element)
            formula = element.find(FORMULA_TAG)
            value = cell["value"]
            if formula is not None and value is None:
                cell["value"] = NoCachedValue(formula.text or "")
            elif (
                cell["data_type"] == "n"
                and cell["style_id"] in self.percent_styles
                and isinstance(value, int | float)
            ):
                cell["value"] = Percent(Decimal(repr(value)).scaleb(2).normalize())
            return cell

    return BoundedParser


def _read_worksheet(book: Any, worksheet: Any, parser_class: Any, percent: frozenset[int]) -> Sheet:
    from openpyxl.utils import column_index_from_string, range_boundaries

    title = str(worksheet.title)
    rows: dict[int, tuple[Cell, ...]] = {}
    with worksheet._get_source() as source:
        parser = parser_class(
            source,
            worksheet._shared_strings,
            data_only=True,
            epoch=book.epoch,
            date_formats=book._date_formats,
            timedelta_formats=getattr(book, "_timedelta_formats", set()),
        )
        parser.percent_styles = percent
        for index, cells in parser.parse():
            values: dict[int, Any] = {}
            for cell in cells:
                if cell["value"] is None or cell["value"] == "":
                    continue
                column = int(cell["column"])
                if column > MAX_COLUMNS:
                    raise TableError(
                        TableReason.TOO_MANY_COLUMNS,
                        f"{title} row {index}: a value in column {column_letter(column)}, "
                        f"past {MAX_COLUMNS} columns",
                    )
                values[column] = cell["value"]
            if not values:
                continue
            if index > MAX_ROWS:
                raise TableError(
                    TableReason.TOO_MANY_ROWS, f"{title}: a value on row {index}, past {MAX_ROWS} rows"
                )
            width = max(values)
            rows[index] = _trimmed((values.get(c) for c in range(1, width + 1)), title, index)
        hidden_rows = {
            int(r)
            for r, attrs in parser.row_dimensions.items()
            if str(attrs.get("hidden", "")) in HIDDEN_VALUES
        }
        hidden_columns: set[int] = set()
        for letter, attrs in parser.column_dimensions.items():
            if str(attrs.get("hidden", "")) not in HIDDEN_VALUES:
                continue
            low = int(attrs.get("min") or column_index_from_string(letter))
            high = min(int(attrs.get("max") or low), MAX_COLUMNS)
            hidden_columns.update(range(low, high + 1))
        merged: list[tuple[int, int, int, int]] = []
        if parser.merged_cells is not None:
            for merge in parser.merged_cells.mergeCell:
                min_col, min_row, max_col, max_row = range_boundaries(merge.ref)
                merged.append((min_row, min_col, max_row, max_col))
    return make_sheet(
        title,
        _dense(rows),
        hidden_rows=hidden_rows,
        hidden_columns=hidden_columns,
        merged=merged,
        hidden=str(getattr(worksheet, "sheet_state", "visible")) != "visible",
    )


def read_xlsx(data: bytes, name: str) -> tuple[Sheet, ...]:
    _check_zip(data, name)
    import openpyxl

    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many unrelated types for a bad file
        raise TableError(TableReason.UNREADABLE_FILE, f"{name}: {type(exc).__name__}: {exc}") from exc
    try:
        if len(book.sheetnames) > MAX_SHEETS:
            raise TableError(TableReason.TOO_MANY_SHEETS, f"{name}: more than {MAX_SHEETS} sheets")
        parser_class = _parser_class()
        percent = _percent_styles(book)
        return tuple(_read_worksheet(book, ws, parser_class, percent) for ws in book.worksheets)
    except TableError:
        raise
    except Exception as exc:  # a malformed sheet (bad XML, bad reference) is a bad file
        raise TableError(TableReason.UNREADABLE_FILE, f"{name}: {type(exc).__name__}: {exc}") from exc
    finally:
        book.close()


def read_table_bytes(data: bytes, filename: str) -> tuple[Sheet, ...]:
    """The sheets of an xlsx or delimited-text file given as bytes (from a path or an upload)."""
    name = Path(filename).name
    if len(data) > MAX_FILE_BYTES:
        raise TableError(TableReason.FILE_TOO_LARGE, f"{name}: more than {MAX_FILE_BYTES} bytes")
    if not data.strip():
        raise TableError(TableReason.EMPTY_FILE, name)
    suffix = Path(filename).suffix.lower()
    if suffix not in XLSX_SUFFIXES + TEXT_SUFFIXES + (".xls",):
        raise TableError(TableReason.UNKNOWN_FORMAT, f"{name}: expected .xlsx, .csv or .txt")
    if data.startswith(OLE2_MAGIC):
        raise TableError(
            TableReason.XLS_NOT_XLSX,
            f"{name}: an Excel 97-2003 workbook (.xls) or a password-protected one; "
            "open it in Excel and save as .xlsx without a password",
        )
    if data.startswith(ZIP_MAGIC):
        return read_xlsx(data, name)
    head = data[:HTML_SNIFF_BYTES].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith(HTML_STARTS) or b"<table" in head:
        raise TableError(
            TableReason.HTML_NOT_XLSX,
            f"{name}: a web page (HTML) or XML spreadsheet saved under a spreadsheet name, as report "
            "systems export; "
            "open it in Excel and save as .xlsx",
        )
    if suffix in (*XLSX_SUFFIXES, ".xls"):
        raise TableError(TableReason.UNREADABLE_FILE, f"{name}: not an xlsx (zip)")
    return read_csv(data, name)


def read_table(path: Path) -> tuple[Sheet, ...]:
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise TableError(TableReason.UNREADABLE_FILE, f"{path}: {exc.strerror}") from exc
    if size > MAX_FILE_BYTES:
        raise TableError(TableReason.FILE_TOO_LARGE, f"{path}: more than {MAX_FILE_BYTES} bytes")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise TableError(TableReason.UNREADABLE_FILE, f"{path}: {exc.strerror}") from exc
    return read_table_bytes(data, path.name)


# ---- cells ------------------------------------------------------------------------------------


def text(value: Cell) -> str:
    """A cell as trimmed text ("" for empty); a whole float such as 2.0 reads as "2"."""
    if value is None or isinstance(value, NoCachedValue):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _parse_text_number(value: str) -> Decimal:
    raw = value.strip().replace("\u00a0", "").replace(" ", "").replace("\u202f", "")
    if "," in raw and "." in raw:
        # 1.234,5 (Vietnamese thousands) or 1,234.5 (English): the last separator is the decimal.
        if raw.rfind(",") > raw.rfind("."):
            raw = raw.replace(".", "").replace(",", ".")
        else:
            raw = raw.replace(",", "")
    elif "," in raw:
        if raw.count(",") > 1:
            raise InvalidOperation(value)
        raw = raw.replace(",", ".")
    return Decimal(raw)


def _float_figure(value: float) -> Decimal:
    """The figure a float stands for: its shortest repr (17.25, not 17.2499999...); a computed
    cell's binary noise (3.4000000000000004 from =C5*0.2) is the figure shown when rounding to
    MAX_POINT_PLACES changes it by less than a part in 10^12."""
    exact = Decimal(repr(value))
    exponent = exact.as_tuple().exponent
    if isinstance(exponent, int) and -exponent > MAX_POINT_PLACES and exact.is_finite():
        rounded = round(exact, MAX_POINT_PLACES).normalize()
        if abs(rounded - exact) <= FLOAT_NOISE * max(Decimal(1), abs(exact)):
            return rounded
    return exact


def number(value: Cell) -> Decimal | Percent | None:
    """A cell as an exact number, a Percent, or None when empty; raises CellError otherwise.

    Spreadsheet numbers come back as floats: the shortest repr is the figure typed (17.25, not
    17.2499999...). Text accepts a decimal comma as published in Vietnamese ("97,685", "8,5")
    and a trailing % ("97,685%").
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, NoCachedValue):
        raise CellError(
            CellReason.FORMULA_WITHOUT_VALUE,
            f"formula {value} was saved without its result; open and save the file in Excel",
        )
    if isinstance(value, Percent):
        return value
    if isinstance(value, bool):
        raise CellError(CellReason.BAD_NUMBER, f"{value!r} is not a number")
    if isinstance(value, date | time | timedelta):
        raise CellError(
            CellReason.DATE_NOT_A_NUMBER,
            f"the cell holds a date ({value}), not points: Excel may have turned a typed number "
            "such as 8.5 into a date; format the column as Number and type it again",
        )
    if isinstance(value, Decimal):
        parsed = value
    elif isinstance(value, float):
        parsed = _float_figure(value)
    elif isinstance(value, int):
        parsed = Decimal(value)
    else:
        raw = _POINTS_WORD.sub("", str(value).strip())
        percent = raw.endswith(PERCENT_SIGN)
        try:
            parsed = _parse_text_number(raw.removesuffix(PERCENT_SIGN))
        except InvalidOperation as exc:
            raise CellError(CellReason.BAD_NUMBER, f"{value!r} is not a number") from exc
        if percent and parsed.is_finite():
            return Percent(parsed)
    if not parsed.is_finite():
        raise CellError(CellReason.BAD_NUMBER, f"{value!r} is not a finite number")
    exponent = parsed.as_tuple().exponent
    if isinstance(exponent, int) and -exponent > MAX_POINT_PLACES:
        raise CellError(CellReason.BAD_NUMBER, f"{value!r} has more than {MAX_POINT_PLACES} decimals")
    return parsed


def decimal(value: Cell) -> Decimal | None:
    """A cell as points: an exact Decimal, None when empty; a percent is refused (points are not
    a share), and so is anything else that is not a number (CellError, a ValueError)."""
    found = number(value)
    if isinstance(found, Percent):
        raise CellError(
            CellReason.PERCENT_NOT_POINTS, f"{found} is a percent; the column takes points, not a share"
        )
    return found
