"""Robustness (mutated PDFs never crash or get accepted) and agreement with plain pyHanko."""

from __future__ import annotations

import io
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext

from contracts.vocabulary import Decision, ModifiedAfter
from services.evidence_verifier.testkit.pki import TestPKI
from services.evidence_verifier.verify import Outcome
from tests.evidence_verifier.conftest import PKI_NOW
from tests.evidence_verifier.corpus import Case, build_corpus

Verify = Callable[..., Outcome]


@pytest.fixture(scope="module")
def corpus(pki: TestPKI) -> dict[str, Case]:
    return build_corpus(pki)


@st.composite
def mutations(draw: st.DrawFn) -> list[tuple[int, int, bytes]]:
    count = draw(st.integers(min_value=1, max_value=4))
    return [
        (
            draw(st.integers(min_value=0, max_value=2)),  # 0 flip, 1 delete, 2 insert
            draw(st.integers(min_value=0, max_value=10**9)),
            draw(st.binary(min_size=1, max_size=8)),
        )
        for _ in range(count)
    ]


def _mutate(data: bytes, edits: list[tuple[int, int, bytes]]) -> bytes:
    for kind, where, chunk in edits:
        at = where % max(len(data), 1)
        if kind == 0:
            data = data[:at] + bytes([data[at] ^ 0xFF]) + data[at + 1 :]
        elif kind == 1:
            data = data[:at] + data[at + len(chunk) :]
        else:
            data = data[:at] + chunk + data[at:]
    return data


@settings(max_examples=50, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(edits=mutations(), which=st.sampled_from(["good_timestamped", "organisation_and_person"]))
def test_mutated_pdfs_always_get_a_report(
    edits: list[tuple[int, int, bytes]], which: str, corpus: dict[str, Case], verify: Verify
) -> None:
    original = corpus[which].data
    data = _mutate(original, edits)
    report = verify(data).report
    if data != original and report.decision is Decision.ACCEPTED:
        # a change the signatures cover cannot survive; only bytes in no revision may differ
        assert all(s.intact and s.trusted for s in report.signatures)
        assert all(s.modified_after is not ModifiedAfter.DISALLOWED for s in report.signatures)
        assert verify(data).report.reasons == []


@given(junk=st.binary(min_size=0, max_size=2048))
@settings(max_examples=25, deadline=None, derandomize=True)
def test_garbage_is_never_accepted(junk: bytes, verify: Verify) -> None:
    for data in (junk, b"%PDF-1.7\n" + junk):
        assert verify(data).report.decision is not Decision.ACCEPTED


DIFFERENTIAL = [
    "good_timestamped",
    "good_claimed_time",
    "organisation_and_person",
    "form_filled_after_signing",
    "page_content_changed",
    "overlay_annotation",
    "page_replaced",
    "signed_byte_altered",
    "untrusted_root",
    "person_only",
    "revocation_data_added_after_signing",
]


@pytest.mark.parametrize("name", DIFFERENTIAL)
def test_same_signature_verdicts_as_pyhanko(
    name: str, corpus: dict[str, Case], pki: TestPKI, verify: Verify
) -> None:
    data = corpus[name].data
    context = ValidationContext(trust_roots=[pki.root.asn1_cert], moment=PKI_NOW)
    reader = PdfFileReader(io.BytesIO(data), strict=False)
    plain = [validate_pdf_signature(s, context) for s in reader.embedded_signatures]
    ours = verify(data).report.signatures
    assert [s.intact for s in ours] == [p.intact and p.valid for p in plain]
    assert [s.trusted for s in ours] == [p.intact and p.valid and p.trusted for p in plain]
    assert [s.modified_after is not ModifiedAfter.DISALLOWED for s in ours] == [
        bool(p.docmdp_ok) for p in plain
    ]
