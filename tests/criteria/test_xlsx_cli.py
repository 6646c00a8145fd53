"""Appendix tables in Excel and the `criteria` sub-commands."""

from __future__ import annotations

import argparse
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest

from criteria.cli import EXIT_ERRORS, EXIT_OK, register
from criteria.errors import CriteriaReason
from criteria.loader import data_path, load_packaged_set, load_set
from criteria.model import Level, Source
from criteria.xlsx import SetMeta, export_xlsx, import_xlsx


def appendix(path: Path, rows: list[list[object]]) -> Path:
    """A province-style table: a title, a header row, Roman-numbered sections, a total row."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["PHỤ LỤC I - CHỈ SỐ CCHC CẤP SỞ"])
    sheet.append(["STT", "Nội dung", "Điểm tối đa", "Điểm tự đánh giá", "Ghi chú"])
    for row in rows:
        sheet.append(row)
    workbook.save(path)
    return path


GOOD_ROWS: list[list[object]] = [
    ["I", "CÁC LĨNH VỰC", None],
    ["1", "Công tác chỉ đạo, điều hành", 60],
    ["1.1", "Kế hoạch CCHC", "20"],
    ["1.2", "Kiểm tra CCHC", 40],
    ["1.2.1", "Kế hoạch kiểm tra", "15,5"],
    ["1.2.2", "Xử lý sau kiểm tra", 24.5],
    ["2", "Tác động của CCHC", 40],
    ["2.1", "Chỉ số hài lòng (SIPAS)", 40, None, "Điều tra xã hội học"],
    ["", "Tổng cộng", 100],
]
META = SetMeta(issuer="UBND tỉnh X", decision="12/QĐ-UBND", level=Level.DEPARTMENT, years=(2024,))


def test_import_reads_nested_codes_decimal_commas_and_survey_notes(tmp_path: Path) -> None:
    cset, report = import_xlsx(appendix(tmp_path / "pl.xlsx", GOOD_ROWS), META)
    assert report.ok, [i.render() for i in report.issues]
    assert [leaf.code for leaf in cset.leaves()] == ["1.1", "1.2.1", "1.2.2", "2.1"]
    leaf = cset.node("1.2.1")
    assert leaf is not None
    assert leaf.maximum == Decimal("15.5")
    assert cset.effective_sources()["2.1"] is Source.SURVEY
    assert cset.decision == "12/QĐ-UBND"


def test_import_reports_every_bad_row_with_its_code(tmp_path: Path) -> None:
    rows: list[list[object]] = [
        ["1", "Chỉ đạo", 60],
        ["1.1", "a", 20],
        ["1.1", "trùng", 20],
        ["3.1", "không có cha", 10],
        ["1.2", "", "mười"],
        ["", "Tổng cộng", 100],
    ]
    _, report = import_xlsx(appendix(tmp_path / "bad.xlsx", rows), META)
    assert {
        ("1.1", CriteriaReason.DUPLICATE_CODE),
        ("3.1", CriteriaReason.CODE_NOT_NESTED),
        ("1.2", CriteriaReason.XLSX_BAD_ROW),
        ("1.2", CriteriaReason.BAD_DECIMAL),
    } <= report.reasons()
    assert not report.ok


def test_export_then_import_round_trips_the_demo_set(tmp_path: Path) -> None:
    demo = load_packaged_set("demo.yaml")
    export_xlsx(demo, tmp_path / "demo.xlsx")
    again, report = import_xlsx(tmp_path / "demo.xlsx")
    assert report.ok
    assert (again.issuer, again.decision, again.level, again.years) == (
        demo.issuer,
        demo.decision,
        demo.level,
        demo.years,
    )
    assert [(n.code, n.title, n.maximum) for n in again.walk()] == [
        (n.code, n.title, n.maximum) for n in demo.walk()
    ]
    assert again.effective_sources() == demo.effective_sources()
    leaves = {
        leaf.code for leaf in demo.leaves() if demo.effective_sources()[leaf.code] is Source.SELF_ASSESSED
    }
    assert {c: s for c, s in again.effective_steps().items() if c in leaves} == {
        c: s for c, s in demo.effective_steps().items() if c in leaves
    }


def run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    args = parser.parse_args(argv)
    result: int = args.func(args)
    return result


def test_check_exits_0_on_the_demo_set_and_1_with_every_error_printed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["criteria", "check", str(data_path("demo.yaml"))]) == EXIT_OK
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "issuer: X\ndecision: '1/QĐ'\nlevel: commune\nyears: [2023]\nfields:\n"
        "  - {code: '1', title: A, max: 60}\n  - {code: '1', title: B, max: 0}\n",
        encoding="utf-8",
    )
    capsys.readouterr()
    assert run(["criteria", "check", str(bad)]) == EXIT_ERRORS
    out = capsys.readouterr().out
    assert "1: duplicate_code" in out
    assert "1: non_positive_maximum" in out
    assert "<set>: total_mismatch" in out


def test_check_resolves_seed_000_overlay_for_a_year(capsys: pytest.CaptureFixture[str]) -> None:
    argv = [
        "criteria", "check", str(data_path("hongngu-2971-department.yaml")),
        "--overlay", str(data_path("hongngu-2023-overlay-department.yaml")), "--year", "2023",
    ]  # fmt: skip
    assert run(argv) == EXIT_OK
    assert "2971/QĐ-UBND + …/UBND-CCHC" in capsys.readouterr().out


def test_import_and_export_commands_write_files(tmp_path: Path) -> None:
    source = appendix(tmp_path / "pl.xlsx", GOOD_ROWS)
    out_yaml = tmp_path / "pl.yaml"
    argv = ["criteria", "import", str(source), "-o", str(out_yaml), "--issuer", "UBND tỉnh X"]
    argv += ["--decision", "12/QĐ-UBND", "--level", "department", "--year", "2024"]
    assert run(argv) == EXIT_OK
    assert load_set(out_yaml).node("1.2.2") is not None
    out_xlsx = tmp_path / "back.xlsx"
    assert run(["criteria", "export", str(out_yaml), "-o", str(out_xlsx)]) == EXIT_OK
    assert openpyxl.load_workbook(out_xlsx)["Tiêu chí"]["A5"].value == "1.2.1"


def test_import_without_metadata_refuses_to_write(tmp_path: Path) -> None:
    source = appendix(tmp_path / "pl.xlsx", GOOD_ROWS)
    out_yaml = tmp_path / "pl.yaml"
    assert run(["criteria", "import", str(source), "-o", str(out_yaml)]) == EXIT_ERRORS
    assert not out_yaml.exists()
