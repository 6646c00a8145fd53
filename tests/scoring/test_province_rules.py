"""A province's own rules per year, as data (criteria/provinces/*.yaml; issue 13).

- Thanh Hóa 2023: Ban Dân tộc published as 68.32 points over a reduced maximum of 84 -> 81.33%,
  and the unit sheet and the ranking sheet agree.
- Published years stay as published: the next year's exemption lives in the next year's file.
- Vĩnh Phúc 2019: three ranking groups; central agencies and departments share a level.
- Thừa Thiên Huế 2023: three decimals with a decimal comma (97,685).
- Deadlines per province-year instead of seed 003's dates; rating bands on the published figure.
"""

from __future__ import annotations

import shutil
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from openpyxl import load_workbook

from kiemchung.cli import main
from services.scoring.core.deadlines import VIETNAM_TZ
from services.scoring.core.errors import ScoringError, ScoringReason
from services.scoring.export import HEADER_ROW, RANKING_SHEET
from services.scoring.importer import APPRAISED_COLUMN
from services.scoring.rules import RulesError, RulesReason, load_rules, parse_rules
from services.scoring.service import UnitInfo, fresh_ledger, load_catalogue

PROVINCES = Path(__file__).resolve().parents[2] / "criteria" / "provinces"
DEMO_SET = PROVINCES.parent / "data" / "demo.yaml"
DEMO_YEARS = [2019, 2023, 2024]
UNITS_HEAD = "Mã đơn vị,Tên đơn vị,Cấp,Hội đồng thẩm định,Bộ tiêu chí,Xếp hạng,Không áp dụng\n"
# Ban Dân tộc's 2023 points: 54 appraised + 14.32 survey = 68.32 (Thanh Hóa's published total).
BAN_DAN_TOC: dict[str, float] = {
    "1.1": 10,
    "1.2": 8,
    "1.3.1": 6,
    "1.3.2": 6,
    "2.1.1": 8,
    "2.1.2": 6,
    "2.2.1": 10,
}


def _criteria_dir(tmp: Path, *files: tuple[str, dict[str, Any]]) -> Path:
    directory = tmp / "criteria"
    (directory / "provinces").mkdir(parents=True, exist_ok=True)
    # The demo set, declared for the years these provinces published (it says 2024-2026).
    demo = (DEMO_SET.read_text(encoding="utf-8")).replace("years: [2024, 2025, 2026]", f"years: {DEMO_YEARS}")
    (directory / "demo-department.yaml").write_text(demo, encoding="utf-8")
    for name, document in files:
        text = yaml.safe_dump(document, allow_unicode=True)
        (directory / "provinces" / name).write_text(text, encoding="utf-8")
    return directory


def _packaged(name: str) -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((PROVINCES / name).read_text(encoding="utf-8"))
    return document


def _run(*args: str) -> int:
    return main(list(args))


def _load_year(
    tmp: Path,
    url: str,
    criteria: Path,
    year: int,
    units: str,
    appraisals: dict[str, dict[str, float]],
    survey: str,
) -> Path:
    common = ("--database-url", url, "--criteria-dir", str(criteria))
    (tmp / "units.csv").write_text(UNITS_HEAD + units, encoding="utf-8")
    assert _run("import", "units", str(tmp / "units.csv"), *common) == 0
    (tmp / "survey.csv").write_text("Mã đơn vị,Mã tiêu chí,Điểm\n" + survey, encoding="utf-8")
    assert _run("import", "survey", str(tmp / "survey.csv"), "--year", str(year), *common) == 0
    blank = tmp / f"blank-{year}.xlsx"
    export = ("export", "xlsx", "--year", str(year), "--level", "department")
    assert _run(*export, "-o", str(blank), *common) == 0
    book = load_workbook(blank)
    for title, points in appraisals.items():
        sheet = book[title]
        for row in sheet.iter_rows(min_row=HEADER_ROW + 1):
            if row[0].value in points:
                sheet.cell(row=row[0].row, column=APPRAISED_COLUMN, value=points[row[0].value])
    book.save(tmp / f"filled-{year}.xlsx")
    if appraisals:
        assert _run("import", "appraisals", str(tmp / f"filled-{year}.xlsx"), *common) == 0
    out = tmp / f"published-{year}.xlsx"
    assert _run(*export, "-o", str(out), *common) == 0
    return out


