"""OpenSearch backend (opensearch-py): the distributed search index.

Layout: an alias (default "kiemchung-evidence") points at one generation index
"<alias>-g<n>". Reindex creates "<alias>-g<n+1>", fills it (later writes go to both), then
moves the alias in one update_aliases call and deletes the old index: no downtime.

Text fields (title, text, extra) are `text` with the standard analyzer (lowercase, diacritics
kept: the exact field) and a `.folded` subfield (standard + lowercase + asciifolding; Lucene's
asciifolding maps đ → d, so no char_filter is needed, and osmem-server ignores mapping
char_filters anyway). Queries send the app-folded words to the `.folded` fields, so folding
does not depend on the analyzer's idea of Vietnamese.

Versions use OpenSearch external versioning (`version_type=external`): the cluster itself
refuses a lower or equal version. Removal writes a tombstone document (live=false) with the
version, so stale upserts stay refused after a removal; searches filter live=true.

Relevance cursors carry an offset, date cursors a search_after key. osmem-server compares
search_after against its unrounded float scores while it returns them rounded, so a _score
search_after skips or repeats pages there; and BM25 scores move whenever the index changes, so
search_after on _score would not be more stable on a real cluster either. The order itself is
total (score, then link_id), so offset pages are complete and free of duplicates while the
index is unchanged. Date order (integers) uses search_after.

Highlights are built in the app (services.indexer.snippets): osmem-server's highlighter cuts
tags at fragment borders and marks only part of a phrase; app snippets are the same on every
backend.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from datetime import date, datetime
from typing import Any

from opensearchpy import OpenSearch, helpers
from opensearchpy.exceptions import ConflictError, ConnectionTimeout, NotFoundError, OpenSearchException

from contracts.vocabulary import REGISTER_CODES
from services.indexer.criteria_codes import ancestors
from services.indexer.cursor import INT, TEXT, Slot, decode_cursor, encode_cursor
from services.indexer.errors import IndexerError, IndexerErrorCode
from services.indexer.facets import buckets
from services.indexer.folding import fold, lower_exact, nfc
from services.indexer.limits import DEFAULT_LIMITS, MAX_PAGE, SearchLimits
from services.indexer.model import (
    MAX_PAGE_SIZE,
    Decision,
    EvidenceEntry,
    Facet,
    FacetBucket,
    Hit,
    SearchQuery,
    SearchResult,
    SortOrder,
)
from services.indexer.port import rebuild_generation
from services.indexer.snippets import body_snippet, title_snippet
from services.indexer.textquery import ParsedText, any_diacritics, parse_text

DEFAULT_ALIAS = "kiemchung-evidence"
# Added to the score of hits whose words carry the query's diacritics; BM25 scores of a few
# words stay far below it, so exact hits sort first and BM25 orders within each tier.
EXACT_BOOST = 1000.0
FIELD_BOOSTS = {"title": 4.0, "text": 1.0, "extra": 2.0}
FACET_SIZE = 1000
CONFLICT = 409
CURSOR_RELEVANCE = "os:r"
CURSOR_DATE = "os:d"
# A date cursor's search_after: the issued_on sort value (epoch ms, or missing) and the link_id.
_DATE_KEY: tuple[Slot, ...] = ((int, str, type(None)), TEXT)
MS_PER_SECOND = 1000
FOLDED_ANALYZER = "vi_folded"
_GENERATION_RE = re.compile(r"-g(\d+)$")

_TEXT_WITH_FOLDED = {
    "type": "text",
    "analyzer": "standard",
    "fields": {"folded": {"type": "text", "analyzer": FOLDED_ANALYZER}},
}
INDEX_BODY: dict[str, Any] = {
    "settings": {
        "analysis": {
            "analyzer": {
                FOLDED_ANALYZER: {
                    "type": "custom",
                    "tokenizer": "standard",
                    "filter": ["lowercase", "asciifolding"],
                }
            }
        }
    },
    "mappings": {
        "dynamic": "strict",
        "properties": {
            "link_id": {"type": "keyword"},
            "live": {"type": "boolean"},
            "version": {"type": "long"},
            "unit_id": {"type": "keyword"},
            "unit_name": {"type": "keyword"},
            "level": {"type": "keyword"},
            "year": {"type": "integer"},
            "criterion_code": {"type": "keyword"},
            "criterion_path": {"type": "keyword"},
            "decision": {"type": "keyword"},
            "reasons": {"type": "keyword"},
            "number": {"type": "keyword"},
            "number_key": {"type": "keyword"},
            "notation": {"type": "keyword"},
            "issuer": {"type": "keyword"},
            "issued_on": {"type": "date", "format": "yyyy-MM-dd"},
            "signer": {"type": "keyword"},
            "link": {"type": "keyword"},
            "verified_at": {"type": "date"},
            "title": _TEXT_WITH_FOLDED,
            "text": _TEXT_WITH_FOLDED,
            "extra": _TEXT_WITH_FOLDED,
        },
    },
}


class OpenSearchIndex:
    """SearchIndex on OpenSearch. `refresh=True` makes every write visible at once (tests)."""

    def __init__(
        self,
        client: OpenSearch,
        alias: str = DEFAULT_ALIAS,
        refresh: bool = False,
        limits: SearchLimits = DEFAULT_LIMITS,
    ) -> None:
        self._client = client
        self._limits = limits
        self._alias = alias
        self._refresh = refresh
        self._pending: set[str] = set()
        try:
            if not self._client.indices.exists_alias(name=alias):
                first = self._generation_name(1)
                self._client.indices.create(index=first, body=INDEX_BODY)
                self._client.indices.put_alias(index=first, name=alias)
        except OpenSearchException as exc:
            raise IndexerError(IndexerErrorCode.BACKEND_FAILURE, str(exc)) from exc

    @property
    def alias(self) -> str:
        return self._alias

    def _generation_name(self, n: int) -> str:
        return f"{self._alias}-g{n}"

    def _live_indices(self) -> list[str]:
        return sorted(self._client.indices.get_alias(name=self._alias).keys())

    # -- writing ----------------------------------------------------------------------------

    def _index(self, index: str, doc_id: str, body: dict[str, Any], version: int, gte: bool = False) -> bool:
        try:
            self._client.index(
                index=index,
                id=doc_id,
                body=body,
                version=version,
                version_type="external_gte" if gte else "external",
                refresh=self._refresh,
            )
        except ConflictError:
            return False
        except OpenSearchException as exc:
            raise IndexerError(IndexerErrorCode.BACKEND_FAILURE, str(exc)) from exc
        return True

    def upsert(self, entry: EvidenceEntry) -> bool:
        body = _document(entry)
        applied = self._index(self._alias, entry.link_id, body, entry.version)
        for index in sorted(self._pending):
            self._index(index, entry.link_id, body, entry.version)
        return applied

    def bulk_upsert(self, entries: Iterable[EvidenceEntry], generation: str | None = None) -> int:
        if generation is not None and generation not in self._pending:
            raise IndexerError(IndexerErrorCode.UNKNOWN_GENERATION, generation)
        batch = list(entries)
        targets = [generation] if generation is not None else [self._alias, *sorted(self._pending)]
        applied = [self._bulk(target, batch) for target in targets]
        return applied[0]

    def _bulk(self, index: str, batch: list[EvidenceEntry]) -> int:
        actions = (
            {
                "_index": index,
                "_id": e.link_id,
                "_version": e.version,
                "_version_type": "external",
                "_source": _document(e),
            }
            for e in batch
        )
        return self._bulk_actions(index, actions)

    def _bulk_actions(self, index: str, actions: Iterable[dict[str, Any]]) -> int:
        try:
            applied, errors = helpers.bulk(self._client, actions, raise_on_error=False, refresh=self._refresh)
        except OpenSearchException as exc:
            raise IndexerError(IndexerErrorCode.BACKEND_FAILURE, str(exc)) from exc
        failures = [e for e in errors if next(iter(e.values())).get("status") != CONFLICT]
        if failures:
            raise IndexerError(IndexerErrorCode.BACKEND_FAILURE, f"bulk into {index}: {failures[:3]}")
        return int(applied)

    def _tombstone(self, index: str, link_id: str, version: int) -> bool:
        try:
            found = self._client.get(index=index, id=link_id, _source_includes=["live"])
        except NotFoundError:
            found = None
        except OpenSearchException as exc:
            raise IndexerError(IndexerErrorCode.BACKEND_FAILURE, str(exc)) from exc
        body = {"link_id": link_id, "live": False, "version": version}
        if found is None or not found["_source"].get("live", False):
            self._index(index, link_id, body, version)
            return False
        if version < int(found["_version"]):
            return False
        # external_gte lets an unlink carry the same version as the link it cancels.
        return self._index(index, link_id, body, version, gte=True)

    def remove(self, link_id: str, version: int) -> bool:
        removed = self._tombstone(self._alias, link_id, version)
        for index in sorted(self._pending):
            self._tombstone(index, link_id, version)
        return removed

    def clear(self) -> None:
        # delete_by_query would leave the deleted versions in the version map (gc_deletes), and
        # a re-sent version 1 would then be refused: swap in a fresh empty index instead.
        for index in sorted(self._pending):
            self.abandon_generation(index)
        self.swap(self.create_generation())

    # -- generations ------------------------------------------------------------------------

    def create_generation(self) -> str:
        existing = self._client.indices.get(index=f"{self._alias}-g*")
        numbers = [int(m.group(1)) for name in existing if (m := _GENERATION_RE.search(name))]
        name = self._generation_name(max(numbers, default=0) + 1)
        self._client.indices.create(index=name, body=INDEX_BODY)
        self._pending.add(name)
        return name

    def swap(self, generation: str) -> None:
        if generation not in self._pending:
            raise IndexerError(IndexerErrorCode.UNKNOWN_GENERATION, generation)
        old = self._live_indices()
        self._client.indices.refresh(index=generation)
        actions: list[dict[str, Any]] = [{"remove": {"index": i, "alias": self._alias}} for i in old]
        actions.append({"add": {"index": generation, "alias": self._alias}})
        self._client.indices.update_aliases(body={"actions": actions})
        self._pending.discard(generation)
        for index in old:
            self._client.indices.delete(index=index)

    def drop_abandoned_generations(self) -> int:
        """Delete generation indices that are neither live nor being built by this process
        (a reindex that died before its swap). Only the one writer calls it, at startup."""
        live = set(self._live_indices())
        existing = self._client.indices.get(index=f"{self._alias}-g*")
        dropped = [
            n for n in existing if _GENERATION_RE.search(n) and n not in live and n not in self._pending
        ]
        for name in dropped:
            self._client.indices.delete(index=name)
        return len(dropped)

    def abandon_generation(self, generation: str) -> None:
        if generation not in self._pending:
            raise IndexerError(IndexerErrorCode.UNKNOWN_GENERATION, generation)
        self._pending.discard(generation)
        self._client.indices.delete(index=generation)

    def reindex(self, entries: Iterable[EvidenceEntry] | None = None) -> int:
        return rebuild_generation(self, entries, self._copy_into)

    def _copy_into(self, generation: str) -> int:
        """Copy every document, tombstones included, keeping versions; returns the live count."""

        live = 0

        def actions() -> Iterator[dict[str, Any]]:
            nonlocal live
            for doc in helpers.scan(
                self._client, index=self._alias, query={"query": {"match_all": {}}, "version": True}
            ):
                source = doc["_source"]
                body = source
                if source.get("live"):
                    live += 1
                    body = _document(_entry_from(source))
                yield {
                    "_index": generation,
                    "_id": doc["_id"],
                    "_version": int(doc["_version"]),
                    "_version_type": "external",
                    "_source": body,
                }

        self._bulk_actions(generation, actions())
        return live

    # -- reading ----------------------------------------------------------------------------

    def get(self, link_id: str) -> EvidenceEntry | None:
        try:
            found = self._client.get(index=self._alias, id=link_id)
        except NotFoundError:
            return None
        source = found["_source"]
        return _entry_from(source) if source.get("live") else None

    def count(self) -> int:
        result = self._client.count(index=self._alias, body={"query": {"term": {"live": True}}})
        return int(result["count"])

    def search(self, query: SearchQuery) -> SearchResult:
        parsed = parse_text(query.text)
        by_relevance = query.sort is SortOrder.RELEVANCE and not parsed.empty
        body: dict[str, Any] = {
            "query": _query(query, parsed),
            "size": query.page_size + 1,
            "track_total_hits": True,
            # The cluster stops collecting at the deadline and says so in `timed_out`.
            "timeout": f"{int(self._limits.deadline_seconds * MS_PER_SECOND)}ms",
        }
        if not parsed.empty:
            # Keep scores when sorting by date too, so `exact` means the same on both sorts.
            body["track_scores"] = True
        tag = CURSOR_RELEVANCE if by_relevance else CURSOR_DATE
        if by_relevance:
            body["sort"] = [{"_score": {"order": "desc"}}, {"link_id": {"order": "asc"}}]
        else:
            body["sort"] = [
                {"issued_on": {"order": "desc", "missing": "_last"}},
                {"link_id": {"order": "asc"}},
            ]
        offset = (query.page - 1) * query.page_size if query.page is not None else 0
        if query.cursor is not None and by_relevance:
            (offset,) = decode_cursor(query.cursor, tag, (INT,))
            if not 0 <= offset <= MAX_PAGE * MAX_PAGE_SIZE:
                raise IndexerError(IndexerErrorCode.INVALID_CURSOR, "offset out of range")
        elif query.cursor is not None:
            body["search_after"] = decode_cursor(query.cursor, tag, _DATE_KEY)
        if offset:
            body["from"] = int(offset)
        if query.facets:
            body["aggs"] = _aggregations(query.facets)
        try:
            response = self._client.search(
                index=self._alias, body=body, request_timeout=self._limits.deadline_seconds * 2
            )
        except ConnectionTimeout as exc:
            raise IndexerError(IndexerErrorCode.QUERY_TIMEOUT, "the search took too long") from exc
        except OpenSearchException as exc:
            raise IndexerError(IndexerErrorCode.BACKEND_FAILURE, str(exc)) from exc
        if response.get("timed_out"):
            raise IndexerError(IndexerErrorCode.QUERY_TIMEOUT, "the search took too long")
        raw_hits = response["hits"]["hits"]
        has_more = len(raw_hits) > query.page_size
        raw_hits = raw_hits[: query.page_size]
        hits = tuple(_hit(h, parsed, any_diacritics(parsed)) for h in raw_hits)
        next_cursor = None
        if has_more and raw_hits:
            after = [int(offset) + len(raw_hits)] if by_relevance else list(raw_hits[-1]["sort"])
            next_cursor = encode_cursor(tag, after)
        return SearchResult(
            hits=hits,
            total=int(response["hits"]["total"]["value"]),
            facets=_facets(response.get("aggregations", {}), query.facets),
            next_cursor=next_cursor,
        )

    def close(self) -> None:
        self._client.close()


def _clause(words: tuple[str, ...], folded: bool) -> dict[str, Any]:
    """One term or phrase matching any of the text fields."""
    suffix = ".folded" if folded else ""
    kind = "match_phrase" if len(words) > 1 else "match"
    text = " ".join(words)
    return {
        "bool": {
            "should": [
                {kind: {f"{field}{suffix}": {"query": text, "boost": boost}}}
                for field, boost in FIELD_BOOSTS.items()
            ],
            "minimum_should_match": 1,
        }
    }


def _query(query: SearchQuery, parsed: ParsedText) -> dict[str, Any]:
    filters: list[dict[str, Any]] = [{"term": {"live": True}}]
    if query.unit_ids:
        filters.append({"terms": {"unit_id": sorted(query.unit_ids)}})
    if query.level is not None:
        filters.append({"term": {"level": query.level}})
    if query.year is not None:
        filters.append({"term": {"year": query.year}})
    if query.decision is not None:
        filters.append({"term": {"decision": query.decision.value}})
    if query.criterion is not None:
        filters.append({"term": {"criterion_path": query.criterion}})
    if query.reason is not None:
        filters.append({"term": {"reasons": query.reason}})
    if query.number_prefix:
        filters.append({"prefix": {"number_key": fold(query.number_prefix.strip())}})
    boolean: dict[str, Any] = {"filter": filters}
    if not parsed.empty:
        boolean["must"] = [_clause(words, folded=True) for words in parsed.folded]
        if any_diacritics(parsed):
            exact = {"bool": {"must": [_clause(words, folded=False) for words in parsed.exact]}}
            boolean["should"] = [{"constant_score": {"filter": exact, "boost": EXACT_BOOST}}]
    return {"bool": boolean}


_SIGNALS = frozenset(code.value for code in REGISTER_CODES)


def _aggregations(facets: frozenset[Facet]) -> dict[str, Any]:
    fields = {
        Facet.CRITERION: "criterion_code",
        Facet.DECISION: "decision",
        Facet.UNIT: "unit_id",
        Facet.YEAR: "year",
        Facet.SIGNAL: "reasons",  # every reason; _facets keeps the register's
    }
    aggs: dict[str, Any] = {}
    for facet in facets:
        aggs[facet.value] = {"terms": {"field": fields[facet], "size": FACET_SIZE}}
        if facet is Facet.UNIT:
            aggs[facet.value]["aggs"] = {"name": {"terms": {"field": "unit_name", "size": 1}}}
    return aggs


def _facets(
    aggregations: Mapping[str, Any], wanted: frozenset[Facet]
) -> dict[Facet, tuple[FacetBucket, ...]]:
    out: dict[Facet, tuple[FacetBucket, ...]] = {}
    for facet in wanted:
        raw = aggregations.get(facet.value, {}).get("buckets", [])
        counts = {str(b["key"]): int(b["doc_count"]) for b in raw}
        if facet is Facet.SIGNAL:
            counts = {k: n for k, n in counts.items() if k in _SIGNALS}
        labels = {
            str(b["key"]): str(b["name"]["buckets"][0]["key"])
            for b in raw
            if b.get("name", {}).get("buckets")
        }
        out[facet] = buckets(counts, labels if facet is Facet.UNIT else None)
    return out


def _hit(raw: Mapping[str, Any], parsed: ParsedText, tiers: bool) -> Hit:
    entry = _entry_from(raw["_source"])
    score = raw.get("_score")
    numeric = float(score) if score is not None and not parsed.empty else None
    return Hit(
        entry=entry,
        title=title_snippet(entry.title, parsed),
        snippet=body_snippet(entry.text, parsed),
        score=numeric,
        exact=tiers and numeric is not None and numeric >= EXACT_BOOST,
    )


def _document(entry: EvidenceEntry) -> dict[str, Any]:
    extra = " ".join(
        p for p in (entry.number, entry.notation, entry.issuer, entry.signer, entry.unit_name) if p
    )
    return {
        "link_id": entry.link_id,
        "live": True,
        "version": entry.version,
        "unit_id": entry.unit_id,
        "unit_name": entry.unit_name,
        "level": entry.level,
        "year": entry.year,
        "criterion_code": entry.criterion_code,
        "criterion_path": list(ancestors(entry.criterion_code)),
        "decision": entry.decision.value,
        "reasons": list(entry.reasons),
        "number": entry.number,
        "number_key": fold(entry.number) if entry.number else None,
        "notation": entry.notation,
        "issuer": entry.issuer,
        "issued_on": entry.issued_on.isoformat() if entry.issued_on else None,
        "signer": entry.signer,
        "link": entry.link,
        "verified_at": entry.verified_at.isoformat(),
        "title": nfc(entry.title),
        "text": nfc(entry.text),
        "extra": lower_exact(extra),
    }


def _entry_from(source: Mapping[str, Any]) -> EvidenceEntry:
    issued = source.get("issued_on")
    return EvidenceEntry(
        link_id=str(source["link_id"]),
        unit_id=str(source["unit_id"]),
        unit_name=str(source["unit_name"]),
        level=str(source["level"]),
        year=int(source["year"]),
        criterion_code=str(source["criterion_code"]),
        decision=Decision(source["decision"]),
        reasons=tuple(source.get("reasons") or ()),
        number=source.get("number"),
        notation=source.get("notation"),
        issuer=source.get("issuer"),
        issued_on=date.fromisoformat(issued) if issued else None,
        title=str(source["title"]),
        signer=source.get("signer"),
        link=str(source["link"]),
        text=str(source.get("text") or ""),
        verified_at=datetime.fromisoformat(source["verified_at"]),
        version=int(source["version"]),
    )
