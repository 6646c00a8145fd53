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
    ignored = [n["detail"] for n in report["notes"] if n["what"] == "column_ignored"]
    assert ignored == [
        "D 'Điểm Tự đánh giá': the unit's self-assessment is entered by the unit, not imported"
    ]


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
        "Tên đơn vị;Mã tiêu chí;Điểm\nSở Nội vụ;4.1;17,25\nBan Dân tộc tỉnh;TC 4.1;15\n", encoding="utf-8"
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


DEMO_SET = Path(__file__).resolve().parents[2] / "criteria" / "data" / "demo.yaml"
TWO_SURVEYS = """kind: criteria_set
issuer: "Tỉnh Mẫu (dữ liệu kiểm thử)"
decision: "02/QĐ-TEST"
decision_date: "2024-01-15"
level: department
years: [2025]
title: "Bộ tiêu chí kiểm thử: hai tiêu chí điều tra xã hội học, tiêu chí 1.1 và 1.10"
total: 100
source_totals: {self_assessed: 60, survey: 40}
declared_counts: {fields: 2, criteria: 4, subcriteria: 0}
fields:
  - code: "1"
    title: "Công tác chỉ đạo, điều hành"
    max: 60
    children:
      - {code: "1.1", title: "Kế hoạch CCHC", max: 30}
      - {code: "1.10", title: "Sáng kiến CCHC", max: 30}
  - code: "2"
    title: "Tác động của CCHC"
    max: 40
    children:
      - {code: "2.1", title: "Sự hài lòng về thủ tục hành chính", max: 20, source: survey}
      - {code: "2.2", title: "Sự hài lòng về dịch vụ công", max: 20, source: survey}
"""


def _criteria(tmp: Path) -> list[str]:
    folder = tmp / "criteria"
    folder.mkdir()
    (folder / "two-surveys.yaml").write_text(TWO_SURVEYS, encoding="utf-8")
    district = DEMO_SET.read_text(encoding="utf-8").replace("level: department", "level: district")
    (folder / "demo-district.yaml").write_text(district, encoding="utf-8")
    return ["--criteria-dir", str(folder)]


