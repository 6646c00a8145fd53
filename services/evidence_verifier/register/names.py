"""Organisation names as they are compared: a seal certificate's O/CN against a unit's names.

Certificates and e-office systems spell the same body differently ("UBND xã Bộc Nhiêu",
"Ủy ban nhân dân xã Bộc Nhiêu", "Uỷ ban …" with the old tone placement), so names are folded to
lower-case ASCII with the usual abbreviations expanded before they are compared.
"""

from __future__ import annotations

import re
import unicodedata

# Abbreviations of Vietnamese administrative bodies, expanded after folding.
_ABBREVIATIONS: tuple[tuple[str, str], ...] = (
    (r"\bubnd\b", "uy ban nhan dan"),
    (r"\bhdnd\b", "hoi dong nhan dan"),
    (r"\btp\.?\s", "thanh pho "),
    (r"\bq\.\s", "quan "),
)
_NOT_WORD = re.compile(r"[^0-9a-z]+")


def fold(name: str) -> str:
    """Lower-case ASCII, diacritics and punctuation removed, abbreviations expanded."""
    decomposed = unicodedata.normalize("NFD", name.replace("Đ", "D").replace("đ", "d"))
    ascii_only = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).lower()
    for pattern, expansion in _ABBREVIATIONS:
        ascii_only = re.sub(pattern, expansion, ascii_only)
    return _NOT_WORD.sub(" ", ascii_only).strip()


def field_of(criterion_code: str) -> str:
    """The field (lĩnh vực) a criterion belongs to: the first component of its code."""
    return criterion_code.split(".", 1)[0]
