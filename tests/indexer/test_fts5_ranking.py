"""FTS5's orders and facets.

Above `rank_limit` matches the embedded index stops scoring every row with bm25 (too slow at
100,000 documents): exact tier first, then newest first; `rank_limit=0` makes these small
corpora take that path. Filtered queries within `rank_limit` use the title order instead of
bm25. Facets are counted from a packed per-row integer, checked against counting the entries.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from contracts.vocabulary import REGISTER_CODES
from services.indexer.backends.fts5 import Fts5Index
from services.indexer.model import Decision, EvidenceEntry, Facet, SearchQuery, SortOrder
from services.indexer.port import iter_all
from tests.indexer.corpus import (
    BAO_CAO_QUY,
    DOCUMENTS,
    KE_HOACH_CCHC,
    SO_NOI_VU,
    SO_TU_PHAP,
    bumped,
    entry,
    giao_ban,
)


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


# -- filtered queries: title order instead of bm25 --------------------------------------------

KIEM_TRA_BODY = "Đoàn kiểm tra làm việc với các phòng chuyên môn."


def kiem_tra_documents() -> tuple[EvidenceEntry, ...]:
    """Same unit, "kiểm tra" in every body; only some titles carry it, one without marks."""
    return (
        entry(
            "l-kt-recent",
            SO_NOI_VU,
            "1.1",
            "Thông báo lịch họp giao ban tháng mười",
            KIEM_TRA_BODY,
            None,
            date(2024, 10, 1),
        ),
        entry(
            "l-kt-title",
            SO_NOI_VU,
            "1.1",
            "Kế hoạch kiểm tra năm 2024",
            KIEM_TRA_BODY,
            None,
            date(2024, 3, 1),
        ),
        entry("l-kt-old", SO_NOI_VU, "1.1", "Báo cáo tổng hợp", KIEM_TRA_BODY, None, date(2024, 5, 1)),
        entry(
            "l-kt-plain",
            SO_NOI_VU,
            "1.1",
            "Kiem tra ho so",
            "Kiem tra ho so mot cua.",
            None,
            date(2024, 12, 1),
        ),
        entry("l-kt-other", SO_TU_PHAP, "1.1", "Kế hoạch kiểm tra", KIEM_TRA_BODY, None, date(2024, 6, 1)),
    )


def test_filtered_relevance_is_exact_then_title_words_then_newest(tmp_path: Path) -> None:
    index = Fts5Index(tmp_path / "title.db")
    index.bulk_upsert(kiem_tra_documents())
    query = SearchQuery(text="kiểm tra", unit_ids=frozenset({"so-noi-vu"}))
    result = index.search(query)
    assert [h.entry.link_id for h in result.hits] == ["l-kt-title", "l-kt-recent", "l-kt-old", "l-kt-plain"]
    assert [h.exact for h in result.hits] == [True, True, True, False]
    assert result.total == 4
    one = replace(query, page_size=1)
    by_cursor = [e.link_id for e in iter_all(index, one)]
    by_page = [h.entry.link_id for p in range(1, 5) for h in index.search(replace(one, page=p)).hits]
    assert by_cursor == by_page == [h.entry.link_id for h in result.hits]
    index.close()


def test_a_filtered_cursor_keeps_the_title_order_when_the_total_grows(tmp_path: Path) -> None:
    index = Fts5Index(tmp_path / "grow.db", rank_limit=4)
    index.bulk_upsert(kiem_tra_documents())
    query = SearchQuery(text="kiểm tra", unit_ids=frozenset({"so-noi-vu"}), page_size=2)
    first = index.search(query)
    older = tuple(
        entry(f"l-kt-2023-{m}", SO_NOI_VU, "1.1", "Báo cáo", KIEM_TRA_BODY, None, date(2023, m, 1))
        for m in (1, 2, 3)
    )
    index.bulk_upsert(older)  # 7 matches now: a first page would be in the tiers' order
    seen = [h.entry.link_id for h in first.hits]
    cursor = first.next_cursor
    while cursor is not None:
        page = index.search(replace(query, cursor=cursor))
        seen += [h.entry.link_id for h in page.hits]
        cursor = page.next_cursor
    assert seen == [
        "l-kt-title",
        "l-kt-recent",
        "l-kt-old",
        "l-kt-2023-3",
        "l-kt-2023-2",
        "l-kt-2023-1",
        "l-kt-plain",
    ]
    fresh = [h.entry.link_id for h in index.search(replace(query, page_size=3)).hits]
    assert fresh == ["l-kt-recent", "l-kt-old", "l-kt-title"]  # tiers: exact, then newest
    index.close()


# -- facets ------------------------------------------------------------------------------------


def counted(index: Fts5Index, query: SearchQuery) -> dict[Facet, dict[str, int]]:
    """Facet counts the slow way: every matching entry, page by page."""
    entries = list(iter_all(index, query))
    values = {
        Facet.CRITERION: [e.criterion_code for e in entries],
        Facet.DECISION: [e.decision.value for e in entries],
        Facet.UNIT: [e.unit_id for e in entries],
        Facet.YEAR: [str(e.year) for e in entries],
        Facet.SIGNAL: [r for e in entries for r in e.reasons if r in {c.value for c in REGISTER_CODES}],
    }
    return {facet: dict(Counter(v)) for facet, v in values.items()}


def test_facets_equal_the_counts_of_the_matching_entries_after_changes(scored: Fts5Index) -> None:
    scored.bulk_upsert(giao_ban(5))
    scored.remove("l-kh-88", version=2)
    scored.upsert(bumped(KE_HOACH_CCHC, decision=Decision.REJECTED, criterion_code="2.1", year=2025))
    signals = ("NUMBER_ORDER", "SIGNING_TIME_UNPROVEN", "REUSED_EVIDENCE")
    scored.upsert(bumped(BAO_CAO_QUY, decision=Decision.NEEDS_REVIEW, reasons=signals))
    queries = (
        SearchQuery(),
        SearchQuery(text="ke hoach"),
        SearchQuery(text="cải cách", year=2024),
        SearchQuery(criterion="1"),
        SearchQuery(number_prefix="15"),
        SearchQuery(text="ubnd", decision=Decision.ACCEPTED, number_prefix="1"),
    )
    for query in queries:
        result = scored.search(replace(query, facets=frozenset(Facet)))
        assert {facet: result.facet_counts(facet) for facet in Facet} == counted(scored, query), query
        assert result.total == sum(result.facet_counts(Facet.DECISION).values())


def test_unit_facet_shows_the_latest_name_of_the_unit(scored: Fts5Index) -> None:
    renamed = bumped(KE_HOACH_CCHC, unit_name="Sở Nội vụ tỉnh Vĩnh Long")
    scored.upsert(renamed)
    result = scored.search(SearchQuery(text="cai cach", facets=frozenset({Facet.UNIT})))
    labels = {b.key: b.label for b in result.facets[Facet.UNIT]}
    assert labels["so-noi-vu"] == "Sở Nội vụ tỉnh Vĩnh Long"
