"""A set whose total is not 100 is scored when the decision fixes that total (issue 13: e.g. a
60-point set for central agencies located in the province); the fields must still sum to it."""

from __future__ import annotations

import textwrap
from datetime import datetime
from decimal import Decimal
from pathlib import Path

from criteria.cli import EXIT_ERRORS, EXIT_OK
from criteria.errors import CriteriaReason
from criteria.loader import dump_set, load_document_text, load_set
from criteria.model import CriteriaSet
from criteria.validation import validate
from criteria.xlsx import SetMeta, import_xlsx
from services.scoring.core.commands import AppraisalRecorded, Submitted
from services.scoring.core.deadlines import SEED_003_DEADLINES, VIETNAM_TZ
from services.scoring.core.ledger import apply, open_ledger, unit_setup
from services.scoring.core.scores import score
from services.scoring.core.tree import compile_tree
from tests.criteria.test_xlsx_cli import appendix, run

BASIS = "Điều 2 Quyết định 1/QĐ-UBND: cơ quan Trung ương đóng trên địa bàn tỉnh chấm trên 60 điểm"


def sixty(total: int = 60, basis: str | None = BASIS, first: int = 40) -> CriteriaSet:
    basis_line = f'total_basis: "{basis}"' if basis is not None else ""
    doc = load_document_text(
        textwrap.dedent(
            f"""\
            kind: criteria_set
            issuer: "UBND tỉnh X"
            decision: "1/QĐ-UBND"
            level: department
            years: [2023]
            total: {total}
            {basis_line}
            fields:
              - {{code: "1", title: "Công tác chỉ đạo, điều hành", max: {first}}}
              - {{code: "2", title: "Cải cách thủ tục hành chính", max: 20}}
            """
        )
    )
    assert isinstance(doc, CriteriaSet)
    return doc


def test_a_60_point_set_citing_its_decision_is_valid_and_round_trips() -> None:
    cset = sixty()
    assert validate(cset).issues == ()
    again = load_document_text(dump_set(cset))
    assert isinstance(again, CriteriaSet)
    assert again.total == Decimal(60)
    assert again.total_basis == BASIS


def test_a_60_point_set_without_its_basis_is_refused_as_not_100() -> None:
    report = validate(sixty(basis=None))
    assert not report.ok
    assert ("", CriteriaReason.TOTAL_NOT_100) in report.reasons()


def test_a_declared_total_the_fields_do_not_reach_is_still_refused() -> None:
    report = validate(sixty(first=39))
    assert not report.ok
    assert ("", CriteriaReason.TOTAL_MISMATCH) in report.reasons()
    assert ("", CriteriaReason.TOTAL_NOT_100) not in report.reasons()


def test_a_60_point_set_scores_its_index_on_the_100_scale() -> None:
    """Index = achieved / maximum × 100 (seed 003, III.1.d): 45 of 60 points is 75."""
    tree = compile_tree(sixty())
    at = datetime(2023, 6, 1, 9, tzinfo=VIETNAM_TZ)
    ledger = open_ledger(unit_setup("kho-bac", 2023, tree, SEED_003_DEADLINES))
    appraisals = (AppraisalRecorded("1", Decimal(30), "", 1), AppraisalRecorded("2", Decimal(15), "", 1))
    for command in (Submitted(), *appraisals):
        ledger = apply(ledger, command, at)
    result = score(ledger)
    assert result.total.maximum == Decimal(60)
    assert result.index == Decimal(75)


SIXTY_ROWS: list[list[object]] = [
    ["1", "Công tác chỉ đạo, điều hành", 40],
    ["2", "Cải cách thủ tục hành chính", 20],
    ["", "Tổng cộng", 60],
]


def test_a_60_point_appendix_imports_only_with_its_basis_and_keeps_it_through_xlsx(tmp_path: Path) -> None:
    source = appendix(tmp_path / "pl.xlsx", SIXTY_ROWS)
    out_yaml = tmp_path / "pl.yaml"
    argv = ["criteria", "import", str(source), "-o", str(out_yaml), "--issuer", "UBND tỉnh X"]
    argv += ["--decision", "1/QĐ-UBND", "--level", "department", "--year", "2023"]
    assert run(argv) == EXIT_ERRORS  # 60 points and no decision cited: a typo until shown otherwise
    assert not out_yaml.exists()
    assert run([*argv, "--total-basis", BASIS]) == EXIT_OK
    assert load_set(out_yaml).total == Decimal(60)
    out_xlsx = tmp_path / "back.xlsx"
    assert run(["criteria", "export", str(out_yaml), "-o", str(out_xlsx)]) == EXIT_OK
    back, report = import_xlsx(out_xlsx, SetMeta())
    assert report.ok
    assert back.total_basis == BASIS
