"""The two real government PDFs in ../shared (skipped when absent)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from contracts.vocabulary import Decision, ReasonCode, SignatureKind, TextLayer
from services.evidence_verifier.policy import Expectations, VerifierPolicy
from services.evidence_verifier.trust import load_trust_roots
from services.evidence_verifier.verify import verify_bytes

SHARED = Path("/work/shared")
SAMPLES = SHARED / "samples" / "pdf"
TRUST = SHARED / "trust" / "vn"
# a fixed "today" long after the signer's certificate expired (2019-01-14)
TODAY = datetime(2026, 11, 24, tzinfo=UTC)

pytestmark = [
    pytest.mark.shared_data,
    pytest.mark.skipif(not (SAMPLES.is_dir() and TRUST.is_dir()), reason="../shared data absent"),
]


@pytest.fixture(scope="module")
def vn_policy() -> VerifierPolicy:
    return VerifierPolicy(trust_roots=load_trust_roots([TRUST]), now=TODAY)


@pytest.mark.parametrize(
    ("name", "layer"),
    [("nd_119-2018-ND-CP.signed.pdf", TextLayer.OCR), ("vpcp_portal_08-1.signed.pdf", TextLayer.NONE)],
)
def test_government_scans(name: str, layer: TextLayer, vn_policy: VerifierPolicy) -> None:
    report = verify_bytes(
        (SAMPLES / name).read_bytes(), name=name, policy=vn_policy, expected=Expectations()
    ).report
    assert report.decision is Decision.REJECTED
    assert ReasonCode.SCANNED_PAPER in report.reasons
    assert ReasonCode.WEAK_ALGORITHM_ACCEPTED in report.reasons
    # valid at the timestamp's time although expired today
    assert ReasonCode.CERT_EXPIRED_AT_SIGNING not in report.reasons
    assert ReasonCode.UNTRUSTED_SIGNER not in report.reasons
    (signature,) = report.signatures
    assert signature.trusted
    assert signature.intact
    assert signature.timestamped
    assert signature.signer.common_name == "Cổng Thông tin điện tử Chính phủ"
    # the portal's seal (CN names a body, O present, no personal identifier) is an organisation's
    assert signature.kind is SignatureKind.ORGANISATION
    assert ReasonCode.NO_ORGANISATION_SIGNATURE not in report.reasons
    assert signature.algorithm == "sha1WithRSA"
    assert report.document.scanned
    assert report.document.text_layer is layer


@pytest.mark.parametrize(
    ("pem", "kind"),
    [
        ("leaf_Cong_Thong_tin_dien_tu_Chinh_phu.pem", SignatureKind.ORGANISATION),
        # TSA certificates: CN "Máy chủ cấp dấu thời gian" names a server, not a body or person
        ("tsa_May_chu_cap_dau_thoi_gian_2013.pem", SignatureKind.UNKNOWN),
    ],
)
def test_embedded_certificate_kinds(pem: str, kind: SignatureKind) -> None:
    from asn1crypto import pem as asn1_pem
    from asn1crypto import x509

    from services.evidence_verifier.policy import OrganisationDetection, signature_kind
    from services.evidence_verifier.vn_identity import subject_facts

    _, _, der = asn1_pem.unarmor((SAMPLES / "embedded-certs" / pem).read_bytes())
    facts = subject_facts(x509.Certificate.load(der).subject.native)
    found = signature_kind(
        OrganisationDetection(),
        policy_oids=[],
        common_name=facts.common_name,
        organisation=facts.organisation,
        has_person_attributes=facts.has_person_attributes,
        identifiers=facts.identifiers,
    )
    assert found is kind


def test_sha1_refused_without_legacy_policy() -> None:
    strict = VerifierPolicy(trust_roots=load_trust_roots([TRUST]), now=TODAY, allow_sha1=False)
    name = "vpcp_portal_08-1.signed.pdf"
    report = verify_bytes(
        (SAMPLES / name).read_bytes(), name=name, policy=strict, expected=Expectations()
    ).report
    assert ReasonCode.UNTRUSTED_SIGNER in report.reasons
    assert ReasonCode.WEAK_ALGORITHM_ACCEPTED not in report.reasons
