from __future__ import annotations

import pytest

from services.indexer.criteria_codes import ancestors, in_subtree, sort_key
from services.indexer.cursor import INT, NUMBER, TEXT, decode_cursor, encode_cursor
from services.indexer.errors import IndexerError, IndexerErrorCode
from services.indexer.model import MAX_PAGE_SIZE, SearchQuery
from tests.indexer.corpus import KE_HOACH_CCHC


@pytest.mark.parametrize(
    ("code", "root", "inside"),
    [
        ("1", "1", True),
        ("1.1.2", "1", True),
        ("1.1", "1.1", True),
        ("10.1", "1", False),
        ("1.10", "1.1", False),
    ],
)
def test_criterion_subtree(code: str, root: str, inside: bool) -> None:
    assert in_subtree(code, root) is inside


def test_ancestors_and_numeric_order() -> None:
    assert ancestors("8.4.1.1") == ("8", "8.4", "8.4.1", "8.4.1.1")
    assert sorted(["1.10", "10", "1.2", "2"], key=sort_key) == ["1.2", "1.10", "2", "10"]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"page_size": 0},
        {"page_size": MAX_PAGE_SIZE + 1},
        {"page": 0},
        {"page": 2, "cursor": "x"},
        {"criterion": "1.a"},
    ],
)
def test_invalid_queries_are_refused(kwargs: dict[str, object]) -> None:
    with pytest.raises(IndexerError) as info:
        SearchQuery(**kwargs)  # type: ignore[arg-type]
    assert info.value.code is IndexerErrorCode.INVALID_QUERY


def test_entry_needs_a_valid_criterion_code() -> None:
    with pytest.raises(IndexerError) as info:
        type(KE_HOACH_CCHC)(**{**KE_HOACH_CCHC.__dict__, "criterion_code": "I.1"})
    assert info.value.code is IndexerErrorCode.INVALID_ENTRY


def test_cursor_round_trip_and_damage() -> None:
    cursor = encode_cursor("t", [1, 0.1 + 0.2, "l-1"])
    assert decode_cursor(cursor, "t", (INT, NUMBER, TEXT)) == [1, 0.1 + 0.2, "l-1"]
    for bad in ("!!!", cursor[:-3]):
        with pytest.raises(IndexerError) as info:
            decode_cursor(bad, "t", (INT, NUMBER, TEXT))
        assert info.value.code is IndexerErrorCode.INVALID_CURSOR
