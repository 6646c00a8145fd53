"""Shapes of signed files that other signing tools and government systems produce, and that must
be accepted: they fail on a verifier that only knows the shapes its own test kit writes."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from dataclasses import replace

import pikepdf
import pytest

from contracts.vocabulary import Decision, ModifiedAfter, ReasonCode, SignatureKind
from services.evidence_verifier.testkit import documents as docs
from services.evidence_verifier.testkit import indirect, multisig
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


LTA_SIGNERS = 10  # the 10-25; bench/verify.py times 25


def test_many_signatures_with_lta_updates(pki: TestPKI, verify: Verify) -> None:
    """PAdES B-LTA as long approval chains produce it: after each signature a DSS update with the
    CA's CRL and a document timestamp."""
    signers = multisig.many_signers(pki, LTA_SIGNERS)
    data = multisig.lta_chain(docs.make_document(spec_for(pki.units[0])), pki, signers)
    report = verify(data).report
    assert report.decision is Decision.ACCEPTED, report.reasons
    signed = [s for s in report.signatures if s.kind is not SignatureKind.DOCUMENT_TIMESTAMP]
    stamps = [s for s in report.signatures if s.kind is SignatureKind.DOCUMENT_TIMESTAMP]
    assert len(signed) == LTA_SIGNERS
    assert len(stamps) == LTA_SIGNERS
    assert all(s.intact and s.trusted for s in signed)
    # every signature but the last is followed by LTA updates only
    assert [s.modified_after for s in signed].count(ModifiedAfter.ALLOWED) == LTA_SIGNERS
    assert signed[-1].kind is SignatureKind.ORGANISATION


def test_lta_chain_with_a_changed_page_is_rejected(pki: TestPKI, verify: Verify) -> None:
    signers = multisig.many_signers(pki, 3)
    data = multisig.lta_chain(docs.make_document(spec_for(pki.units[0])), pki, signers)
    report = verify(docs.change_page_content(data, "Số: 16/KH-UBND")).report
    assert report.decision is Decision.REJECTED
    assert ReasonCode.MODIFIED_AFTER_SIGNING in report.reasons


def test_form_filled_and_signed_again(pki: TestPKI, verify: Verify) -> None:
    data = multisig.form_filled_and_signed_again(
        docs.make_document(spec_for(pki.units[0]), form_field=True), pki
    )
    report = verify(data).report
    assert report.decision is Decision.ACCEPTED, report.reasons
    person, seal = report.signatures
    assert person.kind is SignatureKind.PERSON
    assert person.modified_after is ModifiedAfter.ALLOWED
    assert seal.kind is SignatureKind.ORGANISATION
    assert seal.modified_after is ModifiedAfter.NONE


def test_second_organisation_approval_and_later_dss(pki: TestPKI, verify: Verify) -> None:
    """The unit signs, a second organisation (the approving department) signs after it, and a
    later validation adds a DSS with revocation data."""
    first, second = pki.units[0], pki.units[1]
    options = docs.SignOptions(signing_time=pki.now, tsa=pki.tsa)
    data = docs.sign_pdf(docs.make_document(spec_for(first)), first.organisation, options)
    data = docs.sign_pdf(data, second.organisation, replace(options, field_name="PheDuyet"))
    data = docs.add_revocation_data(data, crl_der=pki.crl_der)
    report = verify(data).report
    assert report.decision is Decision.ACCEPTED, report.reasons
    assert len({s.signer.organisation for s in report.signatures}) == len(report.signatures) == 2
    assert all(s.kind is SignatureKind.ORGANISATION for s in report.signatures)
    assert all(s.modified_after is ModifiedAfter.ALLOWED for s in report.signatures)


def test_indirect_byte_range_and_contents_are_verified(pki: TestPKI, verify: Verify) -> None:
    """/V, /ByteRange and /Contents as indirect objects, as some signing tools write them."""
    unit = pki.units[0]
    data = indirect.sign_with_indirect_entries(
        docs.make_document(spec_for(unit)), unit.organisation, signing_time=pki.now, field_name="ChuKyToChuc"
    )
    assert re.search(rb"/ByteRange \d+ 0 R", data)
    assert re.search(rb"/Contents %d 0 R" % signature_contents_object(data), data)
    report = verify(data).report
    assert report.decision is Decision.ACCEPTED, report.reasons
    (seal,) = report.signatures
    assert seal.kind is SignatureKind.ORGANISATION
    assert seal.intact
    assert seal.trusted


def test_indirect_contents_still_judged_strictly(pki: TestPKI, verify: Verify) -> None:
    """The strict byte-range rule holds for indirect entries: a changed signed byte breaks it."""
    unit = pki.units[0]
    data = indirect.sign_with_indirect_entries(
        docs.make_document(spec_for(unit)), unit.organisation, signing_time=pki.now, field_name="ChuKyToChuc"
    )
    report = verify(docs.alter_signed_byte(data)).report
    assert report.decision is Decision.REJECTED
    assert ReasonCode.SIGNATURE_BROKEN in report.reasons


def signature_contents_object(data: bytes) -> int:
    """The number of the object holding the signature's hex string (the page's /Contents is
    indirect too)."""
    found = re.search(rb"(\d+) 0 obj\s*<[0-9a-f]{1000,}>", data)
    assert found is not None
    return int(found.group(1))


def redefine_object(data: bytes, number: int, body: bytes) -> bytes:
    """An incremental update that writes object `number` again with `body`."""
    size = int(re.findall(rb"/Size\s+(\d+)", data)[-1])
    root = re.findall(rb"/Root\s+(\d+ \d+ R)", data)[-1]
    prev = int(re.findall(rb"startxref\s+(\d+)", data)[-1])
    at = len(data)
    update = b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref_at = at + len(update)
    update += b"xref\n%d 1\n%010d 00000 n \n" % (number, at)
    update += b"trailer\n<< /Size %d /Root %s /Prev %d >>\nstartxref\n%d\n%%%%EOF\n" % (
        size,
        root,
        prev,
        xref_at,
    )
    return data + update


def test_indirect_contents_redefined_later_is_broken(pki: TestPKI, verify: Verify) -> None:
    """A later update that gives the indirect /Contents another value: the gap no longer holds
    the signature's /Contents, so the signature is broken (the strict rule, indirect or not)."""
    unit = pki.units[0]
    data = indirect.sign_with_indirect_entries(
        docs.make_document(spec_for(unit)), unit.organisation, signing_time=pki.now, field_name="ChuKyToChuc"
    )
    report = verify(redefine_object(data, signature_contents_object(data), b"<3082000b>")).report
    assert report.decision is Decision.REJECTED
    assert ReasonCode.SIGNATURE_BROKEN in report.reasons
    assert not any(s.intact for s in report.signatures)
