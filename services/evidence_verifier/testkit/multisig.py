"""Real-world-shaped signed files: many signatures on one document, each followed (as LTA
signing tools do) by a DSS update with revocation data and a document timestamp; a signed form
filled and signed again; a second organisation's approval."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from services.evidence_verifier.testkit import documents as docs
from services.evidence_verifier.testkit.pki import Signer, TestPKI
from services.evidence_verifier.testkit.timestamps import add_document_timestamp

STEP = timedelta(minutes=7)  # signers follow one another through the day


def lta_chain(pdf: bytes, pki: TestPKI, signers: list[Signer]) -> bytes:
    """Each signer signs (with an RFC 3161 signature timestamp); after each signature a DSS
    update carries the CA's CRL and a document timestamp seals the revision (PAdES B-LTA)."""
    data = pdf
    for index, signer in enumerate(signers):
        at = pki.now + index * STEP
        options = docs.SignOptions(field_name=f"ChuKy{index + 1}", signing_time=at, tsa=pki.tsa, pades=True)
        data = docs.sign_pdf(data, signer, options)
        data = docs.add_revocation_data(data, crl_der=pki.crl_der)
        data = add_document_timestamp(data, pki.tsa, at + STEP / 2, field_name=f"DauThoiGian{index + 1}")
    return data


def many_signers(pki: TestPKI, count: int) -> list[Signer]:
    """`count` signers: the units' heads in turn, the first unit's seal last (it approves)."""
    people = [unit.person for unit in pki.units]
    chosen = [people[i % len(people)] for i in range(count - 1)]
    return [*chosen, pki.units[0].organisation]


def form_filled_and_signed_again(pdf_with_form: bytes, pki: TestPKI) -> bytes:
    """A person signs the form, a reviewer fills a field, the organisation signs the result."""
    unit = pki.units[0]
    options = docs.SignOptions(signing_time=pki.now, tsa=pki.tsa)
    first = docs.sign_pdf(pdf_with_form, unit.person, replace(options, field_name="ChuKyCaNhan"))
    filled = docs.fill_form_field(first)
    later = replace(options, field_name="ChuKyToChuc", signing_time=pki.now + STEP)
    return docs.sign_pdf(filled, unit.organisation, later)
