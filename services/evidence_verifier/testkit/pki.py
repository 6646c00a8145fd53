"""A throw-away test PKI for tests and the demo, built with `cryptography`.

Layout (all names are fictional):

    Kiemchung Test Root CA (RSA 2048, SHA-256)
      └─ Kiemchung Test Issuing CA (ECDSA P-256)
           ├─ per unit: organisation certificate (the seal: CN = O = unit name)
           ├─ per unit: person certificate (CN = head's name, O = unit, title)
           ├─ an expired organisation certificate, a revoked one (with a CRL)
           └─ a time-stamping authority (TSA) certificate (RSA: pyHanko's dummy TSA is RSA-only)
    Kiemchung Legacy Root (SHA-1 signed, like the Vietnamese G1 government chain)
      └─ Kiemchung Legacy Issuing CA (SHA-1) └─ organisation certificate (SHA-1)
    Kiemchung Untrusted Root └─ organisation certificate (never written to a trust dir)

Policy OIDs. Vietnam's arc is 2.16.704 and 2.16.704.1 is the government's; the real VGCA G2
issuing CA carries policy 2.16.704.1.1.1.1.1. The split between organisation (seal) and person
certificates in the real policy tree is not published in a form we could check, so the test PKI
uses two OIDs under a sub-arc no real CA uses, ``2.16.704.1.9999``: ``.1`` organisation and ``.2``
person. Both are configurable in the verifier (`policy.OrganisationDetection`).

Keys are generated once per process and reused (RSA generation dominates test time otherwise).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from asn1crypto import algos as asn1_algos
from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from services.evidence_verifier.policy import OrganisationDetection

ORGANISATION_POLICY_OID = "2.16.704.1.9999.1"
PERSON_POLICY_OID = "2.16.704.1.9999.2"
# what tests and the demo configure (never the verifier's defaults)
TEST_DETECTION = OrganisationDetection(
    organisation_oids=frozenset({ORGANISATION_POLICY_OID}), person_oids=frozenset({PERSON_POLICY_OID})
)
CRL_URL = "http://ca.kiemchung.invalid/crl/issuing.crl"

RSA_KEY_BITS = 2048
RSA_PUBLIC_EXPONENT = 65537
ROOT_VALIDITY = timedelta(days=365 * 20)
CA_VALIDITY = timedelta(days=365 * 10)
LEAF_VALIDITY = timedelta(days=365 * 2)
BACKDATE = timedelta(days=365)
EXPIRED_AGO = timedelta(days=30)
REVOKED_AGO = timedelta(days=10)
CRL_ISSUED_AGO = timedelta(days=1)
CRL_NEXT_UPDATE = timedelta(days=30)

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


@dataclass(frozen=True)
class UnitIdentity:
    """An administrative unit whose documents the test PKI signs."""

    name: str  # e.g. "Ủy ban nhân dân xã Bộc Nhiêu"
    head_name: str  # e.g. "Lê Đình Nga"
    head_title: str = "Chủ tịch"


@dataclass(frozen=True)
class Credential:
    """A certificate with its private key, in both library representations."""

    cert: x509.Certificate
    key: PrivateKey

    @property
    def cert_der(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.DER)

    @property
    def cert_pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    @property
    def asn1_cert(self) -> asn1_x509.Certificate:
        return asn1_x509.Certificate.load(self.cert_der)

    @property
    def asn1_key(self) -> asn1_keys.PrivateKeyInfo:
        der = self.key.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        return asn1_keys.PrivateKeyInfo.load(der)


@dataclass(frozen=True)
class Signer:
    """A signing credential with the CA certificates that complete its chain."""

    credential: Credential
    chain: tuple[Credential, ...]  # issuing CA first, root last


@dataclass(frozen=True)
class UnitCredentials:
    unit: UnitIdentity
    organisation: Signer
    person: Signer


@dataclass(frozen=True)
class TestPKI:
    __test__ = False  # not a pytest test class

    now: datetime
    root: Credential
    issuing_ca: Credential
    tsa: Signer
    units: tuple[UnitCredentials, ...]
    expired: Signer  # organisation cert of units[0] that expired EXPIRED_AGO before `now`
    revoked: Signer  # organisation cert of units[0] revoked REVOKED_AGO before `now`
    crl_der: bytes  # the issuing CA's CRL listing `revoked`
    legacy_root: Credential
    legacy: Signer  # SHA-1 chain, organisation cert of units[0]
    untrusted_root: Credential
    untrusted: Signer  # organisation cert of units[0] under a root nobody trusts
    trusted_roots: tuple[Credential, ...] = field(default=())

    def unit(self, name: str) -> UnitCredentials:
        for creds in self.units:
            if creds.unit.name == name:
                return creds
        raise KeyError(name)

    def write_trust_dir(self, path: Path, *, include_legacy: bool = True) -> Path:
        """Write the trusted roots as PEM files (one per root) and return the directory."""
        path.mkdir(parents=True, exist_ok=True)
        (path / "kiemchung-test-root.pem").write_bytes(self.root.cert_pem)
        if include_legacy:
            (path / "kiemchung-legacy-root.pem").write_bytes(self.legacy_root.cert_pem)
        return path


# --- key cache --------------------------------------------------------------------------------

_KEY_LOCK = threading.Lock()
_KEYS: dict[tuple[str, int], PrivateKey] = {}


def _key(kind: str, slot: int) -> PrivateKey:
    """Return a process-wide cached key; slot numbers keep distinct certificates' keys distinct."""
    with _KEY_LOCK:
        cached = _KEYS.get((kind, slot))
        if cached is None:
            if kind == "rsa":
                cached = rsa.generate_private_key(public_exponent=RSA_PUBLIC_EXPONENT, key_size=RSA_KEY_BITS)
            else:
                cached = ec.generate_private_key(ec.SECP256R1())
            _KEYS[(kind, slot)] = cached
        return cached


