"""A year's rules file chooses the criteria set and the amendment overlays of each level
(`criteria: {level: {set, overlays}}`), and scoring that year uses exactly that choice.

Seed 000 (Hồng Ngự) amends QĐ 2971/QĐ-UBND for 2023. The folder here holds the complete
stand-in base and overlay of tests/scoring/test_overlays_applied.py plus the packaged seed 000
overlay, which alone would leave 2023 unscorable (7.2's new points are not in the seed): the
province's 2023 file says which overlay it applies, so 2023 scores with exactly that one.
"""

from __future__ import annotations

import shutil
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from criteria.loader import data_path
from kiemchung.cli import main
from services.scoring.core.errors import ScoringError, ScoringReason
from services.scoring.core.scores import score
from services.scoring.rules import RulesReason
from services.scoring.service import UnitInfo, fresh_ledger, load_catalogue
from tests.scoring.test_overlays_applied import (
    BASE,
    COMPLETE_OVERLAY,
    SEED_000_OVERLAY,
    SET_ID,
    UNIT,
    _appraise,
)

COMPLETE = "hongngu-2023-complete"  # the complete overlay's id: its file's stem
# Another department set of the same province, registered for the unit; the 2023 file overrides it.
OTHER_SET = "hongngu-other-department"
OTHER = {**BASE, "decision": "1111/QĐ-UBND", "years": [2023]}


def _folder(tmp: Path, rules: dict[str, Any] | None) -> Path:
    for name, document in ((SET_ID, BASE), (OTHER_SET, OTHER), (COMPLETE, COMPLETE_OVERLAY)):
        (tmp / f"{name}.yaml").write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    shutil.copy(data_path(SEED_000_OVERLAY), tmp / SEED_000_OVERLAY)
    if rules is not None:
        (tmp / "provinces").mkdir()
        text = yaml.safe_dump({"province": "hongngu", "year": 2023, **rules}, allow_unicode=True)
        (tmp / "provinces" / "hongngu-2023.yaml").write_text(text, encoding="utf-8")
    return tmp


def test_without_a_choice_every_overlay_in_the_folder_applies_and_2023_is_refused(tmp_path: Path) -> None:
    catalogue = load_catalogue(_folder(tmp_path, None))
    with pytest.raises(ScoringError) as caught:
        fresh_ledger(UNIT, 2023, catalogue)
    assert caught.value.reason is ScoringReason.INCOMPLETE_CRITERIA


def test_seed_000_the_years_file_applies_exactly_the_overlays_it_names(tmp_path: Path) -> None:
    choice = {"criteria": {"department": {"set": SET_ID, "overlays": [COMPLETE]}}}
    catalogue = load_catalogue(_folder(tmp_path, choice))
    assert "provinces" not in catalogue.refused
    ledger = fresh_ledger(UNIT, 2023, catalogue)
    assert ledger.tree.leaves["2"].maximum == Decimal(4)
    assert "7.3" not in ledger.tree.leaves
    assert ledger.tree.decisions == ("2971/QĐ-UBND", "…/UBND-CCHC")
    full = _appraise(ledger, 2023, {"1": 60, "2": 4, "7.1": 30, "7.2": 6})
    assert score(full).index == Decimal(100)
    assert catalogue.overlays_for(SET_ID, 2023) == ("…/UBND-CCHC",)
    # 2022 has no file: the base set, as before.
    assert fresh_ledger(UNIT, 2022, catalogue).tree.leaves["2"].maximum == Decimal(3)


def test_an_empty_overlay_list_scores_the_year_with_the_base_set_alone(tmp_path: Path) -> None:
    choice = {"criteria": {"department": {"set": SET_ID, "overlays": []}}}
    catalogue = load_catalogue(_folder(tmp_path, choice))
    ledger = fresh_ledger(UNIT, 2023, catalogue)
    assert ledger.tree.leaves["2"].maximum == Decimal(3)
    assert "7.3" in ledger.tree.leaves
    assert catalogue.overlays_for(SET_ID, 2023) == ()


def test_the_years_set_replaces_the_registered_set_for_that_level_that_year(tmp_path: Path) -> None:
    unit = UnitInfo("phong-noi-vu", "Phòng Nội vụ", "department", "hdtd", OTHER_SET, True, frozenset())
    (tmp_path / "plain").mkdir()
    plain = load_catalogue(_folder(tmp_path / "plain", None))
    assert fresh_ledger(unit, 2023, plain).tree.decisions == ("1111/QĐ-UBND",)
    (tmp_path / "chosen").mkdir()
    choice = {"criteria": {"department": {"set": SET_ID, "overlays": [COMPLETE]}}}
    chosen = load_catalogue(_folder(tmp_path / "chosen", choice))
    assert fresh_ledger(unit, 2023, chosen).tree.decisions == ("2971/QĐ-UBND", "…/UBND-CCHC")


