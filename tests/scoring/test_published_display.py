"""A published year is shown as it was published (issue 13: "the published years stay as
published"), not only scored so.

Thừa Thiên Huế 2023 (criteria/provinces/thuathienhue-2023.yaml) publishes indices with three
decimals and a decimal comma (97,685); the bands and the ranking group are the test's own (the
decision's are not in the public copies), in Vĩnh Phúc 2019's shape. After the department results
are published (seeds 003/004: "công bố"), someone edits the year's file: two decimals, a decimal
point, other band names and thresholds, another group name. The API, the workbook and the unit
view keep printing what was published; the edit is reported as `published_year_changed` (CLI
stderr, `GET /published/changes`, the unit view), and a correction keeps the published display.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from openpyxl import load_workbook

from criteria.model import Level
from services.scoring.core.published import (
    DISPLAY_COMPARED,
    display_differences,
    published_display,
    shown_as_published,
)
from services.scoring.export import BAND_LABEL, HEADER_ROW, INDEX_LABEL, RANKING_SHEET
from services.scoring.rules import RulesError, RulesReason, parse_rules
from tests.scoring.test_province_rules import _criteria_dir, _load_year, _packaged, _run
from tests.scoring.test_province_views import PROVINCE_KEY, _api

YEAR = 2023
BANDS = [
    {"name": "Xuất sắc", "min": 90},
    {"name": "Tốt", "min": 75},
    {"name": "Khá", "min": 65},
    {"name": "Trung bình", "min": 50},
    {"name": "Yếu", "min": 0},
]
GROUP = {"id": "so-nganh", "name": "Sở, ban, ngành", "level": "department"}
RULES: dict[str, Any] = {
    **_packaged("thuathienhue-2023.yaml"),
    "bands": BANDS,
    "groups": [GROUP],
    "units": {"ban-dan-toc": {"group": "so-nganh"}, "so-noi-vu": {"group": "so-nganh"}},
}
# Next year's office "tidies" the published year's file.
EDITED: dict[str, Any] = {
    **RULES,
    "display": {"decimals": 2, "decimal_comma": False},
    "bands": [{"name": "Hoàn thành xuất sắc", "min": 95}, {"name": "Hoàn thành", "min": 60}],
    "groups": [{**GROUP, "name": "Các sở"}],
}
UNITS = (
    "ban-dan-toc,Ban Dân tộc,sở,hdtd,demo-department,có,\nso-noi-vu,Sở Nội vụ,sở,hdtd,demo-department,có,\n"
)
# Ban Dân tộc: 54 appraised + 14.3215 survey = 68.3215 -> 68,322 in three decimals (68.32 in two).
# Sở Nội vụ: 60 + 17 = 77.
BAN_DAN_TOC: dict[str, float] = {
    "1.1": 10,
    "1.2": 8,
    "1.3.1": 6,
    "1.3.2": 6,
    "2.1.1": 8,
    "2.1.2": 6,
    "2.2.1": 10,
}
SO_NOI_VU: dict[str, float] = {**BAN_DAN_TOC, "2.2.2": 6}
SURVEY = "ban-dan-toc,4.1,14.3215\nso-noi-vu,4.1,17\n"


def _common(url: str, criteria: Path) -> tuple[str, ...]:
    return ("--database-url", url, "--criteria-dir", str(criteria))


def _export(url: str, criteria: Path, out: Path) -> dict[str, Any]:
    """What the workbook shows of each unit: the unit sheet's index (value, format) and band; the
    ranking sheet's index (value, format), group name and band."""
    export = ("export", "xlsx", "--year", str(YEAR), "--level", "department", "-o", str(out))
    assert _run(*export, *_common(url, criteria)) == 0
    book = load_workbook(out)
    ranking = {
        row[1].value: (str(row[3].value), row[3].number_format, row[5].value, row[7].value)
        for row in book[RANKING_SHEET].iter_rows(min_row=HEADER_ROW + 1)
        if row[1].value
    }
    shown: dict[str, Any] = {}
    for title, unit_id in (("Ban Dân tộc", "ban-dan-toc"), ("Sở Nội vụ", "so-noi-vu")):
        rows = {row[1].value: row for row in book[title].iter_rows(min_row=HEADER_ROW + 1) if row[1].value}
        index = rows[INDEX_LABEL][4]
        shown[unit_id] = (str(index.value), index.number_format, rows[BAND_LABEL][4].value, ranking[unit_id])
    return shown


