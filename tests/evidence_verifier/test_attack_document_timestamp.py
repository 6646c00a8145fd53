"""Document timestamps are signatures too (ETSI EN 319 142-1 PAdES-LTA, EU DSS validates each
/DocTimeStamp as a timestamp over its byte range). A token copied from another file keeps a
valid TSA signature but its message imprint is not the digest of the range it sits in: the
"copied timestamp" case of the verifier's attack list, an instance of the signature-transplant
idea in "1 Trillion Dollar Refund" (CCS 2019). It must be SIGNATURE_BROKEN; an honest document
timestamp is listed in the report (kind, TSA, trusted, intact) and changes nothing else."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pytest

from contracts.vocabulary import Coverage, Decision, ReasonCode, SignatureKind
from services.evidence_verifier.testkit import documents as docs
from services.evidence_verifier.testkit.evidence import spec_for
from services.evidence_verifier.testkit.pki import TestPKI
from services.evidence_verifier.testkit.timestamps import add_document_timestamp, untrusted_tsa
from services.evidence_verifier.verify import Outcome
from tests.evidence_verifier import forgery
from tests.evidence_verifier.conftest import PKI_NOW

TSA_NAME = "Kiemchung Test TSA"


@pytest.fixture(scope="module")
def signed(pki: TestPKI, stamped: docs.SignOptions) -> bytes:
    unit = pki.units[0]
    return docs.sign_pdf(docs.make_document(spec_for(unit)), unit.organisation, stamped)


@pytest.fixture(scope="module")
def timestamped(signed: bytes, pki: TestPKI) -> bytes:
    return add_document_timestamp(signed, pki.tsa, PKI_NOW)


def test_document_timestamp_is_listed_and_accepted(
    timestamped: bytes, verify: Callable[..., Outcome]
) -> None:
    report = verify(timestamped).report
    assert report.decision is Decision.ACCEPTED
    assert report.reasons == []
    kinds = [s.kind for s in report.signatures]
    assert kinds == [SignatureKind.ORGANISATION, SignatureKind.DOCUMENT_TIMESTAMP]
    stamp = report.signatures[1]
    assert stamp.signer.common_name == TSA_NAME
    assert stamp.intact
    assert stamp.trusted
    assert stamp.coverage is Coverage.ENTIRE_FILE
    assert stamp.signing_time == PKI_NOW
    # the organisation's signature now covers an earlier revision, with an allowed change
    assert report.signatures[0].coverage is Coverage.ENTIRE_REVISION


def test_copied_timestamp_token_is_signature_broken(
    pki: TestPKI, signed: bytes, timestamped: bytes, stamped: docs.SignOptions, verify: Callable[..., Outcome]
) -> None:
    unit = pki.units[0]
    other = docs.sign_pdf(
        docs.make_document(replace(spec_for(unit), title="KẾ HOẠCH khác")), unit.organisation, stamped
    )
    donor = add_document_timestamp(other, pki.tsa, PKI_NOW)
    forged = forgery.transplant_last_contents(timestamped, donor)
    report = verify(forged).report
    assert report.decision is Decision.REJECTED
    assert ReasonCode.SIGNATURE_BROKEN in report.reasons
    stamp = report.signatures[-1]
    assert stamp.kind is SignatureKind.DOCUMENT_TIMESTAMP
    assert not stamp.intact
    assert not stamp.trusted
    assert report.signatures[0].intact  # the organisation's own signature is not what broke


def test_document_timestamp_alone_is_unsigned(pki: TestPKI, verify: Callable[..., Outcome]) -> None:
    plain = docs.make_document(spec_for(pki.units[0]))
    report = verify(add_document_timestamp(plain, pki.tsa, PKI_NOW)).report
    assert report.reasons == [ReasonCode.UNSIGNED]
    assert [s.kind for s in report.signatures] == [SignatureKind.DOCUMENT_TIMESTAMP]


def test_timestamp_from_an_unknown_tsa_is_reported_untrusted(
    pki: TestPKI, signed: bytes, verify: Callable[..., Outcome]
) -> None:
    report = verify(add_document_timestamp(signed, untrusted_tsa(pki), PKI_NOW)).report
    stamp = report.signatures[-1]
    assert stamp.kind is SignatureKind.DOCUMENT_TIMESTAMP
    assert stamp.intact
    assert not stamp.trusted
    assert stamp.signer.common_name == "Unknown TSA"
    # invisible: it proves nothing, and changes nothing a reader sees
    assert report.decision is Decision.ACCEPTED