@pytest.mark.parametrize(
    ("choice", "reason", "path"),
    [
        ({"department": {"set": "no-such-set"}}, RulesReason.UNKNOWN_SET, "criteria.department.set"),
        (
            {"department": {"set": SET_ID, "overlays": ["no-such-overlay"]}},
            RulesReason.UNKNOWN_OVERLAY,
            "criteria.department.overlays[0]",
        ),
        ({"commune": {"set": SET_ID}}, RulesReason.SET_LEVEL_MISMATCH, "criteria.commune.set"),
        (
            {"department": {"set": OTHER_SET, "overlays": [COMPLETE]}},
            RulesReason.OVERLAY_NOT_FOR_SET,
            "criteria.department.overlays[0]",
        ),
        (
            {"department": {"set": SET_ID, "overlays": [Path(SEED_000_OVERLAY).stem]}},
            RulesReason.AMENDED_SET_NOT_SCORABLE,
            "criteria.department.overlays",
        ),
        ({"department": {"overlays": []}}, RulesReason.MISSING_KEY, "criteria.department.set"),
        (
            {"department": {"set": SET_ID, "overlays": "x"}},
            RulesReason.BAD_LIST,
            "criteria.department.overlays",
        ),
        ({"province": {"set": SET_ID}}, RulesReason.UNKNOWN_KEY, "criteria.province"),
    ],
    ids=[
        "unknown-set",
        "unknown-overlay",
        "level",
        "overlay-of-another-set",
        "unscorable",
        "no-set",
        "list",
        "key",
    ],
)
def test_a_choice_the_folder_cannot_honour_refuses_the_rules_with_its_reason(
    tmp_path: Path, choice: dict[str, Any], reason: RulesReason, path: str
) -> None:
    catalogue = load_catalogue(_folder(tmp_path, {"criteria": choice}))
    assert catalogue.rules == {}
    assert f"{path}: {reason.value}" in catalogue.refused["provinces"]
    assert "hongngu-2023.yaml" in catalogue.refused["provinces"]


def test_an_overlay_for_another_year_is_refused(tmp_path: Path) -> None:
    folder = _folder(tmp_path, None)
    (folder / "provinces").mkdir()
    rules = {
        "province": "hongngu",
        "year": 2022,
        "criteria": {"department": {"set": SET_ID, "overlays": [COMPLETE]}},
    }
    (folder / "provinces" / "hongngu-2022.yaml").write_text(yaml.safe_dump(rules), encoding="utf-8")
    catalogue = load_catalogue(folder)
    assert "criteria.department.overlays[0]: overlay_not_for_year" in catalogue.refused["provinces"]


# ---- the units import checks not-applicable codes against the set as amended that year ----------

UNITS_HEAD = "Mã đơn vị,Tên đơn vị,Cấp,Hội đồng thẩm định,Bộ tiêu chí,Xếp hạng,Không áp dụng\n"


def _import_units(tmp: Path, folder: Path, not_applicable: str, *year: str) -> int:
    table = tmp / "units.csv"
    line = f"phong-noi-vu,Phòng Nội vụ,sở,hdtd,{SET_ID},có,{not_applicable}\n"
    table.write_text(UNITS_HEAD + line, encoding="utf-8")
    url = f"sqlite:///{tmp / 'state.db'}"
    return main(["import", "units", str(table), "--database-url", url, "--criteria-dir", str(folder), *year])


def test_seed_000_a_unit_exempted_from_7_3_in_2023_is_refused_since_2023_no_longer_scores_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "criteria").mkdir()
    folder = _folder(
        tmp_path / "criteria", {"criteria": {"department": {"set": SET_ID, "overlays": [COMPLETE]}}}
    )
    assert _import_units(tmp_path, folder, "7.3", "--year", "2023") == 1
    assert "units.csv!G2: not_scored_that_year (7.3 not scored in 2023)" in capsys.readouterr().err
    # 2022 still scores 7.3 (the overlay covers 2023 only): the same row is accepted.
    assert _import_units(tmp_path, folder, "7.3", "--year", "2022") == 0


def test_the_units_import_checks_against_the_overlays_the_years_file_chose(tmp_path: Path) -> None:
    (tmp_path / "criteria").mkdir()
    folder = _folder(tmp_path / "criteria", {"criteria": {"department": {"set": SET_ID, "overlays": []}}})
    assert _import_units(tmp_path, folder, "7.3", "--year", "2023") == 0  # the base set scores 7.3 that year


def test_a_year_the_set_cannot_score_refuses_the_row_with_the_scoring_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "criteria").mkdir()
    folder = _folder(tmp_path / "criteria", None)  # the packaged seed 000 overlay leaves 2023 unscorable
    assert _import_units(tmp_path, folder, "7.1", "--year", "2023") == 1
    assert "units.csv!E2: incomplete_criteria" in capsys.readouterr().err


