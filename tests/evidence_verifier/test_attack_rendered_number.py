"""The number is read from what a reader sees: an annotation painting "16" over the "15" of the
page content (the Evil Annotation idea of "Breaking the Specification: PDF Certification",
S&P 2021, here already present when the organisation signed) makes the document's number 16.
Before, the number was read from the page content alone and the document passed as 15."""

from __future__ import annotations

from collections.abc import Callable

from contracts.vocabulary import Decision, ReasonCode
from services.evidence_verifier.testkit import documents as docs
from services.evidence_verifier.testkit.evidence import spec_for
from services.evidence_verifier.testkit.pki import TestPKI
from services.evidence_verifier.verify import Outcome
from tests.evidence_verifier import shadow


def test_annotation_over_the_number_is_what_is_read(
    pki: TestPKI, stamped: docs.SignOptions, verify: Callable[..., Outcome]
) -> None:
    unit = pki.units[0]
    covered = shadow.with_free_text_over_number(docs.make_document(spec_for(unit)))
    report = verify(docs.sign_pdf(covered, unit.organisation, stamped)).report
    assert report.document.number == "16/KH-UBND"
    assert report.decision is Decision.REJECTED
    assert report.reasons == [ReasonCode.NUMBER_MISMATCH]
    # the date line, which no annotation touches, still reads as before
    assert report.document.issued_on is not None


def test_visible_signature_stamp_leaves_number_and_date(
    pki: TestPKI, stamped: docs.SignOptions, verify: Callable[..., Outcome]
) -> None:
    unit = pki.units[0]
    signed = shadow.sign_visible(
        docs.make_document(spec_for(unit)),
        unit.organisation,
        field="ChuKy",
        box=shadow.BLANK_BOX,
        options=stamped,
    )
    report = verify(signed).report
    assert report.document.number == "15/KH-UBND"
    assert report.decision is Decision.ACCEPTED, report.reasons
