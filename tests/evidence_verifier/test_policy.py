from __future__ import annotations

from pathlib import Path

import pytest

from contracts.vocabulary import Decision, ReasonCode, SignatureKind, TextLayer
from services.evidence_verifier.errors import VerifierError
from services.evidence_verifier.policy import OrganisationDetection, decide, ordered, signature_kind
from services.evidence_verifier.scan import PageFacts, classify
from services.evidence_verifier.testkit.pki import TEST_DETECTION, TestPKI
from services.evidence_verifier.trust import load_trust_roots


def test_decisions() -> None:
    assert decide([]) is Decision.ACCEPTED
    assert decide([ReasonCode.WEAK_ALGORITHM_ACCEPTED]) is Decision.ACCEPTED
    assert decide([ReasonCode.REVOCATION_UNKNOWN]) is Decision.NEEDS_REVIEW
    assert decide([ReasonCode.INTERNAL_ERROR]) is Decision.NEEDS_REVIEW
    assert decide([ReasonCode.TIMEOUT, ReasonCode.SCANNED_PAPER]) is Decision.REJECTED
    assert ordered([ReasonCode.SCANNED_PAPER, ReasonCode.UNSIGNED, ReasonCode.UNSIGNED]) == [
        ReasonCode.UNSIGNED,
        ReasonCode.SCANNED_PAPER,
    ]


def test_every_reason_code_leads_somewhere_sensible() -> None:
    for code in ReasonCode:
        verdict = decide([code])
        assert (verdict is Decision.ACCEPTED) == (not code.blocks_acceptance)


@pytest.mark.parametrize(
    ("oids", "cn", "org", "person_attrs", "kind"),
    [
        (["2.16.704.1.9999.1"], "Sở Nội vụ", "Sở Nội vụ", False, SignatureKind.ORGANISATION),
        (["2.16.704.1.9999.2"], "Lê Văn A", "Sở Nội vụ", False, SignatureKind.PERSON),
        ([], "Sở Nội vụ", "Sở Nội vụ", False, SignatureKind.ORGANISATION),
        ([], "Lê Văn A", "Sở Nội vụ", True, SignatureKind.PERSON),
        # the Government Portal's real seal (../shared/samples/pdf): no OID, no identifier
        ([], "Cổng Thông tin điện tử Chính phủ", "Văn phòng Chính phủ", False, SignatureKind.ORGANISATION),
        ([], "UBND HUYỆN AN PHÚ", "UBND TỈNH AN GIANG", False, SignatureKind.ORGANISATION),
        # a person's name under an organisation, nothing else: not guessed
        ([], "Vũ Văn Bình", "Sở Nội vụ", False, SignatureKind.UNKNOWN),
        ([], "Trương Thị Hoa", "Sở Tư pháp", False, SignatureKind.UNKNOWN),
        ([], "Sở Nội vụ", None, False, SignatureKind.UNKNOWN),
    ],
)
def test_signature_kind(
    oids: list[str], cn: str, org: str | None, person_attrs: bool, kind: SignatureKind
) -> None:
    found = signature_kind(
        TEST_DETECTION,
        policy_oids=oids,
        common_name=cn,
        organisation=org,
        has_person_attributes=person_attrs,
    )
    assert found is kind


def test_organisation_oids_are_configurable() -> None:
    detection = OrganisationDetection(
        organisation_oids=frozenset({"1.2.3"}), cn_equals_o_is_organisation=False
    )
    kind = signature_kind(
        detection, policy_oids=["1.2.3"], common_name="x", organisation="y", has_person_attributes=False
    )
    assert kind is SignatureKind.ORGANISATION
    same_name = signature_kind(
        detection, policy_oids=[], common_name="x", organisation="x", has_person_attributes=False
    )
    assert same_name is SignatureKind.UNKNOWN


@pytest.mark.parametrize(
    ("cn", "org", "identifiers", "kind"),
    [
        # personal identifiers in UID (VNPT, Viettel, FPT write "CMND:", "CCCD:", "HC:")
        ("Nguyễn Văn An", "Sở Nội vụ", ["CMND:012345678"], SignatureKind.PERSON),
        ("Nguyễn Văn An", None, ["CCCD:001085012345"], SignatureKind.PERSON),
        ("Lê Thị B", None, ["HC:B1234567"], SignatureKind.PERSON),
        # a personal identifier wins over a body's name in CN (an officer's certificate)
        ("Sở Nội vụ - Nguyễn Văn An", "Sở Nội vụ", ["CCCD:001085012345"], SignatureKind.PERSON),
        # tax and budget codes: organisations and state bodies
        ("CÔNG TY TNHH ABC", "CÔNG TY TNHH ABC", ["MST:0101234567"], SignatureKind.ORGANISATION),
        ("Kho bạc X", None, ["MNS:1234567"], SignatureKind.ORGANISATION),
        ("Phòng Tài chính", None, ["MQHNS: 1034567"], SignatureKind.ORGANISATION),
        ("Some name", None, ["unrelated"], SignatureKind.UNKNOWN),
    ],
)
def test_vietnamese_identifiers(
    cn: str, org: str | None, identifiers: list[str], kind: SignatureKind
) -> None:
    found = signature_kind(
        OrganisationDetection(),
        policy_oids=[],
        common_name=cn,
        organisation=org,
        has_person_attributes=False,
        identifiers=identifiers,
    )
    assert found is kind


def test_production_defaults_hold_no_test_oids() -> None:
    defaults = OrganisationDetection()
    assert not any(
        oid.startswith("2.16.704.1.9999") for oid in defaults.organisation_oids | defaults.person_oids
    )
    # the test PKI's OIDs mean nothing to a production policy: a test person certificate is
    # judged by its subject alone
    kind = signature_kind(
        defaults,
        policy_oids=["2.16.704.1.9999.1"],
        common_name="Lê Văn A",
        organisation="Sở Nội vụ",
        has_person_attributes=False,
    )
    assert kind is SignatureKind.UNKNOWN


def test_scan_classification() -> None:
    scan_page = PageFacts(image_coverage=1.0, visible_text_ops=0, invisible_text_ops=0)
    ocr_page = PageFacts(image_coverage=1.0, visible_text_ops=0, invisible_text_ops=12)
    digital = PageFacts(image_coverage=0.01, visible_text_ops=30, invisible_text_ops=0)
    assert classify([scan_page]).scanned
    assert classify([ocr_page]).text_layer is TextLayer.OCR
    assert classify([digital, digital]).text_layer is TextLayer.BORN_DIGITAL
    assert not classify([digital, digital, scan_page]).scanned  # an annexed scan page
    assert classify([scan_page, digital]).scanned  # first page scanned


def test_trust_roots_load_pem_and_der(tmp_path: Path, pki: TestPKI) -> None:
    pki.write_trust_dir(tmp_path / "pem")
    der_dir = tmp_path / "der"
    der_dir.mkdir()
    (der_dir / "root.cer").write_bytes(pki.root.cert_der)
    (der_dir / "notes.txt").write_text("not a certificate")
    roots = load_trust_roots([tmp_path / "pem", der_dir])
    assert set(roots) == {pki.root.cert_der, pki.legacy_root.cert_der}
    with pytest.raises(VerifierError):
        load_trust_roots([tmp_path / "missing"])
