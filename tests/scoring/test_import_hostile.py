"""Files that are not a province's table, or are built to hurt, are refused with a reason code:
never a traceback, never a partial import (SECURITY.md: every input hostile until bounded)."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from openpyxl import Workbook

from kiemchung.cli import main
from services.scoring.tables import (
    MAX_COLUMNS,
    MAX_ROWS,
    MAX_UNPACKED_BYTES,
    OLE2_MAGIC,
    TableError,
    read_table_bytes,
)

MIB = 1024 * 1024


def _refused(
    tmp: Path, capsys: pytest.CaptureFixture[str], name: str, data: bytes, kind: str = "survey"
) -> str:
    path = tmp / name
    path.write_bytes(data)
    capsys.readouterr()
    code = main(["import", kind, str(path), "--year", "2025", "--database-url", f"sqlite:///{tmp / 'k.db'}"])
    err = capsys.readouterr().err
    assert code == 1, err
    assert "Traceback" not in err
    return err


def _xlsx(book: Workbook) -> bytes:
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _with_sheet_xml(book: Workbook, xml: bytes) -> bytes:
    """The workbook with its first sheet's XML replaced (what a crafted file carries)."""
    source = zipfile.ZipFile(io.BytesIO(_xlsx(book)))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            data = xml if item.filename == "xl/worksheets/sheet1.xml" else source.read(item.filename)
            target.writestr(item.filename, data)
    return out.getvalue()


def test_a_row_of_a_hundred_thousand_columns_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Past Excel's own 16,384 columns: cells without references, counted as they come."""
    cells = "".join(f"<c><v>{n}</v></c>" for n in range(100_000))
    xml = (
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
        f'<row r="1">{cells}</row></sheetData></worksheet>'
    ).encode()
    err = _refused(tmp_path, capsys, "wide.xlsx", _with_sheet_xml(Workbook(), xml))
    assert "too_many_columns" in err
    assert str(MAX_COLUMNS) in err


def test_a_value_far_down_the_sheet_is_refused_not_read_row_by_row(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["Tên đơn vị", "Điểm khảo sát"])
    sheet.cell(row=1_000_000, column=1, value="x")
    err = _refused(tmp_path, capsys, "long.xlsx", _xlsx(book))
    assert "too_many_rows" in err
    assert "row 1000000" in err


def test_a_zip_bomb_is_refused_from_its_directory_before_unpacking(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bomb.xlsx"
    with (
        zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive,
        archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as member,
    ):
        chunk = b"\0" * MIB
        for _ in range(MAX_UNPACKED_BYTES // MIB + 1):
            member.write(chunk)
    data = path.read_bytes()
    assert len(data) < 2 * MIB
    err = _refused(tmp_path, capsys, "bomb.xlsx", data)
    assert "unpacks_too_large" in err


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("rac.xlsx", bytes(range(256)) * 40, "unreadable_file"),
        ("cu.xlsx", OLE2_MAGIC + b"\0" * 4096, "xls_not_xlsx"),
        ("cu.xls", OLE2_MAGIC + b"\0" * 4096, "xls_not_xlsx"),
        ("rong.csv", b"", "empty_file"),
        ("utf16.csv", "Tên đơn vị\tĐiểm\n".encode("utf-16-le"), "unreadable_file"),
        ("anh.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 64, "unknown_format"),
        (
            "bao-cao.xls",
            b"<html><body><table><tr><td>S\xe1\xbb\x9f N\xe1\xbb\x99i v\xe1\xbb\xa5</td></tr>",
            "html_not_xlsx",
        ),
        (
            "vni.csv",
            "Teân ñôn vò;Ñieåm khaûo saùt\nSôû Noäi vuï;17,25\n".encode("latin-1"),
            "legacy_encoding",
        ),
    ],
)
def test_junk_renamed_xls_and_unknown_files_are_refused_with_a_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, data: bytes, reason: str
) -> None:
    assert reason in _refused(tmp_path, capsys, name, data)


def test_a_zip_that_is_not_a_workbook_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "other.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("readme.txt", "không phải bảng tính")
    assert "unreadable_file" in _refused(tmp_path, capsys, "bang.xlsx", path.read_bytes())


def test_a_file_with_only_headings_past_the_row_limit_is_refused_in_csv() -> None:
    text = "Tên đơn vị,Điểm khảo sát\n" + "Sở Nội vụ,1\n" * MAX_ROWS
    with pytest.raises(TableError) as caught:
        read_table_bytes(text.encode(), "dai.csv")
    assert caught.value.reason.value == "too_many_rows"


def test_entity_expansion_in_a_sheet_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A "billion laughs" DTD in the sheet XML is refused (defusedxml under openpyxl), not expanded."""
    entities = '<!ENTITY l0 "haha">' + "".join(
        f'<!ENTITY l{n} "{("&l" + str(n - 1) + ";") * 10}">' for n in range(1, 10)
    )
    xml = (
        f'<?xml version="1.0"?><!DOCTYPE worksheet [{entities}]>'
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
        '<row r="1"><c r="A1" t="inlineStr"><is><t>&l9;</t></is></c></row></sheetData></worksheet>'
    ).encode()
    err = _refused(tmp_path, capsys, "laughs.xlsx", _with_sheet_xml(Workbook(), xml))
    assert "unreadable_file" in err


def test_a_workbook_with_more_cells_than_the_bound_is_refused_while_parsing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Cells are counted as the parser meets them (empty ones too): past the bound the file is
    refused without reading the rest (bound lowered here so the test stays quick)."""
    monkeypatch.setattr("services.scoring.tables.MAX_CELLS", 1_000)
    row = "<c><v>1</v></c>" * 20
    rows = "".join(f'<row r="{n}">{row}</row>' for n in range(1, 101))
    xml = (
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        f"<sheetData>{rows}</sheetData></worksheet>"
    ).encode()
    err = _refused(tmp_path, capsys, "nhieu-o.xlsx", _with_sheet_xml(Workbook(), xml))
    assert "too_many_cells" in err
