"""Criteria sets transcribed from the public fragments in ../shared/criteria-sources (issue 13).

Cà Mau QĐ 1880/QĐ-UBND (2013) is the only fragment with criteria rows; its stored copy stops
inside criterion 1.3, so the set is a template: its published numbers are checked, and it must
not be scored until the rest of the appendix is entered.
"""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path

import pytest

from criteria.loader import load_packaged_set
from criteria.model import CriteriaSet
from criteria.validation import validate
from services.scoring.core.errors import ScoringError, ScoringReason
from services.scoring.core.tree import compile_tree

CA_MAU = "camau-1880-2013-department.yaml"
CA_MAU_SOURCE = Path("criteria-sources") / "partial" / "camau-1880-2013-field1.tsv"


def _maxima(cset: CriteriaSet) -> dict[str, Decimal]:
    return {node.code: node.maximum for node in cset.walk() if node.maximum is not None}


def test_ca_mau_1880_carries_the_published_points_and_is_a_template() -> None:
    cset = load_packaged_set(CA_MAU)
    assert cset.decision == "1880/QĐ-UBND"
    report = validate(cset)
    assert report.ok  # only warnings: the template parts
    maxima = _maxima(cset)
    assert maxima["1"] == Decimal(20)
    assert maxima["1.1"] == sum((maxima[f"1.1.{i}"] for i in range(1, 5)), Decimal(0)) == Decimal(5)
    assert maxima["1.2"] == maxima["1.2.1"] + maxima["1.2.2"] == Decimal(2)
    assert maxima["1.3"] == Decimal(3)
    with pytest.raises(ScoringError) as caught:  # fields 2-8 and 1.3's children are not known
        compile_tree(cset)
    assert caught.value.reason is ScoringReason.INCOMPLETE_CRITERIA


def test_ca_mau_1880_matches_its_source_fragment_row_for_row(shared_dir: Path) -> None:
    source = shared_dir / CA_MAU_SOURCE
    if not source.is_file():
        pytest.skip(f"{source} is absent")
    lines = [line for line in source.read_text(encoding="utf-8").splitlines() if not line.startswith("#")]
    rows = list(csv.DictReader(lines, delimiter="\t"))
    assert rows  # the fragment's header and rows were read
    cset = load_packaged_set(CA_MAU)
    titles = {node.code: node.title for node in cset.walk()}
    assert _maxima(cset) == {row["code"]: Decimal(row["max_points"]) for row in rows}
    assert titles == {row["code"]: row["title"] for row in rows}