def test_vinh_phuc_units_list_with_groups_loads_with_defaults_and_ids_from_names(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Vĩnh Phúc 2019 lists its units in groups (central agencies, departments): a list of
    names only, loaded with the level, council and set given once; ids made from the names."""
    book, sheet = new_book()
    row = title_block(sheet, "Vĩnh Phúc", "DANH SÁCH CƠ QUAN, ĐƠN VỊ XÁC ĐỊNH CHỈ SỐ CCHC NĂM 2019", "", 3)
    put(
        sheet,
        row,
        [
            ["STT", "Tên cơ quan, đơn vị", "Ghi chú"],
            ["I", "Sở, ban, ngành"],
            [1, "Sở Nội vụ"],
            [2, "Sở Tư pháp"],
            ["II", "Cơ quan đặc thù"],
            [3, "Ban Dân tộc tỉnh", "Không xếp hạng"],
            [None, "Tổng số: 03 cơ quan"],
        ],
    )
    path = save(book, tmp_path / "don-vi.xlsx")
    url = _url(tmp_path)
    defaults = ["--level", "department", "--council", "hdtd", "--criteria-set", "demo-department"]
    code, report = _import(capsys, "units", path, url, *defaults)
    assert (code, report["refused"]) == (0, [])
    assert report["events"] == 3
    out = tmp_path / "u.csv"
    assert _run("export", "units", "-o", str(out), "--database-url", url) == 0
    lines = out.read_text(encoding="utf-8").splitlines()[1:]
    assert [line.split(",")[:2] for line in lines] == [
        ["ban-dan-toc-tinh", "Ban Dân tộc tỉnh"],
        ["so-noi-vu", "Sở Nội vụ"],
        ["so-tu-phap", "Sở Tư pháp"],
    ]
    code, report = _import(capsys, "units", path, url)
    assert code == 1
    assert {r["reason"] for r in report["refused"]} == {"missing_column"}


def test_vinh_long_a_name_fitting_two_units_is_refused_not_guessed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Vĩnh Long's Bình Minh was a district before it became a town (thị xã): a table saying
    only "UBND Bình Minh" fits both registrations and is refused, naming both."""
    criteria = _criteria(tmp_path)
    url = _units(
        tmp_path,
        "huyen-binh-minh,Huyện Bình Minh,huyện,hdtd,demo-district,có,\n"
        "tx-binh-minh,Thị xã Bình Minh,huyện,hdtd,demo-district,có,\n",
        *criteria,
    )
    path = tmp_path / "huyen.csv"
    path.write_text(
        '"Huyện, thị xã, thành phố",Điểm khảo sát\nUBND Bình Minh,15\nTHỊ XÃ BÌNH MINH,16\n', encoding="utf-8"
    )
    code, report = _import(capsys, "survey", path, url, "--year", YEAR, *criteria)
    assert code == 1
    assert _refused(report) == {("huyen.csv", 2, "A", "ambiguous_unit")}
    detail = report["refused"][0]["detail"]
    assert "huyen-binh-minh" in detail
    assert "tx-binh-minh" in detail


def test_one_survey_column_stands_for_the_sets_survey_criterion_only_when_there_is_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A single "Điểm điều tra XHH" column maps to the demo set's one survey criterion (seed 003:
    8.1 SIPAS); for a set with two survey criteria it is refused, and a column per criterion
    ("TC 2.1", "Tiêu chí 2.2") is read instead."""
    criteria = _criteria(tmp_path)
    url = _units(tmp_path, "so-y-te,Sở Y tế,sở,hdtd,two-surveys,có,\n", *criteria)
    total = tmp_path / "tong.csv"
    total.write_text("Tên đơn vị,Điểm điều tra XHH\nSở Nội vụ,17\nSở Y tế,30\n", encoding="utf-8")
    code, report = _import(capsys, "survey", total, url, "--year", YEAR, *criteria)
    assert code == 1
    assert _refused(report) == {("tong.csv", 3, "B", "survey_total_ambiguous")}
    assert "2.1, 2.2" in report["refused"][0]["detail"]
    wide = tmp_path / "tung-tieu-chi.csv"
    wide.write_text("Tên đơn vị;TC 2.1;Tiêu chí 2.2\nSở Y tế;15,5;14,25\n", encoding="utf-8")
    code, report = _import(capsys, "survey", wide, url, "--year", YEAR, *criteria)
    assert (code, report["refused"]) == (0, [])
    assert _survey(url) == {"so-y-te": "29.75"}


def test_a_code_typed_as_a_number_is_refused_when_it_could_be_two_criteria(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Excel turns a typed 1.10 into the number 1.1: with both 1.1 and 1.10 in the set, the row
    is refused (ambiguous_code); the same code kept as text is read."""
    criteria = _criteria(tmp_path)
    url = _units(tmp_path, "so-y-te,Sở Y tế,sở,hdtd,two-surveys,có,\n", *criteria)
    book, sheet = new_book()
    sheet.title = "Sở Y tế"
    row = title_block(sheet, "Vĩnh Long", f"KẾT QUẢ THẨM ĐỊNH NĂM {YEAR}", VINH_LONG_DATE, 3)
    put(sheet, row, [["STT", "Nội dung", "Điểm thẩm định"], [1.1, "Kế hoạch", 20], ["1.10", "Sáng kiến", 25]])
    path = save(book, tmp_path / "so-y-te.xlsx")
    code, report = _import(capsys, "appraisals", path, url, *criteria)
    assert code == 1
    assert _refused(report) == {("Sở Y tế", row + 1, "A", "ambiguous_code")}
    sheet.cell(row=row + 1, column=1, value="1.1")
    save(book, path)
    code, report = _import(capsys, "appraisals", path, url, *criteria)
    assert (code, report["refused"]) == (0, [])
    assert _appraised(url) == {("so-y-te", "1.1"): "20", ("so-y-te", "1.10"): "25"}
    assert ("Sở Y tế", 0, "unit_from") in _notes(report)