def _index_cells(path: Path, sheet_name: str) -> tuple[Any, Any, Any]:
    """The unit sheet's total maximum and index, and the ranking sheet's index, for one unit."""
    book = load_workbook(path)
    sheet = book[sheet_name]
    rows = {row[1].value: row for row in sheet.iter_rows(min_row=HEADER_ROW + 1) if row[1].value}
    ranking = {row[1].value: row for row in book[RANKING_SHEET].iter_rows(min_row=HEADER_ROW + 1)}
    unit_id = next(iter(ranking))
    return rows["Tổng điểm"][2].value, rows["Chỉ số CCHC (%)"][4].value, ranking[unit_id][3].value


def test_packaged_province_files_are_valid() -> None:
    files = sorted(PROVINCES.glob("*.yaml"))
    assert {p.stem for p in files} >= {"vinhphuc-2019", "thuathienhue-2023", "thanhhoa-2023"}
    for path in files:
        rules = load_rules(path)
        assert path.stem == f"{rules.province}-{rules.year}"


def test_thanh_hoa_2023_reduced_maximum_gives_the_published_index_on_both_sheets(tmp_path: Path) -> None:
    criteria = _criteria_dir(tmp_path, ("thanhhoa-2023.yaml", _packaged("thanhhoa-2023.yaml")))
    url = f"sqlite:///{tmp_path / 'state.db'}"
    units = "ban-dan-toc,Ban Dân tộc,sở,hdtd,demo-department,có,\n"
    out = _load_year(
        tmp_path, url, criteria, 2023, units, {"Ban Dân tộc": BAN_DAN_TOC}, "ban-dan-toc,4.1,14.32\n"
    )
    maximum, unit_index, ranking_index = _index_cells(out, "Ban Dân tộc")
    assert maximum == 84
    assert Decimal(str(unit_index)) == Decimal("81.33")  # 68.32 / 84 x 100 = 81.333...
    assert Decimal(str(ranking_index)) == Decimal("81.33")


def test_next_years_exemption_does_not_change_a_published_year(tmp_path: Path) -> None:
    pinned = {
        **_packaged("thanhhoa-2023.yaml"),
        "units": {"ban-dan-toc": {"maximum": 84, "not_applicable": []}},
    }
    criteria = _criteria_dir(tmp_path, ("thanhhoa-2023.yaml", pinned))
    url = f"sqlite:///{tmp_path / 'state.db'}"
    units = "ban-dan-toc,Ban Dân tộc,sở,hdtd,demo-department,có,\n"
    published = _load_year(
        tmp_path, url, criteria, 2023, units, {"Ban Dân tộc": BAN_DAN_TOC}, "ban-dan-toc,4.1,14.32\n"
    )
    before = _index_cells(published, "Ban Dân tộc")
    # 2024: field 2 is exempted for Ban Dân tộc, in the unit's registration and in 2024's file.
    next_year = {**pinned, "year": 2024, "units": {"ban-dan-toc": {"not_applicable": ["2"]}}}
    _criteria_dir(tmp_path, ("thanhhoa-2024.yaml", next_year))
    (tmp_path / "units.csv").write_text(
        UNITS_HEAD + "ban-dan-toc,Ban Dân tộc,sở,hdtd,demo-department,có,2\n", encoding="utf-8"
    )
    assert (
        _run(
            "import",
            "units",
            str(tmp_path / "units.csv"),
            "--database-url",
            url,
            "--criteria-dir",
            str(criteria),
        )
        == 0
    )
    again = tmp_path / "again-2023.xlsx"
    export = ("export", "xlsx", "--year", "2023", "--level", "department", "--database-url", url)
    assert _run(*export, "-o", str(again), "--criteria-dir", str(criteria)) == 0
    assert _index_cells(again, "Ban Dân tộc")[:2] == before[:2]
    assert Decimal(str(before[1])) == Decimal("81.33")


