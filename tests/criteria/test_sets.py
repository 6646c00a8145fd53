"""Loading, validating and the shipped data files."""

from __future__ import annotations

import textwrap
from decimal import Decimal
from pathlib import Path

import pytest

from criteria.errors import CriteriaLoadError, CriteriaReason, Severity
from criteria.loader import (
    NATIONAL_DIR,
    data_path,
    dump_set,
    load_document_text,
    load_field_table,
    load_packaged_set,
    load_set,
)
from criteria.model import CriteriaSet, Level, Source
from criteria.validation import validate, validate_field_table

DEMO_LEAVES = {
    "1.1": "10", "1.2": "8", "1.3.1": "6", "1.3.2": "6", "2.1.1": "8", "2.1.2": "6",
    "2.2.1": "10", "2.2.2": "6", "3.1.1": "6", "3.1.2": "4", "3.2": "10", "4.1": "20",
}  # fmt: skip


def load(text: str) -> CriteriaSet:
    doc = load_document_text(textwrap.dedent(text))
    assert isinstance(doc, CriteriaSet)
    return doc


BASE = """
kind: criteria_set
issuer: "UBND tỉnh X"
decision: "1/QĐ-UBND"
level: district
years: [2023]
fields:
{fields}
"""


def with_fields(fields: str) -> CriteriaSet:
    return load(BASE.format(fields=textwrap.indent(textwrap.dedent(fields), "  ")))


def test_demo_set_is_valid_and_its_leaf_codes_are_stable() -> None:
    demo = load_packaged_set("demo.yaml")
    assert validate(demo).issues == ()
    assert {leaf.code: str(leaf.maximum) for leaf in demo.leaves()} == DEMO_LEAVES
    assert demo.level is Level.DEPARTMENT
    assert demo.effective_sources()["4.1"] is Source.SURVEY
    assert sum((leaf.maximum or Decimal(0) for leaf in demo.leaves()), Decimal(0)) == 100


@pytest.mark.parametrize(
    ("level", "counts", "split"),
    [
        ("department", (8, 34, 99), ("66", "34")),
        ("district", (8, 38, 108), ("66", "34")),
        ("commune", (8, 35, 79), ("79", "21")),
    ],
)
def test_seed_003_vinh_long_sets_carry_the_stated_numbers_and_flag_templates(
    level: str, counts: tuple[int, int, int], split: tuple[str, str]
) -> None:
    cset = load_packaged_set(f"vinhlong-1877-2023-{level}.yaml")
    assert cset.decision == "1877/QĐ-UBND"
    assert cset.level is Level(level)
    assert tuple(n for _, n in cset.declared_counts) == counts
    assert dict(cset.source_totals) == {
        Source.SELF_ASSESSED: Decimal(split[0]),
        Source.SURVEY: Decimal(split[1]),
    }
    assert len(cset.fields) == 8
    report = validate(cset)
    # No invented points: the check passes, but says loudly that the points are missing.
    assert report.ok
    assert (("1", CriteriaReason.TEMPLATE_NODE)) in report.reasons()
    assert ("", CriteriaReason.COUNT_MISMATCH) in report.reasons()
    assert all(leaf.maximum is None and leaf.template for leaf in cset.leaves())
    assert cset.effective_sources()["8.1"] is Source.SURVEY


def test_yaml_round_trip_keeps_every_decimal_exact(tmp_path: Path) -> None:
    demo = load_packaged_set("demo.yaml")
    out = tmp_path / "again.yaml"
    out.write_text(dump_set(demo), encoding="utf-8")
    again = load_set(out)
    assert again == demo


def test_loader_reports_every_shape_problem_at_once() -> None:
    with pytest.raises(CriteriaLoadError) as caught:
        load(
            """
            issuer: X
            level: province
            years: [2023]
            fields:
              - {code: "1", title: "A", max: "mười"}
              - {code: "2", max: 5, source: phone}
            """
        )
    reasons = {(i.path, i.reason) for i in caught.value.issues}
    assert ("", CriteriaReason.MISSING_KEY) in reasons  # decision
    assert ("", CriteriaReason.BAD_LEVEL) in reasons
    assert ("1", CriteriaReason.BAD_DECIMAL) in reasons
    assert ("2", CriteriaReason.MISSING_KEY) in reasons  # title
    assert ("2", CriteriaReason.BAD_SOURCE) in reasons


def test_yaml_syntax_error_is_an_issue_not_a_crash() -> None:
    with pytest.raises(CriteriaLoadError) as caught:
        load_document_text("fields: [\n")
    assert caught.value.issues[0].reason is CriteriaReason.YAML_SYNTAX


