"""Criteria workbooks as hostile input and output: formulas, zip bombs, huge sheets (issue 10,
items 13 and 16)."""

from __future__ import annotations

import zipfile
from dataclasses import replace
from pathlib import Path

import openpyxl

from criteria.errors import CriteriaReason
from criteria.loader import load_packaged_set
from criteria.xlsx import SetMeta, export_xlsx, import_xlsx
from criteria.xlsx_bounds import MAX_XLSX_BYTES, MAX_XLSX_ROWS, MAX_XLSX_UNCOMPRESSED_BYTES, MIB
from tests.criteria.test_xlsx_cli import GOOD_ROWS, appendix

FORMULA_TITLE = '=HYPERLINK("http://evil.example","Kế hoạch")'


def _formulas(path: Path) -> list[str]:
    book = openpyxl.load_workbook(path)
    return [c.coordinate for s in book.worksheets for r in s.iter_rows() for c in r if c.data_type == "f"]


def test_criteria_export_writes_a_formula_like_title_as_text_and_import_keeps_it(tmp_path: Path) -> None:
    demo = load_packaged_set("demo.yaml")
    first = demo.fields[0]
    hostile = replace(demo, fields=(replace(first, title=FORMULA_TITLE), *demo.fields[1:]))
    out = tmp_path / "out.xlsx"
    export_xlsx(hostile, out)
    assert _formulas(out) == []
    back, report = import_xlsx(out)
    assert back.fields[0].title == FORMULA_TITLE, report.issues
    again = tmp_path / "again.xlsx"
    export_xlsx(back, again)
    assert _formulas(again) == []


def _reasons(path: Path) -> set[CriteriaReason]:
    _, report = import_xlsx(path, SetMeta())
    return {issue.reason for issue in report.issues}


def test_a_zip_bomb_is_refused_from_its_directory(tmp_path: Path) -> None:
    path = appendix(tmp_path / "bomb.xlsx", GOOD_ROWS)
    with (
        zipfile.ZipFile(path, "a", compression=zipfile.ZIP_DEFLATED) as archive,
        archive.open("xl/media/zeros.bin", "w", force_zip64=True) as member,
    ):
        for _ in range(MAX_XLSX_UNCOMPRESSED_BYTES // MIB + 1):
            member.write(bytes(MIB))
    assert path.stat().st_size < MAX_XLSX_BYTES
    assert _reasons(path) == {CriteriaReason.XLSX_TOO_LARGE}


def test_too_many_rows_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "rows.xlsx"
    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet()
    sheet.append(["STT", "Nội dung", "Điểm tối đa"])
    for i in range(MAX_XLSX_ROWS + 1):
        sheet.append([f"1.{i}", "x", 1])
    book.save(path)
    assert _reasons(path) == {CriteriaReason.XLSX_TOO_LARGE}


def test_an_oversized_file_is_refused_before_it_is_opened(tmp_path: Path) -> None:
    path = tmp_path / "big.xlsx"
    with path.open("wb") as handle:
        handle.truncate(MAX_XLSX_BYTES + 1)
    assert _reasons(path) == {CriteriaReason.XLSX_TOO_LARGE}


def test_not_a_zip_is_unreadable(tmp_path: Path) -> None:
    path = tmp_path / "x.xlsx"
    path.write_bytes(b"not a workbook")
    assert _reasons(path) == {CriteriaReason.XLSX_UNREADABLE}
