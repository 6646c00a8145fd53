"""`kiemchung import` reads a province's own tables, or refuses them row by row with a reason code.

Each test builds the file as the province publishes it (tests/scoring/province_books.py) with real
unit names: Vĩnh Long's departments and special bodies (seed 003, QĐ 1877/QĐ-UBND: Sở Nội vụ, Sở
Tư pháp, Sở Kế hoạch và Đầu tư, Sở Thông tin và Truyền thông; Ban Dân tộc tỉnh and Thanh tra tỉnh
evaluated but not ranked), scored on the packaged demo set (seed 003's shape; its survey
criterion 4.1 stands for seed 003's 8.1 SIPAS). Published figures quoted in DOMAIN.md are used
where the rule comes from them: Thừa Thiên Huế's "97,685" (decimal comma, three decimals).
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from kiemchung.cli import main
from kiemchung.runtime.db import make_engine, session_factory
from services.scoring.store import ledger, scores
from tests.scoring.province_books import cp1258, new_book, put, save, tcvn3, title_block

YEAR = "2025"
UNITS_CSV = (
    "Mã đơn vị,Tên đơn vị,Cấp,Hội đồng thẩm định,Bộ tiêu chí,Xếp hạng,Không áp dụng\n"
    "so-noi-vu,Sở Nội vụ,sở,hdtd,demo-department,có,\n"
    "so-tu-phap,Sở Tư pháp,sở,hdtd,demo-department,có,\n"
    "so-khdt,Sở Kế hoạch và Đầu tư,sở,hdtd,demo-department,có,\n"
    "so-tttt,Sở Thông tin và Truyền thông,sở,hdtd,demo-department,có,\n"
    "ban-dan-toc,Ban Dân tộc tỉnh,sở,hdtd,demo-department,không,\n"
    "thanh-tra,Thanh tra tỉnh,sở,hdtd,demo-department,không,\n"
)
VINH_LONG_DATE = "Vĩnh Long, ngày 15 tháng 01 năm 2026"


def _run(*args: str) -> int:
    return main(list(args))


def _url(tmp: Path) -> str:
    return f"sqlite:///{tmp / 'k.db'}"


def _units(tmp: Path, extra: str = "", *criteria: str) -> str:
    url = _url(tmp)
    path = tmp / "units.csv"
    path.write_text(UNITS_CSV + extra, encoding="utf-8")
    assert _run("import", "units", str(path), "--database-url", url, *criteria) == 0
    return url


def _import(
    capsys: pytest.CaptureFixture[str], kind: str, path: Path, url: str, *more: str
) -> tuple[int, dict[str, Any]]:
    capsys.readouterr()
    code = _run("import", kind, str(path), "--database-url", url, "--json", *more)
    return code, json.loads(capsys.readouterr().out)


def _refused(report: dict[str, Any]) -> set[tuple[str, int, str, str]]:
    return {(r["sheet"], r["row"], r["column"], r["reason"]) for r in report["refused"]}


def _notes(report: dict[str, Any]) -> set[tuple[str, int, str]]:
    return {(n["sheet"], n["row"], n["what"]) for n in report["notes"]}


def _survey(url: str) -> dict[str, str]:
    engine = make_engine(url)
    with session_factory(engine)() as session:
        rows = session.execute(select(scores.c.unit_id, scores.c.snapshot)).all()
    engine.dispose()
    return {unit: snapshot["survey"] for unit, snapshot in rows}


def _appraised(url: str) -> dict[tuple[str, str], str]:
    engine = make_engine(url)
    with session_factory(engine)() as session:
        rows = session.execute(
            select(ledger.c.unit_id, ledger.c.criterion_code, ledger.c.payload).where(
                ledger.c.event_type == "AppraisalRecorded"
            )
        ).all()
    engine.dispose()
    return {(unit, code): str(payload["points"]) for unit, code, payload in rows}


def test_vinh_long_wide_survey_table_with_title_block_groups_totals_and_names(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Seed 003 (Vĩnh Long): survey points published one row per unit under the province's
    header, a two-row merged heading, the column numbering row, "I./II." group rows, a hidden
    row, totals; units named (upper case, without diacritics, abbreviated), never by our ids."""
    url = _units(tmp_path)
    book, sheet = new_book()
    sheet.title = "KQ ĐTXHH"
    row = title_block(sheet, "Vĩnh Long", f"KẾT QUẢ ĐIỀU TRA XÃ HỘI HỌC NĂM {YEAR}", VINH_LONG_DATE, 4)
    put(
        sheet,
        row,
        [["STT", "Cơ quan, đơn vị", "Điểm điều tra XHH", "Ghi chú"], [None, None, "(tối đa 20 điểm)"]],
    )
    for column in (1, 2, 4):
        sheet.merge_cells(start_row=row, start_column=column, end_row=row + 1, end_column=column)
    numbering = row + 2
    body: list[list[Any]] = [
        ["(1)", "(2)", "(3)", "(4)"],
        ["I", "Khối sở, ban, ngành"],
        [1, "SỞ NỘI VỤ", "17,2534"],
        [2, "So Tu phap", 16.5],
        [3, "Sở KH&ĐT", "15,75"],
        [4, "Sở Thông tin và Truyền thông", 99],
        ["II", "Cơ quan đặc thù (đánh giá, không xếp hạng)"],
        [5, "Ban Dân tộc", 15, "không xếp hạng"],
        [None, "Tổng cộng", "=SUM(C10:C16)"],
        [None, "Bình quân", 16.1],
    ]
    put(sheet, numbering, body)
    hidden = numbering + 5
    sheet.row_dimensions[hidden].hidden = True
    path = save(book, tmp_path / "dtxhh.xlsx")

    code, report = _import(capsys, "survey", path, url)

    assert (code, report["refused"]) == (0, [])
    assert _survey(url) == {
        "so-noi-vu": "17.2534",
        "so-tu-phap": "16.5",
        "so-khdt": "15.75",
        "ban-dan-toc": "15",
    }
    assert {
        ("KQ ĐTXHH", numbering, "column_numbers"),
        ("KQ ĐTXHH", numbering + 1, "group_row"),
        ("KQ ĐTXHH", hidden, "hidden_row"),
        ("KQ ĐTXHH", numbering + 6, "group_row"),
        ("KQ ĐTXHH", numbering + 8, "total_row"),
        ("KQ ĐTXHH", numbering + 9, "total_row"),
    } <= _notes(report)


