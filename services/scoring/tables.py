"""Reading a province's tables (xlsx or csv) as bounded rows of cell values.

Every input is bounded before it is trusted: file size, sheets, rows, columns and characters
per cell. xlsx is read with openpyxl in read-only mode (streamed, not the whole sheet in memory)
and with cached values (`data_only`), so a formula is never evaluated, only its stored result read.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from pathlib import Path

MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_SHEETS = 2_000
MAX_ROWS = 20_000
MAX_COLUMNS = 32
MAX_CELL_CHARS = 10_000
# A point value with more places than this is not a published figure (provinces publish 2-4).
MAX_POINT_PLACES = 6
CSV_SUFFIX = ".csv"
XLSX_SUFFIXES = (".xlsx", ".xlsm")

Cell = str | int | float | Decimal | bool | date | datetime | None


class TableReason(StrEnum):
    """Why a file (or one of its rows) cannot be read as a table."""

    FILE_TOO_LARGE = "file_too_large"
    UNREADABLE_FILE = "unreadable_file"
    UNKNOWN_FORMAT = "unknown_format"
    TOO_MANY_SHEETS = "too_many_sheets"
    TOO_MANY_ROWS = "too_many_rows"
    TOO_MANY_COLUMNS = "too_many_columns"
    CELL_TOO_LONG = "cell_too_long"


class TableError(Exception):
    def __init__(self, reason: TableReason, detail: str = "") -> None:
        super().__init__(f"{reason.value}: {detail}" if detail else reason.value)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class Sheet:
    """A sheet's rows as read; `rows[i]` is spreadsheet row i + 1 (csv: line i + 1)."""

    name: str
    rows: tuple[tuple[Cell, ...], ...]

    def cell(self, row: int, column: int) -> Cell:
        """1-based, as the spreadsheet numbers them; None outside the data."""
        if row < 1 or row > len(self.rows):
            return None
        values = self.rows[row - 1]
        return values[column - 1] if 0 < column <= len(values) else None


def column_letter(column: int) -> str:
    letters = ""
    while column > 0:
        column, rest = divmod(column - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


def _bounded(value: Cell, sheet: str, row: int) -> Cell:
    if isinstance(value, str) and len(value) > MAX_CELL_CHARS:
        raise TableError(
            TableReason.CELL_TOO_LONG, f"{sheet} row {row}: more than {MAX_CELL_CHARS} characters"
        )
    return value


def _trimmed(values: tuple[Cell, ...], sheet: str, row: int) -> tuple[Cell, ...]:
    cells = list(values)
    while cells and (cells[-1] is None or cells[-1] == ""):
        cells.pop()
    if len(cells) > MAX_COLUMNS:
        raise TableError(TableReason.TOO_MANY_COLUMNS, f"{sheet} row {row}: more than {MAX_COLUMNS} columns")
    return tuple(_bounded(v, sheet, row) for v in cells)


def _rows(source: Iterator[tuple[Cell, ...]], name: str) -> tuple[tuple[Cell, ...], ...]:
    out: list[tuple[Cell, ...]] = []
    for number, values in enumerate(source, start=1):
        if number > MAX_ROWS:
            raise TableError(TableReason.TOO_MANY_ROWS, f"{name}: more than {MAX_ROWS} rows")
        out.append(_trimmed(values, name, number))
    while out and not out[-1]:
        out.pop()
    return tuple(out)


def read_csv(data: bytes, name: str) -> tuple[Sheet, ...]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise TableError(TableReason.UNREADABLE_FILE, f"{name}: not UTF-8 ({exc.reason})") from exc
    sample = text[:4096]
    delimiter = ";" if sample.count(";") > sample.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        rows = _rows((tuple(r) for r in reader), name)
    except csv.Error as exc:
        raise TableError(TableReason.UNREADABLE_FILE, f"{name}: {exc}") from exc
    return (Sheet(name, rows),)


def read_xlsx(data: bytes, name: str) -> tuple[Sheet, ...]:
    import openpyxl

    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError, TypeError) as exc:
        raise TableError(TableReason.UNREADABLE_FILE, f"{name}: {type(exc).__name__}: {exc}") from exc
    try:
        if len(book.sheetnames) > MAX_SHEETS:
            raise TableError(TableReason.TOO_MANY_SHEETS, f"{name}: more than {MAX_SHEETS} sheets")
        sheets: list[Sheet] = []
        for title in book.sheetnames:
            worksheet = book[title]
            # One column past the limit, so a wider row is noticed rather than cut silently.
            source = worksheet.iter_rows(values_only=True, max_col=MAX_COLUMNS + 1)
            sheets.append(Sheet(title, _rows((tuple(r) for r in source), title)))
        return tuple(sheets)
    finally:
        book.close()


def read_table_bytes(data: bytes, filename: str) -> tuple[Sheet, ...]:
    """The sheets of an xlsx or csv file given as bytes (from a path or an upload)."""
    if len(data) > MAX_FILE_BYTES:
        raise TableError(TableReason.FILE_TOO_LARGE, f"{filename}: more than {MAX_FILE_BYTES} bytes")
    suffix = Path(filename).suffix.lower()
    if suffix == CSV_SUFFIX:
        return read_csv(data, Path(filename).name)
    if suffix in XLSX_SUFFIXES:
        return read_xlsx(data, Path(filename).name)
    raise TableError(TableReason.UNKNOWN_FORMAT, f"{filename}: expected .xlsx or .csv")


def read_table(path: Path) -> tuple[Sheet, ...]:
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise TableError(TableReason.UNREADABLE_FILE, f"{path}: {exc.strerror}") from exc
    if size > MAX_FILE_BYTES:
        raise TableError(TableReason.FILE_TOO_LARGE, f"{path}: more than {MAX_FILE_BYTES} bytes")
    return read_table_bytes(path.read_bytes(), path.name)


def text(value: Cell) -> str:
    """A cell as trimmed text ("" for empty); a whole float such as 2.0 reads as "2"."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def decimal(value: Cell) -> Decimal | None:
    """A cell as an exact Decimal, None when empty; raises ValueError when it is not a number.

    Spreadsheet numbers come back as floats: the shortest repr is the figure typed (17.25, not
    17.2499999...). Text accepts a decimal comma as published in Vietnamese ("97,685").
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool | date):
        raise ValueError(f"{value!r} is not a number")
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, int | float):
        number = Decimal(repr(value))
    else:
        raw = value.strip().replace("\u00a0", "").replace(" ", "")
        if "," in raw:
            raw = raw.replace(".", "").replace(",", ".")
        try:
            number = Decimal(raw)
        except InvalidOperation as exc:
            raise ValueError(f"{value!r} is not a number") from exc
    if not number.is_finite():
        raise ValueError(f"{value!r} is not a finite number")
    exponent = number.as_tuple().exponent
    if isinstance(exponent, int) and -exponent > MAX_POINT_PLACES:
        raise ValueError(f"{value!r} has more than {MAX_POINT_PLACES} decimals")
    return number
