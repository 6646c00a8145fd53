"""Workbooks as hostile input and output (listed in SECURITY.md).

Out: user text (titles, explanations, notes) starting with "=" becomes a live formula when
openpyxl writes it; `as_text` writes every such cell as text. In: an xlsx is a zip, so its
file size says little about what opening it costs; `open_bounded` checks the zip directory
(members, uncompressed sizes) before openpyxl reads anything and opens read-only (streaming),
and `bounded_rows` stops at a row and column limit.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openpyxl
from openpyxl.workbook.workbook import Workbook

from criteria.errors import CriteriaError, CriteriaReason

MIB = 1024 * 1024
MAX_XLSX_BYTES = 20 * MIB
MAX_XLSX_UNCOMPRESSED_BYTES = 200 * MIB
MAX_XLSX_MEMBERS = 1_000
# Appendix tables have a few hundred rows and under a dozen columns.
MAX_XLSX_ROWS = 10_000
MAX_XLSX_COLUMNS = 64
FORMULA = "f"
TEXT = "s"


class XlsxRefusedError(CriteriaError):
    """The workbook is over a limit (XLSX_TOO_LARGE) or not a readable xlsx (XLSX_UNREADABLE)."""

    def __init__(self, message: str, reason: CriteriaReason = CriteriaReason.XLSX_TOO_LARGE) -> None:
        super().__init__(reason, message)


def as_text(workbook: Workbook) -> Workbook:
    """Every cell openpyxl would write as a formula is written as text (nothing here writes a
    formula on purpose, so any "=..." is user text)."""
    for sheet in workbook.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                if cell.data_type == FORMULA:
                    cell.data_type = TEXT
    return workbook


def _check_zip(path: Path) -> None:
    size = path.stat().st_size
    if size > MAX_XLSX_BYTES:
        raise XlsxRefusedError(f"{path}: {size} bytes, over {MAX_XLSX_BYTES}")
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError) as exc:
        raise XlsxRefusedError(f"{path}: not an xlsx (zip): {exc}", CriteriaReason.XLSX_UNREADABLE) from exc
    if len(members) > MAX_XLSX_MEMBERS:
        raise XlsxRefusedError(f"{path}: {len(members)} zip members, over {MAX_XLSX_MEMBERS}")
    unpacked = sum(member.file_size for member in members)
    if unpacked > MAX_XLSX_UNCOMPRESSED_BYTES:
        raise XlsxRefusedError(f"{path}: unpacks to {unpacked} bytes, over {MAX_XLSX_UNCOMPRESSED_BYTES}")


def open_bounded(path: Path) -> Any:
    """A read-only (streaming) workbook, after the zip directory passed the limits. Close it."""
    _check_zip(path)
    try:
        return openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many unrelated types for a bad file
        raise XlsxRefusedError(f"{path}: {exc}", CriteriaReason.XLSX_UNREADABLE) from exc


def bounded_rows(sheet: Any) -> Iterator[tuple[Any, ...]]:
    """The sheet's rows as values, refusing more than MAX_XLSX_ROWS rows; cells beyond
    MAX_XLSX_COLUMNS are refused too (a data cell there is not an appendix table)."""
    for number, row in enumerate(sheet.iter_rows(values_only=True), start=1):
        if number > MAX_XLSX_ROWS:
            raise XlsxRefusedError(f"more than {MAX_XLSX_ROWS} rows")
        if len(row) > MAX_XLSX_COLUMNS:
            if any(value is not None for value in row[MAX_XLSX_COLUMNS:]):
                raise XlsxRefusedError(f"data beyond column {MAX_XLSX_COLUMNS}")
            row = row[:MAX_XLSX_COLUMNS]
        yield tuple(row)
