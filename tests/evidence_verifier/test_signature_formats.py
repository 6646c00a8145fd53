"""Signature formats a province's e-office systems produce: adbe.pkcs7.detached and PAdES
(ETSI.CAdES.detached), SHA-256/384/512 digests, ECDSA leaves under an RSA root (the RSA legacy
SHA-1 chain is covered in test_verify.py); each verified as intact, trusted and accepted."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pytest

from contracts.vocabulary import Decision, Indication, ReasonCode, SignatureKind
from services.evidence_verifier.testkit import documents as docs
from services.evidence_verifier.testkit.evidence import spec_for
from services.evidence_verifier.testkit.pki import TestPKI
from services.evidence_verifier.verify import Outcome


@pytest.mark.parametrize("pades", [False, True], ids=["adbe.pkcs7.detached", "ETSI.CAdES.detached"])
@pytest.mark.parametrize("digest", ["sha256", "sha384", "sha512"])
def test_signature_formats_and_digests_are_accepted(
    pades: bool, digest: str, pki: TestPKI, stamped: docs.SignOptions, verify: Callable[..., Outcome]
) -> None:
    unit = pki.units[0]
    options = replace(stamped, md_algorithm=digest, pades=pades)
    data = docs.sign_pdf(docs.make_document(spec_for(unit)), unit.organisation, options)
    report = verify(data).report
    assert report.decision is Decision.ACCEPTED, report.reasons
    (signature,) = report.signatures
    assert signature.intact
    assert signature.trusted
    assert signature.indication is Indication.TOTAL_PASSED
    assert signature.kind is SignatureKind.ORGANISATION
    assert signature.timestamped


def test_a_pades_signature_altered_inside_the_signed_range_is_broken(
    pki: TestPKI, stamped: docs.SignOptions, verify: Callable[..., Outcome]
) -> None:
    unit = pki.units[0]
    document = docs.make_document(spec_for(unit))
    signed = docs.sign_pdf(document, unit.organisation, replace(stamped, pades=True))
    report = verify(docs.alter_signed_byte(signed)).report
    assert report.decision is Decision.REJECTED
    assert ReasonCode.SIGNATURE_BROKEN in report.reasons
