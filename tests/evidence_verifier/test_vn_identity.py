"""Organisation or person from subjects written the way Vietnamese CAs write them
(docs/vn-certificates.md lists where each shape was seen)."""

from __future__ import annotations

import pytest
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.x509.oid import NameOID

from contracts.vocabulary import SignatureKind
from services.evidence_verifier.policy import OrganisationDetection, signature_kind
from services.evidence_verifier.vn_identity import fold, subject_facts

Attr = tuple[x509.ObjectIdentifier, str]


def _kind(attrs: list[Attr]) -> SignatureKind:
    name = x509.Name([x509.NameAttribute(oid, value) for oid, value in attrs])
    facts = subject_facts(asn1_x509.Name.load(name.public_bytes()).native)
    return signature_kind(
        OrganisationDetection(),
        policy_oids=[],
        common_name=facts.common_name,
        organisation=facts.organisation,
        has_person_attributes=facts.has_person_attributes,
        identifiers=facts.identifiers,
    )


UID = NameOID.USER_ID
CN = NameOID.COMMON_NAME
O = NameOID.ORGANIZATION_NAME  # noqa: E741


@pytest.mark.parametrize(
    ("attrs", "kind"),
    [
        # a provincial department's seal: tax code and budget code, CN names the body
        (
            [
                (UID, "MST:0400260612"),
                (UID, "MNS:1047665"),
                (CN, "Sở Y tế"),
                (O, "Ủy ban nhân dân thành phố Đà Nẵng"),
            ],
            SignatureKind.ORGANISATION,
        ),
        # an enterprise's certificate: tax code only
        ([(UID, "MST:0104359717"), (CN, "CÔNG TY CỔ PHẦN ABC")], SignatureKind.ORGANISATION),
        # an employee's certificate: the employer's tax code AND a citizen identity number
        (
            [
                (O, "MobiFone IT"),
                (UID, "MST:0100686209-199"),
                (UID, "CCCD:025199009534"),
                (CN, "NGUYEN HONG NHUNG"),
            ],
            SignatureKind.PERSON,
        ),
        # a doctor: old identity card number and a title
        (
            [
                (UID, "CMND:079073009568"),
                (CN, "Nguyễn Văn A"),
                (NameOID.TITLE, "BS CK II"),
                (O, "Bệnh viện Quận 11"),
            ],
            SignatureKind.PERSON,
        ),
        # identifier in serialNumber instead of UID
        ([(NameOID.SERIAL_NUMBER, "CCCD:001085012345"), (CN, "Trần Văn C")], SignatureKind.PERSON),
        # the Government Portal's seal: no identifier at all
        ([(CN, "Cổng Thông tin điện tử Chính phủ"), (O, "Văn phòng Chính phủ")], SignatureKind.ORGANISATION),
        # a name and an organisation but nothing else: unknown, not guessed
        ([(CN, "Đoàn Thị Lan"), (O, "UBND huyện X")], SignatureKind.UNKNOWN),
    ],
)
def test_subject_shapes(attrs: list[Attr], kind: SignatureKind) -> None:
    assert _kind(attrs) is kind


def test_fold_ignores_case_and_diacritics() -> None:
    assert fold("ỦY BAN NHÂN DÂN  Tỉnh") == fold("uỷ ban nhân dân tỉnh") == "uy ban nhan dan tinh"
    assert fold("Đà Nẵng") == "da nang"
