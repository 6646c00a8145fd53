"""Parsing the free-text part of a query into terms and "quoted phrases"."""

from __future__ import annotations

from dataclasses import dataclass

from services.indexer.folding import fold, has_diacritics, lower_exact, tokens

QUOTE = '"'


@dataclass(frozen=True)
class ParsedText:
    """Each clause is a tuple of words: one word is a term, several a phrase; all must match."""

    exact: tuple[tuple[str, ...], ...]
    folded: tuple[tuple[str, ...], ...]

    @property
    def empty(self) -> bool:
        return not self.folded


def parse_text(text: str) -> ParsedText:
    """Split on double quotes: odd segments are phrases; an unclosed quote runs to the end."""
    exact: list[tuple[str, ...]] = []
    for index, segment in enumerate(text.split(QUOTE)):
        words = tokens(lower_exact(segment))
        if not words:
            continue
        if index % 2 == 1:
            exact.append(tuple(words))
        else:
            exact.extend((w,) for w in words)
    unique = tuple(dict.fromkeys(exact))
    folded = tuple(dict.fromkeys(tuple(fold(w) for w in clause) for clause in unique))
    return ParsedText(exact=unique, folded=folded)


def any_diacritics(parsed: ParsedText) -> bool:
    return any(has_diacritics(w) for clause in parsed.exact for w in clause)
