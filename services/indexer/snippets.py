"""Match spans and snippets, computed in the app from the folded query.

Both backends use this, so an appraiser sees the same highlights whichever index answers. FTS5
highlight() on the folded column would return text without diacritics, and osmem's highlighter
cuts tags at fragment borders; `fold` keeps offsets aligned, so spans found on folded text
mark the original letters.
"""

from __future__ import annotations

import re
from functools import lru_cache

from services.indexer.folding import fold, nfc
from services.indexer.model import Snippet
from services.indexer.textquery import ParsedText

SNIPPET_CHARS = 240
# How much context to show before the first match.
LEAD_CHARS = 60
ELLIPSIS = "…"
_SPACE_RE = re.compile(r"\s+")
_PATTERN_CACHE_SIZE = 1024
# Token edges matching folding.TOKEN_RE ([^\W_]+): no letter or digit just outside the match.
_TOKEN_START = r"(?<![^\W_])"
_TOKEN_END = r"(?![^\W_])"
_BETWEEN_TOKENS = r"[\W_]+"


def match_spans(text: str, parsed: ParsedText) -> tuple[tuple[int, int], ...]:
    """Spans of `text` (NFC) whose folded words equal a query term or a run of phrase words."""
    if parsed.empty:
        return ()
    folded = fold(text)
    spans: set[tuple[int, int]] = set()
    for clause in parsed.folded:
        if not clause:
            continue
        for match in _clause_pattern(clause).finditer(folded):
            spans.update(match.span(group) for group in range(1, len(clause) + 1))
    return tuple(sorted(spans))


@lru_cache(maxsize=_PATTERN_CACHE_SIZE)
def _clause_pattern(clause: tuple[str, ...]) -> re.Pattern[str]:
    """Whole tokens in sequence, as TOKEN_RE splits them: letters/digits between non-letters."""
    words = _BETWEEN_TOKENS.join(f"({re.escape(word)})" for word in clause)
    return re.compile(_TOKEN_START + words + _TOKEN_END)


def title_snippet(title: str, parsed: ParsedText) -> Snippet:
    text = nfc(title)
    return Snippet(text, match_spans(text, parsed))


def body_snippet(body: str, parsed: ParsedText, size: int = SNIPPET_CHARS) -> Snippet:
    """A window of about `size` characters around the first match, cut at word borders."""
    text = _SPACE_RE.sub(" ", nfc(body)).strip()
    spans = match_spans(text, parsed)
    if len(text) <= size:
        return Snippet(text, spans)
    start = max(0, spans[0][0] - LEAD_CHARS) if spans else 0
    if start > 0:
        space = text.find(" ", start)
        start = space + 1 if 0 <= space < (spans[0][0] if spans else len(text)) else start
    end = min(len(text), start + size)
    if end < len(text):
        space = text.rfind(" ", start, end)
        end = space if space > start else end
    prefix = ELLIPSIS if start > 0 else ""
    suffix = ELLIPSIS if end < len(text) else ""
    shift = len(prefix) - start
    kept = tuple((s + shift, e + shift) for s, e in spans if s >= start and e <= end)
    return Snippet(prefix + text[start:end] + suffix, kept)
