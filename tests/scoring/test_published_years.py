"""A published year stays as published (issue 13), end to end through the CLI and the workbook.

Thanh Hóa 2023 (criteria/provinces/thanhhoa-2023.yaml): Ban Dân tộc was published with 68.32
points over a reduced maximum of 84, 81.33%. After 2023 is published (seeds 003/004: "công bố"),
editing the 2023 rules file changes neither its index nor its rank; the change is reported
(`published_year_changed`). Only a correction by a decision (ResultCorrected) changes the result,
and both sheets of the appendix workbook show it with the decision.
"""

from __future__ import annotations

import json
import logging
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from openpyxl import load_workbook

from kiemchung.runtime.db import make_engine, session_factory
from services.scoring.export import HEADER_ROW, RANKING_SHEET
from services.scoring.handlers import load_unit
from services.scoring.service import load_catalogue
from services.scoring.views import unit_score_view
from tests.scoring.test_province_rules import BAN_DAN_TOC, _criteria_dir, _load_year, _packaged, _run

YEAR = 2023
# Sở Nội vụ 2023: 60 appraised + 17 survey = 77 of 100, ranked below Ban Dân tộc's 81.33.
SO_NOI_VU: dict[str, float] = {
    "1.1": 10,
    "1.2": 8,
    "1.3.1": 6,
    "1.3.2": 6,
    "2.1.1": 8,
    "2.1.2": 6,
    "2.2.1": 10,
    "2.2.2": 6,
}
UNITS = (
    "ban-dan-toc,Ban Dân tộc,sở,hdtd,demo-department,có,\nso-noi-vu,Sở Nội vụ,sở,hdtd,demo-department,có,\n"
)
DECISION = "215/QĐ-UBND"


def _publish(url: str, criteria: Path, year: int) -> None:
    """The province publishes the year's department results (`kiemchung publish`)."""
    common = ("--database-url", url, "--criteria-dir", str(criteria))
    publish = ("publish", "--year", str(year), "--level", "department", "--decision", "QĐ công bố")
    assert _run(*publish, *common) == 0


def _sheets(path: Path) -> dict[str, Any]:
    """Per unit: the unit sheet's total maximum, its index and the index cell's comment; the
    ranking sheet's rank, index and note."""
    book = load_workbook(path)
    ranking = {
        row[1].value: (row[0].value, Decimal(str(row[3].value)), row[4].value)
        for row in book[RANKING_SHEET].iter_rows(min_row=HEADER_ROW + 1)
        if row[1].value
    }
    out: dict[str, Any] = {}
    for title, unit_id in (("Ban Dân tộc", "ban-dan-toc"), ("Sở Nội vụ", "so-noi-vu")):
        rows = {row[1].value: row for row in book[title].iter_rows(min_row=HEADER_ROW + 1) if row[1].value}
        index_cell = rows["Chỉ số CCHC (%)"][4]
        out[unit_id] = {
            "maximum": rows["Tổng điểm"][2].value,
            "index": Decimal(str(index_cell.value)),
            "comment": index_cell.comment.text if index_cell.comment else None,
            "leaf_comments": {
                row[0].value: row[4].comment.text for row in book[title].iter_rows() if row[4].comment
            },
            "rank": ranking[unit_id][0],
            "ranking_index": ranking[unit_id][1],
            "note": ranking[unit_id][2],
        }
    return out


def _export(url: str, criteria: Path, out: Path) -> Path:
    common = ("--database-url", url, "--criteria-dir", str(criteria))
    assert _run("export", "xlsx", "--year", str(YEAR), "--level", "department", "-o", str(out), *common) == 0
    return out


def _correct(url: str, criteria: Path, *args: str, year: int = YEAR) -> int:
    common = ("--database-url", url, "--criteria-dir", str(criteria))
    reason = ("--reason", "Phúc tra kết quả thẩm định")
    return _run(
        "correct", "ban-dan-toc", "--year", str(year), "--decision", DECISION, *reason, *args, *common
    )


