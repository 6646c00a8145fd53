"""Hostile criteria YAML: alias bombs, deep nesting, one bad file among good ones (issue 10,
items 14-15)."""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import pytest

from criteria.cli import EXIT_ERRORS, register
from criteria.errors import CriteriaLoadError, CriteriaReason
from criteria.loader import data_path, load_document_text
from criteria.safe_yaml import MAX_YAML_BYTES, MAX_YAML_DEPTH
from services.scoring.service import load_catalogue

# ~1 KB: nine levels of nine aliases expand to 9^9 strings under a plain SafeLoader.
ALIAS_BOMB = (
    "a: &a ["
    + ",".join(["x"] * 9)
    + "]\n"
    + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [" + ",".join([f"*{chr(97 + i)}"] * 9) + "]\n" for i in range(8)
    )
)
DEEP = "x: " + "[" * 1500 + "]" * 1500 + "\n"
DEEP_BLOCK = "".join("  " * i + "- \n" for i in range(1500))


def _reason(text: str) -> CriteriaReason:
    with pytest.raises(CriteriaLoadError) as caught:
        load_document_text(text)
    return caught.value.issues[0].reason


def test_alias_bomb_is_refused_before_expansion() -> None:
    assert len(ALIAS_BOMB) < 1200
    assert _reason(ALIAS_BOMB) is CriteriaReason.YAML_ALIAS


def test_a_single_alias_is_refused_too() -> None:
    assert _reason("a: &x 1\nb: *x\n") is CriteriaReason.YAML_ALIAS


@pytest.mark.parametrize("text", [DEEP, DEEP_BLOCK])
def test_deep_nesting_is_a_clear_error_not_recursion(text: str) -> None:
    assert _reason(text) is CriteriaReason.YAML_TOO_DEEP


def test_nesting_within_the_bound_parses_to_the_usual_refusal() -> None:
    shallow = "x: " + "[" * (MAX_YAML_DEPTH - 2) + "]" * (MAX_YAML_DEPTH - 2) + "\n"
    assert _reason(shallow) is not CriteriaReason.YAML_TOO_DEEP


def test_oversized_text_is_refused() -> None:
    assert _reason("#" * (MAX_YAML_BYTES + 1)) is CriteriaReason.YAML_TOO_LARGE


@pytest.mark.parametrize("text", [ALIAS_BOMB, DEEP])
def test_criteria_check_prints_the_reason_and_exits_non_zero(
    text: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    args = parser.parse_args(["criteria", "check", str(path)])
    assert args.func(args) == EXIT_ERRORS
    assert "yaml_" in capsys.readouterr().out


def test_one_bad_file_never_stops_the_others_loading(tmp_path: Path) -> None:
    shutil.copy(data_path("demo.yaml"), tmp_path / "good.yaml")
    (tmp_path / "bomb.yaml").write_text(ALIAS_BOMB)
    (tmp_path / "deep.yaml").write_text(DEEP)
    (tmp_path / "latin1.yaml").write_bytes(b"title: \xe9\n")
    catalogue = load_catalogue(tmp_path)
    assert "good" in catalogue.trees
    assert set(catalogue.refused) == {"bomb.yaml", "deep.yaml", "latin1.yaml"}
    assert "yaml_alias" in catalogue.refused["bomb.yaml"]