# ---- a rules file's unit attributes against the set scoring the unit that year ----------------

GROUPED = {"groups": [{"id": "phong", "name": "Phòng, ban", "level": "department"}]}
CHOSEN = {"criteria": {"department": {"set": SET_ID, "overlays": [COMPLETE]}}}
# A 60-point set for central agencies located in the province (issue 13: a set's declared total
# may differ from 100 when the decision says so).
CENTRAL_60 = "trung-uong-60"
CENTRAL: dict[str, Any] = {
    **BASE,
    "decision": "3333/QĐ-UBND",
    "years": [2023],
    "total": 60,
    "total_basis": "QĐ 3333/QĐ-UBND (bộ tiêu chí 60 điểm, cho kiểm thử)",
    "fields": [BASE["fields"][0]],
}


@pytest.mark.parametrize(
    ("rules", "reason", "path"),
    [
        # Seed 000: 7.3 is no longer scored in 2023 (the chosen overlay excludes it); exempting a
        # unit of that level from it exempts nothing.
        (
            {**GROUPED, **CHOSEN, "units": {"phong-noi-vu": {"group": "phong", "not_applicable": ["7.3"]}}},
            RulesReason.UNKNOWN_CODE,
            "units.phong-noi-vu.not_applicable",
        ),
        # Without a group the unit's level is unknown; 7.3 is in no set a level scores 2023 with.
        (
            {**CHOSEN, "units": {"phong-noi-vu": {"not_applicable": ["7.3"]}}},
            RulesReason.UNKNOWN_CODE,
            "units.phong-noi-vu.not_applicable",
        ),
        # A typo: no set in the folder has a criterion 7.9.
        (
            {"units": {"phong-noi-vu": {"not_applicable": ["7.1", "7.9"]}}},
            RulesReason.UNKNOWN_CODE,
            "units.phong-noi-vu.not_applicable",
        ),
        # Thanh Hóa's published reduced maximum of 84 on a level scored with a 60-point set.
        (
            {
                **GROUPED,
                "criteria": {"department": {"set": CENTRAL_60}},
                "units": {"cuc-thue": {"group": "phong", "maximum": 84}},
            },
            RulesReason.MAXIMUM_ABOVE_TOTAL,
            "units.cuc-thue.maximum",
        ),
    ],
    ids=["excluded-that-year", "no-group", "typo", "maximum"],
)
def test_a_units_exemption_the_years_set_does_not_have_refuses_the_rules_naming_file_and_path(
    tmp_path: Path, rules: dict[str, Any], reason: RulesReason, path: str
) -> None:
    folder = _folder(tmp_path, rules)
    (folder / f"{CENTRAL_60}.yaml").write_text(yaml.safe_dump(CENTRAL, allow_unicode=True), encoding="utf-8")
    catalogue = load_catalogue(folder)
    assert catalogue.rules == {}
    assert f"hongngu-2023.yaml: {path}: {reason.value}" in catalogue.refused["provinces"]


def test_a_units_exemption_the_set_has_that_year_is_accepted(tmp_path: Path) -> None:
    rules = {**GROUPED, **CHOSEN, "units": {"phong-noi-vu": {"group": "phong", "not_applicable": ["7.2"]}}}
    catalogue = load_catalogue(_folder(tmp_path, rules))
    assert "provinces" not in catalogue.refused
    ledger = fresh_ledger(UNIT, 2023, catalogue)
    assert ledger.not_applicable == frozenset({"7.2"})


def test_seed_000_where_only_scoring_knows_the_set_an_exemption_it_lacks_names_the_file_and_path(
    tmp_path: Path,
) -> None:
    """No group, so the load accepts 7.3 (the commune set registered here still has it); the
    department unit scores 2023 with the chosen, amended set, which has not: refused when scoring
    with the file and path, never an exemption of nothing."""
    commune = {**BASE, "decision": "4444/QĐ-UBND", "level": "commune"}
    folder = _folder(tmp_path, {**CHOSEN, "units": {"phong-noi-vu": {"not_applicable": ["7.3"]}}})
    (folder / "xa-2971.yaml").write_text(yaml.safe_dump(commune, allow_unicode=True), encoding="utf-8")
    catalogue = load_catalogue(folder)
    assert "provinces" not in catalogue.refused
    with pytest.raises(ScoringError) as caught:
        fresh_ledger(UNIT, 2023, catalogue)
    assert caught.value.reason is ScoringReason.UNKNOWN_LEAF
    assert "hongngu-2023.yaml: units.phong-noi-vu.not_applicable: ['7.3']" in str(caught.value)
