"""The two real government PDFs in ../shared (skipped when absent)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from contracts.vocabulary import Decision, ReasonCode, TextLayer
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
    assert signature.algorithm == "sha1WithRSA"
    assert report.document.scanned
    assert report.document.text_layer is layer


def test_sha1_refused_without_legacy_policy() -> None:
    strict = VerifierPolicy(trust_roots=load_trust_roots([TRUST]), now=TODAY, allow_sha1=False)
    name = "vpcp_portal_08-1.signed.pdf"
    report = verify_bytes(
        (SAMPLES / name).read_bytes(), name=name, policy=strict, expected=Expectations()
    ).report
    assert ReasonCode.UNTRUSTED_SIGNER in report.reasons
    assert ReasonCode.WEAK_ALGORITHM_ACCEPTED not in report.reasons
