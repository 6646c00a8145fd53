"""Organisation seal or person: what Vietnamese CAs put in a signer certificate's subject.

Pure functions over the subject's attributes; the conventions and their sources are in
docs/vn-certificates.md. In short:

- a personal identifier (CMND/CCCD/passport number, written "CMND:…", "CCCD:…", "HC:…" in the
  UID attribute 0.9.2342.19200300.100.1.1 or in serialNumber) marks a person's certificate, as do
  title, given name and surname;
- a tax code ("MST:…") or budget-relation code ("MNS:…", "MQHNS:…") without a personal identifier
  marks an organisation's certificate;
- without identifiers, a subject whose CN equals its O, or whose CN is an organisation's name
  (it starts with the type of body: "Sở", "Ủy ban nhân dân", "Cổng Thông tin điện tử", …) while
  an O is present, is the organisation's seal.
Anything else stays unknown: a person is never made an organisation by guesswork.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

# prefixes as VNPT, Viettel, FPT, BKAV and the Government CA write them (docs/vn-certificates.md)
PERSONAL_ID_PREFIXES = ("CMND", "CCCD", "CMT", "HC", "HO CHIEU", "PASSPORT", "DDCN")
ORGANISATION_ID_PREFIXES = ("MST", "MNS", "MQHNS", "MDV")
ID_SEPARATORS = (":", "-", " ")
# ASCII-folded first words of the names of Vietnamese public bodies and enterprises
ORGANISATION_NAME_STARTS = (  # not "vụ", "đoàn", "trường": surnames Vũ, Đoàn, Trương fold alike
    "uy ban nhan dan",
    "ubnd",
    "hoi dong nhan dan",
    "hdnd",
    "so ",
    "ban ",
    "bo ",
    "cuc ",
    "chi cuc",
    "tong cuc",
    "van phong",
    "thanh tra",
    "trung tam",
    "cong thong tin",
    "cong dich vu",
    "cong ty",
    "tong cong ty",
    "tap doan",
    "ngan hang",
    "kho bac",
    "toa an",
    "vien kiem sat",
    "vien ",
    "truong dai hoc",
    "truong cao dang",
    "truong trung hoc",
    "truong tieu hoc",
    "truong mam non",
    "truong thcs",
    "truong thpt",
    "benh vien",
    "bao hiem xa hoi",
    "phong ",
    "hoi ",
    "mat tran",
    "dang uy",
    "tinh uy",
    "huyen uy",
    "thanh uy",
    "quan uy",
    "co quan",
    "don vi",
)
PERSON_ATTRIBUTES = ("title", "given_name", "surname", "pseudonym")


class IdentifierKind(StrEnum):
    PERSONAL = "personal"
    ORGANISATION = "organisation"


@dataclass(frozen=True)
class SubjectFacts:
    """What the classification reads from a certificate subject (asn1crypto `.native` names)."""

    common_name: str | None
    organisation: str | None
    identifiers: tuple[str, ...]  # values of UID and serialNumber
    has_person_attributes: bool


def subject_facts(subject: Mapping[str, object]) -> SubjectFacts:
    identifiers: list[str] = []
    for key in ("user_id", "serial_number", "0.9.2342.19200300.100.1.1"):
        identifiers.extend(_values(subject.get(key)))
    return SubjectFacts(
        common_name=_first(subject.get("common_name")),
        organisation=_first(subject.get("organization_name")),
        identifiers=tuple(identifiers),
        has_person_attributes=any(subject.get(k) for k in PERSON_ATTRIBUTES),
    )


def fold(text: str) -> str:
    """Lower case without diacritics ("Ủy ban" and "Uỷ ban" and "UY BAN" compare equal)."""
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(stripped.casefold().split())


def identifier_kind(value: str) -> IdentifierKind | None:
    folded = fold(value).upper()
    for prefixes, kind in (
        (PERSONAL_ID_PREFIXES, IdentifierKind.PERSONAL),
        (ORGANISATION_ID_PREFIXES, IdentifierKind.ORGANISATION),
    ):
        for prefix in prefixes:
            if any(folded.startswith(prefix + sep) for sep in ID_SEPARATORS):
                return kind
    return None


def identifier_kinds(identifiers: Iterable[str]) -> frozenset[IdentifierKind]:
    return frozenset(k for k in (identifier_kind(v) for v in identifiers) if k is not None)


def looks_like_organisation_name(name: str) -> bool:
    folded = fold(name) + " "
    return folded.startswith(ORGANISATION_NAME_STARTS)


def _values(value: object) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list | tuple):
        return [str(v) for v in value]
    return [str(value)]


def _first(value: object) -> str | None:
    values = _values(value)
    return ", ".join(values) if values else None
