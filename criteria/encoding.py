"""Vietnamese text encodings met in province files: Unicode, and the legacy font encodings.

Before Unicode (and still in many offices), Vietnamese was typed with 8-bit font encodings:
TCVN3/ABC (.VnTime fonts) and VNI (VNI-Times). Saved as .docx, .xlsx or CSV, such text is
stored as ordinary Latin-1 letters and symbols ("C«ng t¸c chØ ®¹o" is TCVN3 for "Công tác chỉ
đạo"; "Coâng taùc chæ ñaïo" is VNI), so it decodes without error and would be imported as
mojibake. `legacy_encoding` recognises both from characters Vietnamese never uses; the importer
refuses such files with `legacy_encoding` (convert them to Unicode first, e.g. with Unikey's
converter) instead of guessing a conversion.
"""

from __future__ import annotations

import codecs
from enum import StrEnum

UTF8_BOM = codecs.BOM_UTF8
UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


class LegacyEncoding(StrEnum):
    TCVN3 = "TCVN3 (ABC, .VnTime fonts)"
    VNI = "VNI (VNI-Times fonts)"


# TCVN3 writes ă â ê ô ơ ư đ and many toned vowels as Latin-1 symbols (0xA1-0xBF, ...).
_TCVN3_MARKS = frozenset("¡¢£¤¥¦§¨©ª«¬®¯°±²³´µ¶·¸¹º»¼½¾")
# VNI writes đ as "ñ", ư as "ö", tone marks as the letters after the vowel ("aù", "eà", "chæ").
_VNI_MARKS = frozenset("ñöæïøûåëîÑÖÆÏØÛÅËÎ")
# Letters a Vietnamese text in Unicode uses beyond ASCII (precomposed, NFC).
_VIETNAMESE_RANGES = ((0x1EA0, 0x1EF9),)
_VIETNAMESE_EXTRA = frozenset("àáâãèéêìíòóôõùúýăđĩũơưÀÁÂÃÈÉÊÌÍÒÓÔÕÙÚÝĂĐĨŨƠƯ")
# At least this many marks, and more marks than Vietnamese letters, before a text is refused.
MIN_LEGACY_MARKS = 3


def _is_vietnamese_letter(char: str) -> bool:
    code = ord(char)
    return char in _VIETNAMESE_EXTRA or any(low <= code <= high for low, high in _VIETNAMESE_RANGES)


def legacy_encoding(text: str) -> LegacyEncoding | None:
    """The legacy font encoding `text` is written in, or None for Unicode (or plain ASCII)."""
    tcvn3 = vni = vietnamese = 0
    for char in text:
        if char in _TCVN3_MARKS:
            tcvn3 += 1
        if char in _VNI_MARKS:
            vni += 1
        if _is_vietnamese_letter(char):
            vietnamese += 1
    # VNI shares "â ê ô ù ..." with Unicode, so they count as Vietnamese letters; its own marks
    # (ñ, ö, æ, ï, ø, û) never occur in Vietnamese.
    if max(tcvn3, vni) < MIN_LEGACY_MARKS:
        return None
    if tcvn3 >= vni and tcvn3 > vietnamese:
        return LegacyEncoding.TCVN3
    if vni > tcvn3 and vni * 2 > vietnamese:
        return LegacyEncoding.VNI
    return None


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
        guess = legacy_encoding(data.decode("latin-1"))
        if guess is not None:
            return None, f"{DecodeFailure.LEGACY.value}: {guess.value}"
        return None, (
            f"{DecodeFailure.NOT_UTF8.value}: byte {exc.start} is not UTF-8 "
            "(save the file as 'CSV UTF-8'; Windows-1258 and other code pages are not read)"
        )
