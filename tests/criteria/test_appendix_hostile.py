"""Hostile appendix tables: every one ends in reason codes (with rows and columns), never a
traceback, and nothing is written (issue 13; SECURITY.md, "every input hostile until bounded")."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import pytest

from criteria.appendix import MAX_CODE_DEPTH, SetMeta, import_file
from criteria.errors import CriteriaReason, Severity
from criteria.model import Level
from criteria.tables import MAX_DOCX_UNCOMPRESSED_BYTES, MAX_ROWS
from criteria.xlsx_bounds import MIB
from tests.criteria.appendix_tables import Appendix, Heading, write_csv, write_docx
from tests.criteria.test_xlsx_cli import run

HEADING = Heading(("STT", "Nội dung", "Điểm tối đa", "Ghi chú"))
TITLE = ("(Kèm theo Quyết định số 12/QĐ-UBND ngày 02/01/2024 của Ủy ban nhân dân tỉnh Vĩnh Long)",)
META = SetMeta(level=Level.COMMUNE, years=(2024,))
GOOD: tuple[tuple[str, ...], ...] = (
    ("I", "Công tác chỉ đạo, điều hành cải cách hành chính", "60"),
    ("1", "Kế hoạch cải cách hành chính năm", "30"),
    ("2", "Báo cáo cải cách hành chính", "30"),
    ("II", "Cải cách thủ tục hành chính", "40"),
    ("1", "Công khai thủ tục hành chính", "40"),
    ("", "Tổng cộng", "100"),
)


def _docx(tmp_path: Path, rows: tuple[tuple[str, ...], ...], name: str = "t.docx") -> Path:
    return write_docx(Appendix(TITLE, HEADING, rows, numbering=False), tmp_path / name)


def _errors(path: Path, template: bool = False) -> set[tuple[CriteriaReason, int | None, str]]:
    result = import_file(path, META, template=template)
    return {(i.reason, i.row, i.column) for i in result.report.errors}


def _reasons(path: Path) -> set[CriteriaReason]:
    return {i.reason for i in import_file(path, META).report.errors}


def test_the_good_table_imports(tmp_path: Path) -> None:
    result = import_file(_docx(tmp_path, GOOD), META)
    assert result.report.ok, [i.render() for i in result.report.issues]


def test_a_wrong_total_row_is_refused_at_its_row(tmp_path: Path) -> None:
    rows = (*GOOD[:-1], ("", "Tổng cộng", "95"))
    # Rows: heading 1, data 2-6, total 7.
    assert (CriteriaReason.TOTAL_MISMATCH, 7, "C (Điểm tối đa)") in _errors(_docx(tmp_path, rows))
    # More than the total is wrong data, not a fragment: --template does not make it pass.
    assert (CriteriaReason.TOTAL_MISMATCH, 7, "C (Điểm tối đa)") in _errors(
        _docx(tmp_path, rows), template=True
    )


def test_parts_over_their_parent_are_refused_even_as_a_template(tmp_path: Path) -> None:
    rows = list(GOOD)
    rows[2] = ("2", "Báo cáo cải cách hành chính", "35")
    path = _docx(tmp_path, tuple(rows))
    assert (CriteriaReason.PARENT_SUM_MISMATCH, 2, "C (Điểm tối đa)") in _errors(path)
    assert (CriteriaReason.PARENT_SUM_MISMATCH, 2, "C (Điểm tối đa)") in _errors(path, template=True)


def test_parts_under_their_parent_are_a_fragment(tmp_path: Path) -> None:
    rows = list(GOOD)
    rows[2] = ("2", "Báo cáo cải cách hành chính", "25")
    path = _docx(tmp_path, tuple(rows))
    assert (CriteriaReason.PARENT_SUM_MISMATCH, 2, "C (Điểm tối đa)") in _errors(path)
    as_template = import_file(path, META, template=True)
    assert as_template.report.ok
    field = as_template.cset.node("1")
    assert field is not None
    assert field.template
    assert "1 (60): its parts miss 5 points" in as_template.cset.note


def test_a_duplicated_stt_names_both_rows(tmp_path: Path) -> None:
    rows = list(GOOD)
    rows[2] = ("1", "Báo cáo cải cách hành chính", "30")
    result = import_file(_docx(tmp_path, tuple(rows)), META)
    duplicate = [i for i in result.report.errors if i.reason is CriteriaReason.DUPLICATE_CODE]
    assert [(i.path, i.row, i.column) for i in duplicate] == [("1.1", 4, "A (STT)")]
    assert "rows 3, 4" in duplicate[0].message


@pytest.mark.parametrize("points", ["mười", "x", "1,5 hoặc 2 nếu đạt"])
def test_non_numeric_points_are_refused_at_their_cell(tmp_path: Path, points: str) -> None:
    rows = list(GOOD)
    rows[2] = ("2", "Báo cáo cải cách hành chính", points)
    assert (CriteriaReason.BAD_DECIMAL, 4, "C (Điểm tối đa)") in _errors(_docx(tmp_path, tuple(rows)))


def test_points_written_as_a_range_are_read_as_their_maximum_with_a_warning(tmp_path: Path) -> None:
    rows = list(GOOD)
    rows[1] = ("1", "Kế hoạch cải cách hành chính năm", "0,5/30")
    rows[2] = ("2", "Báo cáo cải cách hành chính", "tối đa 30 điểm")
    result = import_file(_docx(tmp_path, tuple(rows)), META)
    assert result.report.ok, [i.render() for i in result.report.errors]
    warned = {(i.reason, i.row) for i in result.report.warnings}
    assert (CriteriaReason.POINTS_INTERPRETED, 3) in warned
    assert (CriteriaReason.POINTS_INTERPRETED, 4) not in warned  # "tối đa 30" says what it is


def test_deep_stt_nesting_is_refused(tmp_path: Path) -> None:
    deep = ".".join(["1"] * (MAX_CODE_DEPTH + 1))
    rows = (*GOOD[:3], (deep, "quá sâu", "1"), *GOOD[3:])
    assert (CriteriaReason.TOO_DEEP, 5, "A (STT)") in _errors(_docx(tmp_path, rows))
    # A chain 1, 1.1, 1.1.1, ... 3,000 levels deep: refused row by row, no tree that deep is built.
    chain = tuple((".".join(["1"] * n), f"mức {n}", "1") for n in range(1, 3_000))
    path = write_csv(Appendix(TITLE, HEADING, chain), tmp_path / "chain.csv")
    result = import_file(path, META)
    too_deep = [i for i in result.report.errors if i.reason is CriteriaReason.TOO_DEEP]
    assert len(too_deep) == 3_000 - 1 - MAX_CODE_DEPTH


def test_a_stt_that_is_not_a_number_is_refused(tmp_path: Path) -> None:
    rows = (*GOOD[:3], ("1.a.x", "không rõ", "1"), *GOOD[3:])
    assert (CriteriaReason.BAD_STT, 5, "A (STT)") in _errors(_docx(tmp_path, rows))


def test_rows_after_the_total_are_refused(tmp_path: Path) -> None:
    rows = (*GOOD, ("III", "Lĩnh vực sau dòng tổng", "10"))
    assert (CriteriaReason.ROWS_AFTER_TOTAL, 8, "A (STT)") in _errors(_docx(tmp_path, rows))


def test_a_table_without_a_heading_is_refused(tmp_path: Path) -> None:
    path = write_docx(Appendix(TITLE, Heading(("Số", "Tên", "Giá trị")), GOOD), tmp_path / "h.docx")
    assert _reasons(path) == {CriteriaReason.NO_HEADER}


def _rebuild_docx(source: Path, target: Path, replace: dict[str, bytes], add: dict[str, int]) -> Path:
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as new:
        for item in old.infolist():
            new.writestr(item, replace.get(item.filename, old.read(item.filename)))
        for name, mib in add.items():
            with new.open(name, "w", force_zip64=True) as member:
                for _ in range(mib):
                    member.write(bytes(MIB))
    return target


def test_a_zip_bomb_docx_is_refused_from_its_directory(tmp_path: Path) -> None:
    good = _docx(tmp_path, GOOD)
    bomb = _rebuild_docx(
        good, tmp_path / "bomb.docx", {}, {"word/media/zeros.bin": MAX_DOCX_UNCOMPRESSED_BYTES // MIB + 1}
    )
    assert bomb.stat().st_size < 2 * MIB
    assert _reasons(bomb) == {CriteriaReason.TABLE_TOO_LARGE}


def _body(rows: str) -> bytes:
    ns = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
    head = "<?xml version='1.0' encoding='UTF-8'?>"
    return f"{head}<w:document {ns}><w:body>{rows}</w:body></w:document>".encode()


def test_a_docx_with_a_hundred_thousand_rows_is_refused(tmp_path: Path) -> None:
    cell = "<w:tc><w:p><w:r><w:t>{}</w:t></w:r></w:p></w:tc>"
    head = "<w:tr>" + "".join(cell.format(t) for t in ("STT", "Nội dung", "Điểm tối đa")) + "</w:tr>"
    row = "<w:tr>" + "".join(cell.format(t) for t in ("1", "a", "1")) + "</w:tr>"
    table = f"<w:tbl><w:tblGrid/>{head}{row * 100_000}</w:tbl>"
    path = _rebuild_docx(
        _docx(tmp_path, GOOD), tmp_path / "rows.docx", {"word/document.xml": _body(table)}, {}
    )
    assert MAX_ROWS < 100_000
    assert _reasons(path) == {CriteriaReason.TABLE_TOO_LARGE}


def test_a_docx_nested_ten_thousand_deep_is_refused(tmp_path: Path) -> None:
    nested = "<w:tbl><w:tr><w:tc>" * 10_000 + "<w:p/>" + "</w:tc></w:tr></w:tbl>" * 10_000
    path = _rebuild_docx(
        _docx(tmp_path, GOOD), tmp_path / "deep.docx", {"word/document.xml": _body(nested)}, {}
    )
    assert _reasons(path) == {CriteriaReason.TABLE_UNREADABLE}


def test_a_csv_with_a_hundred_thousand_rows_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "rows.csv"
    path.write_text("STT,Nội dung,Điểm tối đa\n" + "1,a,1\n" * 100_000, encoding="utf-8")
    assert _reasons(path) == {CriteriaReason.TABLE_TOO_LARGE}


# TCVN3 (.VnTime) and VNI spellings of "Công tác chỉ đạo, điều hành cải cách hành chính".
TCVN3 = "C«ng t¸c chØ ®¹o, ®iÒu hµnh c¶i c¸ch hµnh chÝnh"
VNI = "Coâng taùc chæ ñaïo, ñieàu haønh caûi caùch haønh chính"


def test_a_tcvn3_csv_is_refused_rather_than_read_as_mojibake(tmp_path: Path) -> None:
    path = tmp_path / "tcvn3.csv"
    text = "STT,Néi dung,§iÓm tèi ®a\nI," + TCVN3 + ",60\n"
    path.write_bytes(text.encode("latin-1"))  # the 8-bit bytes a .VnTime export writes
    result = import_file(path, META)
    assert {i.reason for i in result.report.errors} == {CriteriaReason.LEGACY_ENCODING}
    assert "TCVN3" in result.report.errors[0].message


def test_vni_text_in_a_unicode_docx_is_refused(tmp_path: Path) -> None:
    rows = (("I", VNI, "60"), ("1", "Keá hoaïch caûi caùch haønh chính naêm", "60"))
    result = import_file(_docx(tmp_path, rows), META)
    assert {i.reason for i in result.report.errors} == {CriteriaReason.LEGACY_ENCODING}
    assert "VNI" in result.report.errors[0].message


def test_a_csv_in_another_code_page_is_refused_as_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "cp1258.csv"
    path.write_bytes("STT,Nội dung,Điểm tối đa\n1,Kế hoạch,10\n".encode("cp1258", errors="replace"))
    assert _reasons(path) == {CriteriaReason.NOT_UTF8}


def test_a_csv_with_or_without_bom_and_any_delimiter_reads_alike(tmp_path: Path) -> None:
    appendix = Appendix(TITLE, HEADING, GOOD)
    shapes = []
    for i, (delimiter, bom) in enumerate(((",", False), (";", True), ("\t", True))):
        result = import_file(write_csv(appendix, tmp_path / f"{i}.csv", delimiter, bom), META)
        assert result.report.ok, [x.render() for x in result.report.issues]
        shapes.append([(n.code, n.title, n.maximum) for n in result.cset.walk()])
    assert shapes[0] == shapes[1] == shapes[2]


@pytest.mark.parametrize("suffix", [".doc", ".xls", ".pdf"])
def test_other_formats_are_refused_by_name(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"phuluc{suffix}"
    path.write_bytes(b"\xd0\xcf\x11\xe0 not read")
    assert _reasons(path) == {CriteriaReason.UNSUPPORTED_FORMAT}


def test_a_renamed_file_is_unreadable_not_a_traceback(tmp_path: Path) -> None:
    path = tmp_path / "phuluc.docx"
    path.write_bytes(b"PK\x03\x04 broken")
    assert _reasons(path) == {CriteriaReason.TABLE_UNREADABLE}
    shutil.copy(path, tmp_path / "phuluc.xlsx")
    assert _reasons(tmp_path / "phuluc.xlsx") == {CriteriaReason.XLSX_UNREADABLE}
    # Said once, where and why: not "<set>: xlsx_unreadable: <set>: xlsx_unreadable: …".
    [issue] = import_file(tmp_path / "phuluc.xlsx", META).report.errors
    assert issue.render().count("xlsx_unreadable") == 1


def test_the_command_prints_reasons_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = (*GOOD[:-1], ("", "Tổng cộng", "95"))
    out = tmp_path / "out.yaml"
    argv = [
        "criteria",
        "import",
        str(_docx(tmp_path, rows)),
        "-o",
        str(out),
        "--level",
        "commune",
        "--year",
        "2024",
    ]
    assert run(argv) == 1
    printed = capsys.readouterr()
    assert "row 7, column C (Điểm tối đa): <set>: total_mismatch" in printed.out
    assert "nothing written" in printed.err
    assert not out.exists()
    missing = import_file(tmp_path / "missing.docx", META).report.issues
    assert [(i.reason, i.severity) for i in missing] == [(CriteriaReason.TABLE_UNREADABLE, Severity.ERROR)]


def test_missing_fields_make_the_whole_set_a_template_that_is_never_scored(tmp_path: Path) -> None:
    from services.scoring.core.errors import ScoringError, ScoringReason
    from services.scoring.core.tree import compile_tree

    rows = (*GOOD[:3], ("", "Tổng cộng", "100"))  # field II is missing, field I adds up
    path = _docx(tmp_path, rows)
    assert CriteriaReason.INCOMPLETE_SET in _reasons(path)
    result = import_file(path, META, template=True)
    assert result.report.ok
    assert result.cset.template
    assert not any(n.template for n in result.cset.walk())
    assert "the fields sum to 60 of 100 (the total row)" in result.cset.note
    with pytest.raises(ScoringError) as caught:
        compile_tree(result.cset)
    assert caught.value.reason is ScoringReason.INCOMPLETE_CRITERIA


def test_a_problem_names_the_derived_code_not_the_stt_as_written(tmp_path: Path) -> None:
    rows = list(GOOD)
    rows[4] = ("1", "Công khai thủ tục hành chính", "bốn mươi")  # under field II: code 2.1
    result = import_file(_docx(tmp_path, tuple(rows)), META)
    assert (CriteriaReason.BAD_DECIMAL, "2.1", 6) in {(i.reason, i.path, i.row) for i in result.report.errors}


def test_a_docx_whose_zip_directory_lies_about_sizes_is_unreadable(tmp_path: Path) -> None:
    """A member declared at 1 KB that inflates to 100 MB: zipfile stops at the declared size and
    the CRC fails, so the bomb is neither unpacked nor parsed."""
    import struct

    huge = _body("<w:p/>" + " " * (100 * MIB))
    path = _rebuild_docx(_docx(tmp_path, GOOD), tmp_path / "liar.docx", {"word/document.xml": huge}, {})
    data = bytearray(path.read_bytes())
    name = b"word/document.xml"
    local = patched = 0
    while (local := data.find(b"PK\x03\x04", local)) >= 0:
        if data[local + 30 : local + 30 + len(name)] == name:
            struct.pack_into("<I", data, local + 22, 1024)
            patched += 1
        local += 4
    central = 0
    while (central := data.find(b"PK\x01\x02", central)) >= 0:
        if data[central + 46 : central + 46 + len(name)] == name:
            struct.pack_into("<I", data, central + 24, 1024)
            patched += 1
        central += 4
    assert patched == 2
    path.write_bytes(bytes(data))
    assert path.stat().st_size < MIB
    assert _reasons(path) == {CriteriaReason.TABLE_UNREADABLE}