# --- certificate builders ---------------------------------------------------------------------


def _name(common_name: str, organisation: str | None = None, title: str | None = None) -> x509.Name:
    attrs = [x509.NameAttribute(NameOID.COUNTRY_NAME, "VN")]
    if organisation is not None:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation))
    if title is not None:
        attrs.append(x509.NameAttribute(NameOID.TITLE, title))
    attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
    return x509.Name(attrs)


def _build(
    *,
    subject: x509.Name,
    key: PrivateKey,
    issuer: Credential | None,
    serial: int,
    not_before: datetime,
    not_after: datetime,
    ca: bool,
    policy_oid: str | None = None,
    tsa: bool = False,
    hash_algorithm: hashes.HashAlgorithm | None = None,
) -> Credential:
    issuer_name = subject if issuer is None else issuer.cert.subject
    signing_key = key if issuer is None else issuer.key
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(serial)
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    if issuer is not None:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()), critical=False
        )
    if ca:
        usage = x509.KeyUsage(
            digital_signature=False,
            content_commitment=False,
            key_encipherment=False,
            data_encipherment=False,
            key_agreement=False,
            key_cert_sign=True,
            crl_sign=True,
            encipher_only=False,
            decipher_only=False,
        )
    else:
        usage = x509.KeyUsage(
            digital_signature=True,
            content_commitment=not tsa,
            key_encipherment=False,
            data_encipherment=False,
            key_agreement=False,
            key_cert_sign=False,
            crl_sign=False,
            encipher_only=False,
            decipher_only=False,
        )
        builder = builder.add_extension(
            x509.CRLDistributionPoints(
                [
                    x509.DistributionPoint(
                        full_name=[x509.UniformResourceIdentifier(CRL_URL)],
                        relative_name=None,
                        reasons=None,
                        crl_issuer=None,
                    )
                ]
            ),
            critical=False,
        )
    builder = builder.add_extension(usage, critical=True)
    if tsa:
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True
        )
    if policy_oid is not None:
        builder = builder.add_extension(
            x509.CertificatePolicies([x509.PolicyInformation(x509.ObjectIdentifier(policy_oid), None)]),
            critical=False,
        )
    cert = builder.sign(signing_key, hashes.SHA256())
    if isinstance(hash_algorithm, hashes.SHA1):
        if not isinstance(signing_key, rsa.RSAPrivateKey):
            raise ValueError("legacy SHA-1 certificates are RSA-signed")
        cert = _resign_sha1(cert, signing_key)
    return Credential(cert=cert, key=key)


def _resign_sha1(cert: x509.Certificate, signing_key: rsa.RSAPrivateKey) -> x509.Certificate:
    """Re-sign a certificate with sha1WithRSA: `cryptography` no longer signs SHA-1 certificates,
    but the Vietnamese G1 government chain is SHA-1, so the test PKI needs one to mirror it."""
    parsed = asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))
    algorithm = asn1_algos.SignedDigestAlgorithm({"algorithm": "sha1_rsa"})
    tbs = parsed["tbs_certificate"].copy()
    tbs["signature"] = algorithm
    tbs_der = tbs.dump(force=True)
    signature = signing_key.sign(tbs_der, padding.PKCS1v15(), hashes.SHA1())
    resigned = asn1_x509.Certificate(
        {"tbs_certificate": tbs, "signature_algorithm": algorithm, "signature_value": signature}
    )
    return x509.load_der_x509_certificate(resigned.dump())


