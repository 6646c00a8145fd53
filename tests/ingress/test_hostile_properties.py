"""Property tests: every parser that reads hostile input answers a value or its own reason-coded
error, never anything else (edXML, cursors, search queries, criteria YAML, claim-check URLs).
Bounded (few examples, no deadline) so `make test` stays fast."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from criteria.errors import CriteriaError, CriteriaLoadError
from criteria.loader import load_document_text
from kiemchung.ingress.edxml import parse_message
from kiemchung.ingress.errors import IngressError
from services.evidence_verifier.errors import FetchError
from services.evidence_verifier.fetch import FetchPolicy, fetch
from services.indexer.backends.fts5 import Fts5Index
from services.indexer.cursor import INT, NUMBER, TEXT, decode_cursor
from services.indexer.errors import IndexerError
from services.indexer.model import SearchQuery, SortOrder
from tests.indexer.corpus import DOCUMENTS
from tests.ingress.builders import Message, build

BOUNDED = settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
XML_TOKENS = st.sampled_from(
    [b"<", b">", b"</", b"/>", b"=", b'"', b"&", b";", b"<?xml", b"?>", b"encoding=", b"UTF-7", b"<!DOCTYPE",
     b"<!ENTITY", b"]]>", b"\x00", b"\xff\xfe", b"edXML", b"ContentTransferEncoded", b"===="]
)  # fmt: skip


@BOUNDED
@given(st.lists(st.one_of(st.binary(max_size=20), XML_TOKENS), max_size=40))
def test_edxml_parser_answers_a_message_or_a_reason(chunks: list[bytes]) -> None:
    with contextlib.suppress(IngressError):
        parse_message(b"".join(chunks))


@BOUNDED
@given(st.integers(min_value=0, max_value=4000), st.binary(max_size=30))
def test_edxml_with_a_damaged_valid_message_answers_a_reason(cut: int, junk: bytes) -> None:
    data = build(Message())
    with contextlib.suppress(IngressError):
        parse_message(data[:cut] + junk + data[cut:])


@BOUNDED
@given(st.text(max_size=300))
def test_cursor_decoding_answers_a_key_or_invalid_cursor(cursor: str) -> None:
    try:
        key = decode_cursor(cursor, "fts5:r", (INT, NUMBER, TEXT))
    except IndexerError:
        return
    assert len(key) == 3


_INDEX = Fts5Index()
_INDEX.bulk_upsert(DOCUMENTS)


@BOUNDED
@given(
    st.text(alphabet=st.sampled_from('ab "*:^()-+NEARORAND đếKHx0\x00'), max_size=80),
    st.sampled_from(list(SortOrder)),
    st.one_of(st.none(), st.text(max_size=40)),
)
def test_any_search_answers_hits_or_an_indexer_error(text: str, sort: SortOrder, cursor: str | None) -> None:
    with contextlib.suppress(IndexerError):
        _INDEX.search(SearchQuery(text=text, sort=sort, cursor=cursor))


@BOUNDED
@given(
    st.recursive(
        st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=10)),
        lambda inner: st.one_of(
            st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
        ),
        max_leaves=20,
    ).map(repr),
)
def test_criteria_yaml_answers_a_document_or_a_reason(text: str) -> None:
    with contextlib.suppress(CriteriaLoadError, CriteriaError):
        load_document_text(text)


@BOUNDED
@given(st.text(alphabet=st.sampled_from("htps:/f[]@%0:9aZ.?#\\\x00 -"), max_size=60))
def test_any_claim_check_url_answers_bytes_or_a_fetch_reason(tail: str) -> None:
    policy = FetchPolicy(
        allowed_hosts=frozenset({"eoffice.example"}), file_base_dir=Path("/nonexistent-root")
    )

    async def refuse(host: str, port: int) -> list[str]:
        return ["10.0.0.1"]  # never reached: a private answer is refused before connecting

    for url in (tail, f"https://eoffice.example{tail}", f"file:///nonexistent-root/{tail}"):
        with contextlib.suppress(FetchError):
            asyncio.run(fetch(url, policy=policy, resolve=refuse))
