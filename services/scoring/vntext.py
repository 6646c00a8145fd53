"""Vietnamese text as provinces' tables hold it: folding for matching; legacy encodings are
recognised by criteria/encoding.py, shared with the criteria appendix import.

`fold` makes headings and unit names comparable whatever their diacritics, case, spacing, line
breaks and punctuation ("Mã ĐV" and "ma dv", "Điểm HĐTĐ\\nthẩm định" and "diem hdtd tham dinh");
dots inside criterion codes ("1.1.2") are kept.
"""

from __future__ import annotations

import re
import unicodedata

from criteria.encoding import LegacyEncoding, legacy_bytes, legacy_encoding

_NOT_WORD = re.compile(r"[^a-z0-9.]+")
_PARENTHESES = re.compile(r"\([^()]*\)")
_EDGE_DOTS = re.compile(r"^\.+|\.+$")


def strip_marks(value: str) -> str:
    decomposed = unicodedata.normalize("NFD", value.replace("đ", "d").replace("Đ", "D"))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def fold(value: str, *, drop_parentheses: bool = False) -> str:
    """Lower case, no diacritics, words separated by one space, punctuation dropped; dots kept
    inside a word (criterion codes) and dropped at its ends ("I." → "i")."""
    if drop_parentheses:
        value = _PARENTHESES.sub(" ", value)
    words = _NOT_WORD.sub(" ", strip_marks(value).lower()).split()
    return " ".join(w for w in (_EDGE_DOTS.sub("", word) for word in words) if w)


__all__ = ["LegacyEncoding", "fold", "legacy_bytes", "legacy_encoding", "strip_marks"]
