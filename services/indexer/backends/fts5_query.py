"""FTS5 MATCH expressions for a query: text clauses, metadata filters as tokens, ranking tiers.

Pure string building, no I/O. Filters (unit, level, year, criterion subtree, decision, reason)
are indexed as tokens in a `meta` column, so a filtered query is one MATCH that FTS5 answers
from its doclists, lazily and in rowid order, without visiting the metadata table per row.
Each token is a kind letter outside a-f followed by the hex of the UTF-8 value: only letters
and digits (one unicode61 token), never equal across kinds.

The folded words of a query match in any column, not only the folded ones: a column filter
makes FTS5 read the position list of every candidate row, which doubled the cost of counting
a broad query (25 → 11.5 ms at 100,000 documents). Dropping it finds the same rows: a token
without diacritics in an exact column is the same token at the same place in its folded
twin, and the words of a query that could be a filter token keep the filter.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from services.indexer.criteria_codes import ancestors
from services.indexer.model import SearchQuery
from services.indexer.textquery import ParsedText, any_diacritics

EXACT_COLUMNS = "{title body extra}"
FOLDED_COLUMNS = "{title_f body_f extra_f}"
META_COLUMN = "{meta}"

UNIT = "u"
LEVEL = "l"
YEAR = "y"
CRITERION = "k"
DECISION = "v"
REASON = "r"
# Anything `meta_token` could produce (a kind letter, then pairs of hex digits).
_META_LIKE = re.compile(r"[ulkyvr](?:[0-9a-f]{2})+")


def meta_token(kind: str, value: str) -> str:
    return kind + value.encode().hex()


def meta_tokens(
    unit_id: str, level: str, year: int, criterion: str, decision: str, reasons: Iterable[str]
) -> str:
    """The `meta` column of one entry: a criterion carries its ancestors, so "1" finds 1.1.2."""
    tokens = [meta_token(UNIT, unit_id), meta_token(LEVEL, level), meta_token(YEAR, str(year))]
    tokens += [meta_token(CRITERION, code) for code in ancestors(criterion)]
    tokens.append(meta_token(DECISION, decision))
    tokens += [meta_token(REASON, r) for r in reasons]
    return " ".join(tokens)


def clauses_expression(columns: str | None, clauses: tuple[tuple[str, ...], ...]) -> str:
    """All clauses, in `columns` (in any column when None)."""
    # Tokens are letters and digits only, so quoting them cannot break the FTS5 syntax.
    quoted = ['"' + " ".join(clause) + '"' for clause in clauses]
    inner = "(" + " AND ".join(quoted) + ")"
    return inner if columns is None else f"{columns} : {inner}"


def folded_expression(clauses: tuple[tuple[str, ...], ...]) -> str:
    """Folded clauses, with no column filter unless a word could be a filter token."""
    meta_like = any(_META_LIKE.fullmatch(word) for clause in clauses for word in clause)
    return clauses_expression(FOLDED_COLUMNS if meta_like else None, clauses)


def _any_of(tokens: Iterable[str]) -> str:
    return f"{META_COLUMN} : (" + " OR ".join(f'"{t}"' for t in tokens) + ")"


def filter_expressions(query: SearchQuery) -> list[str]:
    """The query's metadata filters as MATCH sub-expressions (number prefix is not one)."""
    out: list[str] = []
    if query.unit_ids:
        out.append(_any_of(meta_token(UNIT, u) for u in sorted(query.unit_ids)))
    if query.level is not None:
        out.append(_any_of([meta_token(LEVEL, query.level)]))
    if query.year is not None:
        out.append(_any_of([meta_token(YEAR, str(query.year))]))
    if query.criterion is not None:
        out.append(_any_of([meta_token(CRITERION, query.criterion)]))
    if query.decision is not None:
        out.append(_any_of([meta_token(DECISION, query.decision.value)]))
    if query.reason is not None:
        out.append(_any_of([meta_token(REASON, query.reason)]))
    return out


def with_reason(expression: str | None, reason: str) -> str:
    """`expression` (None: every row) restricted to rows carrying `reason`."""
    token = _any_of([meta_token(REASON, reason)])
    return token if expression is None else _all([expression, token])


def _all(parts: Iterable[str]) -> str:
    return " AND ".join(f"({p})" for p in parts)


@dataclass(frozen=True)
class Tier:
    """One band of the cheap ranking: rows of `expression`, newest first."""

    expression: str
    exact: bool


@dataclass(frozen=True)
class MatchPlan:
    """`base` selects every matching row; None when the query has neither text nor filters.

    `filtered`: `base` carries metadata filter tokens (bm25 would read their whole doclists).
    """

    base: str | None
    exact: str | None
    filtered: bool = False

    def tiers(self) -> tuple[Tier, ...]:
        """Exact before folded-only; every matching row is in exactly one tier.

        A title-match tier was measured and dropped: a column-filtered MATCH must read the
        positions of every row holding the words, ~30 ms at 100,000 documents even when the
        tier is empty, while these two tiers stop after the rows of one page.
        """
        if self.base is None:
            return ()
        if self.exact is None:
            return (Tier(self.base, exact=False),)
        return (
            Tier(_all([self.base, self.exact]), exact=True),
            Tier(f"({self.base}) NOT ({self.exact})", exact=False),
        )

    def with_exact(self) -> str | None:
        if self.base is None or self.exact is None:
            return None
        return _all([self.base, self.exact])


def match_plan(query: SearchQuery, parsed: ParsedText) -> MatchPlan:
    parts = filter_expressions(query)
    filtered = bool(parts)
    if parsed.empty:
        return MatchPlan(base=_all(parts) if parts else None, exact=None, filtered=filtered)
    base = _all([folded_expression(parsed.folded), *parts])
    exact = clauses_expression(EXACT_COLUMNS, parsed.exact) if any_diacritics(parsed) else None
    return MatchPlan(base=base, exact=exact, filtered=filtered)
