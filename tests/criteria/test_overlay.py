"""Seed 000: Hồng Ngự's 2024 letter amends QĐ 2971/QĐ-UBND for 2023."""

from __future__ import annotations

import textwrap
from decimal import Decimal

import pytest

from criteria.errors import CriteriaError, CriteriaReason
from criteria.loader import data_path, load_document, load_document_text, load_packaged_set
from criteria.model import CriteriaSet, Overlay
from criteria.overlay import resolve
from criteria.validation import validate

# A complete stand-in for the base set (the real 2971 is not among the seeds): test numbers.
BASE = """
kind: criteria_set
issuer: "UBND thành phố Hồng Ngự"
decision: "2971/QĐ-UBND"
level: department
years: [2022, 2023]
fields:
  - code: "1"
    title: "Chỉ đạo, điều hành"
    max: 57
  - code: "2"
    title: "Hoàn thiện và tổ chức thực hiện hệ thống văn bản pháp quy"
    max: 3
    children:
      - {code: "2.1", title: "Ban hành văn bản", max: 2}
      - {code: "2.2", title: "Tổ chức thực hiện", max: 1}
  - code: "7"
    title: "Hiện đại hóa hành chính"
    max: 40
    children:
      - {code: "7.1", title: "Ứng dụng CNTT", max: 30}
      - {code: "7.2", title: "Dịch vụ công trực tuyến và bưu chính công ích", max: 6}
      - {code: "7.3", title: "ISO 9001", max: 4}
"""

OVERLAY = """
kind: overlay
issuer: "UBND thành phố Hồng Ngự"
decision: "…/UBND-CCHC"
base: {decision: "2971/QĐ-UBND", level: department}
years: [2023]
changes:
  - {op: set_maximum, code: "2", was: 3, max: 4}
  - {op: set_maximum, code: "2.2", max: 2}
  - {op: rename, code: "7.2", title: "Dịch vụ công trực tuyến và thanh toán trực tuyến"}
  - {op: exclude, code: "7.3"}
"""


def base() -> CriteriaSet:
    doc = load_document_text(BASE)
    assert isinstance(doc, CriteriaSet)
    return doc


def overlay(text: str = OVERLAY) -> Overlay:
    doc = load_document_text(textwrap.dedent(text))
    assert isinstance(doc, Overlay)
    return doc


def test_seed_000_amendments_apply_for_2023_and_keep_both_decision_numbers() -> None:
    effective = resolve(base(), [overlay()], 2023)
    assert effective.decisions == ("2971/QĐ-UBND", "…/UBND-CCHC")
    field_two = effective.node("2")
    assert field_two is not None
    assert field_two.maximum == Decimal(4)
    renamed = effective.node("7.2")
    assert renamed is not None
    assert renamed.title == "Dịch vụ công trực tuyến và thanh toán trực tuyến"
    assert effective.node("7.3") is None
    field_seven = effective.node("7")
    assert field_seven is not None
    assert field_seven.maximum == Decimal(36)
    # 57 + 4 + 36: the amended set no longer sums to 100, and the check says so.
    assert ("", CriteriaReason.TOTAL_MISMATCH) in validate(effective).reasons()


def test_seed_000_overlay_does_not_touch_2022() -> None:
    effective = resolve(base(), [overlay()], 2022)
    assert effective.decisions == ("2971/QĐ-UBND",)
    assert effective.node("7.3") is not None
    assert validate(effective).issues == ()


def test_seed_000_raising_a_field_without_its_children_is_reported() -> None:
    partial = overlay(OVERLAY.replace('  - {op: set_maximum, code: "2.2", max: 2}\n', ""))
    effective = resolve(base(), [partial], 2023)
    assert ("2", CriteriaReason.PARENT_SUM_MISMATCH) in validate(effective).reasons()


def test_overlay_whose_was_disagrees_with_the_base_is_refused() -> None:
    wrong = overlay(OVERLAY.replace("was: 3", "was: 5"))
    with pytest.raises(CriteriaError) as caught:
        resolve(base(), [wrong], 2023)
    assert caught.value.reason is CriteriaReason.OVERLAY_BASE_MISMATCH
    assert caught.value.path == "2"


def test_overlay_for_another_base_or_unknown_code_is_refused() -> None:
    with pytest.raises(CriteriaError) as other:
        resolve(base(), [overlay(OVERLAY.replace('decision: "2971/QĐ-UBND"', 'decision: "9/QĐ-UBND"'))], 2023)
    assert other.value.reason is CriteriaReason.OVERLAY_BASE_MISMATCH
    with pytest.raises(CriteriaError) as unknown:
        resolve(base(), [overlay(OVERLAY.replace('code: "7.3"', 'code: "7.9"'))], 2023)
    assert unknown.value.reason is CriteriaReason.OVERLAY_UNKNOWN_CODE


def test_year_outside_the_base_set_is_refused() -> None:
    with pytest.raises(CriteriaError) as caught:
        resolve(base(), [], 2030)
    assert caught.value.reason is CriteriaReason.YEAR_NOT_COVERED


@pytest.mark.parametrize(("level", "iso"), [("department", "7.3"), ("commune", "7.4")])
def test_shipped_seed_000_overlays_resolve(level: str, iso: str) -> None:
    base_set = load_packaged_set(f"hongngu-2971-{level}.yaml")
    amendment = load_document(data_path(f"hongngu-2023-overlay-{level}.yaml"))
    assert isinstance(amendment, Overlay)
    effective = resolve(base_set, [amendment], 2023)
    assert effective.node(iso) is None
    node = effective.node("2")
    assert node is not None
    assert node.maximum == Decimal(4)
    seven_two = effective.node("7.2")
    assert seven_two is not None
    assert seven_two.template
    assert validate(effective).ok
