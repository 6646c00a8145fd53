"""One contract for every SearchIndex backend (FTS5, osmem-server, OpenSearch when configured)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from services.indexer.errors import IndexerError, IndexerErrorCode
from services.indexer.model import Decision, Facet, SearchQuery, SearchResult, SortOrder
from services.indexer.port import SearchIndex, iter_all
from tests.indexer.corpus import (
    BAO_CAO_QUY,
    DE_AN_CHUYEN_DOI_SO,
    DOCUMENTS,
    KE_HOACH_BO_SUNG,
    KE_HOACH_CCHC,
    QUYET_DINH_QUY_CHE,
    RA_SOAT_THE_CHE,
    VI_THE,
    bumped,
    giao_ban,
)


@pytest.fixture
def loaded(index: SearchIndex) -> SearchIndex:
    assert index.bulk_upsert(DOCUMENTS) == len(DOCUMENTS)
    return index


def ids(result: SearchResult) -> list[str]:
    return [h.entry.link_id for h in result.hits]


def find(index: SearchIndex, text: str = "", **filters: object) -> set[str]:
    return set(ids(index.search(SearchQuery(text=text, page_size=100, **filters))))  # type: ignore[arg-type]


# -- matching ---------------------------------------------------------------------------------


def test_folded_query_finds_vietnamese_title(loaded: SearchIndex) -> None:
    assert "l-kh-15" in find(loaded, "ke hoach cai cach")


def test_folding_maps_d_stroke(loaded: SearchIndex) -> None:
    assert find(loaded, "de an dong thap") == {"l-da-30"}
    assert find(loaded, "Đề án Đồng Tháp") == {"l-da-30"}


def test_query_in_decomposed_unicode_matches(loaded: SearchIndex) -> None:
    decomposed = "ke\u0302\u0301 hoa\u0323ch"  # "kế hoạch" typed with combining marks
    assert "l-kh-15" in find(loaded, decomposed)


def test_all_words_must_match(loaded: SearchIndex) -> None:
    assert find(loaded, "ke hoach chuyen doi") == set()


def test_exact_diacritics_rank_above_folded_only(loaded: SearchIndex) -> None:
    result = loaded.search(SearchQuery(text="thể"))
    found = ids(result)
    assert set(found) == {"l-kh-15", "l-bc-45", "l-kh-88"}
    assert found[-1] == "l-kh-88"  # "vị thế" matches only once folded
    assert [h.exact for h in result.hits] == [True, True, False]


def test_folded_query_matches_both_spellings(loaded: SearchIndex) -> None:
    assert find(loaded, "the") == {"l-kh-15", "l-bc-45", "l-kh-88"}


def test_phrase_needs_words_in_order(loaded: SearchIndex) -> None:
    assert find(loaded, '"quy chế làm việc"') == {"l-qd-150"}
    assert find(loaded, '"lam viec quy che"') == set()
    assert find(loaded, "lam viec quy che") == {"l-qd-150"}


def test_phrase_combines_with_words(loaded: SearchIndex) -> None:
    assert find(loaded, '"cai cach hanh chinh" quy I') == {"l-bc-120"}


def test_number_prefix(loaded: SearchIndex) -> None:
    assert find(loaded, number_prefix="15/KH") == {"l-kh-15"}
    assert find(loaded, number_prefix="15") == {"l-kh-15", "l-kh-15a", "l-qd-150"}
    assert find(loaded, number_prefix="120/bc") == {"l-bc-120"}
    assert find(loaded, number_prefix="150/QD") == {"l-qd-150"}
    assert find(loaded, number_prefix="150/QĐ-UBND") == {"l-qd-150"}


def test_number_words_are_searchable_text(loaded: SearchIndex) -> None:
    assert "l-bc-120" in find(loaded, "120 BC UBND")


# -- filters ----------------------------------------------------------------------------------


def test_filter_by_units(loaded: SearchIndex) -> None:
    assert find(loaded, unit_ids=frozenset({"huyen-long-ho", "xa-tan-hanh"})) == {
        "l-bc-120",
        "l-kh-15a",
        "l-qd-150",
    }


def test_filter_by_level_and_year(loaded: SearchIndex) -> None:
    assert find(loaded, level="district") == {"l-bc-120", "l-kh-15a"}
    assert find(loaded, year=2023) == {"l-qd-150"}


def test_filter_by_decision_and_reason(loaded: SearchIndex) -> None:
    assert find(loaded, decision=Decision.REJECTED) == {"l-kh-15a"}
    assert find(loaded, reason="scanned_paper") == {"l-bc-45", "l-kh-15a"}
    assert find(loaded, "bao cao", reason="scanned_paper") == {"l-bc-45"}


def test_criterion_subtree(loaded: SearchIndex) -> None:
    assert find(loaded, criterion="1") == {"l-kh-15", "l-bc-120", "l-kh-15a"}
    assert find(loaded, criterion="1.1") == {"l-kh-15", "l-kh-15a"}
    assert find(loaded, criterion="1.1.2") == {"l-kh-15a"}
    assert find(loaded, criterion="10") == {"l-qd-150"}


def test_filters_combine_with_text(loaded: SearchIndex) -> None:
    assert find(loaded, "ke hoach", criterion="1.1", decision=Decision.ACCEPTED) == {"l-kh-15"}


# -- facets, snippets, sorting ----------------------------------------------------------------


def test_facets_count_the_whole_match_not_the_page(loaded: SearchIndex) -> None:
    result = loaded.search(
        SearchQuery(
            text="ke hoach", page_size=1, facets=frozenset({Facet.CRITERION, Facet.DECISION, Facet.UNIT})
        )
    )
    assert result.total == 4  # l-kh-15, l-bc-120 ("theo kế hoạch"), l-kh-88, l-kh-15a
    assert len(result.hits) == 1
    assert sum(result.facet_counts(Facet.CRITERION).values()) == result.total
    assert result.facet_counts(Facet.DECISION) == {"accepted": 3, "rejected": 1}
    units = {b.key: (b.count, b.label) for b in result.facets[Facet.UNIT]}
    assert units["so-tu-phap"] == (1, "Sở Tư pháp")


def test_signal_facet_counts_the_registers_checks_of_the_match(index: SearchIndex) -> None:
    flagged = [
        replace(KE_HOACH_CCHC, link_id="s-1", decision=Decision.NEEDS_REVIEW, reasons=("DUPLICATE_NUMBER",)),
        replace(
            KE_HOACH_CCHC,
            link_id="s-2",
            decision=Decision.NEEDS_REVIEW,
            reasons=("SIGNING_TIME_UNPROVEN", "DUPLICATE_NUMBER", "ISSUER_MISMATCH"),
        ),
        replace(BAO_CAO_QUY, link_id="s-3", decision=Decision.NEEDS_REVIEW, reasons=("ISSUER_MISMATCH",)),
    ]
    index.bulk_upsert([*DOCUMENTS, *flagged])
    everything = index.search(SearchQuery(facets=frozenset({Facet.SIGNAL})))
    # one document may carry several checks; reasons that are not the register's are not signals
    assert everything.facet_counts(Facet.SIGNAL) == {"DUPLICATE_NUMBER": 2, "ISSUER_MISMATCH": 2}
    plans = index.search(
        SearchQuery(
            text="ke hoach cai cach", criterion="1.1", facets=frozenset({Facet.SIGNAL, Facet.DECISION})
        )
    )
    assert plans.facet_counts(Facet.SIGNAL) == {"DUPLICATE_NUMBER": 2, "ISSUER_MISMATCH": 1}
    assert plans.facet_counts(Facet.DECISION)["needs_review"] == 2
    only = index.search(SearchQuery(reason="ISSUER_MISMATCH", facets=frozenset({Facet.SIGNAL})))
    assert {h.entry.link_id for h in only.hits} == {"s-2", "s-3"}
    assert only.facet_counts(Facet.SIGNAL) == {"ISSUER_MISMATCH": 2, "DUPLICATE_NUMBER": 1}


def test_facets_respect_filters(loaded: SearchIndex) -> None:
    result = loaded.search(SearchQuery(criterion="1", facets=frozenset({Facet.CRITERION, Facet.YEAR})))
    assert result.facet_counts(Facet.CRITERION) == {"1.1": 1, "1.2": 1, "1.1.2": 1}
    assert result.facet_counts(Facet.YEAR) == {"2024": 3}


def test_snippet_and_title_highlight_the_match(loaded: SearchIndex) -> None:
    result = loaded.search(SearchQuery(text="ho so dung han"))
    (hit,) = result.hits
    assert hit.entry.link_id == "l-bc-120"
    assert set(hit.snippet.matched()) == {"hồ", "sơ", "đúng", "hạn"}
    assert "[hồ] [sơ] giải quyết [đúng] [hạn]" in hit.snippet.marked()
    title = loaded.search(SearchQuery(text="de an")).hits[0].title
    assert title.marked().startswith("[Đề] [án] chuyển đổi số")


def test_sort_by_date_newest_first_undated_last(loaded: SearchIndex) -> None:
    result = loaded.search(SearchQuery(sort=SortOrder.DATE, page_size=100))
    assert ids(result)[:2] == ["l-kh-15a", "l-kh-88"]
    assert ids(result)[-1] == "l-da-30"
    assert result.total == len(DOCUMENTS)


def test_text_query_sorted_by_date(loaded: SearchIndex) -> None:
    result = loaded.search(SearchQuery(text="bao cao", sort=SortOrder.DATE))
    assert ids(result) == ["l-bc-45", "l-bc-120", "l-kh-15"]


# -- pagination -------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["giao ban", ""])
def test_cursor_pages_are_complete_without_duplicates(index: SearchIndex, text: str) -> None:
    notices = giao_ban(23)
    index.bulk_upsert(notices)
    index.bulk_upsert(DOCUMENTS)
    seen: list[str] = []
    query = SearchQuery(text=text, page_size=5)
    pages = 0
    while True:
        result = index.search(query)
        seen += ids(result)
        pages += 1
        if result.next_cursor is None:
            break
        query = replace(query, cursor=result.next_cursor)
    expected = {n.link_id for n in notices} | (set() if text else {d.link_id for d in DOCUMENTS})
    assert len(seen) == len(set(seen))
    assert set(seen) == expected
    assert pages == -(-len(expected) // 5)


def test_equal_scores_break_ties_by_link_id(index: SearchIndex) -> None:
    index.bulk_upsert(giao_ban(12))
    found = ids(index.search(SearchQuery(text="giao ban", page_size=12)))
    assert found == sorted(found)


def test_numbered_pages_match_cursor_pages(index: SearchIndex) -> None:
    index.bulk_upsert(giao_ban(11))
    by_cursor = [e.link_id for e in iter_all(index, SearchQuery(text="giao ban", page_size=4))]
    by_page = [
        lid for p in (1, 2, 3) for lid in ids(index.search(SearchQuery(text="giao ban", page_size=4, page=p)))
    ]
    assert by_page == by_cursor
    assert index.search(SearchQuery(text="giao ban", page_size=4, page=4)).hits == ()


def test_foreign_cursor_is_refused(loaded: SearchIndex) -> None:
    first = loaded.search(SearchQuery(text="ke hoach", page_size=1))
    assert first.next_cursor is not None
    with pytest.raises(IndexerError) as info:
        loaded.search(SearchQuery(sort=SortOrder.DATE, cursor=first.next_cursor))
    assert info.value.code is IndexerErrorCode.INVALID_CURSOR


# -- versions ---------------------------------------------------------------------------------


def test_reapplying_an_entry_changes_nothing(loaded: SearchIndex) -> None:
    before = loaded.search(SearchQuery(text="ke hoach", facets=frozenset({Facet.UNIT})))
    assert loaded.upsert(KE_HOACH_CCHC) is False
    assert loaded.bulk_upsert([KE_HOACH_CCHC, BAO_CAO_QUY]) == 0
    after = loaded.search(SearchQuery(text="ke hoach", facets=frozenset({Facet.UNIT})))
    assert ids(after) == ids(before)
    assert after.facets == before.facets
    assert loaded.count() == len(DOCUMENTS)


def test_higher_version_replaces_and_stale_is_ignored(loaded: SearchIndex) -> None:
    v2 = bumped(
        KE_HOACH_CCHC, title="Kế hoạch cải cách hành chính năm 2024 (điều chỉnh)", decision=Decision.REJECTED
    )
    assert loaded.upsert(v2) is True
    assert loaded.upsert(KE_HOACH_CCHC) is False  # version 1 arrives late
    stored = loaded.get("l-kh-15")
    assert stored == v2
    assert find(loaded, '"dieu chinh"') == {"l-kh-15"}
    assert find(loaded, decision=Decision.REJECTED) == {"l-kh-15", "l-kh-15a"}
    assert loaded.count() == len(DOCUMENTS)


def test_get_returns_the_stored_entry(loaded: SearchIndex) -> None:
    assert loaded.get("l-qd-150") == QUYET_DINH_QUY_CHE
    assert loaded.get("l-da-30") == DE_AN_CHUYEN_DOI_SO
    assert loaded.get("missing") is None


def test_remove_hides_entry_and_blocks_stale_upserts(loaded: SearchIndex) -> None:
    assert loaded.remove("l-bc-45", version=2) is True
    assert loaded.get("l-bc-45") is None
    assert "l-bc-45" not in find(loaded, "ra soat")
    assert loaded.count() == len(DOCUMENTS) - 1
    assert loaded.remove("l-bc-45", version=2) is False
    assert loaded.upsert(bumped(RA_SOAT_THE_CHE)) is False  # version 2, not newer than the removal
    assert loaded.get("l-bc-45") is None
    assert loaded.upsert(replace(RA_SOAT_THE_CHE, version=3)) is True
    assert loaded.get("l-bc-45") == replace(RA_SOAT_THE_CHE, version=3)


def test_stale_remove_is_ignored(loaded: SearchIndex) -> None:
    assert loaded.upsert(bumped(VI_THE)) is True
    assert loaded.remove("l-kh-88", version=1) is False
    assert loaded.get("l-kh-88") is not None


def test_remove_before_link_arrives_blocks_older_link(index: SearchIndex) -> None:
    assert index.remove("l-kh-15", version=5) is False
    assert index.upsert(KE_HOACH_CCHC) is False
    assert index.count() == 0


def test_clear_forgets_everything(loaded: SearchIndex) -> None:
    loaded.remove("l-kh-88", version=9)
    loaded.clear()
    assert loaded.count() == 0
    assert loaded.search(SearchQuery()).total == 0
    assert loaded.upsert(VI_THE) is True


# -- reindex ----------------------------------------------------------------------------------


def test_reindex_copy_keeps_results_and_tombstones(loaded: SearchIndex) -> None:
    loaded.remove("l-kh-88", version=4)
    before = loaded.search(SearchQuery(text="ke hoach", facets=frozenset({Facet.CRITERION})))
    assert loaded.reindex() == len(DOCUMENTS) - 1
    after = loaded.search(SearchQuery(text="ke hoach", facets=frozenset({Facet.CRITERION})))
    assert ids(after) == ids(before)
    assert after.facets == before.facets
    assert loaded.upsert(replace(VI_THE, version=3)) is False


def test_search_answers_during_reindex_and_writes_reach_both(loaded: SearchIndex) -> None:
    generation = loaded.create_generation()
    loaded.bulk_upsert([d for d in DOCUMENTS if d is not BAO_CAO_QUY], generation=generation)
    assert find(loaded, "ke hoach cai cach") >= {"l-kh-15", "l-bc-120"}  # still the old generation
    assert loaded.upsert(bumped(BAO_CAO_QUY, title="Báo cáo quý I (bản cuối)")) is True
    assert loaded.remove("l-kh-15a", version=2) is True
    loaded.swap(generation)
    assert loaded.count() == len(DOCUMENTS) - 1
    assert find(loaded, "ban cuoi") == {"l-bc-120"}
    assert loaded.get("l-kh-15a") is None
    assert find(loaded, "ke hoach", criterion="1") == {"l-kh-15", "l-bc-120"}


def test_reindex_from_given_entries(loaded: SearchIndex) -> None:
    assert loaded.reindex([KE_HOACH_CCHC, KE_HOACH_BO_SUNG]) == 2
    assert loaded.count() == 2
    assert find(loaded, "ke hoach") == {"l-kh-15", "l-kh-15a"}


def test_unknown_generation_is_refused(loaded: SearchIndex) -> None:
    with pytest.raises(IndexerError) as info:
        loaded.swap("no-such-generation")
    assert info.value.code is IndexerErrorCode.UNKNOWN_GENERATION
    assert loaded.count() == len(DOCUMENTS)