def _api_shown(url: str, criteria: Path) -> dict[str, Any]:
    """What the API shows: each unit's index text and band, the rankings' rows."""
    with _api(url, criteria) as client:
        headers = {"X-API-Key": PROVINCE_KEY}
        units = {}
        for unit_id in ("ban-dan-toc", "so-noi-vu"):
            view = client.get(f"/units/{unit_id}/scores/{YEAR}", headers=headers).json()
            units[unit_id] = (
                view["index_text"],
                view["band"],
                view["decimals"],
                view["decimal_comma"],
                [c["index_text"] for c in view["components"]],
                [(c["index_before_text"], c["index_after_text"]) for c in view["corrections"]],
                view["published_year_changed"],
            )
        ranking = client.get(f"/rankings/department/{YEAR}", headers=headers).json()
        rows = [(r["unit_id"], r["rank"], r["index_text"], r["band"], r["group"]) for r in ranking["ranked"]]
        changes = client.get(f"/published/changes?year={YEAR}", headers=headers).json()
    return {"units": units, "ranking": rows, "changes": changes}


def test_thua_thien_hue_2023_is_shown_as_published_after_its_file_is_edited_and_after_a_correction(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    criteria = _criteria_dir(tmp_path, ("thuathienhue-2023.yaml", RULES))
    url = f"sqlite:///{tmp_path / 'state.db'}"
    appraisals: dict[str, dict[str, float]] = {"Ban Dân tộc": BAN_DAN_TOC, "Sở Nội vụ": SO_NOI_VU}
    _load_year(tmp_path, url, criteria, YEAR, UNITS, appraisals, SURVEY)
    publish = ("publish", "--year", str(YEAR), "--level", "department", "--decision", "QĐ công bố")
    assert _run(*publish, *_common(url, criteria)) == 0

    published = _export(url, criteria, tmp_path / "cong-bo.xlsx")
    assert published["ban-dan-toc"] == (
        "68.322",
        "0.000",
        "Khá",
        ("68.322", "0.000", "Sở, ban, ngành", "Khá"),
    )
    assert published["so-noi-vu"][2:] == ("Tốt", ("77", "0.000", "Sở, ban, ngành", "Tốt"))
    api = _api_shown(url, criteria)
    assert api["units"]["ban-dan-toc"][:4] == ("68,322", "Khá", 3, True)
    assert api["ranking"] == [
        ("so-noi-vu", 1, "77,000", "Tốt", "so-nganh"),
        ("ban-dan-toc", 2, "68,322", "Khá", "so-nganh"),
    ]
    assert api["changes"] == []

    # The published year's file is edited: nothing shown of 2023 changes.
    path = criteria / "provinces" / "thuathienhue-2023.yaml"
    path.write_text(yaml.safe_dump(EDITED, allow_unicode=True), encoding="utf-8")
    capsys.readouterr()
    assert _export(url, criteria, tmp_path / "sau-sua.xlsx") == published
    reported = capsys.readouterr().err
    assert "published_year_changed: ban-dan-toc 2023: decimals, decimal_comma, bands, groups" in reported
    edited = _api_shown(url, criteria)
    assert edited["ranking"] == api["ranking"]
    assert edited["units"]["ban-dan-toc"][:6] == api["units"]["ban-dan-toc"][:6]
    assert edited["units"]["ban-dan-toc"][6] == ["decimals", "decimal_comma", "bands", "groups"]
    assert {(c["unit_id"], c["reason"], tuple(c["fields"])) for c in edited["changes"]} == {
        (unit_id, "published_year_changed", ("decimals", "decimal_comma", "bands", "groups"))
        for unit_id in ("ban-dan-toc", "so-noi-vu")
    }

    # A correction changes the result, and it is shown as the year was published.
    correct = ("correct", "ban-dan-toc", "--year", str(YEAR), "--decision", "215/QĐ-UBND")
    assert _run(*correct, "--reason", "Phúc tra", "--points", "1.2=6", *_common(url, criteria)) == 0
    corrected = _export(url, criteria, tmp_path / "dinh-chinh.xlsx")
    # 66.3215 -> 66,322: still three decimals, still "Khá" by the published thresholds.
    assert corrected["ban-dan-toc"] == (
        "66.322",
        "0.000",
        "Khá",
        ("66.322", "0.000", "Sở, ban, ngành", "Khá"),
    )
    after = _api_shown(url, criteria)
    assert after["units"]["ban-dan-toc"][:2] == ("66,322", "Khá")
    assert after["units"]["ban-dan-toc"][5] == [("68,322", "66,322")]

    # The exported ledger carries the publication's display: a replay with the edited file at
    # hand still prints the year as published.
    ledger = tmp_path / "ledger.jsonl"
    assert _run("ledger", "export", "-o", str(ledger), "--database-url", url) == 0
    capsys.readouterr()
    assert _run("replay", str(ledger), "--json", "--criteria-dir", str(criteria)) == 0
    replayed = {s["unit_id"]: s for s in json.loads(capsys.readouterr().out)["scores"] if s["year"] == YEAR}
    assert [
        (s["unit_id"], s["rank"], s["index_display"], s["index_text"], s["band"], s["group_rank"])
        for s in sorted(replayed.values(), key=lambda s: str(s["unit_id"]))
    ] == [
        ("ban-dan-toc", 2, "66.322", "66,322", "Khá", 2),
        ("so-noi-vu", 1, "77.000", "77,000", "Tốt", 1),
    ]


def test_a_year_published_without_a_rules_file_keeps_the_default_display_when_one_is_added(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Two decimals and a point, no bands, no groups, as published; the file added afterwards is
    reported, not applied."""
    criteria = _criteria_dir(tmp_path)
    url = f"sqlite:///{tmp_path / 'state.db'}"
    appraisals: dict[str, dict[str, float]] = {"Ban Dân tộc": BAN_DAN_TOC, "Sở Nội vụ": SO_NOI_VU}
    _load_year(tmp_path, url, criteria, YEAR, UNITS, appraisals, SURVEY)
    publish = ("publish", "--year", str(YEAR), "--level", "department", "--decision", "QĐ công bố")
    assert _run(*publish, *_common(url, criteria)) == 0
    before = _api_shown(url, criteria)
    assert before["units"]["ban-dan-toc"][:4] == ("68.32", None, 2, False)

    (criteria / "provinces" / "thuathienhue-2023.yaml").write_text(
        yaml.safe_dump(RULES, allow_unicode=True), encoding="utf-8"
    )
    after = _api_shown(url, criteria)
    assert after["ranking"] == before["ranking"]
    assert after["units"]["ban-dan-toc"][:6] == before["units"]["ban-dan-toc"][:6]
    assert after["units"]["ban-dan-toc"][6] == ["group", "decimals", "decimal_comma", "bands", "groups"]


@pytest.mark.parametrize(
    ("change", "reason", "path"),
    [
        ({"bands": [{"name": f"Mức {i}", "min": 100 - i} for i in range(21)]}, RulesReason.BAD_LIST, "bands"),
        ({"bands": [{"name": "X" * 301, "min": 0}]}, RulesReason.TOO_LONG, "bands[0].name"),
        ({"groups": [{**GROUP, "name": "S" * 301}]}, RulesReason.TOO_LONG, "groups[0].name"),
        ({"groups": {"so-nganh": GROUP}}, RulesReason.BAD_LIST, "groups"),
    ],
    ids=["bands", "band-name", "group-name", "groups-not-a-list"],
)
def test_the_display_a_publication_keeps_is_bounded_in_the_rules_file(
    change: dict[str, Any], reason: RulesReason, path: str
) -> None:
    """What a publication keeps and `ledger export` writes (Published's `display`) stays within
    the contract's bounds: a rules file beyond them is refused with the path."""
    with pytest.raises(RulesError) as caught:
        parse_rules({**RULES, **change})
    assert (reason, path) in [(p.reason, p.path) for p in caught.value.problems]


def test_the_core_keeps_thua_thien_hues_display_and_names_what_an_edit_changes() -> None:
    """Pure: the display a level's year is published with, what an edit differs in, and the rules
    shown afterwards (the frozen display, the frozen group memberships; none without a file)."""
    published = parse_rules(RULES)
    frozen = published_display(published, Level.DEPARTMENT)
    assert (frozen.decimals, frozen.decimal_comma, [g.name for g in frozen.groups]) == (
        3,
        True,
        ["Sở, ban, ngành"],
    )
    assert published_display(published, Level.COMMUNE).groups == ()  # the level's groups only
    edited = parse_rules(EDITED)
    assert display_differences(frozen, published_display(edited, Level.DEPARTMENT)) == DISPLAY_COMPARED
    assert display_differences(frozen, published_display(published, Level.DEPARTMENT)) == ()
    shown = shown_as_published(edited, YEAR, frozen, {"so-noi-vu": "so-nganh"})
    assert shown is not None
    assert (shown.text(Decimal("68.3215")), shown.band(Decimal("68.3215"))) == ("68,322", "Khá")
    assert (shown.group_of("so-noi-vu"), shown.group_of("ban-dan-toc")) == ("so-nganh", None)
    without = published_display(None, Level.DEPARTMENT)
    assert shown_as_published(edited, YEAR, without, {}) is None  # shown with the defaults, as then
