"""`kiemchung register`: an issuer's numbers for a year, with gaps and anomalies."""

from __future__ import annotations

import json
import sqlite3
from datetime import date
from pathlib import Path

import pytest

from contracts.vocabulary import Level
from kiemchung.cli import main
from tests.evidence_verifier.register_kit import build_province, kit_pki, signed


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('register') / 'state.db'}"
    p = build_province(url)
    units = kit_pki().units
    p.unit("huyen-1", units[1], Level.COMMUNE)
    p.unit("huyen-2", units[2], Level.COMMUNE)
    p.link("huyen-1", signed(units[1], "3/KH-UBND", date(2024, 1, 10)), "1.1")
    p.link("huyen-1", signed(units[1], "9/BC-UBND", date(2024, 2, 1)), "1.2")
    p.link("huyen-1", signed(units[1], "9/BC-UBND", date(2024, 2, 1), title="BÁO CÁO khác"), "1.3")
    p.link("huyen-1", signed(units[1], "12/QĐ-UBND", date(2024, 3, 1)), "2.1")
    p.link("huyen-2", signed(units[2], "4/KH-UBND", date(2024, 1, 12)), "1.1")
    p.engine.dispose()
    return url


def test_lists_an_issuers_numbers_with_gaps_and_anomalies(
    db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["register", "huyện Long Hồ số 1", "--year", "2024", "--db", db]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Ủy ban nhân dân huyện Long Hồ số 1 — 2024: 3 numbers linked, 1 anomalies")
    assert "9/BC-UBND" in out
    assert "DUPLICATE_NUMBER [2 files]" in out
    assert "not linked: 4–8, 10–11" in out
    assert "4/KH-UBND" not in out  # another issuer's


def test_json_and_the_list_of_issuers(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["register", "long ho so 1", "--year", "2024", "--db", db, "--json"]) == 0
    view = json.loads(capsys.readouterr().out)
    assert [n["sequence"] for n in view["numbers"]] == [3, 9, 12]
    assert view["anomalies"] == ["9/BC-UBND"]
    assert view["numbers"][1]["links"][0]["decision"] == "needs_review"
    assert main(["register", "--year", "2024", "--db", db]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2
    assert "4 links     2 flagged  Ủy ban nhân dân huyện Long Hồ số 1" in lines[1]


def test_unknown_or_ambiguous_issuer_and_bad_year(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["register", "Sở Nội vụ", "--year", "2024", "--db", db]) == 1
    assert "no issuer match" in capsys.readouterr().err
    assert main(["register", "huyen", "--year", "2024", "--db", db]) == 1
    assert "2 issuers" in capsys.readouterr().err
    assert main(["register", "--year", "1900", "--db", db]) == 2
    assert main(["register", "x", "--year", "2023", "--db", db]) == 1


def test_a_missing_database_or_register_is_a_message_not_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nothing.db"
    assert main(["register", "--year", "2024", "--db", f"sqlite:///{missing}"]) == 3
    assert "no database at" in capsys.readouterr().err
    assert not missing.exists()
    empty = tmp_path / "empty.db"
    sqlite3.connect(empty).close()
    assert main(["register", "--year", "2024", "--db", f"sqlite:///{empty}"]) == 3
    assert "no evidence register" in capsys.readouterr().err
    unreachable = "postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=1"
    assert main(["register", "--year", "2024", "--db", unreachable]) == 3
    assert "cannot read the register: OperationalError" in capsys.readouterr().err