def test_vinh_phuc_2019_ranks_central_agencies_and_departments_apart(tmp_path: Path) -> None:
    rules = {
        **_packaged("vinhphuc-2019.yaml"),
        "units": {
            "cuc-thue": {"group": "trung-uong"},
            "kho-bac": {"group": "trung-uong"},
            "so-noi-vu": {"group": "so-nganh"},
            "so-tu-phap": {"group": "so-nganh"},
        },
    }
    criteria = _criteria_dir(tmp_path, ("vinhphuc-2019.yaml", rules))
    url = f"sqlite:///{tmp_path / 'state.db'}"
    units = "".join(
        f"{uid},{name},sở,hdtd,demo-department,có,\n"
        for uid, name in (
            ("cuc-thue", "Cục Thuế"),
            ("kho-bac", "Kho bạc"),
            ("so-noi-vu", "Sở Nội vụ"),
            ("so-tu-phap", "Sở Tư pháp"),
        )
    )
    survey = "cuc-thue,4.1,20\nso-noi-vu,4.1,19\nkho-bac,4.1,18\nso-tu-phap,4.1,17\n"
    out = _load_year(tmp_path, url, criteria, 2019, units, {}, survey)
    sheet = load_workbook(out)[RANKING_SHEET]
    table = [tuple(c.value for c in row) for row in sheet.iter_rows(min_row=HEADER_ROW + 1)]
    assert [(r[0], r[1], r[5], r[6]) for r in table] == [
        (1, "cuc-thue", "Cơ quan Trung ương đóng trên địa bàn tỉnh", 1),
        (2, "so-noi-vu", "Sở, ban, ngành", 1),
        (3, "kho-bac", "Cơ quan Trung ương đóng trên địa bàn tỉnh", 2),
        (4, "so-tu-phap", "Sở, ban, ngành", 2),
    ]


def test_thua_thien_hue_2023_prints_three_decimals_with_a_decimal_comma() -> None:
    rules = load_rules(PROVINCES / "thuathienhue-2023.yaml")
    assert rules.text(Decimal("97.6849")) == "97,685"
    assert rules.shown(Decimal("97.6849")) == Decimal("97.685")


def test_deadlines_come_from_the_province_year_instead_of_seed_003() -> None:
    unit = UnitInfo("so-noi-vu", "Sở Nội vụ", "department", "hdtd", "demo-department", True, frozenset())
    default = fresh_ledger(unit, 2025, load_catalogue())
    assert default.lock_at == datetime(2025, 12, 16, tzinfo=VIETNAM_TZ)  # seed 003: by 15/12


def test_deadlines_per_province_year(tmp_path: Path) -> None:
    rules = {**_packaged("thanhhoa-2023.yaml"), "deadlines": {"department": "12-31", "commune": "12-10"}}
    catalogue = load_catalogue(_criteria_dir(tmp_path, ("thanhhoa-2023.yaml", rules)))
    unit = UnitInfo("so-noi-vu", "Sở Nội vụ", "department", "hdtd", "demo-department", True, frozenset())
    assert fresh_ledger(unit, 2023, catalogue).lock_at == datetime(2024, 1, 1, tzinfo=VIETNAM_TZ)
    assert fresh_ledger(unit, 2024, catalogue).lock_at == datetime(2024, 12, 16, tzinfo=VIETNAM_TZ)


def test_a_set_scores_only_its_years_and_its_level() -> None:
    """Seed 003: decision 1877/QĐ-UBND sets one criteria set per level, applied from 2023; the
    demo set says department, 2024-2026."""
    catalogue = load_catalogue()
    unit = UnitInfo("so-noi-vu", "Sở Nội vụ", "department", "hdtd", "demo-department", True, frozenset())
    with pytest.raises(ScoringError) as caught:
        fresh_ledger(unit, 2023, catalogue)
    assert caught.value.reason is ScoringReason.SET_NOT_FOR_YEAR
    district = UnitInfo("ubnd-x", "UBND huyện X", "district", "hdtd", "demo-department", True, frozenset())
    with pytest.raises(ScoringError) as caught:
        fresh_ledger(district, 2025, catalogue)
    assert caught.value.reason is ScoringReason.SET_LEVEL_MISMATCH


