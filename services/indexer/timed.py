"""A search index whose `search` is timed into kiemchung_search_seconds (the rest passes through)."""

from __future__ import annotations

import time
from typing import Any, cast

from kiemchung.runtime.metrics import SEARCH_SECONDS
from services.indexer.model import SearchQuery, SearchResult
from services.indexer.port import SearchIndex


class _Timed:
    def __init__(self, inner: SearchIndex, backend: str) -> None:
        self._inner = inner
        self._histogram = SEARCH_SECONDS.labels(backend)

    def search(self, query: SearchQuery) -> SearchResult:
        started = time.perf_counter()
        try:
            return self._inner.search(query)
        finally:
            self._histogram.observe(time.perf_counter() - started)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def timed(index: SearchIndex) -> SearchIndex:
    """`index` with its searches measured, labelled by backend class (Fts5Index, OpenSearchIndex)."""
    if isinstance(index, _Timed):
        return cast(SearchIndex, index)
    return cast(SearchIndex, _Timed(index, type(index).__name__))
