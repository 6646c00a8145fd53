"""FTS5's order for broad queries: exact tier first, then newest first.

Above `rank_limit` matches the embedded index stops scoring every row with bm25 (too slow at
100,000 documents); `rank_limit=0` makes these small corpora take that path.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from services.indexer.backends.fts5 import Fts5Index
from services.indexer.model import Facet, SearchQuery, SortOrder
from services.indexer.port import iter_all
from tests.indexer.corpus import DOCUMENTS, KE_HOACH_CCHC, bumped, giao_ban


@pytest.fixture
def tiered(tmp_path: Path) -> Iterator[Fts5Index]:
    index = Fts5Index(tmp_path / "tiered.db", rank_limit=0)
    index.bulk_upsert(DOCUMENTS)
    yield index
    index.close()


@pytest.fixture
def scored(tmp_path: Path) -> Iterator[Fts5Index]:
    index = Fts5Index(tmp_path / "scored.db")
    index.bulk_upsert(DOCUMENTS)
    yield index
    index.close()


def test_exact_tier_first_then_newest(tiered: Fts5Index) -> None:
    result = tiered.search(SearchQuery(text="thể"))
    assert [h.entry.link_id for h in result.hits] == ["l-bc-45", "l-kh-15", "l-kh-88"]
    assert [h.exact for h in result.hits] == [True, True, False]


def test_broad_order_is_newest_first_within_a_tier(tiered: Fts5Index) -> None:
    result = tiered.search(SearchQuery(text="ke hoach"))
    assert [h.entry.link_id for h in result.hits] == ["l-kh-15a", "l-kh-88", "l-bc-120", "l-kh-15"]
    assert all(h.score is not None and h.score > 0 for h in result.hits)


def test_tiered_and_scored_find_the_same_rows_and_facets(tiered: Fts5Index, scored: Fts5Index) -> None:
    for text in ("ke hoach", "thể chế", '"cai cach hanh chinh"', "ubnd"):
        query = SearchQuery(text=text, page_size=100, facets=frozenset(Facet))
        a, b = tiered.search(query), scored.search(query)
        assert {h.entry.link_id for h in a.hits} == {h.entry.link_id for h in b.hits}
        assert (a.total, a.facets) == (b.total, b.facets)


def test_tiered_pages_are_complete_across_tiers(tiered: Fts5Index) -> None:
    query = SearchQuery(text="thể", page_size=2)
    by_cursor = [e.link_id for e in iter_all(tiered, query)]
    total = tiered.search(query).total
    assert len(by_cursor) == len(set(by_cursor)) == total == 3
    pages = -(-total // 2)
    by_page = [
        h.entry.link_id for p in range(1, pages + 1) for h in tiered.search(replace(query, page=p)).hits
    ]
    assert by_page == by_cursor
    exact = [h.exact for h in tiered.search(replace(query, page_size=100)).hits]
    assert exact == sorted(exact, reverse=True)
    assert exact[0]
    assert not exact[-1]  # the walk crossed from the exact tier to the folded-only one


def test_a_cursor_keeps_its_order_when_the_mode_would_change(tmp_path: Path) -> None:
    index = Fts5Index(tmp_path / "switch.db", rank_limit=10)
    index.bulk_upsert(giao_ban(8))
    query = SearchQuery(text="giao ban", page_size=3)
    first = index.search(query)
    index.bulk_upsert(giao_ban(14)[8:])  # now above rank_limit
    assert first.next_cursor is not None
    seen = [h.entry.link_id for h in first.hits]
    cursor: str | None = first.next_cursor
    while cursor is not None:
        page = index.search(replace(query, cursor=cursor))
        seen += [h.entry.link_id for h in page.hits]
        cursor = page.next_cursor
    assert len(seen) == len(set(seen)) == 14
    index.close()


def test_new_date_moves_the_entry_and_old_words_stop_matching(scored: Fts5Index) -> None:
    moved = bumped(KE_HOACH_CCHC, issued_on=date(2025, 1, 2), title="Kế hoạch năm 2025", text="Nội dung mới.")
    assert scored.upsert(moved)
    newest = scored.search(SearchQuery(sort=SortOrder.DATE, page_size=1)).hits[0]
    assert newest.entry == moved
    assert "l-kh-15" not in {h.entry.link_id for h in scored.search(SearchQuery(text="nghi quyet 76")).hits}
    assert {h.entry.link_id for h in scored.search(SearchQuery(text="noi dung moi")).hits} == {"l-kh-15"}
    assert scored.count() == len(DOCUMENTS)
