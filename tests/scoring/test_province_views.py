"""The province's own rules reach every view (issue 13), each rule from the province or seed it
comes from:

- Thừa Thiên Huế 2023 prints indices with three decimals and a decimal comma (97,685): the unit
  view of the API, the unit sheet and the ranking sheet of the workbook and the rankings API all
  print 97,685 for an exact index of 97.6849, beside its rating band; the exact value stays.
- Seed 003 (Vĩnh Long, QĐ 1877/QĐ-UBND): Ban Dân tộc and Thanh tra tỉnh are evaluated but not
  ranked. The year's rules file says so for that year only; another year is unaffected.
- Seed 003's deadlines fill the levels a year's partial `deadlines` table leaves out.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from criteria.model import Level
from kiemchung.api import create_app
from kiemchung.cli import main
from kiemchung.runtime.db import create_schema, make_engine, session_factory
from kiemchung.runtime.settings import Settings
from services.scoring.access import ApiKey, KeyRing, Role, hash_key
from services.scoring.core.deadlines import VIETNAM_TZ, MonthDay
from services.scoring.export import BAND_LABEL, HEADER_ROW, INDEX_LABEL, RANKING_SHEET
from services.scoring.rules import RulesError, RulesReason, parse_rules
from services.scoring.service import UnitInfo, fresh_ledger, load_catalogue
from tests.scoring.kit import Scoring, vn
from tests.scoring.test_api import header, keyring
from tests.scoring.test_province_rules import BANDS, _criteria_dir, _load_year, _packaged

PROVINCE_KEY = "key-province-hue"
# Every leaf the council appraises, at its maximum: 80 points; with the survey's 17.6849 of 20
# the index is exactly 97.6849 -> published as 97,685 (three decimals, half up), 97.68 in two.
FULL_MARKS: dict[str, float] = {
    "1.1": 10,
    "1.2": 8,
    "1.3.1": 6,
    "1.3.2": 6,
    "2.1.1": 8,
    "2.1.2": 6,
    "2.2.1": 10,
    "2.2.2": 6,
    "3.1.1": 6,
    "3.1.2": 4,
    "3.2": 10,
}


def _keys() -> KeyRing:
    return KeyRing.of([ApiKey("province", hash_key(PROVINCE_KEY), Role.PROVINCE, "")])


def _api(url: str, criteria: Path) -> TestClient:
    sessions = session_factory(make_engine(url))
    settings = Settings(criteria_dir=criteria)
    app = create_app(settings, sessions=sessions, search_index=None, keys=_keys(), clock=lambda: vn(12, 1))
    return TestClient(app)


def _rows(sheet: Any) -> dict[Any, tuple[Any, ...]]:
    return {row[1].value: row for row in sheet.iter_rows(min_row=HEADER_ROW + 1) if row[1].value}


@pytest.fixture(scope="module")
def hue(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, TestClient]]:
    """Thừa Thiên Huế 2023 (its display rules, and the test's own band thresholds: the
    decision's are not in the public copies), one department at 97.6849."""
    tmp = tmp_path_factory.mktemp("hue")
    rules = {**_packaged("thuathienhue-2023.yaml"), "bands": BANDS}
    criteria = _criteria_dir(tmp, ("thuathienhue-2023.yaml", rules))
    url = f"sqlite:///{tmp / 'state.db'}"
    units = "so-noi-vu,Sở Nội vụ,sở,hdtd,demo-department,có,\n"
    out = _load_year(tmp, url, criteria, 2023, units, {"Sở Nội vụ": FULL_MARKS}, "so-noi-vu,4.1,17.6849\n")
    with _api(url, criteria) as client:
        yield out, client


def test_thua_thien_hue_2023_unit_view_prints_97_685_and_keeps_the_exact_index(
    hue: tuple[Path, TestClient],
) -> None:
    _, client = hue
    response = client.get("/units/so-noi-vu/scores/2023", headers={"X-API-Key": PROVINCE_KEY})
    assert response.status_code == 200
    view = response.json()
    assert view["index"] == {"exact": "97.6849", "display": "97.68"}  # unchanged for older clients
    assert view["index_text"] == "97,685"
    assert view["band"] == "Xuất sắc"
    assert view["decimals"] == 3
    assert view["ranked"] is True
    by_code = {c["code"]: c for c in view["components"]}
    assert by_code["4"]["index_text"] == "88,425"  # 17.6849 / 20 = 88.4245 -> 88,425 (half up)
    assert view["tree"][0]["index_text"] == "100,000"


def test_thua_thien_hue_2023_rankings_api_prints_97_685(hue: tuple[Path, TestClient]) -> None:
    _, client = hue
    response = client.get("/rankings/department/2023", headers={"X-API-Key": PROVINCE_KEY})
    assert response.status_code == 200
    [row] = response.json()["ranked"]
    assert (row["index"]["exact"], row["index_text"], row["band"]) == ("97.6849", "97,685", "Xuất sắc")


def test_thua_thien_hue_2023_unit_sheet_and_ranking_sheet_print_three_decimals(
    hue: tuple[Path, TestClient],
) -> None:
    out, _ = hue
    book = load_workbook(out)
    unit = _rows(book["Sở Nội vụ"])
    index = unit[INDEX_LABEL][4]
    assert Decimal(str(index.value)) == Decimal("97.685")
    assert index.number_format == "0.000"
    assert unit[BAND_LABEL][4].value == "Xuất sắc"
    ranking = book[RANKING_SHEET].cell(row=HEADER_ROW + 1, column=4)
    assert (Decimal(str(ranking.value)), ranking.number_format) == (Decimal("97.685"), "0.000")


def test_without_a_rules_file_the_unit_view_prints_two_decimals_and_no_band(tmp_path: Path) -> None:
    criteria = _criteria_dir(tmp_path)
    url = f"sqlite:///{tmp_path / 'state.db'}"
    units = "so-noi-vu,Sở Nội vụ,sở,hdtd,demo-department,có,\n"
    out = _load_year(
        tmp_path, url, criteria, 2023, units, {"Sở Nội vụ": FULL_MARKS}, "so-noi-vu,4.1,17.6849\n"
    )
    with _api(url, criteria) as client:
        view = client.get("/units/so-noi-vu/scores/2023", headers={"X-API-Key": PROVINCE_KEY}).json()
    assert (view["index_text"], view["band"], view["decimals"]) == ("97.68", None, 2)
    unit = _rows(load_workbook(out)["Sở Nội vụ"])
    assert Decimal(str(unit[INDEX_LABEL][4].value)) == Decimal("97.68")
    assert BAND_LABEL not in unit


def test_a_unit_with_no_points_has_no_index_text_and_no_band(hue: tuple[Path, TestClient]) -> None:
    _, client = hue
    # 2024: nothing recorded for the unit; "no result", never an index of 0,00 in some band.
    view = client.get("/units/so-noi-vu/scores/2024", headers={"X-API-Key": PROVINCE_KEY}).json()
    assert view["has_result"] is False
    assert (view["index_text"], view["band"]) == (None, None)


# ---- seed 003: evaluated but not ranked, per year -------------------------------------------

SEED_003_UNITS = (
    "so-noi-vu,Sở Nội vụ,sở,hdtd,demo-department,có,\n"
    "ban-dan-toc,Ban Dân tộc,sở,hdtd,demo-department,có,\n"
    "thanh-tra,Thanh tra tỉnh,sở,hdtd,demo-department,có,\n"
)
SEED_003_SURVEY = "so-noi-vu,4.1,15\nban-dan-toc,4.1,19\nthanh-tra,4.1,18\n"


def _ranking(path: Path) -> list[tuple[Any, ...]]:
    sheet = load_workbook(path)[RANKING_SHEET]
    return [(r[0].value, r[1].value, r[4].value) for r in sheet.iter_rows(min_row=HEADER_ROW + 1)]


def test_seed_003_ban_dan_toc_and_thanh_tra_are_evaluated_but_not_ranked_that_year_only(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Registered as ranked; the 2023 file (seed 003 applies from 2023) ranks neither; 2024 has
    # no file, so the registration stands.
    rules = {
        "province": "vinhlong",
        "year": 2023,
        "units": {"ban-dan-toc": {"ranked": False}, "thanh-tra": {"ranked": False}},
    }
    criteria = _criteria_dir(tmp_path, ("vinhlong-2023.yaml", rules))
    url = f"sqlite:///{tmp_path / 'state.db'}"
    in_2023 = _load_year(tmp_path, url, criteria, 2023, SEED_003_UNITS, {}, SEED_003_SURVEY)
    in_2024 = _load_year(tmp_path, url, criteria, 2024, SEED_003_UNITS, {}, SEED_003_SURVEY)
    note = "Đánh giá, không xếp hạng"
    assert _ranking(in_2023) == [
        (1, "so-noi-vu", None),
        (None, "ban-dan-toc", note),
        (None, "thanh-tra", note),
    ]
    assert _ranking(in_2024) == [(1, "ban-dan-toc", None), (2, "thanh-tra", None), (3, "so-noi-vu", None)]
    with _api(url, criteria) as client:
        head = {"X-API-Key": PROVINCE_KEY}
        assert client.get("/units/ban-dan-toc/scores/2023", headers=head).json()["ranked"] is False
        assert client.get("/units/ban-dan-toc/scores/2024", headers=head).json()["ranked"] is True
        ranking = client.get("/rankings/department/2023", headers=head).json()
        assert [r["unit_id"] for r in ranking["ranked"]] == ["so-noi-vu"]
        assert [r["unit_id"] for r in ranking["not_ranked"]] == ["ban-dan-toc", "thanh-tra"]
    # Replaying the ledger with the same rules gives the same flags and ranks, year by year.
    log = tmp_path / "ledger.jsonl"
    assert main(["ledger", "export", "-o", str(log), "--database-url", url]) == 0
    capsys.readouterr()
    assert main(["replay", str(log), "--json", "--criteria-dir", str(criteria)]) == 0
    replayed = {
        (s["unit_id"], s["year"]): (s["rank"], s["ranked"])
        for s in json.loads(capsys.readouterr().out)["scores"]
    }
    assert replayed[("ban-dan-toc", 2023)] == (None, False)
    assert replayed[("thanh-tra", 2023)] == (None, False)
    assert replayed[("so-noi-vu", 2023)] == (1, True)
    assert replayed[("ban-dan-toc", 2024)] == (1, True)


def test_seed_003_a_year_file_may_also_rank_a_unit_registered_as_not_ranked(tmp_path: Path) -> None:
    rules = {"province": "vinhlong", "year": 2023, "units": {"ban-dan-toc": {"ranked": True}}}
    catalogue = load_catalogue(_criteria_dir(tmp_path, ("vinhlong-2023.yaml", rules)))
    unit = UnitInfo("ban-dan-toc", "Ban Dân tộc", "department", "hdtd", "demo-department", False, frozenset())
    assert fresh_ledger(unit, 2023, catalogue).ranked is True
    assert fresh_ledger(unit, 2024, catalogue).ranked is False


def test_a_ranked_flag_that_is_not_true_or_false_is_refused() -> None:
    with pytest.raises(RulesError) as caught:
        parse_rules({"province": "vinhlong", "year": 2023, "units": {"thanh-tra": {"ranked": "không"}}})
    assert [(p.reason, p.path) for p in caught.value.problems] == [
        (RulesReason.BAD_FLAG, "units.thanh-tra.ranked")
    ]


# ---- partial deadlines ----------------------------------------------------------------------


def test_a_partial_deadline_table_keeps_seed_003s_dates_for_the_levels_it_leaves_out(tmp_path: Path) -> None:
    # Only communes' date changes that year; departments keep seed 003's 15/12 (scoring used to
    # raise unknown_level_deadline for them).
    rules = {"province": "vinhlong", "year": 2023, "deadlines": {"commune": "12-10"}}
    catalogue = load_catalogue(_criteria_dir(tmp_path, ("vinhlong-2023.yaml", rules)))
    unit = UnitInfo("so-noi-vu", "Sở Nội vụ", "department", "hdtd", "demo-department", True, frozenset())
    assert fresh_ledger(unit, 2023, catalogue).lock_at == datetime(2023, 12, 16, tzinfo=VIETNAM_TZ)
    table = catalogue.deadlines_for(2023)
    assert table[Level.COMMUNE] == MonthDay(12, 10)
    assert table[Level.DISTRICT] == MonthDay(12, 20)
    assert catalogue.deadlines_for(2024)[Level.COMMUNE] == MonthDay(11, 30)  # another year: seed 003's


def test_a_deadline_for_a_level_that_does_not_exist_is_refused_not_a_traceback() -> None:
    with pytest.raises(RulesError) as caught:
        parse_rules({"province": "vinhlong", "year": 2023, "deadlines": {"ministry": "12-10"}})
    assert [(p.reason, p.path) for p in caught.value.problems] == [
        (RulesReason.UNKNOWN_KEY, "deadlines.ministry")
    ]


def test_a_correction_of_a_published_year_shows_its_indices_as_the_province_prints_them(
    tmp_path: Path,
) -> None:
    """A recorded correction's before and after print as the year was published: published with
    no rules file (two decimals, a point), Thừa Thiên Huế's file added afterwards is reported,
    not applied (tests/scoring/test_published_display.py: published with its three decimals)."""
    engine = make_engine(f"sqlite:///{tmp_path / 'state.db'}")
    create_schema(engine)
    sessions = session_factory(engine)

    async def province() -> None:
        s = Scoring(sessions)
        await s.register("so-noi-vu", "Sở Nội vụ")
        await s.self_score("so-noi-vu", "1.2", "8", explanation="BC số 1")
        await s.publish()

    asyncio.run(province())
    rules = {**_packaged("thuathienhue-2023.yaml"), "year": 2025}
    criteria = _criteria_dir(tmp_path, ("thuathienhue-2025.yaml", rules))
    settings = Settings(criteria_dir=criteria)
    app = create_app(
        settings, sessions=sessions, search_index=None, keys=keyring(), clock=lambda: vn(2, 5, year=2026)
    )
    body = {
        "decision_number": "215/QĐ-UBND",
        "reason": "Phúc tra",
        "points": [{"criterion_code": "1.2", "points": "4"}],
    }
    with TestClient(app) as client:
        answer = client.post("/units/so-noi-vu/corrections/2025", json=body, headers=header("province"))
        assert answer.status_code == 200, answer.text
        view = client.get("/units/so-noi-vu/scores/2025", headers=header("province")).json()
    engine.dispose()
    assert [(c["index_before_text"], c["index_after_text"]) for c in view["corrections"]] == [
        ("8.00", "4.00")
    ]
    assert view["index_text"] == "4.00"
    assert {"decimals", "decimal_comma"} <= set(view["published_year_changed"])
