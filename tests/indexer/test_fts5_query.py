"""FTS5 MATCH building: folded words match anywhere but never a filter token."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from services.indexer.backends.fts5 import Fts5Index
from services.indexer.backends.fts5_query import UNIT, YEAR, match_plan, meta_token
from services.indexer.model import SearchQuery
from services.indexer.textquery import parse_text
from tests.indexer.corpus import DOCUMENTS


@pytest.fixture
def loaded(tmp_path: Path) -> Iterator[Fts5Index]:
    index = Fts5Index(tmp_path / "query.db")
    index.bulk_upsert(DOCUMENTS)
    yield index
    index.close()


@pytest.mark.parametrize("token", [meta_token(UNIT, "so-noi-vu"), meta_token(YEAR, "2024")])
def test_typing_a_filter_token_finds_nothing(loaded: Fts5Index, token: str) -> None:
    assert loaded.search(SearchQuery(text=token)).total == 0
    assert loaded.search(SearchQuery(text=f"ke hoach {token}")).total == 0


def test_only_words_that_could_be_filter_tokens_keep_the_column_filter() -> None:
    plain = match_plan(SearchQuery(text="ke hoach 2024"), parse_text("ke hoach 2024")).base
    lookalike = match_plan(SearchQuery(text="ke y32303234"), parse_text("ke y32303234")).base
    assert plain is not None
    assert lookalike is not None
    assert "title_f" not in plain
    assert "title_f" in lookalike


def test_words_without_marks_find_the_same_rows_as_their_folded_columns(loaded: Fts5Index) -> None:
    # "ubnd", "15" and "iso"-like words sit unchanged in the exact and the folded columns.
    assert {h.entry.link_id for h in loaded.search(SearchQuery(text="15 kh ubnd")).hits} == {"l-kh-15"}
    assert loaded.search(SearchQuery(text="the che")).total == 2
