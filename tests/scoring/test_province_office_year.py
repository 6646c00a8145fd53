"""Issue 13, done when: a province office loads a year's units, appraisals and survey results from
its own workbooks, gets ranks per its own groups with its decimals and bands, exports them, and
the published year stays as published. One year of a province, end to end through the commands,
with files shaped as offices keep them (title block, names instead of ids, decimal commas, a
total row, a semicolon CSV with a byte-order mark and 4-decimal survey points as SIPAS publishes).

The rules file follows the shapes of Vĩnh Phúc 2019 (central agencies ranked apart from
departments) and Thừa Thiên Huế 2023 (3 decimals, "97,685"); seed 003 gives the not-ranked unit
(Ban Dân tộc) and the Xuất sắc / Tốt / Khá / Trung bình / Yếu bands.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from openpyxl import Workbook, load_workbook

from kiemchung.cli import main
from services.scoring.export import HEADER_ROW, RANKING_SHEET

YEAR = 2025
DEMO_SET = Path(__file__).resolve().parents[2] / "criteria" / "data" / "demo.yaml"
RULES: dict[str, Any] = {
    "province": "tinhmau",
    "name": "Tỉnh Mẫu",
    "year": YEAR,
    "source": "QĐ 99/QĐ-UBND công bố Chỉ số CCHC năm 2025",
    "display": {"decimals": 3, "decimal_comma": True},
    "groups": [
        {"id": "trung-uong", "name": "Cơ quan Trung ương đóng trên địa bàn", "level": "department"},
        {"id": "so-nganh", "name": "Sở, ban, ngành", "level": "department"},
    ],
    "bands": [
        {"name": "Xuất sắc", "min": 90},
        {"name": "Tốt", "min": 80},
        {"name": "Khá", "min": 70},
        {"name": "Trung bình", "min": 50},
        {"name": "Yếu", "min": 0},
    ],
    "units": {
        "kho-bac": {"group": "trung-uong"},
        "cuc-thue": {"group": "trung-uong"},
        "so-noi-vu": {"group": "so-nganh"},
        "so-tu-phap": {"group": "so-nganh"},
        "ban-dan-toc": {"group": "so-nganh", "ranked": False},
    },
}
UNITS = {
    "kho-bac": "Kho bạc Nhà nước tỉnh",
    "cuc-thue": "Cục Thuế tỉnh",
    "so-noi-vu": "Sở Nội vụ",
    "so-tu-phap": "Sở Tư pháp",
    "ban-dan-toc": "Ban Dân tộc",
    "so-khcn": "Sở Khoa học và Công nghệ",
}
LEAVES = ("1.1", "1.2", "1.3.1", "1.3.2", "2.1.1", "2.1.2", "2.2.1", "2.2.2", "3.1.1", "3.1.2", "3.2")
# The council's appraised points as its sheet holds them: numbers, and text with a decimal comma.
APPRAISED: dict[str, list[Any]] = {
    "Kho bạc Nhà nước tỉnh": [10, 8, 6, 6, 8, 6, 10, 6, 6, 4, 10],  # 80
    "Cục Thuế tỉnh": ["9,5", 8, 6, 5, 8, 6, 9, 6, 6, 4, 9],  # 76.5
    "sở nội vụ": [10, 7, 6, 6, 7, 6, 10, 6, 6, 4, "9,5"],  # 77.5, typed without capitals
    "Sở Tư pháp": [8, 6, 5, 5, 7, 5, 8, 5, 5, 3, 8],  # 65
    "Ban Dân tộc": [10, 8, 6, 6, 8, 6, 10, 6, 6, 4, 10],  # 80
}
SURVEY = (
    "Tên đơn vị;Điểm khảo sát\n"
    "Kho bạc Nhà nước tỉnh;17,2534\n"
    "Cục Thuế tỉnh;16,5\n"
    "Sở Nội vụ;18,0001\n"
    "Sở Tư pháp;15\n"
    "Ban Dân tộc;19,9999\n"
)


def _run(*args: str) -> int:
    return main(list(args))


def _files(tmp: Path) -> tuple[Path, Path, Path, Path]:
    criteria = tmp / "criteria"
    (criteria / "provinces").mkdir(parents=True)
    (criteria / "demo-department.yaml").write_text(DEMO_SET.read_text(encoding="utf-8"), encoding="utf-8")
    (criteria / "provinces" / "tinhmau-2025.yaml").write_text(
        yaml.safe_dump(RULES, allow_unicode=True), encoding="utf-8"
    )
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Danh sách"
    sheet.append(["UỶ BAN NHÂN DÂN TỈNH MẪU"])
    sheet.append(["DANH SÁCH CƠ QUAN, ĐƠN VỊ ĐÁNH GIÁ CHỈ SỐ CCHC NĂM 2025"])
    sheet.append([])
    sheet.append(["STT", "Mã đơn vị", "Tên cơ quan, đơn vị", "Cấp", "Hội đồng thẩm định", "Bộ tiêu chí"])
    for number, (unit_id, name) in enumerate(UNITS.items(), start=1):
        sheet.append([number, unit_id, name, "Sở", "hdtd-tinh", "demo-department"])
    book.save(units := tmp / "don-vi.xlsx")
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Thẩm định"
    sheet.append(["KẾT QUẢ THẨM ĐỊNH CHỈ SỐ CCHC NĂM 2025"])
    sheet.append([])
    sheet.append(["STT", "Tên đơn vị", *(f"Tiêu chí {code}" for code in LEAVES), "Tổng"])
    for number, (name, points) in enumerate(APPRAISED.items(), start=1):
        sheet.append([number, name, *points, None])
    sheet.append([None, "Tổng cộng"])
    book.save(appraisals := tmp / "tham-dinh.xlsx")
    (survey := tmp / "khao-sat.csv").write_text(SURVEY, encoding="utf-8-sig")
    return criteria, units, appraisals, survey


def _ranking(path: Path) -> dict[str, tuple[Any, ...]]:
    """unit id -> (rank, index cell, its number format, note, group, rank in group, band)."""
    sheet = load_workbook(path)[RANKING_SHEET]
    out: dict[str, tuple[Any, ...]] = {}
    for row in sheet.iter_rows(min_row=HEADER_ROW + 1):
        if row[1].value:
            out[row[1].value] = (
                row[0].value,
                None if row[3].value is None else Decimal(str(row[3].value)),
                row[3].number_format,
                row[4].value,
                row[5].value,
                row[6].value,
                row[7].value,
            )
    return out


def test_a_province_office_runs_its_year_from_its_own_workbooks(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    criteria, units, appraisals, survey = _files(tmp_path)
    common = ("--database-url", f"sqlite:///{tmp_path / 'state.db'}", "--criteria-dir", str(criteria))
    assert _run("import", "units", str(units), "--year", str(YEAR), *common) == 0
    assert _run("import", "appraisals", str(appraisals), "--year", str(YEAR), *common) == 0
    assert _run("import", "survey", str(survey), "--year", str(YEAR), *common) == 0
    export = ("export", "xlsx", "--year", str(YEAR), "--level", "department")
    assert _run(*export, "-o", str(tmp_path / "ket-qua.xlsx"), *common) == 0

    ranking = _ranking(tmp_path / "ket-qua.xlsx")
    # 80 + 17.2534 = 97.2534 shown at the province's 3 decimals, first of the central agencies.
    assert ranking["kho-bac"] == (
        1,
        Decimal("97.253"),
        "0.000",
        None,
        "Cơ quan Trung ương đóng trên địa bàn",
        1,
        "Xuất sắc",
    )
    assert ranking["so-noi-vu"][1:] == (Decimal("95.500"), "0.000", None, "Sở, ban, ngành", 1, "Xuất sắc")
    assert ranking["cuc-thue"][5:] == (2, "Xuất sắc")
    assert ranking["so-tu-phap"][1:] == (Decimal("80.000"), "0.000", None, "Sở, ban, ngành", 2, "Tốt")
    # Seed 003: evaluated, not ranked; its index is shown, it takes no rank in any group.
    assert (ranking["ban-dan-toc"][0], ranking["ban-dan-toc"][5]) == (None, None)
    assert ranking["ban-dan-toc"][3] == "Đánh giá, không xếp hạng"

    publish = ("publish", "--year", str(YEAR), "--level", "department", "--decision", "99/QĐ-UBND")
    assert _run(*publish, *common) == 0
    # Sở Khoa học và Công nghệ sent nothing: published as no result, never as 0 ranked last.
    assert "5 unit(s) with a result, 1 with no result" in capsys.readouterr().out
    assert _run(*export, "-o", str(tmp_path / "cong-bo.xlsx"), *common) == 0
    published = _ranking(tmp_path / "cong-bo.xlsx")
    assert published["so-khcn"][0] is None
    assert published["so-khcn"][3] == "Không có kết quả"
    # Listed so before publication too: the office sees who has sent nothing.
    assert published == ranking

    # Next year's office edits this year's file (Ban Dân tộc ranked after all, the bands
    # dropped): the published year is what was published, and the change is reported.
    edited = {**RULES, "units": {**RULES["units"], "ban-dan-toc": {"group": "so-nganh"}}}
    (criteria / "provinces" / "tinhmau-2025.yaml").write_text(
        yaml.safe_dump(edited, allow_unicode=True), encoding="utf-8"
    )
    capsys.readouterr()
    assert _run(*export, "-o", str(tmp_path / "sau-sua.xlsx"), *common) == 0
    assert "published_year_changed: ban-dan-toc 2025" in capsys.readouterr().err
    assert _ranking(tmp_path / "sau-sua.xlsx") == published

    # Only a recorded correction by a decision changes it: Sở Tư pháp's 1.1 re-appraised 8 → 10.
    correct = ("correct", "so-tu-phap", "--year", str(YEAR), "--decision", "120/QĐ-UBND")
    capsys.readouterr()
    assert _run(*correct, "--reason", "Phúc tra kết quả thẩm định", "--points", "1.1=10", *common) == 0
    # Said as the province prints it that year: 3 decimals, a decimal comma, the band.
    assert capsys.readouterr().out == "so-tu-phap 2025: corrected by 120/QĐ-UBND: index 82,000 (Tốt)\n"
    assert _run(*export, "-o", str(tmp_path / "dinh-chinh.xlsx"), *common) == 0
    corrected = _ranking(tmp_path / "dinh-chinh.xlsx")
    assert corrected["so-tu-phap"][1] == Decimal("82.000")
    assert {k: v for k, v in corrected.items() if k != "so-tu-phap"} == {
        k: v for k, v in published.items() if k != "so-tu-phap"
    }
