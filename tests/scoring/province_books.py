"""Workbooks and text files shaped as provinces publish them, for the import tests.

Everything here is written with openpyxl the way a CCHC office's sheet looks: the province's
header block (ỦY BAN NHÂN DÂN TỈNH … / CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM), "Phụ lục", the
title with the year, the place-and-date line ("Vĩnh Long, ngày 15 tháng 01 năm 2026", whose year is
not the scored one), headings over one to three rows with merged cells and line breaks, the
column numbering row, group rows, total rows.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.worksheet.worksheet import Worksheet

Row = Sequence[Any]
TONES = "\u0300\u0301\u0303\u0309\u0323"
# TCVN3 (ABC) for the letters the tests' headings use (the .VnTime fonts' code points).
TCVN3 = str.maketrans(
    {
        "ã": "·",
        "đ": "®",
        "ơ": "¬",
        "ị": "Þ",
        "ê": "ª",
        "Đ": "§",
        "ể": "Ó",
        "ề": "Ò",
        "ở": "ë",
        "ụ": "ô",
        "ộ": "é",
    }
)


def title_block(sheet: Worksheet, province: str, title: str, place_date: str, width: int) -> int:
    """The province's header rows; returns the next free row."""
    rows = [
        (f"ỦY BAN NHÂN DÂN TỈNH {province.upper()}", "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"),
        ("", "Độc lập - Tự do - Hạnh phúc"),
        ("", place_date),
        ("Phụ lục", ""),
        (title, ""),
    ]
    for number, (left, right) in enumerate(rows, start=1):
        if left:
            sheet.cell(row=number, column=1, value=left)
        if right:
            sheet.cell(row=number, column=3, value=right)
    sheet.merge_cells(start_row=5, start_column=1, end_row=5, end_column=width)
    return len(rows) + 2


def put(sheet: Worksheet, first: int, rows: Sequence[Row]) -> int:
    for offset, row in enumerate(rows):
        for column, value in enumerate(row, start=1):
            if value is not None:
                sheet.cell(row=first + offset, column=column, value=value)
    return first + len(rows)


def new_book() -> tuple[Workbook, Worksheet]:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    return book, sheet


def save(book: Workbook, path: Path) -> Path:
    book.save(path)
    return path


def cp1258(value: str) -> bytes:
    """Windows-1258 as Vietnamese Windows writes it: base letter, then the tone as a combining
    mark."""
    out = ""
    for ch in unicodedata.normalize("NFC", value):
        try:
            ch.encode("cp1258")
            out += ch
            continue
        except UnicodeEncodeError:
            pass
        parts = unicodedata.normalize("NFD", ch)
        tone = "".join(c for c in parts if c in TONES)
        out += unicodedata.normalize("NFC", "".join(c for c in parts if c not in TONES)) + tone
    return out.encode("cp1258")


def tcvn3(value: str) -> str:
    return value.translate(TCVN3)