def test_thanh_hoa_2023_stays_as_published_when_its_rules_file_changes_until_corrected(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    criteria = _criteria_dir(tmp_path, ("thanhhoa-2023.yaml", _packaged("thanhhoa-2023.yaml")))
    url = f"sqlite:///{tmp_path / 'state.db'}"
    appraisals = {"Ban Dân tộc": BAN_DAN_TOC, "Sở Nội vụ": SO_NOI_VU}
    survey = "ban-dan-toc,4.1,14.32\nso-noi-vu,4.1,17\n"
    published = _sheets(_load_year(tmp_path, url, criteria, YEAR, UNITS, appraisals, survey))
    assert published["ban-dan-toc"]["index"] == published["ban-dan-toc"]["ranking_index"] == Decimal("81.33")
    assert (published["ban-dan-toc"]["rank"], published["so-noi-vu"]["rank"]) == (1, 2)
    _publish(url, criteria, YEAR)

    # Someone edits the published year's file: Ban Dân tộc's reduced maximum of 84 is gone.
    edited = {**_packaged("thanhhoa-2023.yaml"), "units": {}}
    (criteria / "provinces" / "thanhhoa-2023.yaml").write_text(yaml.safe_dump(edited), encoding="utf-8")
    capsys.readouterr()
    with caplog.at_level(logging.WARNING):
        after_edit = _sheets(_export(url, criteria, tmp_path / "after-edit.xlsx"))
    assert after_edit["ban-dan-toc"]["maximum"] == 84
    assert (
        after_edit["ban-dan-toc"]["index"] == after_edit["ban-dan-toc"]["ranking_index"] == Decimal("81.33")
    )
    assert (after_edit["ban-dan-toc"]["rank"], after_edit["so-noi-vu"]["rank"]) == (1, 2)
    reported = capsys.readouterr().err
    assert "published_year_changed: ban-dan-toc 2023: maximum" in reported
    assert any("published_year_changed" in r.getMessage() for r in caplog.records)

    # A correction of a year that is not published is refused; nothing changes.
    assert _correct(url, criteria, "--points", "1.2=6", year=2024) == 1
    assert "not_published" in capsys.readouterr().err

    # The correction by decision 215/QĐ-UBND: criterion 1.2 appraised 6 instead of 8.
    assert _correct(url, criteria, "--points", "1.2=6") == 0
    corrected = _sheets(_export(url, criteria, tmp_path / "corrected.xlsx"))
    # (68.32 - 2) / 84 = 78.952...: still over the published maximum, not the edited file's 100.
    assert corrected["ban-dan-toc"]["index"] == corrected["ban-dan-toc"]["ranking_index"] == Decimal("78.95")
    assert DECISION in corrected["ban-dan-toc"]["leaf_comments"]["1.2"]
    assert DECISION in corrected["ban-dan-toc"]["comment"]
    assert corrected["ban-dan-toc"]["note"] == f"Đính chính: {DECISION}"
    assert corrected["so-noi-vu"]["note"] is None
    assert corrected["so-noi-vu"]["comment"] is None

    # A second correction takes Ban Dân tộc below Sở Nội vụ: the ranking follows on both sheets.
    assert _correct(url, criteria, "--points", "1.1=4") == 0
    reranked = _sheets(_export(url, criteria, tmp_path / "reranked.xlsx"))
    assert reranked["ban-dan-toc"]["index"] == reranked["ban-dan-toc"]["ranking_index"] == Decimal("71.81")
    assert (reranked["so-noi-vu"]["rank"], reranked["ban-dan-toc"]["rank"]) == (1, 2)

    # The unit view: the history (decision, reason, when, index before -> after) and the report.
    engine = make_engine(url)
    with session_factory(engine)() as session:
        unit = load_unit(session, "ban-dan-toc")
        assert unit is not None
        view, _ = unit_score_view(session, unit, YEAR, load_catalogue(criteria))
    engine.dispose()
    assert [
        (
            c.decision_number,
            c.index_before and c.index_before.display,
            c.index_after and c.index_after.display,
        )
        for c in view.corrections
    ] == [
        (DECISION, "81.33", "78.95"),
        (DECISION, "78.95", "71.81"),
    ]
    assert view.corrections[0].reason == "Phúc tra kết quả thẩm định"
    assert view.corrections[0].leaves == ["1.2"]
    assert view.published_year_changed == ["maximum"]
    assert view.index.display == "71.81"

    # The ledger export carries the setups 2023 was published with: a replay rebuilds the
    # corrected result and rank even with the edited file, and nothing is refused.
    ledger = tmp_path / "ledger.jsonl"
    assert _run("ledger", "export", "-o", str(ledger), "--database-url", url) == 0
    capsys.readouterr()
    for rules_dir in (
        criteria,
        _criteria_dir(tmp_path / "original", ("thanhhoa-2023.yaml", _packaged("thanhhoa-2023.yaml"))),
    ):
        assert _run("replay", str(ledger), "--json", "--criteria-dir", str(rules_dir)) == 0
        replayed = {
            s["unit_id"]: s for s in json.loads(capsys.readouterr().out)["scores"] if s["year"] == YEAR
        }
        assert (replayed["ban-dan-toc"]["index_display"], replayed["ban-dan-toc"]["rank"]) == ("71.81", 2)
        assert replayed["ban-dan-toc"]["maximum"] == "84"
        assert replayed["so-noi-vu"]["rank"] == 1


def test_a_correction_with_bad_input_is_refused_before_it_reaches_the_ledger(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    criteria = _criteria_dir(tmp_path, ("thanhhoa-2023.yaml", _packaged("thanhhoa-2023.yaml")))
    url = f"sqlite:///{tmp_path / 'state.db'}"
    for bad in (("--points", "1.2"), ("--points", "1.2=-1"), ("--points", "1.a=2"), ("--maximum", "0")):
        assert _correct(url, criteria, *bad) == 2
        assert "bad_input" in capsys.readouterr().err
    # A unit nobody registered: refused by the ledger with its reason.
    assert _correct(url, criteria, "--ranked", "no") == 1
    assert "unknown_unit" in capsys.readouterr().err


def test_vinh_phuc_2019_keeps_its_published_ranking_groups_when_the_file_moves_a_unit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Vĩnh Phúc 2019 ranks central agencies and departments apart: moving Kho bạc into the
    departments' group in the 2019 file after publication changes neither group column nor the
    rank in the group; the move is reported."""
    groups = {
        "cuc-thue": "trung-uong",
        "kho-bac": "trung-uong",
        "so-noi-vu": "so-nganh",
        "so-tu-phap": "so-nganh",
    }
    rules = {**_packaged("vinhphuc-2019.yaml"), "units": {u: {"group": g} for u, g in groups.items()}}
    criteria = _criteria_dir(tmp_path, ("vinhphuc-2019.yaml", rules))
    url = f"sqlite:///{tmp_path / 'state.db'}"
    units = "".join(f"{u},{u},sở,hdtd,demo-department,có,\n" for u in groups)
    survey = "cuc-thue,4.1,20\nso-noi-vu,4.1,19\nkho-bac,4.1,18\nso-tu-phap,4.1,17\n"
    _load_year(tmp_path, url, criteria, 2019, units, {}, survey)
    _publish(url, criteria, 2019)
    moved = {**rules, "units": {**rules["units"], "kho-bac": {"group": "so-nganh"}}}
    (criteria / "provinces" / "vinhphuc-2019.yaml").write_text(yaml.safe_dump(moved), encoding="utf-8")
    capsys.readouterr()
    out = tmp_path / "after-move.xlsx"
    common = ("--database-url", url, "--criteria-dir", str(criteria))
    assert _run("export", "xlsx", "--year", "2019", "--level", "department", "-o", str(out), *common) == 0
    sheet = load_workbook(out)[RANKING_SHEET]
    table = [tuple(c.value for c in row) for row in sheet.iter_rows(min_row=HEADER_ROW + 1)]
    assert [(r[1], r[5], r[6]) for r in table] == [
        ("cuc-thue", "Cơ quan Trung ương đóng trên địa bàn tỉnh", 1),
        ("so-noi-vu", "Sở, ban, ngành", 1),
        ("kho-bac", "Cơ quan Trung ương đóng trên địa bàn tỉnh", 2),
        ("so-tu-phap", "Sở, ban, ngành", 2),
    ]
    assert "published_year_changed: kho-bac 2019: group" in capsys.readouterr().err
