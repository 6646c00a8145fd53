from __future__ import annotations

from datetime import date

import pytest

from contracts.vocabulary import ReasonCode
from services.evidence_verifier.numbering import (
    date_reasons,
    find_issue_date,
    find_number,
    number_reasons,
    parse_number,
)


@pytest.mark.parametrize(
    ("text", "number", "lettered"),
    [
        ("ỦY BAN NHÂN DÂN\nSố: 15/KH-UBND\nVĩnh Long", "15/KH-UBND", False),
        ("Số: 15a/KH-UBND", "15a/KH-UBND", True),
        ("Số 119/2018/NĐ-CP Hà Nội", "119/2018/NĐ-CP", False),
        ("Số: 275 / KH-UBND", "275/KH-UBND", False),
        ("Số: 7b/QĐ-UBND ngày", "7b/QĐ-UBND", True),
    ],
)
def test_number_is_read_from_the_header(text: str, number: str, lettered: bool) -> None:
    found = find_number(text)
    assert found is not None
    assert found.text == number
    assert found.lettered is lettered


def test_a_lettered_number_is_flagged_and_compared() -> None:
    found = find_number("Số: 15a/KH-UBND")
    assert number_reasons(found, "15/KH-UBND") == [ReasonCode.LETTERED_NUMBER, ReasonCode.NUMBER_MISMATCH]
    assert number_reasons(found, "15a/KH-UBND") == [ReasonCode.LETTERED_NUMBER]


def test_numbers_compare_ignoring_spacing_and_case() -> None:
    assert number_reasons(find_number("Số: 15/kh-ubnd"), " 15 / KH-UBND") == []
    assert number_reasons(find_number("Số: 16/KH-UBND"), "15/KH-UBND") == [ReasonCode.NUMBER_MISMATCH]


def test_missing_number_is_reported() -> None:
    assert number_reasons(find_number("Kế hoạch cải cách hành chính"), None) == [ReasonCode.NUMBER_NOT_FOUND]
    assert parse_number("15/KH-UBND") == find_number("Số: 15/KH-UBND")


def test_issue_date_and_year() -> None:
    issued = find_issue_date("Vĩnh Long, ngày 12 tháng 3 năm 2024")
    assert issued == date(2024, 3, 12)
    assert find_issue_date("Bộc Nhiêu, ngày 31 tháng 2 năm 2024, ngày 5 tháng 11 năm 2024") == date(
        2024, 11, 5
    )
    assert date_reasons(issued, 2024) == []
    assert date_reasons(issued, 2023) == [ReasonCode.DATE_OUTSIDE_YEAR]
    assert date_reasons(None, 2024) == []
