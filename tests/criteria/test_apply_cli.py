"""`kiemchung criteria apply BASE OVERLAY... -o OUT.yaml` writes the set in force for a year."""

from __future__ import annotations

import argparse
from decimal import Decimal
from pathlib import Path

import pytest

from criteria.cli import EXIT_ERRORS, EXIT_OK, register
from criteria.loader import data_path, load_set

BASE = data_path("hongngu-2971-department.yaml")
SEED_000 = data_path("hongngu-2023-overlay-department.yaml")


def run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    args = parser.parse_args(argv)
    result: int = args.func(args)
    return result


def test_apply_writes_the_seed_000_amended_set_for_2023(tmp_path: Path) -> None:
    out = tmp_path / "amended.yaml"
    assert run(["criteria", "apply", str(BASE), str(SEED_000), "--year", "2023", "-o", str(out)]) == EXIT_OK
    amended = load_set(out)
    assert amended.years == (2023,)
    assert amended.decisions == ("2971/QĐ-UBND", "…/UBND-CCHC")
    item_2 = amended.node("2")
    assert item_2 is not None
    assert item_2.maximum == Decimal(4)
    renamed = amended.node("7.2")
    assert renamed is not None
    assert renamed.title == "Dịch vụ công trực tuyến và thanh toán trực tuyến"
    assert amended.node("7.3") is None


def test_apply_refuses_a_year_the_base_does_not_cover_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "amended.yaml"
    argv = ["criteria", "apply", str(BASE), str(SEED_000), "--year", "2030", "-o", str(out)]
    assert run(argv) == EXIT_ERRORS
    assert "2030" in capsys.readouterr().out
    assert not out.exists()


def test_apply_refuses_a_set_given_as_the_overlay(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "amended.yaml"
    assert run(["criteria", "apply", str(BASE), str(BASE), "-o", str(out)]) == EXIT_ERRORS
    assert "bad_kind" in capsys.readouterr().out
    assert not out.exists()
