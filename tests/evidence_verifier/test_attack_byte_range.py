# mypy: disable-error-code="no-untyped-call"
"""Byte-range attacks from "1 Trillion Dollar Refund: How To Spoof PDF Signatures" (Mladenov,
Mainka, Meyer zu Selhausen, Grothe, Schwenk, ACM CCS 2019): Universal Signature Forgery (USF),
Incremental Saving Attack (ISA) and Signature Wrapping Attack (SWA).

Every forged file keeps the signed bytes, so the signature value and digest still verify, and
makes pyHanko's length sum report entire-file coverage (asserted below: the attack is real);
what a reader sees is no longer what was signed. Each must be SIGNATURE_BROKEN.
"""

from __future__ import annotations

import io
from collections.abc import Callable

import pytest
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation.status import SignatureCoverageLevel

from contracts.vocabulary import Decision, ReasonCode
from services.evidence_verifier.errors import SignedRangeError
from services.evidence_verifier.signed_range import check_signed_range
from services.evidence_verifier.testkit import documents as docs
from services.evidence_verifier.testkit.evidence import spec_for
from services.evidence_verifier.testkit.pki import TestPKI
from services.evidence_verifier.verify import Outcome
from tests.evidence_verifier import forgery


@pytest.fixture(scope="module")
def signed(pki: TestPKI, stamped: docs.SignOptions) -> bytes:
    unit = pki.units[0]
    return docs.sign_pdf(docs.make_document(spec_for(unit)), unit.organisation, stamped)


ATTACKS: dict[str, Callable[[bytes], bytes]] = {
    # USF + ISA: /Contents as a literal string sized so the lengths add up, update appended
    "usf_literal_contents_appended_update": forgery.universal_forgery_with_appended_update,
    # ISA: the new content stream hidden inside the gap, reached through an appended xref
    "isa_update_hidden_in_gap": forgery.update_hidden_in_gap,
    # SWA: the second signed range relocated, a new /ByteRange and xref in the freed space
    "swa_relocated_signed_range": forgery.signature_wrapping,
}


@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_byte_range_forgery_is_signature_broken(
    attack: str, signed: bytes, verify: Callable[..., Outcome]
) -> None:
    forged = ATTACKS[attack](signed)
    # the attack is real: pyHanko finds the digest intact and the whole file covered
    embedded = PdfFileReader(io.BytesIO(forged), strict=False).embedded_signatures[-1]
    embedded.compute_integrity_info()
    assert embedded.coverage is SignatureCoverageLevel.ENTIRE_FILE
    signed_attrs = embedded.signer_info["signed_attrs"]
    digest = next(a["values"][0].native for a in signed_attrs if a["type"].native == "message_digest")
    assert embedded.compute_digest() == digest

    report = verify(forged).report
    assert report.decision is Decision.REJECTED
    assert ReasonCode.SIGNATURE_BROKEN in report.reasons
    assert [s.intact for s in report.signatures] == [False]


def test_untouched_file_still_accepted(signed: bytes, verify: Callable[..., Outcome]) -> None:
    assert verify(signed).report.decision is Decision.ACCEPTED


# --- the structural rule on hand-made byte ranges ---------------------------------------------

_HEAD = b"%PDF-1.7\n1 0 obj\n<< /Contents "
_TAIL = b" /ByteRange [0 0 0 0] >>\nendobj\n%%EOF\n"
_CONTENTS = bytes.fromhex("3082000a")


def _file(gap: bytes, tail: bytes = _TAIL) -> tuple[bytes, list[object]]:
    data = _HEAD + gap + tail
    a = len(_HEAD)
    b = a + len(gap)
    return data, [0, a, b, len(data) - b]


def test_one_hex_string_filling_the_gap_is_accepted() -> None:
    data, byte_range = _file(b"<3082000a>")
    assert check_signed_range(data, byte_range, _CONTENTS).covers_file


@pytest.mark.parametrize(
    "gap",
    [
        b"(0\x82\x00\n)",  # literal string
        b"<3082000a><>",  # two hex strings
        b"<3082000a> ",  # something after the hex string
        b"<30 82 00 0a>",  # whitespace inside: the gap is not exactly the signature
        b"<3082000b>",  # a hex string, but not this signature's /Contents
    ],
)
def test_anything_but_the_contents_hex_string_in_the_gap_is_broken(gap: bytes) -> None:
    data, byte_range = _file(gap)
    with pytest.raises(SignedRangeError):
        check_signed_range(data, byte_range, _CONTENTS)


@pytest.mark.parametrize(
    "change",
    [
        lambda r: [1, *r[1:]],  # does not start at 0
        lambda r: r[:3],  # three numbers
        lambda r: [0, r[1], r[2], r[3] + 1],  # past the end of the file
        lambda r: [0, r[1], r[2], 2.5],  # not an integer
        lambda r: [0, r[1], r[2], r[3] - 3],  # ends inside the last revision, not at its %%EOF
    ],
)
def test_malformed_or_misplaced_ranges_are_broken(change: Callable[[list[object]], list[object]]) -> None:
    data, byte_range = _file(b"<3082000a>")
    with pytest.raises(SignedRangeError):
        check_signed_range(data, change(byte_range), _CONTENTS)


def test_earlier_revision_ending_at_eof_is_a_revision_not_the_file() -> None:
    data, byte_range = _file(b"<3082000a>")
    later = data + b"2 0 obj\n<< >>\nendobj\n%%EOF\n"
    checked = check_signed_range(later, byte_range, _CONTENTS)
    assert not checked.covers_file
    assert checked.end == len(data)


USF_VARIANTS = {
    # Universal Signature Forgery (CCS 2019): the values a validator reads made absent or empty
    "contents_removed": (b"/Contents", None),
    "contents_empty": (b"/Contents", b"<>"),
    "contents_null": (b"/Contents", b"null"),
    "byte_range_removed": (b"/ByteRange", None),
    "byte_range_empty": (b"/ByteRange", b"[]"),
    "byte_range_null": (b"/ByteRange", b"null"),
    "byte_range_whole_file_claimed": (b"/ByteRange", b"[0 0 0 0]"),
}


@pytest.mark.parametrize("variant", sorted(USF_VARIANTS))
def test_universal_signature_forgery_values_are_rejected(
    variant: str, signed: bytes, verify: Callable[..., Outcome]
) -> None:
    key, value = USF_VARIANTS[variant]
    report = verify(forgery.rewrite_signature_entry(signed, key, value)).report
    assert report.decision is Decision.REJECTED
    assert report.reasons[0] in {ReasonCode.SIGNATURE_BROKEN, ReasonCode.MALFORMED_PDF, ReasonCode.UNSIGNED}
    assert not any(s.intact for s in report.signatures)
