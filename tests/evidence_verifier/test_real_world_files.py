"""Shapes of signed files that other signing tools and government systems produce, and that must
be accepted: they fail on a verifier that only knows the shapes its own test kit writes."""

from __future__ import annotations

import io
from collections.abc import Callable

import pikepdf
import pytest

from contracts.vocabulary import Decision, ReasonCode, SignatureKind
from services.evidence_verifier.testkit import documents as docs
from services.evidence_verifier.testkit.evidence import spec_for
from services.evidence_verifier.testkit.pki import TestPKI
from services.evidence_verifier.verify import Outcome

Verify = Callable[..., Outcome]
OWNER_PASSWORD = "chu-so-huu"


def encrypt(pdf: bytes, *, user: str) -> bytes:
    """AES-256 (R6) encryption as government PDF tools write it: printing allowed, editing not."""
    out = io.BytesIO()
    with pikepdf.open(io.BytesIO(pdf)) as source:
        source.save(
            out,
            encryption=pikepdf.Encryption(
                user=user, owner=OWNER_PASSWORD, R=6, allow=pikepdf.Permissions(modify_other=False)
            ),
        )
    return out.getvalue()


@pytest.fixture(scope="module")
def stamped(pki: TestPKI) -> docs.SignOptions:
    return docs.SignOptions(signing_time=pki.now, tsa=pki.tsa)


def test_permissions_only_encryption_is_verified(
    pki: TestPKI, stamped: docs.SignOptions, verify: Verify
) -> None:
    unit = pki.units[0]
    encrypted = encrypt(docs.make_document(spec_for(unit)), user="")
    signed = docs.sign_pdf(encrypted, unit.organisation, stamped)
    report = verify(signed).report
    assert report.decision is Decision.ACCEPTED, report.reasons
    (seal,) = report.signatures
    assert seal.kind is SignatureKind.ORGANISATION
    assert seal.intact
    assert seal.trusted
    assert report.document.number == "15/KH-UBND"


def test_permissions_only_encryption_still_detects_changes(
    pki: TestPKI, stamped: docs.SignOptions, verify: Verify
) -> None:
    unit = pki.units[0]
    signed = docs.sign_pdf(encrypt(docs.make_document(spec_for(unit)), user=""), unit.organisation, stamped)
    report = verify(docs.alter_signature_value(signed)).report
    assert report.decision is Decision.REJECTED
    assert ReasonCode.SIGNATURE_BROKEN in report.reasons
    assert ReasonCode.ENCRYPTED not in report.reasons


def test_file_needing_a_password_is_encrypted(pki: TestPKI, verify: Verify) -> None:
    data = encrypt(docs.make_document(spec_for(pki.units[0])), user="mat-khau")
    report = verify(data).report
    assert report.reasons == [ReasonCode.ENCRYPTED]
    assert report.decision is Decision.REJECTED
