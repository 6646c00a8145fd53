"""The search port: what the indexer's handlers and the appraisers' API need from an index.

Versions: an entry replaces the stored one only when its version is higher; a lower or equal
version is ignored (so a redelivered event changes nothing). `remove` leaves a tombstone that
keeps the version, so an older upsert arriving after the removal stays ignored.

Reindex without downtime: `create_generation()` starts an empty generation that also receives
every later upsert/remove; fill it with `bulk_upsert(entries, generation=...)` (or let
`reindex()` copy the live one), then `swap(generation)` makes it live atomically and drops
the old one. Searches keep answering from the old generation until the swap.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from typing import Protocol

from services.indexer.model import EvidenceEntry, SearchQuery, SearchResult


class SearchIndex(Protocol):
    def upsert(self, entry: EvidenceEntry) -> bool:
        """Store or replace; False when ignored as stale or duplicate."""
        ...

    def bulk_upsert(self, entries: Iterable[EvidenceEntry], generation: str | None = None) -> int:
        """Upsert many at once (same version rules); returns how many were applied."""
        ...

    def remove(self, link_id: str, version: int) -> bool:
        """Hide the entry if `version` >= its version; True when a visible entry went away."""
        ...

    def get(self, link_id: str) -> EvidenceEntry | None: ...

    def search(self, query: SearchQuery) -> SearchResult: ...

    def count(self) -> int:
        """Visible entries (tombstones not counted)."""
        ...

    def clear(self) -> None:
        """Forget everything, tombstones included."""
        ...

    def create_generation(self) -> str: ...

    def swap(self, generation: str) -> None: ...

    def abandon_generation(self, generation: str) -> None: ...

    def drop_abandoned_generations(self) -> int:
        """Drop generations a crashed reindex left behind; only the one writer, at startup."""
        ...

    def reindex(self, entries: Iterable[EvidenceEntry] | None = None) -> int:
        """Rebuild into a new generation (from `entries`, or a copy of the live one) and swap."""
        ...

    def close(self) -> None: ...


def iter_all(index: SearchIndex, query: SearchQuery) -> Iterator[EvidenceEntry]:
    """Every entry matching `query`, following cursors page by page."""
    current = replace(query, cursor=None, page=None, facets=frozenset())
    while True:
        result = index.search(current)
        for hit in result.hits:
            yield hit.entry
        if result.next_cursor is None:
            return
        current = replace(current, cursor=result.next_cursor)


def rebuild_generation(
    index: SearchIndex, entries: Iterable[EvidenceEntry] | None, copy_live: Callable[[str], int]
) -> int:
    """`reindex` for any backend: fill a new generation (from `entries`, or a copy of the live
    one), swap it in, and abandon it if anything fails so searchers never see half an index."""
    generation = index.create_generation()
    try:
        loaded = (
            copy_live(generation) if entries is None else index.bulk_upsert(entries, generation=generation)
        )
        index.swap(generation)
    except BaseException:
        index.abandon_generation(generation)
        raise
    return loaded