def test_an_appraisal_workbook_for_a_year_the_set_does_not_cover_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    (tmp_path / "u.csv").write_text(
        UNITS_HEAD + "so-noi-vu,Sở Nội vụ,sở,hdtd,demo-department,có,\n", encoding="utf-8"
    )
    assert _run("import", "units", str(tmp_path / "u.csv"), "--database-url", url) == 0
    (tmp_path / "s.csv").write_text("Mã đơn vị,Mã tiêu chí,Điểm\nso-noi-vu,4.1,12\n", encoding="utf-8")
    capsys.readouterr()
    assert _run("import", "survey", str(tmp_path / "s.csv"), "--year", "2023", "--database-url", url) == 1
    assert "s.csv!A2: set_not_for_year" in capsys.readouterr().err


BANDS = [
    {"name": "Xuất sắc", "min": 90},
    {"name": "Tốt", "min": 80},
    {"name": "Khá", "min": 70},
    {"name": "Trung bình", "min": 50},
    {"name": "Yếu", "min": 0},
]


def test_rating_bands_apply_to_the_published_figure() -> None:
    # Thresholds here are the test's own: the decisions' thresholds are not in the public copies.
    rules = parse_rules({"province": "thuathienhue", "year": 2023, "bands": BANDS})
    assert rules.band(Decimal("81.325")) == "Tốt"
    assert rules.band(Decimal("79.995")) == "Tốt"  # published as 80.00
    assert rules.band(Decimal("79.994")) == "Khá"
    assert rules.band(Decimal("12")) == "Yếu"
    assert rules.band(None) is None


@pytest.mark.parametrize(
    ("document", "reason", "path"),
    [
        (
            {"province": "x", "year": 2023, "bands": [BANDS[1], BANDS[0]]},
            RulesReason.BANDS_NOT_DESCENDING,
            "bands[1].min",
        ),
        (
            {"province": "x", "year": 2023, "units": {"a": {"group": "nope"}}},
            RulesReason.UNKNOWN_GROUP,
            "units.a.group",
        ),
        (
            {"province": "x", "year": 2023, "deadlines": {"department": "12-32"}},
            RulesReason.BAD_DEADLINE,
            "deadlines.department",
        ),
        (
            {"province": "x", "year": 2023, "display": {"decimals": 9}},
            RulesReason.BAD_DECIMALS,
            "display.decimals",
        ),
        ({"province": "x", "year": 1999}, RulesReason.BAD_YEAR, "year"),
        (
            {"province": "x", "year": 2023, "units": {"a": {"maximum": 120}}},
            RulesReason.BAD_NUMBER,
            "units.a.maximum",
        ),
        ({"province": "x", "year": 2023, "ranks": []}, RulesReason.UNKNOWN_KEY, "$.ranks"),
    ],
    ids=["bands", "group", "deadline", "decimals", "year", "maximum", "unknown-key"],
)
def test_a_rules_file_with_a_mistake_is_refused_with_its_reason(
    document: dict[str, Any], reason: RulesReason, path: str
) -> None:
    with pytest.raises(RulesError) as caught:
        parse_rules(document)
    assert (reason, path) in [(p.reason, p.path) for p in caught.value.problems]


def test_a_broken_rules_file_is_reported_and_not_used(tmp_path: Path) -> None:
    directory = _criteria_dir(tmp_path)
    shutil.copy(PROVINCES / "thanhhoa-2023.yaml", directory / "provinces")
    (directory / "provinces" / "thanhhoa-2024.yaml").write_text(
        "province: thanhhoa\nyear: 2024\ndisplay: {decimals: -1}\n", encoding="utf-8"
    )
    catalogue = load_catalogue(directory)
    assert catalogue.rules == {}
    assert "bad_decimals" in catalogue.refused["provinces"]
