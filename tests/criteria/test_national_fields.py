"""The national 2948/QĐ-BNV field tables (issue 13, "Criteria data"): kept as field-level
templates. Provinces and ministries are not levels this project scores, so they are field tables
(`kind: field_table`, scope province/ministry), checked against ../shared when present, and
never loaded as a set to score."""

from __future__ import annotations

import csv
import re
import shutil
from decimal import Decimal
from pathlib import Path

import pytest

from criteria.errors import CriteriaLoadError, CriteriaReason, Severity
from criteria.loader import load_document, load_field_table, national_path
from criteria.model import CountKind, FieldTable, Scope
from criteria.validation import validate_field_table
from services.scoring.service import load_catalogue
from tests.criteria.test_xlsx_cli import run

TABLES = {
    "2948-2017-province-fields.yaml": ("national-2948-2017-tinh-fields.tsv", Scope.PROVINCE),
    "2948-2017-ministry-fields.yaml": ("national-2948-2017-bo-fields.tsv", Scope.MINISTRY),
}
COUNTS = re.compile(r"^(\d+) tiêu chí, (\d+) tiêu chí thành phần")


@pytest.mark.parametrize("name", sorted(TABLES))
def test_field_tables_add_up_to_100_and_are_marked_by_scope(name: str) -> None:
    table = load_field_table(national_path(name))
    assert table.scope is TABLES[name][1]
    assert table.decision == "2948/QĐ-BNV"
    assert sum((f.maximum or Decimal(0) for f in table.fields), Decimal(0)) == Decimal(100)
    assert validate_field_table(table).ok


def test_the_provincial_table_keeps_the_sources_own_inconsistency_as_a_warning() -> None:
    table = load_field_table(national_path("2948-2017-province-fields.yaml"))
    report = validate_field_table(table)
    assert [(i.reason, i.severity) for i in report.issues] == [
        (CriteriaReason.COUNT_MISMATCH, Severity.WARNING)
    ]
    assert "39 criteria" in report.issues[0].message
    assert "38" in report.issues[0].message


@pytest.mark.parametrize("name", sorted(TABLES))
def test_field_tables_match_their_source_row_for_row(name: str, shared_dir: Path) -> None:
    source = shared_dir / "criteria-sources" / "partial" / TABLES[name][0]
    if not source.is_file():
        pytest.skip(f"{source} is absent")
    lines = [line for line in source.read_text(encoding="utf-8").splitlines() if not line.startswith("#")]
    rows = list(csv.DictReader(lines, delimiter="\t"))
    table = load_field_table(national_path(name))
    assert [(f.code, f.title, f.maximum) for f in table.fields] == [
        (r["code"], r["title"], Decimal(r["max_points"])) for r in rows
    ]
    stated = [COUNTS.match(r["scoring_note"]) for r in rows]
    assert all(stated)
    assert [dict(f.declared_counts) for f in table.fields] == [
        {CountKind.CRITERIA: int(m.group(1)), CountKind.SUBCRITERIA: int(m.group(2))} for m in stated if m
    ]


def test_a_field_table_is_never_a_set_to_score(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = national_path("2948-2017-province-fields.yaml")
    with pytest.raises(CriteriaLoadError) as caught:
        load_document(path)
    assert caught.value.reason is CriteriaReason.BAD_KIND
    folder = tmp_path / "criteria"
    folder.mkdir()
    shutil.copy(path, folder / "national.yaml")
    catalogue = load_catalogue(folder)
    assert "national" not in catalogue.sets
    assert "bad_kind" in catalogue.refused["national.yaml"]
    assert run(["criteria", "check", str(path)]) == 0
    assert "never scored" in capsys.readouterr().out


def test_a_broken_field_table_is_refused_with_reasons(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "t.yaml"
    path.write_text(
        "kind: field_table\nissuer: X\ndecision: '1/QĐ-BNV'\nscope: province\nyears: [2017]\n"
        "fields:\n  - {code: '1', title: A, max: 60}\n  - {code: '1.1', title: B, max: 30}\n",
        encoding="utf-8",
    )
    table = load_field_table(path)
    assert isinstance(table, FieldTable)
    assert {(i.path, i.reason) for i in validate_field_table(table).errors} == {
        ("1.1", CriteriaReason.BAD_CODE_FORMAT),
        ("", CriteriaReason.TOTAL_MISMATCH),
    }
    assert run(["criteria", "check", str(path)]) == 1
    path.write_text(
        path.read_text(encoding="utf-8").replace("scope: province", "scope: district"), encoding="utf-8"
    )
    with pytest.raises(CriteriaLoadError):
        load_field_table(path)
