"""Hostile searches: oversized queries, forged cursors, runaway queries (issue 10, item 1/4)."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from services.indexer.backends.fts5 import Fts5Index
from services.indexer.errors import IndexerError, IndexerErrorCode
from services.indexer.limits import (
    MAX_PAGE,
    MAX_QUERY_CHARS,
    MAX_QUERY_PHRASES,
    MAX_QUERY_TERMS,
    SearchLimits,
)
from services.indexer.model import SearchQuery
from services.indexer.port import SearchIndex
from tests.indexer.corpus import DOCUMENTS

# Long enough that a search blocked behind a held lock is a hang, not a slow machine.
HANG_SECONDS = 30


def _forged(tag: str, key: object) -> str:
    return base64.urlsafe_b64encode(json.dumps([tag, key]).encode()).decode().rstrip("=")


@pytest.fixture
def loaded(index: SearchIndex) -> SearchIndex:
    index.bulk_upsert(DOCUMENTS)
    return index


def _refused(query: dict[str, object]) -> IndexerErrorCode:
    with pytest.raises(IndexerError) as info:
        SearchQuery(**query)  # type: ignore[arg-type]
    return info.value.code


def test_query_text_longer_than_the_limit_is_refused() -> None:
    assert _refused({"text": "a" * (MAX_QUERY_CHARS + 1)}) is IndexerErrorCode.QUERY_TOO_LARGE


def test_too_many_terms_are_refused() -> None:
    words = " ".join(f"w{i}" for i in range(MAX_QUERY_TERMS + 1))
    assert _refused({"text": words}) is IndexerErrorCode.QUERY_TOO_LARGE


def test_a_thousand_phrases_are_refused() -> None:
    phrases = " ".join(f'"a{i} b c"' for i in range(1000))[:MAX_QUERY_CHARS]
    assert _refused({"text": phrases}) is IndexerErrorCode.QUERY_TOO_LARGE
    few = " ".join(f'"x{i} y"' for i in range(MAX_QUERY_PHRASES + 1))
    assert _refused({"text": few}) is IndexerErrorCode.QUERY_TOO_LARGE


def test_page_beyond_the_bound_is_refused() -> None:
    assert _refused({"page": 9223372036854775807}) is IndexerErrorCode.INVALID_QUERY
    assert _refused({"page": MAX_PAGE + 1}) is IndexerErrorCode.INVALID_QUERY
    SearchQuery(page=MAX_PAGE)


@pytest.mark.parametrize(
    ("text", "sort", "cursor"),
    [
        ("", "date", _forged("fts5:d", [1, 2, 3])),
        ("", "date", _forged("fts5:d", ["x"])),
        ("", "date", _forged("fts5:d", [2**70])),
        ("ke hoach", "relevance", _forged("fts5:t", [-5, 1])),
        ("ke hoach", "relevance", _forged("fts5:t", [99, 1])),
        ("ke hoach", "relevance", _forged("fts5:r", [])),
        ("ke hoach", "relevance", _forged("fts5:r", [1, "nan", None])),
        ("ke hoach", "relevance", _forged("fts5:h", [True, 1, 1])),
        ("ke hoach", "relevance", _forged("os:r", [-1])),
        ("ke hoach", "relevance", _forged("os:r", ["1"])),
        ("", "date", _forged("os:d", [1])),
        ("", "date", _forged("os:d", [[1], {}])),
        ("", "date", "x" * 5000),
    ],
)
def test_forged_cursor_is_invalid_cursor(loaded: SearchIndex, text: str, sort: str, cursor: str) -> None:
    with pytest.raises(IndexerError) as info:
        loaded.search(SearchQuery(text=text, sort=sort, cursor=cursor))  # type: ignore[arg-type]
    assert info.value.code is IndexerErrorCode.INVALID_CURSOR


class _Ticks:
    """A monotonic clock that moves one second each time it is read."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        self.now += 1.0
        return self.now


def test_fts5_search_past_its_deadline_stops_with_query_timeout(tmp_path: Path) -> None:
    index = Fts5Index(
        tmp_path / "s.db",
        limits=SearchLimits(deadline_seconds=0.5, progress_instructions=1),
        monotonic=_Ticks(),
    )
    index.bulk_upsert(DOCUMENTS)
    with pytest.raises(IndexerError) as info:
        index.search(SearchQuery(text="ke hoach"))
    assert info.value.code is IndexerErrorCode.QUERY_TIMEOUT
    index.close()


def test_fts5_search_within_its_deadline_answers(tmp_path: Path) -> None:
    index = Fts5Index(
        tmp_path / "s.db",
        limits=SearchLimits(deadline_seconds=1e9, progress_instructions=1),
        monotonic=_Ticks(),
    )
    index.bulk_upsert(DOCUMENTS)
    assert index.search(SearchQuery(text="ke hoach")).total > 0
    index.close()


@pytest.fixture
def held(tmp_path: Path) -> Iterator[Fts5Index]:
    """A file index whose writer lock another thread holds (a long write or a slow search)."""
    index = Fts5Index(tmp_path / "s.db")
    index.bulk_upsert(DOCUMENTS)
    taken, release = threading.Event(), threading.Event()

    def hold() -> None:
        with index._lock:
            taken.set()
            release.wait()

    holder = threading.Thread(target=hold)
    holder.start()
    taken.wait()
    yield index
    release.set()
    holder.join()
    index.close()


def test_fts5_search_does_not_wait_for_the_lock(held: Fts5Index) -> None:
    with ThreadPoolExecutor(1) as pool:
        result = pool.submit(held.search, SearchQuery(text="ke hoach")).result(timeout=HANG_SECONDS)
    assert result.total > 0
