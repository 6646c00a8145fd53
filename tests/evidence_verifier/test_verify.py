from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import replace

import pytest

from contracts.report import VerificationReport
from contracts.vocabulary import (
    Coverage,
    Decision,
    Indication,
    ModifiedAfter,
    ReasonCode,
    SignatureKind,
    SubIndication,
    TextLayer,
)
from services.evidence_verifier import signatures
from services.evidence_verifier.limits import Limits
from services.evidence_verifier.policy import Expectations, RevocationMode, VerifierPolicy
from services.evidence_verifier.testkit import documents as docs
from services.evidence_verifier.testkit.pki import TestPKI
from services.evidence_verifier.verify import Outcome, verify_bytes
from tests.evidence_verifier.corpus import Case, build_corpus

Verify = Callable[..., Outcome]


@pytest.fixture(scope="module")
def corpus(pki: TestPKI) -> dict[str, Case]:
    return build_corpus(pki)


CASE_NAMES = [
    "good_timestamped",
    "good_claimed_time",
    "organisation_and_person",
    "form_filled_after_signing",
    "revocation_data_added_after_signing",
    "logo_not_a_scan",
    "three_pages",
    "person_only",
    "unsigned",
    "page_content_changed",
    "overlay_annotation",
    "page_replaced",
    "signed_byte_altered",
    "signature_value_altered",
    "scan_image_only",
    "scan_with_ocr_layer",
    "lettered_number",
    "other_number",
    "issued_last_year",
    "no_number_printed",
    "expired_now_timestamped_while_valid",
    "expired_at_signing",
    "expired_now_claimed_time_only",
    "revoked_before_signing",
    "legacy_sha1_chain",
    "untrusted_root",
    "truncated",
    "garbage",
    "encrypted",
]


def test_case_list_matches_corpus(corpus: dict[str, Case]) -> None:
    assert sorted(CASE_NAMES) == sorted(corpus)


@pytest.mark.parametrize("name", CASE_NAMES)
def test_corpus_verdicts(name: str, corpus: dict[str, Case], verify: Verify) -> None:
    case = corpus[name]
    report = verify(case.data).report
    assert report.decision is case.decision, report.reasons
    assert report.reasons == [c for c in ReasonCode if c in case.reasons]
    assert report.sha256 == hashlib.sha256(case.data).hexdigest()


def test_accepted_report_describes_the_document(corpus: dict[str, Case], verify: Verify) -> None:
    outcome = verify(corpus["organisation_and_person"].data)
    report = outcome.report
    assert [s.kind for s in report.signatures] == [SignatureKind.PERSON, SignatureKind.ORGANISATION]
    person, seal = report.signatures
    assert person.signer.common_name == "Nguyễn Văn An"
    assert seal.signer.organisation == "Ủy ban nhân dân tỉnh Vĩnh Long"
    assert person.modified_after is ModifiedAfter.ALLOWED
    assert person.coverage is Coverage.ENTIRE_REVISION
    assert seal.modified_after is ModifiedAfter.NONE
    assert seal.coverage is Coverage.ENTIRE_FILE
    assert all(
        s.timestamped and s.trusted and s.indication is Indication.TOTAL_PASSED for s in report.signatures
    )
    assert report.document.number == "15/KH-UBND"
    assert report.document.notation == "KH-UBND"
    assert report.document.issued_on is not None
    assert report.document.issued_on.isoformat() == "2024-03-12"
    assert report.document.text_layer is TextLayer.BORN_DIGITAL
    assert report.document.pages == 1
    assert "Cải cách hành chính" in outcome.text
    assert VerificationReport.model_validate_json(report.model_dump_json()) == report


def test_scan_facts(corpus: dict[str, Case], verify: Verify) -> None:
    image_only = verify(corpus["scan_image_only"].data).report.document
    with_ocr = verify(corpus["scan_with_ocr_layer"].data)
    assert image_only.scanned
    assert image_only.text_layer is TextLayer.NONE
    assert with_ocr.report.document.text_layer is TextLayer.OCR
    assert with_ocr.report.document.number == "15/KH-UBND"  # read from the OCR layer
    assert "KẾ HOẠCH" in with_ocr.text


