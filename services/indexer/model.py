"""The index's document and query model: frozen values, no I/O."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum

from contracts.vocabulary import Decision as Decision
from services.indexer.criteria_codes import is_valid_code
from services.indexer.errors import IndexerError, IndexerErrorCode
from services.indexer.limits import (
    MAX_CURSOR_CHARS,
    MAX_NUMBER_PREFIX_CHARS,
    MAX_PAGE,
    MAX_QUERY_CHARS,
    MAX_QUERY_PHRASES,
    MAX_QUERY_TERMS,
)
from services.indexer.textquery import parse_text

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 200
HIGHLIGHT_START = "["
HIGHLIGHT_END = "]"


class Facet(StrEnum):
    CRITERION = "criterion"
    DECISION = "decision"
    UNIT = "unit"
    YEAR = "year"
    # The evidence register's cross-document checks (contracts.vocabulary.REGISTER_CODES) a match
    # carries; one entry may count under several.
    SIGNAL = "signal"


class SortOrder(StrEnum):
    RELEVANCE = "relevance"
    DATE = "date"


@dataclass(frozen=True)
class EvidenceEntry:
    """One linked document as the appraisers search it; `version` orders updates per link."""

    link_id: str
    unit_id: str
    unit_name: str
    level: str
    year: int
    criterion_code: str
    decision: Decision
    reasons: tuple[str, ...]
    number: str | None
    notation: str | None
    issuer: str | None
    issued_on: date | None
    title: str
    signer: str | None
    link: str
    text: str
    verified_at: datetime
    version: int

    def __post_init__(self) -> None:
        if not self.link_id:
            raise IndexerError(IndexerErrorCode.INVALID_ENTRY, "empty link_id")
        if not is_valid_code(self.criterion_code):
            raise IndexerError(IndexerErrorCode.INVALID_ENTRY, f"criterion code {self.criterion_code!r}")


@dataclass(frozen=True)
class SearchQuery:
    """What an appraiser asks for.

    `text`: words must all occur (folded: "ke hoach" finds "Kế hoạch"); "double quotes" make a
    phrase. `number_prefix` matches the start of the document number ("15/KH" finds
    "15/KH-UBND", case and đ folded). `criterion` selects a subtree ("1" matches 1, 1.1, 1.1.2,
    not 10.1). Paginate with `cursor` (from the previous result's `next_cursor`, stable under
    ties) or with a 1-based `page`, not both.
    """

    text: str = ""
    number_prefix: str | None = None
    unit_ids: frozenset[str] = frozenset()
    level: str | None = None
    year: int | None = None
    criterion: str | None = None
    decision: Decision | None = None
    reason: str | None = None
    facets: frozenset[Facet] = frozenset()
    sort: SortOrder = SortOrder.RELEVANCE
    page_size: int = DEFAULT_PAGE_SIZE
    cursor: str | None = None
    page: int | None = None

    def __post_init__(self) -> None:
        if not 1 <= self.page_size <= MAX_PAGE_SIZE:
            raise IndexerError(IndexerErrorCode.INVALID_QUERY, f"page_size must be 1..{MAX_PAGE_SIZE}")
        if self.cursor is not None and self.page is not None:
            raise IndexerError(IndexerErrorCode.INVALID_QUERY, "use cursor or page, not both")
        if self.page is not None and not 1 <= self.page <= MAX_PAGE:
            raise IndexerError(IndexerErrorCode.INVALID_QUERY, f"page must be 1..{MAX_PAGE}")
        if self.cursor is not None and len(self.cursor) > MAX_CURSOR_CHARS:
            raise IndexerError(IndexerErrorCode.INVALID_CURSOR, "cursor too long")
        self._check_size()
        if self.criterion is not None and not is_valid_code(self.criterion):
            raise IndexerError(IndexerErrorCode.INVALID_QUERY, f"criterion code {self.criterion!r}")

    def _check_size(self) -> None:
        if len(self.text) > MAX_QUERY_CHARS:
            raise IndexerError(
                IndexerErrorCode.QUERY_TOO_LARGE, f"q longer than {MAX_QUERY_CHARS} characters"
            )
        if self.number_prefix is not None and len(self.number_prefix) > MAX_NUMBER_PREFIX_CHARS:
            raise IndexerError(
                IndexerErrorCode.QUERY_TOO_LARGE, f"number longer than {MAX_NUMBER_PREFIX_CHARS} characters"
            )
        clauses = parse_text(self.text).exact
        if len(clauses) > MAX_QUERY_TERMS:
            raise IndexerError(IndexerErrorCode.QUERY_TOO_LARGE, f"more than {MAX_QUERY_TERMS} terms")
        if sum(1 for clause in clauses if len(clause) > 1) > MAX_QUERY_PHRASES:
            raise IndexerError(IndexerErrorCode.QUERY_TOO_LARGE, f"more than {MAX_QUERY_PHRASES} phrases")


@dataclass(frozen=True)
class Snippet:
    """A piece of text with the [start, end) character spans that matched the query."""

    text: str
    spans: tuple[tuple[int, int], ...] = ()

    def marked(self, start: str = HIGHLIGHT_START, end: str = HIGHLIGHT_END) -> str:
        out: list[str] = []
        pos = 0
        for s, e in self.spans:
            out += [self.text[pos:s], start, self.text[s:e], end]
            pos = e
        out.append(self.text[pos:])
        return "".join(out)

    def matched(self) -> tuple[str, ...]:
        return tuple(self.text[s:e] for s, e in self.spans)


@dataclass(frozen=True)
class Hit:
    entry: EvidenceEntry
    title: Snippet
    snippet: Snippet
    # Higher is better; backends differ in scale. None when sorted by date without text.
    score: float | None
    # The query's diacritics matched as typed ("thể" found "thể", not only "thế").
    exact: bool


@dataclass(frozen=True)
class FacetBucket:
    key: str
    count: int
    label: str | None = None


@dataclass(frozen=True)
class SearchResult:
    hits: tuple[Hit, ...]
    total: int
    facets: Mapping[Facet, tuple[FacetBucket, ...]] = field(default_factory=dict)
    next_cursor: str | None = None

    def facet_counts(self, facet: Facet) -> dict[str, int]:
        return {b.key: b.count for b in self.facets.get(facet, ())}