def _appendix_sheet(book: Any, title: str, unit_line: str, rows: list[list[Any]]) -> int:
    sheet = book.create_sheet(title)
    first = title_block(
        sheet, "Vĩnh Long", f"BẢNG TỰ ĐÁNH GIÁ, CHẤM ĐIỂM CHỈ SỐ CCHC NĂM {YEAR}", VINH_LONG_DATE, 6
    )
    sheet.cell(row=first - 1, column=1, value=unit_line)
    heading = first
    put(
        sheet,
        heading,
        [
            ["TT", "Lĩnh vực/Tiêu chí/Tiêu chí thành phần", "Điểm\ntối đa", "Điểm", None, "Ghi chú"],
            [None, None, None, "Tự đánh giá", "Điểm đạt được"],
        ],
    )
    for column in (1, 2, 3, 6):
        sheet.merge_cells(start_row=heading, start_column=column, end_row=heading + 1, end_column=column)
    sheet.merge_cells(start_row=heading, start_column=4, end_row=heading, end_column=5)
    put(sheet, heading + 2, rows)
    return heading + 2


def test_vinh_long_appendix_sheet_per_unit_with_merged_points_heading(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Seed 003 III.1.c: the council's result is the "Điểm đạt được" column of Phụ lục I. The
    unit is named in the title block ("Đơn vị: Sở Tư pháp"), codes carry a trailing dot, points are
    text with a decimal comma; the place-and-date line's year (2026) is not the scored year."""
    url = _units(tmp_path)
    book, first = new_book()
    first.title = "Hướng dẫn"
    first["A1"] = "Hướng dẫn điền bảng: ghi điểm vào cột Điểm đạt được."
    data = _appendix_sheet(
        book,
        "Biểu 01",
        "Đơn vị: Sở Tư pháp",
        [
            ["1.", "Công tác chỉ đạo, điều hành CCHC", 30, 28, 26.5],
            ["1.1.", "Kế hoạch CCHC năm", 10, 10, "9,5"],
            ["1.2", "Báo cáo CCHC định kỳ", 8, 8, 8],
            ["1.3", "Công tác kiểm tra CCHC", 12, 12, None],
            ["1.3.1", "Ban hành kế hoạch kiểm tra", 6, 6, "6"],
            ["2.1.1", "Rà soát, đánh giá TTHC", 8, 8, "7,25"],
            ["4.1", "Chỉ số hài lòng (SIPAS)", 20, None, 17],
            [None, "Tổng cộng", 100, None, "=SUM(E10:E20)"],
        ],
    )
    path = save(book, tmp_path / "phu-luc-1.xlsx")

    code, report = _import(capsys, "appraisals", path, url)

    assert (code, report["refused"]) == (0, [])
    assert _appraised(url) == {
        ("so-tu-phap", "1.1"): "9.5",
        ("so-tu-phap", "1.2"): "8",
        ("so-tu-phap", "1.3.1"): "6",
        ("so-tu-phap", "2.1.1"): "7.25",
    }
    assert {p["year"] for p in report["planned"]} == {int(YEAR)}
    notes = _notes(report)
    assert ("Hướng dẫn", 0, "sheet_ignored") in notes
    assert ("Biểu 01", 0, "sheet_used") in notes
    assert ("Biểu 01", data + 7, "total_row") in notes


def test_thua_thien_hue_wide_appraisal_table_refuses_each_bad_row_and_records_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A wide table, one row per unit and one column per criterion, as Thừa Thiên Huế publishes
    its figures with a decimal comma (97,685): every bad cell is named with its reason code, and
    the file records nothing."""
    url = _units(tmp_path)
    book, sheet = new_book()
    sheet.title = "Tổng hợp"
    row = title_block(
        sheet,
        "Thừa Thiên Huế",
        f"BẢNG TỔNG HỢP ĐIỂM THẨM ĐỊNH NĂM {YEAR}",
        "Huế, ngày 20 tháng 01 năm 2026",
        7,
    )
    put(sheet, row, [["STT", "Tên đơn vị", "1.1", "1.2", "TC 2.2.1", "Tổng điểm", "Ghi chú"]])
    put(
        sheet,
        row + 1,
        [
            [1, "Sở Nội vụ", "9,5", 8, "7,25", "24,75"],
            [2, "Sở Y tế", 9, 8, 7],
            [3, "Sở Tư pháp", "=4+5", datetime(2025, 5, 8), 0.9],
            [4, "Thanh tra tỉnh", "tám", 12, 7],
        ],
    )
    sheet.cell(row=row + 3, column=5).number_format = "0%"
    path = save(book, tmp_path / "tong-hop.xlsx")

    code, report = _import(capsys, "appraisals", path, url)

    assert code == 1
    assert _refused(report) == {
        ("Tổng hợp", row + 2, "B", "unknown_unit"),
        ("Tổng hợp", row + 3, "C", "formula_without_value"),
        ("Tổng hợp", row + 3, "D", "date_not_a_number"),
        ("Tổng hợp", row + 3, "E", "percent_not_points"),
        ("Tổng hợp", row + 4, "C", "bad_number"),
        ("Tổng hợp", row + 4, "D", "points_out_of_range"),
    }
    assert _appraised(url) == {}
    assert "'Sở Y tế' is no registered unit" in next(
        r["detail"] for r in report["refused"] if r["row"] == row + 2
    )


def test_dry_run_prints_what_would_be_recorded_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Seed 003's flat survey list (unit, criterion, points) checked before it is loaded."""
    url = _units(tmp_path)
    path = tmp_path / "sipas.csv"
    path.write_text(
        "Tên đơn vị;Mã tiêu chí;Điểm\nSở Nội vụ;4.1;17,25\nBan Dân tộc tỉnh;4.1;15\n", encoding="utf-8"
    )
    capsys.readouterr()
    assert _run("import", "survey", str(path), "--year", YEAR, "--database-url", url, "--dry-run") == 0
    out = capsys.readouterr().out
    assert f"sipas.csv!C2: record so-noi-vu {YEAR} 4.1 = 17.25" in out
    assert f"sipas.csv!C3: record ban-dan-toc {YEAR} 4.1 = 15" in out
    assert "nothing written" in out
    assert _survey(url) == {}
    path.write_text("Tên đơn vị;Mã tiêu chí;Điểm\nSở Nội vụ;4.1;17,25\nSở Y tế;4.1;15\n", encoding="utf-8")
    assert _run("import", "survey", str(path), "--year", YEAR, "--database-url", url, "--dry-run") == 1
    captured = capsys.readouterr()
    assert "sipas.csv!A3: unknown_unit" in captured.err
    assert _survey(url) == {}


def test_excel_unicode_text_utf16_with_tabs_and_utf8_bom_with_semicolons_are_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """What Excel in a Vietnamese office saves: "Unicode text" (UTF-16 with BOM, tab-separated)
    and "CSV UTF-8" (BOM, `;` with decimal commas under a Vietnamese locale)."""
    url = _units(tmp_path)
    table = "Đơn vị\tĐiểm khảo sát\nSở Nội vụ\t17,2534\nSở Kế hoạch và Đầu tư\t16\n"
    utf16 = tmp_path / "khao-sat.txt"
    utf16.write_bytes(table.encode("utf-16"))
    code, report = _import(capsys, "survey", utf16, url, "--year", YEAR)
    assert (code, report["refused"]) == (0, [])
    semicolons = tmp_path / "khao-sat.csv"
    semicolons.write_bytes("\ufeffSTT;Cơ quan, đơn vị;Điểm khảo sát\n1;Sở Tư pháp;15,5\n".encode())
    code, report = _import(capsys, "survey", semicolons, url, "--year", YEAR)
    assert (code, report["refused"]) == (0, [])
    assert _survey(url) == {"so-noi-vu": "17.2534", "so-khdt": "16", "so-tu-phap": "15.5"}


@pytest.mark.parametrize(
    ("content", "named"),
    [
        (cp1258("Tên đơn vị;Điểm khảo sát\nSở Nội vụ;17,25\n"), "Windows-1258"),
        (tcvn3("Tên đơn vị;Điểm khảo sát\nSở Nội vụ;17,25\n").encode("latin-1", "replace"), "TCVN3"),
    ],
)
def test_legacy_vietnamese_encodings_are_refused_and_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes, named: str
) -> None:
    """Pre-Unicode Vietnamese (Windows-1258, TCVN3 .Vn fonts) is refused with the encoding named,
    never read as mojibake names."""
    url = _units(tmp_path)
    path = tmp_path / "cu.csv"
    path.write_bytes(content)
    capsys.readouterr()
    assert _run("import", "survey", str(path), "--year", YEAR, "--database-url", url) == 1
    err = capsys.readouterr().err
    assert "legacy_encoding" in err
    assert named in err


def test_tcvn3_text_inside_an_xlsx_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A workbook typed with .VnTime fonts holds TCVN3 code points as text: refused, named."""
    url = _units(tmp_path)
    book, sheet = new_book()
    put(sheet, 1, [[tcvn3("Tên đơn vị"), tcvn3("Điểm điều tra XHH")], [tcvn3("Sở Nội vụ"), 17]])
    path = save(book, tmp_path / "vntime.xlsx")
    code, report = _import(capsys, "survey", path, url, "--year", YEAR)
    assert code == 1
    assert [r["reason"] for r in report["refused"]] == ["legacy_encoding"]
    assert "TCVN3" in report["refused"][0]["detail"]
