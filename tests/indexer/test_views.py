from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from services.indexer.model import Decision
from services.indexer.views import UnitRef, criterion_across_units
from tests.indexer.corpus import BAO_CAO_QUY, DOCUMENTS, KE_HOACH_BO_SUNG, KE_HOACH_CCHC

UNITS = [
    UnitRef("so-noi-vu", "Sở Nội vụ"),
    UnitRef("huyen-long-ho", "UBND huyện Long Hồ"),
    UnitRef("so-tai-chinh", "Sở Tài chính"),
]
POINTS = {"so-noi-vu": Decimal("1.50"), "huyen-long-ho": Decimal("0.75"), "so-tai-chinh": Decimal("1")}


def test_each_unit_gets_points_and_subtree_evidence() -> None:
    view = criterion_across_units("1.1", DOCUMENTS, UNITS, POINTS)
    by_id = {u.unit_id: u for u in view.units}
    assert [e.link_id for e in by_id["so-noi-vu"].evidence] == [KE_HOACH_CCHC.link_id]
    assert by_id["so-noi-vu"].points == Decimal("1.50")
    assert [e.link_id for e in by_id["huyen-long-ho"].evidence] == [KE_HOACH_BO_SUNG.link_id]
    assert by_id["huyen-long-ho"].verdicts[Decision.REJECTED] == 1
    assert by_id["huyen-long-ho"].verdicts[Decision.ACCEPTED] == 0


def test_units_without_evidence_are_listed() -> None:
    view = criterion_across_units("1.1", DOCUMENTS, UNITS, POINTS)
    assert [u.unit_id for u in view.without_evidence] == ["so-tai-chinh"]
    assert view.without_evidence[0].points == Decimal("1")
    assert [u.unit_id for u in view.with_evidence] == ["so-noi-vu", "huyen-long-ho"]


def test_unit_without_self_score_has_no_points() -> None:
    view = criterion_across_units("1.2", DOCUMENTS, UNITS, {})
    assert all(u.points is None for u in view.units)
    assert [u.unit_id for u in view.with_evidence] == ["huyen-long-ho"]


def test_evidence_from_unlisted_units_is_kept_not_dropped() -> None:
    view = criterion_across_units("1", DOCUMENTS, UNITS[:1], POINTS)
    assert [u.unit_id for u in view.units] == ["so-noi-vu", "huyen-long-ho"]
    assert view.units[1].unit_name == "UBND huyện Long Hồ"


def test_evidence_sorted_by_sub_criterion_then_date() -> None:
    later = replace(BAO_CAO_QUY, link_id="l-bc-121", criterion_code="1.10")
    view = criterion_across_units("1", [later, KE_HOACH_BO_SUNG, BAO_CAO_QUY], UNITS, POINTS)
    codes = [e.criterion_code for e in view.units[1].evidence]
    assert codes == ["1.1.2", "1.2", "1.10"]


def test_year_filter() -> None:
    view = criterion_across_units("10", DOCUMENTS, UNITS, POINTS, year=2024)
    assert view.with_evidence == ()
