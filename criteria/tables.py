"""Appendix tables (.xlsx, .csv, .docx) read into a grid of text cells, every input bounded.

A province publishes the criteria appendix (Phụ lục) of its decision as a Word table, or as a
workbook or CSV exported from it. Each reader returns a `Grid`: the rows as the user sees them
(row numbers of the sheet, the CSV record or the Word table), every cell as text, plus the text
above the table (the title block: "PHỤ LỤC I ... (Kèm theo Quyết định số 1877/QĐ-UBND ...)").
Limits are checked before anything big is parsed: a .docx, like an .xlsx, is a zip of XML, so
its directory (members, unpacked sizes) is checked before python-docx reads it.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from criteria.encoding import DecodeFailure, decode_text, legacy_encoding
from criteria.errors import CriteriaError, CriteriaReason
from criteria.xlsx_bounds import (
    MAX_XLSX_BYTES,
    MAX_XLSX_COLUMNS,
    MAX_XLSX_MEMBERS,
    MAX_XLSX_ROWS,
    MIB,
    XlsxRefusedError,
    bounded_rows,
    open_bounded,
)

META_SHEET = "Thông tin"
CRITERIA_SHEET = "Tiêu chí"
MAX_TABLE_BYTES = MAX_XLSX_BYTES
MAX_ROWS = MAX_XLSX_ROWS
MAX_COLUMNS = MAX_XLSX_COLUMNS
MAX_CELL_CHARS = 10_000
# A Word appendix of a few hundred rows is a document.xml of a few MB; python-docx builds the
# whole XML tree in memory, so the unpacked XML is bounded well below what would hurt.
MAX_DOCX_UNCOMPRESSED_BYTES = 60 * MIB
MAX_DOCX_XML_BYTES = 25 * MIB
MAX_DOCX_MEMBERS = MAX_XLSX_MEMBERS
# Paragraphs kept for title blocks (the rest of a long decision's text is not needed).
MAX_PARAGRAPHS = 2_000
# How much of a table is looked at to recognise a legacy font encoding.
ENCODING_SAMPLE_CHARS = 20_000
CSV_DELIMITERS = (",", ";", "\t")
CSV_SNIFF_ROWS = 60
SUFFIX_XLSX = ".xlsx"
SUFFIX_CSV = ".csv"
SUFFIX_DOCX = ".docx"
LEGACY_SUFFIXES = {".xls": "Excel 97-2003 (.xls)", ".doc": "Word 97-2003 (.doc)"}


class TableRefusedError(CriteriaError):
    """The file is over a limit, unreadable, or not in an encoding we read; `reason` says which."""

    def __init__(self, reason: CriteriaReason, message: str) -> None:
        super().__init__(reason, message)


@dataclass(frozen=True)
class GridRow:
    number: int  # as the user finds it: the sheet row, the CSV record, the Word table row
    cells: tuple[str, ...]
    # Columns whose cell was a number in the workbook (a code typed as 1.10 arrives as 1.1).
    numeric: frozenset[int] = frozenset()


@dataclass(frozen=True)
class Grid:
    rows: tuple[GridRow, ...]
    # Word paragraphs outside the tables, each with the number of the table row it comes before
    # (title blocks: "PHỤ LỤC II", "(Kèm theo Quyết định số …)"); rows above a heading row are
    # title text too, taken by the parser.
    paragraphs: tuple[tuple[int, str], ...] = ()
    # Our own layout's "Thông tin" sheet (what `criteria export` writes).
    stored: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    where: str = ""  # "sheet 'Tiêu chí'", "table 2": where in the file the rows are


def _check_cell(text: str, row: int, column: int) -> str:
    if len(text) > MAX_CELL_CHARS:
        raise TableRefusedError(
            CriteriaReason.TABLE_TOO_LARGE,
            f"row {row}, column {column + 1}: {len(text)} characters, over {MAX_CELL_CHARS}",
        )
    return text


def _check_encoding(rows: Iterable[GridRow], paragraphs: Iterable[tuple[int, str]] = ()) -> None:
    """Refuse text in a legacy font encoding, naming the first row where it is seen. Cells are
    judged one by one: a title retyped in Unicode above a table pasted from an old VNI file must
    not hide the table."""
    seen = 0
    for number, text in [(0, line) for _, line in paragraphs] + [
        (row.number, cell) for row in rows for cell in row.cells
    ]:
        if seen > ENCODING_SAMPLE_CHARS:
            return
        seen += len(text)
        guess = legacy_encoding([text])
        if guess is not None:
            where = f"row {number}" if number else "the title block"
            raise TableRefusedError(
                CriteriaReason.LEGACY_ENCODING,
                f"{where}: the text is in {guess.value}, not Unicode ({text[:40]!r}); convert it "
                "to Unicode (e.g. Unikey's converter, TCVN3/VNI → Unicode) and save again",
            )


# ---------------------------------------------------------------- xlsx


def _xlsx_text(value: Any) -> tuple[str, bool]:
    """A cell as text, and whether it was a non-integral number (codes lose trailing zeros)."""
    if value is None:
        return "", False
    if isinstance(value, bool):
        return str(value), False
    if isinstance(value, int):
        return str(value), False
    if isinstance(value, float):
        if value.is_integer():
            return str(int(value)), False
        return repr(value), True  # shortest repr: 0.25 stays "0.25"
    if isinstance(value, dt.datetime | dt.date | dt.time):
        # Excel turns "1.1" typed in some locales into a date; keep what it shows.
        return value.isoformat(), True
    return str(value).strip(), False


def _xlsx_rows(raw: Iterable[tuple[Any, ...]]) -> Iterator[GridRow]:
    for number, values in enumerate(raw, start=1):
        cells: list[str] = []
        numeric: set[int] = set()
        for j, value in enumerate(values):
            text, is_number = _xlsx_text(value)
            cells.append(_check_cell(text, number, j))
            if is_number:
                numeric.add(j)
        yield GridRow(number, tuple(cells), frozenset(numeric))


def read_xlsx(path: Path, sheet: str | None = None) -> Grid:
    """The sheet named `sheet`, else the criteria sheet ("Tiêu chí", else the first that is not
    "Thông tin")."""
    try:
        workbook = open_bounded(path)
    except XlsxRefusedError:
        raise
    try:
        stored: dict[str, str] = {}
        if META_SHEET in workbook.sheetnames:
            for row in bounded_rows(workbook[META_SHEET]):
                if row and row[0] is not None:
                    stored[str(row[0]).strip()] = _xlsx_text(row[1] if len(row) > 1 else None)[0]
        names = [n for n in workbook.sheetnames if n != META_SHEET]
        if not names:
            raise XlsxRefusedError(f"{path}: no sheet with a table", CriteriaReason.XLSX_NO_ROWS)
        if sheet is not None and sheet not in names:
            raise XlsxRefusedError(
                f"{path}: no sheet {sheet!r}; sheets: {', '.join(map(repr, names))}",
                CriteriaReason.XLSX_NO_ROWS,
            )
        name = sheet if sheet is not None else CRITERIA_SHEET if CRITERIA_SHEET in names else names[0]
        rows = tuple(_xlsx_rows(bounded_rows(workbook[name])))
    except (XlsxRefusedError, TableRefusedError):
        raise
    except Exception as exc:  # openpyxl raises many unrelated types for a bad file
        raise XlsxRefusedError(f"{path}: {exc}", CriteriaReason.XLSX_UNREADABLE) from exc
    finally:
        workbook.close()
    _check_encoding(rows)
    return Grid(rows, stored=MappingProxyType(stored), where=f"sheet {name!r}")


# ---------------------------------------------------------------- csv


def _delimiter(text: str) -> str:
    """The delimiter giving the most records of one consistent width (3 columns or more); an
    appendix has commas inside its titles, so counting characters is not enough."""
    sample = text.splitlines()[:CSV_SNIFF_ROWS]
    best, best_score = CSV_DELIMITERS[0], -1
    for delimiter in CSV_DELIMITERS:
        try:
            widths = [len(r) for r in csv.reader(sample, delimiter=delimiter) if len(r) > 1]
        except csv.Error:
            continue
        if not widths:
            continue
        width, count = Counter(widths).most_common(1)[0]
        score = count if width >= 3 else 0
        if score > best_score:
            best, best_score = delimiter, score
    return best


def read_csv(path: Path) -> Grid:
    size = path.stat().st_size
    if size > MAX_TABLE_BYTES:
        raise TableRefusedError(
            CriteriaReason.TABLE_TOO_LARGE, f"{path}: {size} bytes, over {MAX_TABLE_BYTES}"
        )
    text, failure = decode_text(path.read_bytes())
    if text is None:
        reason = (
            CriteriaReason.LEGACY_ENCODING
            if failure is not None and failure.startswith(DecodeFailure.LEGACY.value)
            else CriteriaReason.NOT_UTF8
        )
        detail = (failure or "").partition(": ")[2]
        if reason is CriteriaReason.LEGACY_ENCODING:
            detail = f"the text is in {detail}, not Unicode; convert it to Unicode and save as 'CSV UTF-8'"
        raise TableRefusedError(reason, f"{path}: {detail}")
    if "\x00" in text:
        raise TableRefusedError(CriteriaReason.TABLE_UNREADABLE, f"{path}: NUL bytes: not a text file")
    rows: list[GridRow] = []
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text))
    try:
        for number, record in enumerate(reader, start=1):
            if number > MAX_ROWS:
                raise TableRefusedError(CriteriaReason.TABLE_TOO_LARGE, f"{path}: more than {MAX_ROWS} rows")
            if len(record) > MAX_COLUMNS and any(c.strip() for c in record[MAX_COLUMNS:]):
                raise TableRefusedError(
                    CriteriaReason.TABLE_TOO_LARGE, f"{path}: row {number}: data beyond column {MAX_COLUMNS}"
                )
            cells = tuple(_check_cell(c.strip(), number, j) for j, c in enumerate(record[:MAX_COLUMNS]))
            rows.append(GridRow(number, cells))
    except csv.Error as exc:  # e.g. a field over csv's own size limit
        raise TableRefusedError(CriteriaReason.TABLE_UNREADABLE, f"{path}: {exc}") from exc
    _check_encoding(rows)
    return Grid(tuple(rows), where="CSV")


# ---------------------------------------------------------------- docx


def _check_docx_zip(path: Path) -> None:
    size = path.stat().st_size
    if size > MAX_TABLE_BYTES:
        raise TableRefusedError(
            CriteriaReason.TABLE_TOO_LARGE, f"{path}: {size} bytes, over {MAX_TABLE_BYTES}"
        )
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError) as exc:
        raise TableRefusedError(
            CriteriaReason.TABLE_UNREADABLE,
            f"{path}: not a .docx (zip): {exc}; a Word 97-2003 .doc must be saved as .docx",
        ) from exc
    if len(members) > MAX_DOCX_MEMBERS:
        raise TableRefusedError(
            CriteriaReason.TABLE_TOO_LARGE, f"{path}: {len(members)} zip members, over {MAX_DOCX_MEMBERS}"
        )
    unpacked = sum(member.file_size for member in members)
    if unpacked > MAX_DOCX_UNCOMPRESSED_BYTES:
        raise TableRefusedError(
            CriteriaReason.TABLE_TOO_LARGE,
            f"{path}: unpacks to {unpacked} bytes, over {MAX_DOCX_UNCOMPRESSED_BYTES}",
        )
    xml_size = sum(m.file_size for m in members if m.filename.endswith((".xml", ".rels")))
    if xml_size > MAX_DOCX_XML_BYTES:
        raise TableRefusedError(
            CriteriaReason.TABLE_TOO_LARGE, f"{path}: {xml_size} bytes of XML, over {MAX_DOCX_XML_BYTES}"
        )


W_NS = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
W_P, W_R, W_T, W_TAB, W_BR = (f"{W_NS}{tag}" for tag in ("p", "r", "t", "tab", "br"))
W_TR, W_TC, W_TCPR, W_GRIDSPAN, W_VMERGE = (
    f"{W_NS}{tag}" for tag in ("tr", "tc", "tcPr", "gridSpan", "vMerge")
)
W_TRPR, W_GRIDBEFORE, W_VAL = f"{W_NS}trPr", f"{W_NS}gridBefore", f"{W_NS}val"


def _int_attr(element: Any, default: int) -> int:
    try:
        return int(element.get(W_VAL, default)) if element is not None else default
    except ValueError:
        return default


def _cell_text(tc: Any) -> str:
    """The cell's paragraphs, one per line (runs' text, tabs and breaks); a table nested in a
    cell is not read."""
    lines: list[str] = []
    for paragraph in tc.iterchildren(W_P):
        parts: list[str] = []
        for node in paragraph.iter(W_T, W_TAB, W_BR):
            if node.tag == W_T:
                parts.append(node.text or "")
            else:
                parts.append("\t" if node.tag == W_TAB else "\n")
        lines.append("".join(parts))
    return "\n".join(lines).strip()


def _docx_table_rows(table: Any, first_number: int) -> Iterator[GridRow]:
    """Each row as one text per layout-grid column. A horizontally merged cell's text is in its
    first column only; a vertically merged cell's text only in its first row (python-docx's
    `row.cells` would repeat both, turning one STT into many). Read from the XML directly:
    python-docx's objects cost ten times more on a long appendix (bench/criteria_import.py)."""
    for offset, tr in enumerate(table.iterchildren(W_TR)):
        number = first_number + offset
        if offset >= MAX_ROWS:
            raise TableRefusedError(CriteriaReason.TABLE_TOO_LARGE, f"more than {MAX_ROWS} table rows")
        properties = tr.find(W_TRPR)
        before = _int_attr(properties.find(W_GRIDBEFORE) if properties is not None else None, 0)
        cells: list[str] = [""] * max(0, min(before, MAX_COLUMNS))
        for tc in tr.iterchildren(W_TC):
            tc_properties = tc.find(W_TCPR)
            span, continued = 1, False
            if tc_properties is not None:
                span = max(1, _int_attr(tc_properties.find(W_GRIDSPAN), 1))
                merge = tc_properties.find(W_VMERGE)
                continued = merge is not None and merge.get(W_VAL, "continue") == "continue"
            text = "" if continued else _cell_text(tc)
            cells.append(_check_cell(text, number, len(cells)))
            if len(cells) + span - 1 > MAX_COLUMNS:
                raise TableRefusedError(
                    CriteriaReason.TABLE_TOO_LARGE, f"table row {number}: more than {MAX_COLUMNS} columns"
                )
            cells.extend([""] * (span - 1))
        yield GridRow(number, tuple(cells))


