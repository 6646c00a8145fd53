"""Vietnamese folding for search: case, diacritics and đ/Đ.

Unicode decomposes "ế" into "e" plus combining marks, but "đ" (U+0111) is a letter of its own,
so it is mapped to "d" explicitly. `fold` keeps one output character per input character of
NFC text, so offsets found in folded text point at the same characters of the original: the
snippet builder relies on that.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

_D_MAP = {"đ": "d", "Đ": "d"}
_FOLD_CACHE_SIZE = 4096
# A token is a run of letters or digits, as FTS5's unicode61 tokenizer and OpenSearch's
# standard tokenizer see Vietnamese syllables ("15/KH-UBND" is "15", "kh", "ubnd").
TOKEN_RE = re.compile(r"[^\W_]+")


def nfc(text: str) -> str:
    """Compose the text (NFC), so "ế" typed as e + two marks equals the precomposed letter."""
    return unicodedata.normalize("NFC", text)


@lru_cache(maxsize=_FOLD_CACHE_SIZE)
def fold_char(char: str) -> str:
    """Fold one character to exactly one character: lowercase, no marks, đ → d."""
    if char in _D_MAP:
        return _D_MAP[char]
    lowered = char.lower()
    stripped = "".join(c for c in unicodedata.normalize("NFD", lowered) if not unicodedata.combining(c))
    if len(stripped) == 1:
        return stripped
    # Lowercasing a few letters (e.g. "İ") yields several characters; keep offsets aligned.
    return lowered if len(lowered) == 1 else char


class _FoldTable(dict[int, str]):
    """A `str.translate` table filled on first sight of each code point (C-speed afterwards)."""

    def __missing__(self, code: int) -> str:
        folded = fold_char(chr(code))
        self[code] = folded
        return folded


_TABLE = _FoldTable()


def fold(text: str) -> str:
    """NFC, lowercase, strip diacritics, đ → d; len(fold(t)) == len(nfc(t))."""
    return nfc(text).translate(_TABLE)


def lower_exact(text: str) -> str:
    """The exact form used for diacritic-sensitive matching: NFC and lowercase, marks kept."""
    return nfc(text).lower()


def tokens(text: str) -> list[str]:
    """The words of a text, in order (no normalisation)."""
    return TOKEN_RE.findall(text)


def has_diacritics(text: str) -> bool:
    """True when folding changes more than case: the text can tell "thể" from "thế"."""
    return fold(text) != lower_exact(text)
