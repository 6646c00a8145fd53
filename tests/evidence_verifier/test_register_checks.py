"""Each register check on documents the test kit signs: dates and numbers chosen to trip it, and
to just miss it. Real verification, the verifier's handlers, a real (SQLite) database."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest

from contracts.vocabulary import Decision, Level, ReasonCode
from services.evidence_verifier.register.tolerances import NumberSeries, RegisterTolerances
from services.evidence_verifier.testkit.pki import UnitCredentials
from tests.evidence_verifier.register_kit import Province, build_province, kit_pki, signed

R = ReasonCode


@pytest.fixture
def province() -> Province:
    p = build_province()
    pki = kit_pki()
    p.unit("tinh", pki.units[0], Level.DEPARTMENT)
    p.unit("huyen-1", pki.units[1], Level.COMMUNE)
    p.unit("huyen-2", pki.units[2], Level.COMMUNE)
    return p


def _creds(i: int) -> UnitCredentials:
    return kit_pki().units[i]


# ---- DUPLICATE_NUMBER --------------------------------------------------------------------------


def test_duplicate_number_reopens_the_earlier_verdict_and_names_both_links(province: Province) -> None:
    first = province.link("huyen-1", signed(_creds(1), "15/KH-UBND", date(2024, 3, 4)), "1.1")
    assert province.latest(first).report.decision is Decision.ACCEPTED
    other = signed(
        _creds(1), "15/KH-UBND", date(2024, 3, 4), title="KẾ HOẠCH Tuyên truyền cải cách hành chính"
    )
    second = province.link("huyen-1", other, "1.2")

    assert R.DUPLICATE_NUMBER in province.codes(second)
    assert province.related(second, R.DUPLICATE_NUMBER) == {first}
    # the earlier link got a new verdict: needs review, pointing at the newcomer
    reopened = province.latest(first)
    assert len(province.verdicts[first]) == 2
    assert reopened.report.decision is Decision.NEEDS_REVIEW
    assert R.DUPLICATE_NUMBER in reopened.report.reasons
    assert province.related(first, R.DUPLICATE_NUMBER) == {second}


def test_same_number_with_another_notation_or_the_same_file_is_no_duplicate(province: Province) -> None:
    plan = signed(_creds(1), "15/KH-UBND", date(2024, 3, 4))
    a = province.link("huyen-1", plan, "1.1")
    b = province.link("huyen-1", plan, "1.2")  # the same file twice, one field
    report = signed(_creds(1), "15/BC-UBND", date(2024, 3, 4), title="BÁO CÁO Kết quả cải cách hành chính")
    c = province.link("huyen-1", report, "1.3")
    for link in (a, b, c):
        assert province.codes(link) == set(), link
        assert province.latest(link).report.decision is Decision.ACCEPTED


def test_unlinking_the_duplicate_clears_the_earlier_verdict(province: Province) -> None:
    first = province.link("huyen-1", signed(_creds(1), "15/KH-UBND", date(2024, 3, 4)), "1.1")
    other = signed(_creds(1), "15/KH-UBND", date(2024, 3, 5), title="KẾ HOẠCH Khác")
    second = province.link("huyen-1", other, "1.2")
    assert R.DUPLICATE_NUMBER in province.codes(first)
    province.unlink("huyen-1", second, "1.2")
    assert province.codes(first) == set()
    assert province.latest(first).report.decision is Decision.ACCEPTED


# ---- NUMBER_ORDER ------------------------------------------------------------------------------


@pytest.mark.parametrize(("gap_days", "fires"), [(8, True), (7, False)])
def test_a_lower_number_dated_after_a_higher_one(province: Province, gap_days: int, fires: bool) -> None:
    twenty = date(2024, 3, 1)
    fifteen = twenty + timedelta(days=gap_days)  # no. 15 dated `gap_days` after no. 20
    a = province.link("huyen-1", signed(_creds(1), "20/KH-UBND", twenty), "1.1")
    b = province.link("huyen-1", signed(_creds(1), "15/QĐ-UBND", fifteen, title="QUYẾT ĐỊNH"), "1.2")
    assert (R.NUMBER_ORDER in province.codes(b)) is fires
    assert (R.NUMBER_ORDER in province.codes(a)) is fires
    if fires:
        assert province.related(b, R.NUMBER_ORDER) == {a}


def test_number_order_points_at_the_inserted_number_not_its_honest_neighbours(province: Province) -> None:
    honest = [
        province.link("huyen-1", signed(_creds(1), f"{n}/KH-UBND", date(2024, m, 10)), f"1.{m}")
        for n, m in ((10, 2), (30, 4), (50, 6))
    ]
    inserted = province.link("huyen-1", signed(_creds(1), "40/KH-UBND", date(2024, 2, 1)), "2.1")
    assert R.NUMBER_ORDER in province.codes(inserted)
    assert province.related(inserted, R.NUMBER_ORDER) == set(honest[:2])  # nos. 10 and 30 dated later
    assert all(R.NUMBER_ORDER not in province.codes(h) for h in honest)


def test_per_notation_series_ignores_order_across_kinds_of_document() -> None:
    p = build_province(tolerances=RegisterTolerances(number_series=NumberSeries.PER_NOTATION))
    p.unit("huyen-1", _creds(1), Level.COMMUNE)
    a = p.link("huyen-1", signed(_creds(1), "20/KH-UBND", date(2024, 3, 1)), "1.1")
    b = p.link("huyen-1", signed(_creds(1), "15/QĐ-UBND", date(2024, 4, 1), title="QUYẾT ĐỊNH"), "1.2")
    assert p.codes(a) == p.codes(b) == set()


# ---- SIGNED_LONG_AFTER_ISSUE -------------------------------------------------------------------


@pytest.mark.parametrize(("late_days", "fires"), [(16, True), (15, False)])
def test_signed_long_after_the_printed_date(province: Province, late_days: int, fires: bool) -> None:
    dated = date(2024, 1, 10)
    pdf = signed(_creds(1), "3/KH-UBND", dated, signed_on=dated + timedelta(days=late_days))
    link = province.link("huyen-1", pdf, "1.1")
    assert (R.SIGNED_LONG_AFTER_ISSUE in province.codes(link)) is fires
    if fires:
        finding = province.latest(link).findings[0]
        assert "timestamp" in finding.detail
        assert province.latest(link).report.decision is Decision.NEEDS_REVIEW


def test_a_january_plan_signed_in_december_is_caught_with_a_configured_tolerance() -> None:
    p = build_province(tolerances=RegisterTolerances(signed_after_issue=timedelta(days=60)))
    p.unit("tinh", _creds(0), Level.DEPARTMENT)
    late = p.link(
        "tinh", signed(_creds(0), "2/KH-UBND", date(2024, 1, 5), signed_on=date(2024, 12, 10)), "1.1"
    )
    fine = p.link("tinh", signed(_creds(0), "9/KH-UBND", date(2024, 3, 5), signed_on=date(2024, 5, 3)), "1.2")
    assert R.SIGNED_LONG_AFTER_ISSUE in p.codes(late)
    assert R.SIGNED_LONG_AFTER_ISSUE not in p.codes(fine)


# ---- ISSUED_AFTER_DEADLINE ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("dated", "signed_on", "fires"),
    [
        (date(2024, 12, 1), None, True),  # dated the day after the commune deadline (30/11)
        (date(2024, 11, 30), None, False),  # dated on the deadline day
        (date(2024, 11, 28), date(2024, 12, 1), True),  # dated in time, signed after it
    ],
)
def test_issued_after_the_scoring_deadline(
    province: Province, dated: date, signed_on: date | None, fires: bool
) -> None:
    pdf = signed(_creds(1), "300/BC-UBND", dated, signed_on=signed_on, title="BÁO CÁO")
    link = province.link("huyen-1", pdf, "1.1")
    assert (R.ISSUED_AFTER_DEADLINE in province.codes(link)) is fires


def test_what_the_council_asked_for_in_writing_is_not_late_until_its_date(province: Province) -> None:
    asked = province.link(
        "huyen-1", signed(_creds(1), "301/BC-UBND", date(2024, 12, 5), title="BÁO CÁO"), "2.1"
    )
    other_field = province.link("huyen-1", signed(_creds(1), "302/BC-UBND", date(2024, 12, 5)), "3.1")
    assert R.ISSUED_AFTER_DEADLINE in province.codes(asked)
    province.supplement("huyen-1", ["2"], until=date(2024, 12, 10))  # the whole field 2
    assert R.ISSUED_AFTER_DEADLINE not in province.codes(asked)  # re-opened, cleared
    assert province.latest(asked).report.decision is Decision.ACCEPTED
    assert R.ISSUED_AFTER_DEADLINE in province.codes(other_field)
    too_late = province.link("huyen-1", signed(_creds(1), "310/BC-UBND", date(2024, 12, 11)), "2.2")
    assert R.ISSUED_AFTER_DEADLINE in province.codes(too_late)


def test_the_deadline_follows_the_units_level(province: Province) -> None:
    # 1 December is after a commune's deadline but before a department's (15/12)
    pdf = signed(_creds(0), "300/BC-UBND", date(2024, 12, 1), title="BÁO CÁO")
    link = province.link("tinh", pdf, "1.1")
    assert R.ISSUED_AFTER_DEADLINE not in province.codes(link)


# ---- REUSED_EVIDENCE ---------------------------------------------------------------------------


def test_one_file_linked_by_two_units(province: Province) -> None:
    pdf = signed(_creds(1), "21/KH-UBND", date(2024, 4, 2))
    mine = province.link("huyen-1", pdf, "1.1")
    theirs = province.link("huyen-2", pdf, "1.1")
    assert R.REUSED_EVIDENCE in province.codes(theirs)
    assert province.related(theirs, R.REUSED_EVIDENCE) == {mine}
    assert province.related(mine, R.REUSED_EVIDENCE) == {theirs}  # re-opened
    assert R.ISSUER_MISMATCH in province.codes(theirs)
    assert R.ISSUER_MISMATCH not in province.codes(mine)


@pytest.mark.parametrize(("second_criterion", "fires"), [("2.1", True), ("1.4", False)])
def test_one_unit_one_document_in_two_fields(province: Province, second_criterion: str, fires: bool) -> None:
    pdf = signed(_creds(1), "22/KH-UBND", date(2024, 4, 2))
    a = province.link("huyen-1", pdf, "1.1")
    b = province.link("huyen-1", pdf, second_criterion)
    assert (R.REUSED_EVIDENCE in province.codes(a)) is fires
    assert (R.REUSED_EVIDENCE in province.codes(b)) is fires


@pytest.mark.parametrize(("allow_joint", "fires"), [(True, False), (False, True)])
def test_a_joint_document_linked_by_each_body_that_sealed_it(allow_joint: bool, fires: bool) -> None:
    p = build_province(tolerances=RegisterTolerances(allow_joint_reuse=allow_joint))
    p.unit("huyen-1", _creds(1), Level.COMMUNE)
    p.unit("huyen-2", _creds(2), Level.COMMUNE)
    joint = signed(_creds(1), "5/KHLT-UBND", date(2024, 5, 6), cosigner=_creds(2))
    a = p.link("huyen-1", joint, "1.1")
    b = p.link("huyen-2", joint, "1.1")
    assert (R.REUSED_EVIDENCE in p.codes(a)) is fires
    assert (R.REUSED_EVIDENCE in p.codes(b)) is fires
    assert R.ISSUER_MISMATCH not in p.codes(b)  # huyen-2 sealed it too


# ---- ISSUER_MISMATCH ---------------------------------------------------------------------------


def test_a_unit_linking_another_bodys_document(province: Province) -> None:
    link = province.link("huyen-2", signed(_creds(0), "7/KH-UBND", date(2024, 2, 7)), "1.1")
    assert R.ISSUER_MISMATCH in province.codes(link)
    assert province.latest(link).report.decision is Decision.NEEDS_REVIEW
    assert "Ủy ban nhân dân tỉnh Vĩnh Long" in province.latest(link).findings[0].detail


@pytest.mark.parametrize(("allow_parent", "fires"), [(True, False), (False, True)])
def test_the_parent_bodys_document_when_the_province_allows_it(allow_parent: bool, fires: bool) -> None:
    p = build_province(tolerances=RegisterTolerances(allow_parent_issuer=allow_parent))
    p.unit("tinh", _creds(0), Level.DEPARTMENT)
    p.unit("huyen-1", _creds(1), Level.COMMUNE, parent="tinh")
    link = p.link("huyen-1", signed(_creds(0), "7/KH-UBND", date(2024, 2, 7)), "1.1")
    assert (R.ISSUER_MISMATCH in p.codes(link)) is fires


def test_a_unit_known_by_an_abbreviated_name_matches_its_seal() -> None:
    p = build_province()
    creds = _creds(0)  # seal: "Ủy ban nhân dân tỉnh Vĩnh Long"
    p.unit("tinh", creds, Level.DEPARTMENT, name="UBND tỉnh Vĩnh Long")
    link = p.link("tinh", signed(creds, "8/KH-UBND", date(2024, 2, 8)), "1.1")
    assert R.ISSUER_MISMATCH not in p.codes(link)


def test_a_unit_registered_after_its_links_reopens_them() -> None:
    p = build_province()
    link = p.link("huyen-2", signed(_creds(0), "7/KH-UBND", date(2024, 2, 7)), "1.1")
    assert p.codes(link) == set()  # who the unit is is not known yet
    p.unit("huyen-2", _creds(2), Level.COMMUNE)
    assert R.ISSUER_MISMATCH in p.codes(link)


def test_a_rejected_document_neither_gets_nor_causes_findings(province: Province) -> None:
    good = province.link("huyen-1", signed(_creds(1), "15/KH-UBND", date(2024, 3, 4)), "1.1")
    lettered = signed(_creds(1), "15a/KH-UBND", date(2024, 3, 4))
    bad = province.link("huyen-1", lettered, "1.2")
    assert province.latest(bad).report.decision is Decision.REJECTED
    assert province.codes(bad) == set()
    assert len(province.verdicts[good]) == 1


def test_the_deadline_is_the_province_years_when_its_rules_set_one(tmp_path: Path) -> None:
    from kiemchung.bootstrap import register_deadlines

    provinces = tmp_path / "provinces"
    provinces.mkdir()
    (provinces / "mau-2024.yaml").write_text(
        'province: mau\nyear: 2024\ndeadlines: {commune: "12-15", department: "12-20"}\n', encoding="utf-8"
    )
    lookup = register_deadlines(tmp_path)
    assert lookup(Level.COMMUNE, 2024) == date(2024, 12, 15)
    # A level the year's table leaves out keeps seed 003's date (20/12), as in scoring.
    assert lookup(Level.DISTRICT, 2024) == date(2024, 12, 20)
    assert lookup(Level.COMMUNE, 2023) == date(2023, 11, 30)  # another year: seed 003's
    p = build_province(deadlines=lookup)
    p.unit("huyen-1", _creds(1), Level.COMMUNE)
    in_time = p.link("huyen-1", signed(_creds(1), "300/BC-UBND", date(2024, 12, 15), title="BÁO CÁO"), "1.1")
    late = p.link("huyen-1", signed(_creds(1), "301/BC-UBND", date(2024, 12, 16), title="BÁO CÁO"), "1.2")
    assert R.ISSUED_AFTER_DEADLINE not in p.codes(in_time)
    assert R.ISSUED_AFTER_DEADLINE in p.codes(late)


def test_broken_province_rules_leave_seed_003s_deadlines(tmp_path: Path) -> None:
    from kiemchung.bootstrap import register_deadlines

    (tmp_path / "provinces").mkdir()
    (tmp_path / "provinces" / "mau-2024.yaml").write_text(
        "province: mau\nyear: 2024\ndeadlines: {commune: 13-40}\n"
    )
    assert register_deadlines(tmp_path)(Level.COMMUNE, 2024) == date(2024, 11, 30)
    assert register_deadlines(None)(Level.DEPARTMENT, 2024) == date(2024, 12, 15)
