"""Workbooks shaped as a province's CCHC office keeps them (title block, unit names instead of
ids, points typed with a decimal comma, a total row), built for the web import tests."""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from typing import Any

from openpyxl import Workbook

# The demo set's leaves (criteria/data/demo.yaml) in the order the office's sheet lists them.
LEAVES = ("1.1", "1.2", "1.3.1", "1.3.2", "2.1.1", "2.1.2", "2.2.1", "2.2.2", "3.1.1", "3.1.2", "3.2")
SHEET = "Thẩm định"
FIRST_DATA_ROW = 4  # after the title, an empty row and the heading row


def appraisal_book(year: int, rows: Mapping[str, Sequence[Any]]) -> bytes:
    """The council's appraised points per unit name, one column per leaf, and a total row."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = SHEET
    sheet.append([f"KẾT QUẢ THẨM ĐỊNH CHỈ SỐ CẢI CÁCH HÀNH CHÍNH NĂM {year}"])
    sheet.append([])
    sheet.append(["STT", "Tên đơn vị", *(f"Tiêu chí {code}" for code in LEAVES), "Tổng"])
    for number, (name, points) in enumerate(rows.items(), start=1):
        sheet.append([number, name, *points, None])
    sheet.append([None, "Tổng cộng"])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def column_of(leaf: str) -> str:
    """The sheet's column letter for a leaf (A: STT, B: the unit's name, then the leaves)."""
    return chr(ord("C") + LEAVES.index(leaf))
