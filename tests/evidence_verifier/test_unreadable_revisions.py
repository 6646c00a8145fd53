"""A signed file whose later revision pyHanko cannot read but a reader (PDFium) still opens is
judged signature by signature, not MALFORMED_PDF: each signature as it stands in the last
revision pyHanko reads, and MODIFIED_AFTER_SIGNING for what came after it unseen."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace

import pytest

from contracts.vocabulary import Decision, ModifiedAfter, ReasonCode
from services.evidence_verifier.testkit import documents as docs
from services.evidence_verifier.testkit.evidence import spec_for
from services.evidence_verifier.testkit.pki import TestPKI
from services.evidence_verifier.verify import Outcome
from tests.evidence_verifier import forgery

Verify = Callable[..., Outcome]


def _root_ref(data: bytes) -> bytes:
    found = re.findall(rb"/Root\s+(\d+ \d+ R)", data)
    assert found
    return bytes(found[-1])


def broken_xref_stream_update(data: bytes) -> bytes:
    """An incremental update whose cross-reference stream does not decompress: pyHanko cannot
    read the file, PDFium rebuilds the cross-reference table by scanning and opens it."""
    prev = int(re.findall(rb"startxref\s+(\d+)", data)[-1])
    body = b"not a deflate stream"
    at = len(data)
    update = (
        b"999 0 obj\n<< /Type /XRef /Size 1000 /W [1 4 2] /Root "
        + _root_ref(data)
        + b" /Prev "
        + str(prev).encode()
        + b" /Filter /FlateDecode /Length "
        + str(len(body)).encode()
        + b" >>\nstream\n"
        + body
        + b"\nendstream\nendobj\n"
    )
    return data + update + b"startxref\n" + str(at).encode() + b"\n%%EOF\n"


@pytest.fixture(scope="module")
def two_signatures(pki: TestPKI, stamped: docs.SignOptions) -> bytes:
    unit = pki.units[0]
    data = docs.sign_pdf(
        docs.make_document(spec_for(unit)), unit.person, replace(stamped, field_name="ChuKyCaNhan")
    )
    return docs.sign_pdf(data, unit.organisation, stamped)


def test_unreadable_later_revision_is_judged_per_signature(two_signatures: bytes, verify: Verify) -> None:
    report = verify(broken_xref_stream_update(two_signatures)).report
    assert ReasonCode.MALFORMED_PDF not in report.reasons
    assert report.decision is Decision.REJECTED
    assert ReasonCode.MODIFIED_AFTER_SIGNING in report.reasons
    person, seal = report.signatures
    assert person.intact
    assert person.trusted
    assert seal.intact
    assert seal.trusted
    assert seal.modified_after is ModifiedAfter.DISALLOWED
    assert report.document.number == "15/KH-UBND"


@pytest.mark.parametrize(("key", "value"), [(b"/Contents", None), (b"/Contents", b"null")])
def test_one_signature_without_contents_among_others_is_broken(
    two_signatures: bytes, verify: Verify, key: bytes, value: bytes | None
) -> None:
    """USF on the last of two signatures: that signature is SIGNATURE_BROKEN, the first is
    still judged (intact and trusted, and the broken update after it is not allowed)."""
    report = verify(forgery.rewrite_signature_entry(two_signatures, key, value)).report
    assert ReasonCode.MALFORMED_PDF not in report.reasons
    assert ReasonCode.SIGNATURE_BROKEN in report.reasons
    assert report.decision is Decision.REJECTED
    person, seal = report.signatures
    assert person.intact
    assert person.trusted
    assert not seal.intact
