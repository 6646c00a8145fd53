"""Vietnamese text encodings met in province files: Unicode, and the legacy font encodings.

Before Unicode (and still in many offices), Vietnamese was typed with 8-bit font encodings:
TCVN3/ABC (.VnTime fonts) and VNI (VNI-Times). Saved as .docx, .xlsx or CSV, such text is
stored as ordinary Latin-1 letters and symbols ("C«ng t¸c chØ ®¹o" is TCVN3 for "Công tác chỉ
đạo"; "Coâng taùc chæ ñaïo" is VNI), so it decodes without error and would be imported as
mojibake; Windows-1258 keeps tones as combining marks. `legacy_encoding` recognises them from
characters Vietnamese never uses; both importers (criteria appendices, and the province tables of
services/scoring) refuse such files with `legacy_encoding` (convert them to Unicode first, e.g.
with Unikey's converter) instead of guessing a conversion: that needs the font each cell was
typed in, which a CSV or a cell value does not carry.
"""

from __future__ import annotations

import codecs
import re
import unicodedata
from collections.abc import Iterable
from enum import StrEnum

UTF8_BOM = codecs.BOM_UTF8
UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


class LegacyEncoding(StrEnum):
    TCVN3 = "TCVN3 (ABC, .VnTime fonts)"
    VNI = "VNI (VNI-Times fonts)"
    WINDOWS_1258 = "Windows-1258"


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


class DecodeFailure(StrEnum):
    NOT_UTF8 = "not_utf8"
    LEGACY = "legacy"


def decode_text(data: bytes) -> tuple[str, None] | tuple[None, str]:
    """(text, None) for UTF-8 with or without BOM (or UTF-16 with a BOM, as Excel's "Unicode
    text" writes), else (None, why)."""
    if data.startswith(UTF8_BOM):
        data = data[len(UTF8_BOM) :]
    elif data.startswith(UTF16_BOMS):
        try:
            return data.decode("utf-16"), None
        except UnicodeDecodeError as exc:
            return None, f"{DecodeFailure.NOT_UTF8.value}: UTF-16 text is broken: {exc.reason}"
    try:
        return data.decode("utf-8"), None
    except UnicodeDecodeError as exc:
        guess = legacy_encoding([data.decode("latin-1")])
        if guess is not None:
            return None, f"{DecodeFailure.LEGACY.value}: {guess.value}"
        return None, (
            f"{DecodeFailure.NOT_UTF8.value}: byte {exc.start} is not UTF-8 "
            "(save the file as 'CSV UTF-8'; Windows-1258 and other code pages are not read)"
        )
