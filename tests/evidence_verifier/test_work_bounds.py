"""Per-document work bounded by count, not only by time (issue 10, "Also": 5,000 fields naming
one signature; pages of tens of thousands of text objects)."""

from __future__ import annotations

import io
from dataclasses import replace

import pytest
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

from contracts.vocabulary import Decision, ReasonCode
from services.evidence_verifier.limits import DEFAULT_MAX_SIGNATURES, Limits
from services.evidence_verifier.policy import Expectations, VerifierPolicy
from services.evidence_verifier.testkit import documents as docs
from services.evidence_verifier.testkit.pki import TestPKI
from services.evidence_verifier.verify import verify_bytes
from tests.evidence_verifier import minipdf as m

OBJECT_BUDGET = 100


@pytest.fixture(scope="module")
def signed(pki: TestPKI) -> bytes:
    options = docs.SignOptions(signing_time=pki.now, tsa=pki.tsa)
    return docs.sign_pdf(docs.make_document(), pki.units[0].organisation, options)


def _fields_naming_one_signature(signed: bytes, extra: int) -> bytes:
    """`extra` more signature fields whose /V is the one signature dictionary already there."""
    writer = IncrementalPdfFileWriter(io.BytesIO(signed), strict=False)
    form = writer.root["/AcroForm"]
    fields = form["/Fields"]
    value = fields[0].get_object().raw_get("/V")
    for i in range(extra):
        field = generic.DictionaryObject(  # type: ignore[no-untyped-call]
            {
                generic.NameObject("/FT"): generic.NameObject("/Sig"),
                generic.NameObject("/T"): generic.TextStringObject(f"copy{i}"),
                generic.NameObject("/V"): value,
            }
        )
        fields.append(writer.add_object(field))
    writer.update_container(fields)
    out = io.BytesIO()
    writer.write(out)  # type: ignore[no-untyped-call]
    return out.getvalue()


def test_many_fields_naming_one_signature_are_a_resource_limit(signed: bytes, policy: VerifierPolicy) -> None:
    hostile = _fields_naming_one_signature(signed, DEFAULT_MAX_SIGNATURES)
    report = verify_bytes(hostile, name="fields.pdf", policy=policy, expected=Expectations()).report
    assert ReasonCode.RESOURCE_LIMIT in report.reasons
    assert report.decision is not Decision.ACCEPTED


def test_a_signature_within_the_bound_is_still_verified(signed: bytes, policy: VerifierPolicy) -> None:
    report = verify_bytes(signed, name="ok.pdf", policy=policy, expected=Expectations()).report
    assert ReasonCode.RESOURCE_LIMIT not in report.reasons


def test_page_objects_over_the_budget_are_a_resource_limit(policy: VerifierPolicy) -> None:
    crowded = m.one_page("".join(m.text(f"w{i}", y=700) for i in range(OBJECT_BUDGET + 1)))
    tight = replace(policy, limits=Limits(max_page_objects=OBJECT_BUDGET))
    report = verify_bytes(crowded, name="crowded.pdf", policy=tight, expected=Expectations()).report
    assert report.reasons == [ReasonCode.RESOURCE_LIMIT]
    within = verify_bytes(crowded, name="crowded.pdf", policy=policy, expected=Expectations()).report
    assert ReasonCode.RESOURCE_LIMIT not in within.reasons
