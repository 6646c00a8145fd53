"""Amendment overlays are applied when scoring the years they cover (seed 000, Hồng Ngự).

Seed 000 amends Phụ lục 01 of QĐ 2971/QĐ-UBND for 2023: item 2 from 3 to 4 points, criterion
7.2 renamed with its points redistributed, 7.3 no longer scored. The decision's own table is not
among the seeds, so the packaged base is a template; these tests use a complete stand-in base
(the points of 1, 7, 7.1, 7.2 and 7.3 are invented for the test, item 2's 3 points are the seed's).
"""

from __future__ import annotations

import shutil
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from criteria.loader import data_path
from services.scoring.core.commands import AppraisalRecorded, Command, Submitted
from services.scoring.core.deadlines import VIETNAM_TZ
from services.scoring.core.errors import ScoringError, ScoringReason
from services.scoring.core.ledger import Ledger, apply
from services.scoring.core.scores import score
from services.scoring.service import UnitInfo, fresh_ledger, load_catalogue

SET_ID = "hongngu-2971-department-full"
SEED_000_OVERLAY = "hongngu-2023-overlay-department.yaml"

BASE: dict[str, Any] = {
    "kind": "criteria_set",
    "issuer": "UBND thành phố Hồng Ngự",
    "decision": "2971/QĐ-UBND",
    "level": "department",
    "years": [2022, 2023],
    "total": 100,
    "fields": [
        {"code": "1", "title": "Lĩnh vực 1 (điểm giả định cho kiểm thử)", "max": 60},
        {"code": "2", "title": "Hoàn thiện và tổ chức thực hiện hệ thống văn bản pháp quy", "max": 3},
        {
            "code": "7",
            "title": "Lĩnh vực 7 (điểm giả định cho kiểm thử)",
            "max": 37,
            "children": [
                {"code": "7.1", "title": "Tiêu chí 7.1", "max": 30},
                {"code": "7.2", "title": "Dịch vụ công trực tuyến và bưu chính công ích", "max": 5},
                {"code": "7.3", "title": "Áp dụng ISO 9001:2015", "max": 2},
            ],
        },
    ],
}

# Seed 000's changes, with the redistributed points of 7.2 made concrete (7.3's 2 points: 1 to
# item 2, 1 to 7.2) so that the amended set is complete and still totals 100.
COMPLETE_OVERLAY: dict[str, Any] = {
    "kind": "overlay",
    "issuer": "UBND thành phố Hồng Ngự",
    "decision": "…/UBND-CCHC",
    "base": {"decision": "2971/QĐ-UBND", "level": "department"},
    "years": [2023],
    "changes": [
        {"op": "set_maximum", "code": "2", "was": 3, "max": 4},
        {"op": "rename", "code": "7.2", "title": "Dịch vụ công trực tuyến và thanh toán trực tuyến"},
        {"op": "exclude", "code": "7.3"},
        {"op": "set_maximum", "code": "7.2", "was": 5, "max": 6},
        {"op": "set_maximum", "code": "7", "was": 35, "max": 36},
    ],
}

UNIT = UnitInfo("phong-noi-vu", "Phòng Nội vụ", "department", "hdtd", SET_ID, True, frozenset())


def _folder(tmp_path: Path, overlay: dict[str, Any] | None) -> Path:
    (tmp_path / f"{SET_ID}.yaml").write_text(yaml.safe_dump(BASE, allow_unicode=True), encoding="utf-8")
    if overlay is not None:
        (tmp_path / "overlay.yaml").write_text(yaml.safe_dump(overlay, allow_unicode=True), encoding="utf-8")
    return tmp_path


def _at(year: int) -> datetime:
    return datetime(year, 6, 1, 9, tzinfo=VIETNAM_TZ)


def _appraise(ledger: Ledger, year: int, points: dict[str, int]) -> Ledger:
    commands: list[Command] = [Submitted()]
    commands += [AppraisalRecorded(code, Decimal(p), "", 1) for code, p in points.items()]
    for command in commands:
        ledger = apply(ledger, command, _at(year))
    return ledger


def test_seed_000_overlay_changes_2023_maxima_and_index_but_not_2022(tmp_path: Path) -> None:
    catalogue = load_catalogue(_folder(tmp_path, COMPLETE_OVERLAY))
    assert "overlay.yaml" not in catalogue.refused
    before = fresh_ledger(UNIT, 2022, catalogue)
    after = fresh_ledger(UNIT, 2023, catalogue)
    assert before.tree.leaves["2"].maximum == Decimal(3)
    assert after.tree.leaves["2"].maximum == Decimal(4)
    assert "7.3" in before.tree.leaves
    assert "7.3" not in after.tree.leaves
    assert after.tree.decisions == ("2971/QĐ-UBND", "…/UBND-CCHC")
    shown = catalogue.set_for(SET_ID, 2023)  # what the unit's score view lists that year
    renamed = shown.node("7.2")
    assert renamed is not None
    assert renamed.title == "Dịch vụ công trực tuyến và thanh toán trực tuyến"
    assert shown.node("7.3") is None
    assert catalogue.set_for(SET_ID, 2022).node("7.3") is not None

    full_2022 = _appraise(before, 2022, {"1": 60, "2": 3, "7.1": 30, "7.2": 5})
    full_2023 = _appraise(after, 2023, {"1": 60, "2": 4, "7.1": 30, "7.2": 6})
    assert score(full_2022).index == Decimal(98)  # 7.3's 2 points missed
    assert score(full_2023).index == Decimal(100)  # 7.3 no longer scored in 2023
    assert score(full_2023).components["7"].maximum == Decimal(36)

    with pytest.raises(ScoringError):  # 4 points for item 2 only from 2023
        _appraise(before, 2022, {"2": 4})
    with pytest.raises(ScoringError) as caught:
        _appraise(after, 2023, {"7.3": 2})
    assert caught.value.reason is ScoringReason.UNKNOWN_LEAF


def test_the_packaged_seed_000_overlay_leaves_2023_unscorable_until_7_2_has_points(tmp_path: Path) -> None:
    """The seed says 7.2's points are redistributed without giving them: scoring 2023 with the
    base alone would be wrong, so 2023 is refused with a reason while 2022 still scores."""
    folder = _folder(tmp_path, None)
    shutil.copy(data_path(SEED_000_OVERLAY), folder / SEED_000_OVERLAY)
    catalogue = load_catalogue(folder)
    assert fresh_ledger(UNIT, 2022, catalogue).tree.leaves["2"].maximum == Decimal(3)
    with pytest.raises(ScoringError) as caught:
        fresh_ledger(UNIT, 2023, catalogue)
    assert caught.value.reason is ScoringReason.INCOMPLETE_CRITERIA
    assert "7.2" in str(caught.value)
    assert SEED_000_OVERLAY in catalogue.refused


def test_an_overlay_for_a_set_that_is_not_loaded_is_reported(tmp_path: Path) -> None:
    other = {**COMPLETE_OVERLAY, "base": {"decision": "9999/QĐ-UBND", "level": "department"}}
    catalogue = load_catalogue(_folder(tmp_path, other))
    assert "9999/QĐ-UBND" in catalogue.refused["overlay.yaml"]
    assert fresh_ledger(UNIT, 2023, catalogue).tree.leaves["2"].maximum == Decimal(3)
