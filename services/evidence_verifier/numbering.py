"""Document number ("Số: 15/KH-UBND") and issue date ("..., ngày 12 tháng 3 năm 2024") rules.

Pure functions over page text. Seed 002: a number with a letter suffix ("15a/KH-UBND") marks a
document slipped into the sequence later and scores 0.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date

from contracts.vocabulary import ReasonCode

# "Số: 15/KH-UBND", "Số 119/2018/NĐ-CP", "Số: 15a/KH-UBND", "Số: 15 /KH-UBND" (OCR spacing)
_NUMBER = re.compile(
    r"S[ốô]\s*:?\s*(?P<seq>\d{1,6})\s*(?P<suffix>[a-zA-Zđ]{0,2})\s*/\s*(?P<notation>[0-9A-ZĐa-zđ][0-9A-ZĐa-zđ\-/.&]*)",
)
_DATE = re.compile(
    r"ngày\s+(?P<day>\d{1,2})\s*(?:tháng|/)\s*(?P<month>\d{1,2})\s*(?:năm|/)\s*(?P<year>\d{4})",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class DocumentNumber:
    sequence: int
    suffix: str  # "" for a plain number
    notation: str  # "KH-UBND"

    @property
    def text(self) -> str:
        return f"{self.sequence}{self.suffix}/{self.notation}"

    @property
    def lettered(self) -> bool:
        return bool(self.suffix)


def normalise(text: str) -> str:
    """NFC, no whitespace, upper case: the form numbers are compared in."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFC", text)).upper()


def find_number(text: str) -> DocumentNumber | None:
    match = _NUMBER.search(unicodedata.normalize("NFC", text))
    if match is None:
        return None
    notation = match["notation"].rstrip(".-/")
    return DocumentNumber(int(match["seq"]), match["suffix"], notation)


def parse_number(reported: str) -> DocumentNumber | None:
    """Parse a number as e-office reports it ("15/KH-UBND", without "Số:")."""
    return find_number(f"Số: {reported}")


def find_issue_date(text: str) -> date | None:
    for match in _DATE.finditer(unicodedata.normalize("NFC", text)):
        try:
            return date(int(match["year"]), int(match["month"]), int(match["day"]))
        except ValueError:
            continue
    return None


def number_reasons(found: DocumentNumber | None, reported: str | None) -> list[ReasonCode]:
    if found is None:
        return [ReasonCode.NUMBER_NOT_FOUND]
    reasons = []
    if found.lettered:
        reasons.append(ReasonCode.LETTERED_NUMBER)
    if reported is not None and normalise(found.text) != normalise(reported):
        reasons.append(ReasonCode.NUMBER_MISMATCH)
    return reasons


def date_reasons(issued_on: date | None, scored_year: int | None) -> list[ReasonCode]:
    if scored_year is None or issued_on is None:
        # a missing date is not itself a defect of the evidence rules; the number check already
        # flags a first page that cannot be read
        return []
    return [] if issued_on.year == scored_year else [ReasonCode.DATE_OUTSIDE_YEAR]