def read_docx(path: Path) -> Grid:
    """Every table of the document, one after another (a long appendix is sometimes split at
    page breaks into several tables, and one document may hold Phụ lục I, II and III); the
    paragraphs between them are kept with their place. Rows are numbered through all tables,
    as Word's table rows from the first."""
    _check_docx_zip(path)
    try:
        import docx

        document = docx.Document(str(path))
        paragraphs: list[tuple[int, str]] = []
        rows: list[GridRow] = []
        for child in document.element.body.iterchildren():
            tag = child.tag.rsplit("}", 1)[-1]
            if tag == "p" and len(paragraphs) < MAX_PARAGRAPHS:
                text = "".join(t.text or "" for t in child.iter(W_T)).strip()
                if text:
                    paragraphs.append((len(rows) + 1, _check_cell(text, len(rows) + 1, 0)))
            elif tag == "tbl":
                rows.extend(_docx_table_rows(child, len(rows) + 1))
                if len(rows) > MAX_ROWS:
                    raise TableRefusedError(
                        CriteriaReason.TABLE_TOO_LARGE, f"more than {MAX_ROWS} table rows"
                    )
    except TableRefusedError:
        raise
    except Exception as exc:  # python-docx and lxml raise many types for a broken document
        raise TableRefusedError(
            CriteriaReason.TABLE_UNREADABLE, f"{path}: {type(exc).__name__}: {exc}"
        ) from exc
    _check_encoding(rows, paragraphs)
    return Grid(tuple(rows), paragraphs=tuple(paragraphs), where="Word tables")


def read_table(path: Path, sheet: str | None = None) -> Grid:
    """The grid of an appendix file, by its suffix; TableRefusedError (or XlsxRefusedError) with a
    reason code for anything unreadable or over a limit."""
    suffix = path.suffix.lower()
    if not path.is_file():
        raise TableRefusedError(CriteriaReason.TABLE_UNREADABLE, f"{path}: no such file")
    if suffix == SUFFIX_XLSX:
        return read_xlsx(path, sheet)
    if suffix == SUFFIX_CSV:
        return read_csv(path)
    if suffix == SUFFIX_DOCX:
        return read_docx(path)
    if suffix in LEGACY_SUFFIXES:
        raise TableRefusedError(
            CriteriaReason.UNSUPPORTED_FORMAT,
            f"{path}: {LEGACY_SUFFIXES[suffix]} is not read; save it as {suffix}x",
        )
    raise TableRefusedError(
        CriteriaReason.UNSUPPORTED_FORMAT, f"{path}: not .xlsx, .csv or .docx (got {suffix or 'no suffix'!r})"
    )
