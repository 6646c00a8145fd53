from __future__ import annotations

import argparse
import io
import json
from pathlib import Path

import pytest

from services.indexer import cli
from services.indexer.backends.fts5 import Fts5Index
from tests.indexer.corpus import DOCUMENTS


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "search.db"
    index = Fts5Index(path)
    index.bulk_upsert(DOCUMENTS)
    index.close()
    return path


def run(argv: list[str]) -> tuple[int, str]:
    parser = argparse.ArgumentParser(prog="kiemchung")
    cli.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    out = io.StringIO()
    code = args.func(args, out)
    return code, out.getvalue()


def test_plain_output_shows_vietnamese_titles_and_highlights(db: Path) -> None:
    code, out = run(["search", "ke hoach cai cach", "--criterion", "1.1", "--db", str(db)])
    assert code == 0
    assert "[Kế] [hoạch] [cải] [cách] hành chính năm 2024" in out
    assert "15/KH-UBND" in out
    assert "(2 / 2)" in out


def test_json_lines_with_filters(db: Path) -> None:
    code, out = run(
        ["search", "bao cao", "--decision", "needs_review", "--year", "2024", "--json", "--db", str(db)]
    )
    assert code == 0
    lines = [json.loads(line) for line in out.splitlines()]
    assert [line["link_id"] for line in lines] == ["l-bc-45"]
    assert lines[0]["title"] == "Báo cáo rà soát văn bản quy phạm pháp luật"


def test_unit_filter_and_bad_criterion(db: Path) -> None:
    code, out = run(["search", "", "--unit", "xa-tan-hanh", "--json", "--db", str(db)])
    assert code == 0
    assert [json.loads(line)["link_id"] for line in out.splitlines()] == ["l-qd-150"]
    code, _ = run(["search", "x", "--criterion", "1.a", "--db", str(db)])
    assert code == cli.EXIT_BAD_QUERY