def test_validation_reports_every_error_with_its_code_path() -> None:
    cset = with_fields(
        """
        - code: "1"
          title: "Chỉ đạo"
          max: 50
          children:
            - {code: "1.1", title: "a", max: 20}
            - {code: "1.1", title: "a again", max: 20}
            - {code: "2.3", title: "misplaced", max: 5}
        - code: "2"
          title: "Thể chế"
          max: 40
          children:
            - {code: "2.1", title: "zero", max: 0}
            - {code: "2.2", title: "no points"}
            - {code: "2.3", title: "x", max: 1.1, step: 0.25}
        """
    )
    report = validate(cset)
    assert {
        ("1.1", CriteriaReason.DUPLICATE_CODE),
        ("2.3", CriteriaReason.DUPLICATE_CODE),
        ("2.3", CriteriaReason.CODE_NOT_NESTED),
        ("1", CriteriaReason.PARENT_SUM_MISMATCH),
        ("2.1", CriteriaReason.NON_POSITIVE_MAXIMUM),
        ("2.2", CriteriaReason.MISSING_MAXIMUM),
        ("2.3", CriteriaReason.MAXIMUM_NOT_ON_STEP),
        ("", CriteriaReason.TOTAL_MISMATCH),
    } <= report.reasons()
    assert not report.ok


def test_a_total_other_than_100_is_an_error() -> None:
    cset = load(
        """
        issuer: X
        decision: "1/QĐ-UBND"
        level: commune
        years: [2023]
        total: 90
        fields:
          - {code: "1", title: "A", max: 90}
        """
    )
    assert ("", CriteriaReason.TOTAL_NOT_100) in validate(cset).reasons()


def test_self_assessed_leaf_inside_a_survey_criterion_is_a_source_conflict() -> None:
    cset = with_fields(
        """
        - code: "1"
          title: "Tác động"
          max: 100
          source: survey
          children:
            - {code: "1.1", title: "SIPAS", max: 60}
            - {code: "1.2", title: "tự chấm", max: 40, source: self_assessed}
        """
    )
    assert ("1.2", CriteriaReason.SOURCE_CONFLICT) in validate(cset).reasons()


def test_declared_self_and_survey_split_is_checked_against_the_leaves() -> None:
    cset = load(
        """
        issuer: X
        decision: "1/QĐ-UBND"
        level: commune
        years: [2023]
        source_totals: {self_assessed: 79, survey: 21}
        fields:
          - {code: "1", title: "A", max: 80}
          - {code: "2", title: "B", max: 20, source: survey}
        """
    )
    issues = [i for i in validate(cset).issues if i.reason is CriteriaReason.SOURCE_TOTAL_MISMATCH]
    assert len(issues) == 2
    assert all(i.severity is Severity.ERROR for i in issues)


def test_template_nodes_are_warnings_and_soften_the_sums_they_touch() -> None:
    cset = with_fields(
        """
        - code: "1"
          title: "A"
          max: 60
          children:
            - {code: "1.1", title: "known", max: 10}
            - {code: "1.2", title: "unknown", max: 5, template: true}
        - {code: "2", title: "B", max: 40}
        """
    )
    report = validate(cset)
    assert report.ok
    kinds = {(i.path, i.reason, i.severity) for i in report.issues}
    assert ("1.2", CriteriaReason.TEMPLATE_NODE, Severity.WARNING) in kinds
    assert ("1", CriteriaReason.PARENT_SUM_MISMATCH, Severity.WARNING) in kinds


def test_deep_codes_like_seed_002_8_4_1_1_are_accepted() -> None:
    cset = with_fields(
        """
        - code: "8"
          title: "Phát triển KT-XH"
          max: 100
          children:
            - code: "8.4"
              title: "Giáo dục, y tế"
              max: 100
              children:
                - code: "8.4.1"
                  title: "Giáo dục"
                  max: 100
                  children:
                    - {code: "8.4.1.1", title: "Mầm non", max: 50}
                    - {code: "8.4.1.2", title: "Tiểu học", max: 50}
        """
    )
    assert validate(cset).issues == ()


def test_every_shipped_file_loads() -> None:
    folder = data_path("demo.yaml").parent
    names = sorted(p.name for p in folder.glob("*.yaml"))
    assert len(names) >= 4
    for name in names:
        load_document_text((folder / name).read_text(encoding="utf-8"))
    national = sorted((folder / NATIONAL_DIR).glob("*.yaml"))
    assert len(national) == 2
    for path in national:
        assert validate_field_table(load_field_table(path)).ok
