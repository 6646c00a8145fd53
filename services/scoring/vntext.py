"""Vietnamese text as provinces' tables hold it: folding for matching, and legacy encodings.

`fold` makes headings and unit names comparable whatever their diacritics, case, spacing, line
breaks and punctuation ("Mã ĐV" and "ma dv", "Điểm HĐTĐ\\nthẩm định" and "diem hdtd tham dinh");
dots inside criterion codes ("1.1.2") are kept.

Before Unicode, Vietnamese offices typed with TCVN3 (ABC, the ".Vn" fonts) or VNI fonts, and
Windows-1258 decomposes tones into combining marks. A table kept in such a font reads as
Latin-1 noise ("M· ®¬n vÞ" for "Mã đơn vị" in TCVN3, "Maõ ñôn vò" in VNI). Converting those
reliably needs the font each cell was typed in, which a CSV or a cell value does not carry, so
such text is recognised and refused with the encoding named (convert it to Unicode with the
office's converter, e.g. Unikey's, then import again).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from enum import StrEnum

_NOT_WORD = re.compile(r"[^a-z0-9.]+")
_PARENTHESES = re.compile(r"\([^()]*\)")
_EDGE_DOTS = re.compile(r"^\.+|\.+$")

# Characters that Unicode Vietnamese has and Latin-1 does not: their presence means the text is
# Unicode Vietnamese, whatever else it holds.
_UNICODE_VIETNAMESE = re.compile("[ăĂđĐơƠưƯ\u1ea0-\u1ef9]")
# TCVN3 (ABC) maps Vietnamese letters to Latin-1 symbols that ordinary text never holds together
# with letters: ® đ, § Đ, ¬ ơ, ­ ư, ¨ ă, © â, ª ê, « ô, · ã, ¸ á, ¹ ạ, µ à, Þ ị, Ó ể, æ ổ, é ộ ...
_TCVN3_MARKS = frozenset("®§¬\u00ad¨©ª«µ¶·¸¹»¼½¾ÆÇÈÉÊËÌÎÏÐÑÒÓÔÕÖ×ØÜÝÞßãäåæçèéêëìíîïñòóôõö÷øùúûüýþ")
_TCVN3_STRONG = frozenset("®§¬\u00ad¨©ª«µ¸¹Þ")
# VNI writes a base letter followed by a tone or shape character: "Maõ ñôn vò" (Mã đơn vị). Only
# the characters Vietnamese itself never uses count (ñ đ, ö ư, æ ỉ, ï ạ, ø ờ, û ả, å ẩ, ë ặ, ä ậ ...):
# "ê", "ô", "ù", "õ" are Vietnamese letters too.
_VNI_MARKS = frozenset("ñÑöÖæÆïÏøØûÛåÅëËîÎäÄüÜ")
# Windows-1258 keeps tones as combining marks after the letter.
_COMBINING_TONE = re.compile("[\u0300\u0301\u0303\u0309\u0323]")
_MIN_LEGACY_HITS = 2


class LegacyEncoding(StrEnum):
    TCVN3 = "TCVN3 (ABC)"
    VNI = "VNI"
    WINDOWS_1258 = "Windows-1258"


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


def legacy_encoding(texts: Iterable[str]) -> LegacyEncoding | None:
    """The legacy encoding these texts look typed in, or None when they read as Unicode (or as
    plain ASCII, which every encoding shares). Each text is judged alone: a title retyped in
    Unicode above a table pasted from a TCVN3 file does not hide the table."""
    tcvn3 = strong = vni = combining = 0
    for value in texts:
        if _UNICODE_VIETNAMESE.search(value):
            continue  # this text is Unicode; a table pasted from an old file beside it still counts
        tcvn3 += sum(1 for ch in value if ch in _TCVN3_MARKS)
        strong += sum(1 for ch in value if ch in _TCVN3_STRONG)
        vni += sum(1 for ch in value if ch in _VNI_MARKS)
        combining += len(_COMBINING_TONE.findall(unicodedata.normalize("NFC", value)))
    if strong >= _MIN_LEGACY_HITS and tcvn3 >= vni:
        return LegacyEncoding.TCVN3
    if vni >= _MIN_LEGACY_HITS:
        return LegacyEncoding.VNI
    if combining >= _MIN_LEGACY_HITS:
        return LegacyEncoding.WINDOWS_1258
    return None


def legacy_bytes(data: bytes) -> LegacyEncoding:
    """Which legacy encoding bytes that are not UTF-8 most likely are: TCVN3 or VNI when their
    symbols stand out, else Windows-1258 (the code page Windows itself offers)."""
    as_latin = data.decode("latin-1")
    if sum(1 for ch in as_latin if ch in _TCVN3_STRONG) >= _MIN_LEGACY_HITS:
        return LegacyEncoding.TCVN3
    as_1258 = unicodedata.normalize("NFC", data.decode("cp1258", errors="replace"))
    if len(_UNICODE_VIETNAMESE.findall(as_1258)) >= _MIN_LEGACY_HITS:
        return LegacyEncoding.WINDOWS_1258
    return legacy_encoding([as_latin]) or LegacyEncoding.WINDOWS_1258