def test_failure_sub_indications(corpus: dict[str, Case], verify: Verify) -> None:
    def sub(name: str) -> SubIndication | None:
        return verify(corpus[name].data).report.signatures[0].sub_indication

    assert sub("signed_byte_altered") is SubIndication.HASH_FAILURE
    assert sub("signature_value_altered") is SubIndication.SIG_CRYPTO_FAILURE
    assert sub("revoked_before_signing") is SubIndication.REVOKED
    assert sub("expired_at_signing") is SubIndication.EXPIRED
    assert sub("untrusted_root") is SubIndication.NO_CERTIFICATE_CHAIN_FOUND


def test_sha1_chain_refused_when_policy_forbids_it(corpus: dict[str, Case], policy: VerifierPolicy) -> None:
    strict = replace(policy, allow_sha1=False)
    report = verify_bytes(
        corpus["legacy_sha1_chain"].data, name="x", policy=strict, expected=Expectations()
    ).report
    assert report.reasons == [ReasonCode.UNTRUSTED_SIGNER]
    assert report.signatures[0].sub_indication is SubIndication.CRYPTO_CONSTRAINTS_FAILURE


def test_required_revocation_data_missing(corpus: dict[str, Case], policy: VerifierPolicy) -> None:
    required = replace(policy, revocation=RevocationMode.EMBEDDED_REQUIRED)
    report = verify_bytes(
        corpus["good_timestamped"].data, name="x", policy=required, expected=Expectations()
    ).report
    assert report.decision is Decision.NEEDS_REVIEW
    assert ReasonCode.REVOCATION_UNKNOWN in report.reasons


def test_limits(corpus: dict[str, Case], policy: VerifierPolicy) -> None:
    data = corpus["three_pages"].data
    small = replace(policy, limits=Limits(max_bytes=len(data) - 1))
    few_pages = replace(policy, limits=Limits(max_pages=2))
    assert verify_bytes(data, name="x", policy=small, expected=Expectations()).report.reasons == [
        ReasonCode.TOO_LARGE
    ]
    assert verify_bytes(data, name="x", policy=few_pages, expected=Expectations()).report.reasons == [
        ReasonCode.TOO_MANY_PAGES
    ]


def test_expected_hash(corpus: dict[str, Case], verify: Verify) -> None:
    data = corpus["good_timestamped"].data
    assert verify(data, sha256=hashlib.sha256(data).hexdigest()).report.decision is Decision.ACCEPTED
    assert verify(data, sha256="0" * 64).report.reasons == [ReasonCode.HASH_MISMATCH]


def test_unexpected_exception_needs_review(
    corpus: dict[str, Case], verify: Verify, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def explode(*args: object, **kwargs: object) -> list[signatures.SignatureOutcome]:
        raise RuntimeError("bug")

    monkeypatch.setattr(signatures, "evaluate", explode)
    report = verify(corpus["good_timestamped"].data).report
    assert report.decision is Decision.NEEDS_REVIEW
    assert report.reasons == [ReasonCode.INTERNAL_ERROR]


def test_chain_cache_gives_the_same_verdicts(corpus: dict[str, Case], verify: Verify) -> None:
    signatures.clear_chain_cache()
    cold = [verify(corpus[n].data).report.reasons for n in ("good_timestamped", "expired_at_signing")]
    warm = [verify(corpus[n].data).report.reasons for n in ("good_timestamped", "expired_at_signing")]
    assert cold == warm


def test_second_unit_documents_are_independent(pki: TestPKI, verify: Verify) -> None:
    unit = pki.units[1]
    spec = docs.DocumentSpec(issuer=unit.unit.name, number="3/BC-UBND", signer_name=unit.unit.head_name)
    data = docs.sign_pdf(docs.make_document(spec), unit.organisation, docs.SignOptions(signing_time=pki.now))
    report = verify(data, number="3/BC-UBND").report
    assert report.decision is Decision.ACCEPTED
    assert report.signatures[0].signer.common_name == unit.unit.name