def test_several_sheets_are_picked_by_content_and_said(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A province workbook: instructions, a hidden lookup sheet, one results sheet per group;
    the results sheets are read, the others named as ignored, a visible column preferred to a
    hidden one of the same meaning."""
    url = _units(tmp_path)
    book, guide = new_book()
    guide.title = "Hướng dẫn"
    guide["A1"] = "Cột Điểm khảo sát: điểm tối đa 20."
    lookup = book.create_sheet("Danh mục")
    put(lookup, 1, [["Tên đơn vị", "Điểm khảo sát"], ["Sở Nội vụ", 1]])
    lookup.sheet_state = "hidden"
    departments = book.create_sheet("Sở, ngành")
    put(
        departments,
        1,
        [
            [f"KẾT QUẢ KHẢO SÁT NĂM {YEAR}"],
            ["STT", "Đơn vị", "Điểm khảo sát (cũ)", "Điểm khảo sát"],
            [1, "Sở Nội vụ", 3, 17],
        ],
    )
    departments.column_dimensions["C"].hidden = True
    special = book.create_sheet("Đặc thù")
    put(special, 1, [[f"NĂM {YEAR}"], ["STT", "Cơ quan", "Điểm SIPAS"], [1, "Thanh tra tỉnh", "16,5"]])
    path = save(book, tmp_path / "nhieu-sheet.xlsx")
    code, report = _import(capsys, "survey", path, url)
    assert (code, report["refused"]) == (0, [])
    assert _survey(url) == {"so-noi-vu": "17", "thanh-tra": "16.5"}
    notes = _notes(report)
    assert {("Hướng dẫn", 0, "sheet_ignored"), ("Danh mục", 0, "sheet_ignored")} <= notes
    assert {("Sở, ngành", 0, "sheet_used"), ("Đặc thù", 0, "sheet_used")} <= notes


def test_the_scored_year_comes_from_the_title_not_the_date_line_and_must_agree_with_year(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Vĩnh Long's results of 2025 are signed in January 2026: "năm 2026" of the date line is not
    the scored year; --year disagreeing with the title is refused, a title naming two years
    without --year too."""
    url = _units(tmp_path)
    book, sheet = new_book()
    row = title_block(sheet, "Vĩnh Long", "KẾT QUẢ ĐIỀU TRA XÃ HỘI HỌC NĂM 2025", VINH_LONG_DATE, 2)
    put(sheet, row, [["Đơn vị", "Điểm khảo sát"], ["Sở Nội vụ", 17]])
    path = save(book, tmp_path / "nam.xlsx")
    code, report = _import(capsys, "survey", path, url, "--year", "2024")
    assert (code, [r["reason"] for r in report["refused"]]) == (1, ["year_mismatch"])
    sheet["A4"] = "Số liệu năm 2024 và năm 2025"
    save(book, path)
    code, report = _import(capsys, "survey", path, url)
    assert (code, [r["reason"] for r in report["refused"]]) == (1, ["bad_year"])
    del sheet["A4"]
    sheet["A4"] = "Phụ lục"
    save(book, path)
    code, report = _import(capsys, "survey", path, url)
    assert (code, report["refused"]) == (0, [])
    assert {p["year"] for p in report["planned"]} == {2025}


def test_vni_text_inside_an_xlsx_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """VNI fonts write "Mã đơn vị" as "Maõ ñôn vò": refused and named, not matched as names."""
    url = _units(tmp_path)
    book, sheet = new_book()
    put(sheet, 1, [["Teân ñôn vò", "Ñieåm khaûo saùt"], ["Sôû Noäi vuï", 17]])
    path = save(book, tmp_path / "vni.xlsx")
    code, report = _import(capsys, "survey", path, url, "--year", YEAR)
    assert code == 1
    assert [r["reason"] for r in report["refused"]] == ["legacy_encoding"]
    assert "VNI" in report["refused"][0]["detail"]


def test_http_dry_run_lists_what_would_be_recorded_and_refuses_an_xls(tmp_path: Path) -> None:
    """The province's office checks its Vĩnh Long survey table over HTTP before loading it."""
    from fastapi.testclient import TestClient

    from kiemchung.api import create_app
    from kiemchung.runtime.settings import Settings
    from services.scoring.access import ApiKey, KeyRing, Role, hash_key
    from services.scoring.tables import OLE2_MAGIC
    from tests.scoring.kit import vn

    url = _units(tmp_path)
    engine = make_engine(url)
    app = create_app(
        Settings(),
        sessions=session_factory(engine),
        search_index=None,
        keys=KeyRing.of([ApiKey("tỉnh", hash_key("k-province"), Role.PROVINCE, "")]),
        clock=lambda: vn(12, 1, year=2026),
    )
    body = "STT;Cơ quan, đơn vị;Điểm điều tra XHH\n1;SỞ NỘI VỤ;17,2534\n;Tổng cộng;17,2534\n".encode()
    headers = {"X-API-Key": "k-province"}
    with TestClient(app) as client:
        dry = client.post(
            f"/imports/survey?format=csv&year={YEAR}&dry_run=true", content=body, headers=headers
        )
        assert dry.status_code == 200
        result = dry.json()
        assert (result["dry_run"], result["events"], result["would_record"]) == (True, 0, 1)
        assert [(p["unit_id"], p["code"], p["points"]) for p in result["planned"]] == [
            ("so-noi-vu", "4.1", "17.2534")
        ]
        assert ("upload.csv", 3, "total_row") in {(n["sheet"], n["row"], n["what"]) for n in result["notes"]}
        assert _survey(url) == {}
        xls = client.post("/imports/survey?format=xlsx", content=OLE2_MAGIC + b"\0" * 512, headers=headers)
        assert xls.status_code == 422
        assert [r["reason"] for r in xls.json()["refused"]] == ["xls_not_xlsx"]
        loaded = client.post(f"/imports/survey?format=csv&year={YEAR}", content=body, headers=headers)
        assert (loaded.status_code, loaded.json()["events"]) == (200, 1)
    engine.dispose()
    assert _survey(url) == {"so-noi-vu": "17.2534"}


LEAVES = ("1.1", "1.2", "1.3.1", "1.3.2", "2.1.1", "2.1.2", "2.2.1", "2.2.2", "3.1.1", "3.1.2", "3.2")
COUNCIL_POINTS = {
    "Sở Nội vụ": (9.5, 8, 6, 5.5, 8, 6, 10, 6, 6, 4, 10),  # 79 + survey 17.2534 = 96.2534
    "Sở Tư pháp": (10, 7, 6, 6, 7.5, 6, 9, 6, 6, 4, 10),  # 77.5 + 16.5 = 94
    "Sở KH&ĐT": (8, 8, 5, 5, 8, 5, 9.5, 6, 6, 4, 9),  # 73.5 + 15.75 = 89.25
}


def test_thua_thien_hue_published_ranking_is_reproduced_and_differences_are_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A year loaded from the province's wide tables alone, then compared with its published
    ranking printed as Thừa Thiên Huế prints it (three decimals, decimal comma: 97,685): the same
    figures agree; a swapped rank, an index off by 0,01 and a unit we do not know are named."""
    url = _units(tmp_path)
    survey = tmp_path / "dtxhh.csv"
    survey.write_text(
        "Đơn vị;Điểm điều tra XHH\nSở Nội vụ;17,2534\nSở Tư pháp;16,5\nSở KH&ĐT;15,75\n", encoding="utf-8"
    )
    assert _import(capsys, "survey", survey, url, "--year", YEAR)[0] == 0
    book, sheet = new_book()
    row = title_block(
        sheet, "Thừa Thiên Huế", f"TỔNG HỢP ĐIỂM THẨM ĐỊNH NĂM {YEAR}", "Huế, ngày 20 tháng 01 năm 2026", 12
    )
    put(
        sheet,
        row,
        [
            ["STT", "Tên đơn vị", *LEAVES],
            *[[n, name, *points] for n, (name, points) in enumerate(COUNCIL_POINTS.items(), 1)],
        ],
    )
    code, report = _import(capsys, "appraisals", save(book, tmp_path / "thamdinh.xlsx"), url)
    assert (code, report["refused"], report["events"]) == (0, [], 33)

    def published(rows: list[list[Any]]) -> Path:
        book, sheet = new_book()
        first = title_block(
            sheet,
            "Thừa Thiên Huế",
            f"CHỈ SỐ CCHC NĂM {YEAR} CỦA CÁC SỞ, BAN, NGÀNH",
            "Huế, ngày 05 tháng 3 năm 2026",
            5,
        )
        put(
            sheet,
            first,
            [
                ["STT", "Đơn vị", "Tổng điểm", "Chỉ số CCHC (%)", "Xếp hạng"],
                ["I", "Khối sở, ban, ngành"],
                *rows,
            ],
        )
        return save(book, tmp_path / "cong-bo.xlsx")

    agreeing = published(
        [
            [1, "Sở Nội vụ", "96,25", "96,253", 1],
            [2, "Sở Tư pháp", "94,00", "94,000", 2],
            [3, "Sở Kế hoạch và Đầu tư", "89,25", "89,250", 3],
        ]
    )
    capsys.readouterr()
    assert _run("compare", str(agreeing), "--year", YEAR, "--database-url", url) == 0
    assert "3 published row(s) compared with 2025: 3 agree, 0 difference(s)" in capsys.readouterr().out

    differing = published(
        [
            [1, "Sở Nội vụ", "96,25", "96,253", 1],
            [2, "Sở Kế hoạch và Đầu tư", "89,25", "89,260", 2],
            [3, "Sở Tư pháp", "94,00", "94,000", 3],
            [4, "Sở Y tế", "88,00", "88,000", 4],
        ]
    )
    capsys.readouterr()
    assert _run("compare", str(differing), "--year", YEAR, "--database-url", url, "--json") == 1
    result = json.loads(capsys.readouterr().out)
    found = {
        (d["row"], d["column"], d["unit_id"], d["reason"], d["published"], d["ours"])
        for d in result["differences"]
    }
    data = 9
    assert found == {
        (data + 1, "D", "so-khdt", "index_differs", "89.260", "89.250"),
        (data + 1, "E", "so-khdt", "rank_differs", "2", "3"),
        (data + 2, "E", "so-tu-phap", "rank_differs", "3", "2"),
        (data + 3, "B", "", "unknown_unit", "Sở Y tế", "'Sở Y tế' is no registered unit"),
    }
    assert (result["compared"], result["agreeing"]) == (3, 1)


def test_a_year_column_holds_each_rows_year_even_as_an_excel_date(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Survey results kept over several years in one table (Năm | Đơn vị | Mã tiêu chí | Điểm):
    the year typed as a number, as text, or entered as a date (an Excel serial shown as a date)."""
    url = _units(tmp_path)
    book, sheet = new_book()
    put(
        sheet,
        1,
        [
            ["Năm", "Đơn vị", "Mã tiêu chí", "Điểm"],
            [2024, "Sở Nội vụ", "4.1", "16,5"],
            ["2025", "Sở Nội vụ", "4.1", "17,25"],
            [datetime(2025, 12, 31), "Sở Tư pháp", "4.1", 15],
            ["năm nay", "Sở Tư pháp", "4.1", 15],
        ],
    )
    sheet["A4"].number_format = "dd/mm/yyyy"
    path = save(book, tmp_path / "nhieu-nam.xlsx")
    code, report = _import(capsys, "survey", path, url)
    assert code == 1
    assert _refused(report) == {("Sheet", 5, "A", "bad_year")}
    sheet.delete_rows(5)
    save(book, path)
    code, report = _import(capsys, "survey", path, url, "--year", YEAR)
    assert _refused(report) == {("Sheet", 2, "A", "year_mismatch")}
    code, report = _import(capsys, "survey", path, url)
    assert (code, report["refused"]) == (0, [])
    assert {(p["unit_id"], p["year"], p["points"]) for p in report["planned"]} == {
        ("so-noi-vu", 2024, "16.5"),
        ("so-noi-vu", 2025, "17.25"),
        ("so-tu-phap", 2025, "15"),
    }


def test_a_decimal_comma_in_a_comma_separated_file_is_refused_not_cut(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """ "Sở Nội vụ,17,25" under "Đơn vị,Điểm khảo sát" would read as 17: the line is refused;
    quoted ("17,25") or with ';' it reads as 17.25; "8,5 điểm" keeps its figure."""
    url = _units(tmp_path)
    path = tmp_path / "phay.csv"
    path.write_text("Đơn vị,Điểm khảo sát\nSở Nội vụ,17,25\nSở Tư pháp,16\n", encoding="utf-8")
    code, report = _import(capsys, "survey", path, url, "--year", YEAR)
    assert (code, _refused(report)) == (1, {("phay.csv", 2, "C", "extra_values")})
    path.write_text('Đơn vị,Điểm khảo sát\nSở Nội vụ,"17,25"\nSở Tư pháp,"16,5 điểm"\n', encoding="utf-8")
    code, report = _import(capsys, "survey", path, url, "--year", YEAR)
    assert (code, report["refused"]) == (0, [])
    assert _survey(url) == {"so-noi-vu": "17.25", "so-tu-phap": "16.5"}


def test_criterion_codes_under_a_merged_field_title_name_their_columns(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A wide appraisal table with field titles merged over their criteria (seed 003's fields:
    "Công tác chỉ đạo, điều hành CCHC" over 1.1 | 1.2), the unit "Sở Nông nghiệp và PTNT"-style
    abbreviation: each code column is read."""
    url = _units(tmp_path, "so-nnptnt,Sở Nông nghiệp và Phát triển nông thôn,sở,hdtd,demo-department,có,\n")
    book, sheet = new_book()
    put(
        sheet,
        1,
        [
            [f"TỔNG HỢP ĐIỂM THẨM ĐỊNH NĂM {YEAR}"],
            ["STT", "Đơn vị", "Công tác chỉ đạo, điều hành CCHC", None, "Cải cách TTHC"],
            [None, None, "1.1", "1.2", "2.2.1"],
            [1, "Sở NN&PTNT", "9,5", 8, 10],
        ],
    )
    sheet.merge_cells("C2:D2")
    sheet.merge_cells("A2:A3")
    sheet.merge_cells("B2:B3")
    code, report = _import(capsys, "appraisals", save(book, tmp_path / "gop.xlsx"), url)
    assert (code, report["refused"]) == (0, [])
    assert _appraised(url) == {
        ("so-nnptnt", "1.1"): "9.5",
        ("so-nnptnt", "1.2"): "8",
        ("so-nnptnt", "2.2.1"): "10",
    }


def test_formulas_are_read_by_their_cached_results(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A Vĩnh Long survey sheet whose points are formulas (=C3*0.2, as Excel saved them with
    their results): the saved results are read, never evaluated; the binary noise of a computed
    17.2534 (17.253400000000003) is the figure shown."""
    import io
    import zipfile

    url = _units(tmp_path)
    book, _ = new_book()
    plain = io.BytesIO()
    book.save(plain)
    cells = (
        '<row r="1"><c r="A1" t="inlineStr"><is><t>Tên đơn vị</t></is></c>'
        '<c r="B1" t="inlineStr"><is><t>Điểm điều tra XHH</t></is></c></row>'
        '<row r="2"><c r="A2" t="inlineStr"><is><t>Sở Nội vụ</t></is></c>'
        '<c r="B2"><f>86.267*0.2</f><v>17.253400000000003</v></c></row>'
        '<row r="3"><c r="A3" t="inlineStr"><is><t>Sở Tư pháp</t></is></c>'
        '<c r="B3"><f>SUM(1,2)+12</f><v>15</v></c></row>'
    )
    xml = (
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        f"<sheetData>{cells}</sheetData></worksheet>"
    ).encode()
    source = zipfile.ZipFile(io.BytesIO(plain.getvalue()))
    path = tmp_path / "cong-thuc.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            target.writestr(
                item.filename, xml if item.filename.endswith("sheet1.xml") else source.read(item.filename)
            )
    code, report = _import(capsys, "survey", path, url, "--year", YEAR)
    assert (code, report["refused"]) == (0, [])
    assert _survey(url) == {"so-noi-vu": "17.2534", "so-tu-phap": "15"}


VINH_PHUC_GROUPS = Path(__file__).resolve().parents[2] / "criteria" / "provinces" / "vinhphuc-2019.yaml"


def test_vinh_phuc_published_ranks_per_group_are_compared_with_our_group_ranks(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Vĩnh Phúc ranks central agencies in the province and its departments separately (three
    groups, criteria/provinces/vinhphuc-2019.yaml, declared here for the demo set's year): the
    published "Xếp hạng" is the rank within the group, and ours is compared the same way."""
    criteria = tmp_path / "criteria"
    (criteria / "provinces").mkdir(parents=True)
    rules = VINH_PHUC_GROUPS.read_text(encoding="utf-8").replace("year: 2019", f"year: {YEAR}")
    rules = rules.replace(
        "units: {}",
        "units:\n  cuc-thue: {group: trung-uong}\n  kho-bac: {group: trung-uong}\n"
        "  so-noi-vu: {group: so-nganh}\n  so-tu-phap: {group: so-nganh}\n",
    )
    (criteria / "provinces" / f"vinhphuc-{YEAR}.yaml").write_text(rules, encoding="utf-8")
    more = ["--criteria-dir", str(criteria)]
    url = _units(
        tmp_path,
        "cuc-thue,Cục Thuế tỉnh,sở,hdtd,demo-department,có,\n"
        "kho-bac,Kho bạc Nhà nước tỉnh,sở,hdtd,demo-department,có,\n",
        *more,
    )
    survey = tmp_path / "xhh.csv"
    survey.write_text(
        "Đơn vị;Điểm khảo sát\nCục Thuế;18\nKho bạc Nhà nước;15\nSở Nội vụ;17\nSở Tư pháp;16\n",
        encoding="utf-8",
    )
    assert _import(capsys, "survey", survey, url, "--year", YEAR, *more)[0] == 0
    book, sheet = new_book()
    row = title_block(
        sheet, "Vĩnh Phúc", f"KẾT QUẢ CHỈ SỐ CCHC NĂM {YEAR}", "Vĩnh Phúc, ngày 10 tháng 02 năm 2026", 4
    )
    put(
        sheet,
        row,
        [
            ["STT", "Cơ quan, đơn vị", "Chỉ số CCHC", "Xếp hạng"],
            ["I", "Cơ quan Trung ương đóng trên địa bàn tỉnh"],
            [1, "Cục Thuế tỉnh", "18,00", 1],
            [2, "Kho bạc Nhà nước tỉnh", "15,00", 2],
            ["II", "Sở, ban, ngành"],
            [1, "Sở Nội vụ", "17,00", 1],
            [2, "Sở Tư pháp", "16,00", 2],
        ],
    )
    published = save(book, tmp_path / "vinh-phuc.xlsx")
    capsys.readouterr()
    assert _run("compare", str(published), "--year", YEAR, "--database-url", url, *more, "--json") == 0
    result = json.loads(capsys.readouterr().out)
    assert (result["compared"], result["agreeing"], result["differences"]) == (4, 4, [])


def test_a_column_headed_ma_holding_criterion_codes_is_the_code_column(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Some appendices head the code column "Mã" (seed 003's Phụ lục I numbers its rows by code):
    with criterion codes under it and no unit column, it is read as codes, not unit ids."""
    url = _units(tmp_path)
    book, sheet = new_book()
    sheet.title = "Sở Tư pháp"
    put(
        sheet,
        1,
        [
            [f"KẾT QUẢ THẨM ĐỊNH NĂM {YEAR}"],
            ["Mã", "Nội dung", "Điểm tối đa", "Điểm đạt được"],
            ["1", "Công tác chỉ đạo, điều hành", 30, None],
            ["1.1", "Kế hoạch CCHC", 10, "8,5"],
            ["1.2", "Báo cáo CCHC", 8, 7],
        ],
    )
    code, report = _import(capsys, "appraisals", save(book, tmp_path / "ma.xlsx"), url)
    assert (code, report["refused"]) == (0, [])
    assert _appraised(url) == {("so-tu-phap", "1.1"): "8.5", ("so-tu-phap", "1.2"): "7"}


def test_a_table_below_the_decisions_text_is_found(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Seed 003's decision (QĐ 1877/QĐ-UBND) pasted above its appendix: forty lines of "Căn cứ …"
    before the heading, the table is still found."""
    url = _units(tmp_path)
    book, sheet = new_book()
    lines = [
        [f"Căn cứ văn bản số {n}/QĐ-UBND năm 2023 của Ủy ban nhân dân tỉnh Vĩnh Long;"] for n in range(40)
    ]
    put(
        sheet,
        1,
        [*lines, [f"PHỤ LỤC: KẾT QUẢ KHẢO SÁT NĂM {YEAR}"], ["Đơn vị", "Điểm khảo sát"], ["Sở Nội vụ", 17]],
    )
    code, report = _import(capsys, "survey", save(book, tmp_path / "qd.xlsx"), url, "--year", YEAR)
    assert (code, report["refused"]) == (0, [])
    assert _survey(url) == {"so-noi-vu": "17"}


def test_a_criterion_over_self_and_council_columns_reads_the_councils(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Seed 003's Phụ lục columns, per criterion in a wide summary: "1.1" merged over "Tự đánh
    giá | Thẩm định". The council's column is read, never the unit's own; a code over two
    columns that say nothing more is refused (ambiguous_column), not guessed."""
    url = _units(tmp_path)
    book, sheet = new_book()
    put(
        sheet,
        1,
        [
            [f"TỔNG HỢP NĂM {YEAR}"],
            ["STT", "Tên đơn vị", "1.1", None, "1.2", None],
            [None, None, "Tự đánh giá", "Thẩm định", "Tự đánh giá", "Điểm HĐTĐ"],
            [1, "Sở Tư pháp", 10, "9,5", 8, 7],
        ],
    )
    for merged in ("C2:D2", "E2:F2", "A2:A3", "B2:B3"):
        sheet.merge_cells(merged)
    path = save(book, tmp_path / "hai-cot.xlsx")
    code, report = _import(capsys, "appraisals", path, url)
    assert (code, report["refused"]) == (0, [])
    assert _appraised(url) == {("so-tu-phap", "1.1"): "9.5", ("so-tu-phap", "1.2"): "7"}
    sheet["C3"] = "Lần 1"
    sheet["D3"] = "Lần 2"
    save(book, path)
    code, report = _import(capsys, "appraisals", path, url)
    assert code == 1
    assert _refused(report) == {("Sheet", 3, "C", "ambiguous_column")}