def generate_pki(units: Sequence[UnitIdentity], now: datetime) -> TestPKI:
    """Build the whole test PKI relative to `now` (timezone-aware)."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if not units:
        raise ValueError("at least one unit is needed")
    serial = iter(range(0x1000, 0x100000))

    def leaf(
        subject: x509.Name,
        issuer: Credential,
        slot: int,
        policy: str | None,
        *,
        not_before: datetime | None = None,
        not_after: datetime | None = None,
        hash_algorithm: hashes.HashAlgorithm | None = None,
    ) -> Credential:
        return _build(
            subject=subject,
            key=_key("ec", slot),
            issuer=issuer,
            serial=next(serial),
            not_before=not_before or now - BACKDATE,
            not_after=not_after or now + LEAF_VALIDITY,
            ca=False,
            policy_oid=policy,
            hash_algorithm=hash_algorithm,
        )

    root = _build(
        subject=_name("Kiemchung Test Root CA", "Kiemchung Test PKI"),
        key=_key("rsa", 0),
        issuer=None,
        serial=next(serial),
        not_before=now - BACKDATE * 5,
        not_after=now + ROOT_VALIDITY,
        ca=True,
    )
    issuing = _build(
        subject=_name("Kiemchung Test Issuing CA", "Kiemchung Test PKI"),
        key=_key("ec", 0),
        issuer=root,
        serial=next(serial),
        not_before=now - BACKDATE * 4,
        not_after=now + CA_VALIDITY,
        ca=True,
    )
    chain = (issuing, root)
    tsa = _build(
        subject=_name("Kiemchung Test TSA", "Kiemchung Test PKI"),
        key=_key("rsa", 4),  # pyHanko's in-process dummy TSA signs with RSA only
        issuer=issuing,
        serial=next(serial),
        not_before=now - BACKDATE * 4,
        not_after=now + CA_VALIDITY,
        ca=False,
        tsa=True,
    )
    creds: list[UnitCredentials] = []
    for index, unit in enumerate(units):
        org = leaf(_name(unit.name, unit.name), issuing, 10 + 2 * index, ORGANISATION_POLICY_OID)
        person = leaf(
            _name(unit.head_name, unit.name, unit.head_title), issuing, 11 + 2 * index, PERSON_POLICY_OID
        )
        creds.append(UnitCredentials(unit, Signer(org, chain), Signer(person, chain)))
    first = units[0]
    expired = leaf(
        _name(first.name, first.name),
        issuing,
        2,
        ORGANISATION_POLICY_OID,
        not_before=now - BACKDATE * 3,
        not_after=now - EXPIRED_AGO,
    )
    revoked = leaf(_name(first.name, first.name), issuing, 3, ORGANISATION_POLICY_OID)
    crl = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(issuing.cert.subject)
        .last_update(now - CRL_ISSUED_AGO)
        .next_update(now + CRL_NEXT_UPDATE)
        .add_revoked_certificate(
            x509.RevokedCertificateBuilder()
            .serial_number(revoked.cert.serial_number)
            .revocation_date(now - REVOKED_AGO)
            .build()
        )
        .add_extension(x509.CRLNumber(1), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuing.key.public_key()), critical=False
        )
        .sign(issuing.key, hashes.SHA256())
    )
    sha1 = hashes.SHA1()  # deliberately weak: mirrors the Vietnamese G1 chain
    legacy_root = _build(
        subject=_name("Kiemchung Legacy Root", "Kiemchung Test PKI"),
        key=_key("rsa", 1),
        issuer=None,
        serial=next(serial),
        not_before=now - BACKDATE * 10,
        not_after=now + ROOT_VALIDITY,
        ca=True,
        hash_algorithm=sha1,
    )
    legacy_ca = _build(
        subject=_name("Kiemchung Legacy Issuing CA", "Kiemchung Test PKI"),
        key=_key("rsa", 2),
        issuer=legacy_root,
        serial=next(serial),
        not_before=now - BACKDATE * 9,
        not_after=now + CA_VALIDITY,
        ca=True,
        hash_algorithm=sha1,
    )
    legacy_leaf = _build(
        subject=_name(first.name, first.name),
        key=_key("rsa", 3),
        issuer=legacy_ca,
        serial=next(serial),
        not_before=now - BACKDATE,
        not_after=now + LEAF_VALIDITY,
        ca=False,
        policy_oid=ORGANISATION_POLICY_OID,
        hash_algorithm=sha1,
    )
    untrusted_root = _build(
        subject=_name("Kiemchung Untrusted Root", "Somebody Else"),
        key=_key("ec", 4),
        issuer=None,
        serial=next(serial),
        not_before=now - BACKDATE * 5,
        not_after=now + ROOT_VALIDITY,
        ca=True,
    )
    untrusted_leaf = leaf(_name(first.name, first.name), untrusted_root, 5, ORGANISATION_POLICY_OID)
    return TestPKI(
        now=now,
        root=root,
        issuing_ca=issuing,
        tsa=Signer(tsa, chain),
        units=tuple(creds),
        expired=Signer(expired, chain),
        revoked=Signer(revoked, chain),
        crl_der=crl.public_bytes(serialization.Encoding.DER),
        legacy_root=legacy_root,
        legacy=Signer(legacy_leaf, (legacy_ca, legacy_root)),
        untrusted_root=untrusted_root,
        untrusted=Signer(untrusted_leaf, (untrusted_root,)),
        trusted_roots=(root, legacy_root),
    )
