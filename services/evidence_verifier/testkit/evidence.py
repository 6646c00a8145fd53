"""One-call evidence variants for the demo and end-to-end tests.

Each function returns PDF bytes for one unit of a `TestPKI`; `signing_time` defaults to the
PKI's `now`. A good document carries the head's signature and the unit's seal, timestamped.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from services.evidence_verifier.testkit.documents import (
    DocumentSpec,
    SignOptions,
    add_overlay_annotation,
    change_page_content,
    make_document,
    make_scanned_document,
    sign_organisation_and_person,
    sign_pdf,
)
from services.evidence_verifier.testkit.pki import TestPKI, UnitCredentials, UnitIdentity

_HEADS = ("Nguyễn Văn An", "Trần Thị Bình", "Lê Đình Nga", "Phạm Quốc Dũng", "Hoàng Thị Hạnh")
_PLACES = ("Vĩnh Long", "Long Hồ", "Bình Minh", "Trà Ôn", "Tam Bình")


def demo_units(count: int, *, province: str = "Vĩnh Long") -> list[UnitIdentity]:
    """`count` fictional units: the province's committee, then districts and communes."""
    units = [UnitIdentity(f"Ủy ban nhân dân tỉnh {province}", _HEADS[0])]
    for i in range(1, count):
        place = _PLACES[i % len(_PLACES)]
        units.append(UnitIdentity(f"Ủy ban nhân dân huyện {place} số {i}", _HEADS[i % len(_HEADS)]))
    return units


def spec_for(creds: UnitCredentials, **changes: object) -> DocumentSpec:
    """A DocumentSpec issued by the unit and signed by its head; keyword arguments override."""
    base = DocumentSpec(issuer=creds.unit.name, signer_name=creds.unit.head_name)
    return replace(base, **changes)  # type: ignore[arg-type]


def _options(pki: TestPKI, signing_time: datetime | None, timestamp: bool) -> SignOptions:
    when = signing_time or pki.now
    return SignOptions(signing_time=when, tsa=pki.tsa if timestamp else None)


def good_document(
    pki: TestPKI,
    creds: UnitCredentials,
    spec: DocumentSpec | None = None,
    *,
    signing_time: datetime | None = None,
    timestamp: bool = True,
    with_person: bool = True,
) -> bytes:
    pdf = make_document(spec or spec_for(creds))
    options = _options(pki, signing_time, timestamp)
    if with_person:
        return sign_organisation_and_person(pdf, creds.organisation, creds.person, options)
    return sign_pdf(pdf, creds.organisation, options)


def lettered_document(
    pki: TestPKI, creds: UnitCredentials, number: str = "15a/KH-UBND", **kw: object
) -> bytes:
    return good_document(pki, creds, spec_for(creds, number=number), **kw)  # type: ignore[arg-type]


def scanned_document(
    pki: TestPKI, creds: UnitCredentials, spec: DocumentSpec | None = None, *, ocr_layer: bool = True
) -> bytes:
    """Signed on paper, scanned, then signed electronically by the unit (seed 002: scores 0)."""
    pdf = make_scanned_document(spec or spec_for(creds), ocr_layer=ocr_layer)
    return sign_pdf(pdf, creds.organisation, _options(pki, None, True))


def altered_document(pki: TestPKI, creds: UnitCredentials, spec: DocumentSpec | None = None) -> bytes:
    """Signed, then the page content was changed in an incremental update."""
    return change_page_content(good_document(pki, creds, spec, with_person=False))


def annotated_document(pki: TestPKI, creds: UnitCredentials, spec: DocumentSpec | None = None) -> bytes:
    return add_overlay_annotation(good_document(pki, creds, spec, with_person=False))


def unsigned_document(creds: UnitCredentials, spec: DocumentSpec | None = None) -> bytes:
    return make_document(spec or spec_for(creds))
