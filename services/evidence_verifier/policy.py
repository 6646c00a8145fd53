"""What the verifier accepts: trust, algorithms, revocation, organisation detection, and the
mapping from reason codes to a decision. Pure values; loading trust roots lives in trust.py."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from contracts.vocabulary import Decision, ReasonCode, SignatureKind
from services.evidence_verifier import vn_identity
from services.evidence_verifier.limits import Limits

# No policy OID is known to separate seals from persons across Vietnamese CAs
# (docs/vn-certificates.md): deployments configure theirs, tests supply the test PKI's.
DEFAULT_ORGANISATION_OIDS: frozenset[str] = frozenset()
DEFAULT_PERSON_OIDS: frozenset[str] = frozenset()


class RevocationMode(StrEnum):
    EMBEDDED = "embedded"  # use CRLs/OCSP embedded in the PDF; absent data is not an error
    EMBEDDED_REQUIRED = "embedded_required"  # absent revocation data -> REVOCATION_UNKNOWN
    ONLINE = "online"  # embedded data plus fetching from the CA (network access)


@dataclass(frozen=True)
class OrganisationDetection:
    """How a signer certificate is recognised as the organisation's (its seal) or a person's.

    Policy OIDs decide first. Then the subject, as Vietnamese CAs write it (vn_identity.py,
    docs/vn-certificates.md): a personal identifier (CMND/CCCD/passport), title, given name or
    surname make a person; a tax or budget code without one, a CN equal to the O, or a CN that
    names a body (with an O present) make the organisation's seal.
    """

    organisation_oids: frozenset[str] = DEFAULT_ORGANISATION_OIDS
    person_oids: frozenset[str] = DEFAULT_PERSON_OIDS
    cn_equals_o_is_organisation: bool = True
    organisation_names: bool = True  # a CN naming a body ("Sở …", "Cổng Thông tin …") is a seal


def signature_kind(
    detection: OrganisationDetection,
    *,
    policy_oids: Iterable[str],
    common_name: str | None,
    organisation: str | None,
    has_person_attributes: bool,
    identifiers: Iterable[str] = (),
) -> SignatureKind:
    oids = set(policy_oids)
    if oids & detection.organisation_oids:
        return SignatureKind.ORGANISATION
    found = vn_identity.identifier_kinds(identifiers)
    if oids & detection.person_oids or has_person_attributes or vn_identity.IdentifierKind.PERSONAL in found:
        return SignatureKind.PERSON
    if vn_identity.IdentifierKind.ORGANISATION in found:
        return SignatureKind.ORGANISATION
    if (
        detection.cn_equals_o_is_organisation
        and common_name
        and organisation
        and vn_identity.fold(common_name) == vn_identity.fold(organisation)
    ):
        return SignatureKind.ORGANISATION
    if (
        detection.organisation_names
        and common_name
        and organisation
        and vn_identity.looks_like_organisation_name(common_name)
    ):
        return SignatureKind.ORGANISATION
    return SignatureKind.UNKNOWN


@dataclass(frozen=True)
class VerifierPolicy:
    trust_roots: tuple[bytes, ...]  # DER certificates
    now: datetime
    organisation: OrganisationDetection = field(default_factory=OrganisationDetection)
    allow_sha1: bool = True  # the Vietnamese G1 government chain is SHA-1 (DOMAIN.md)
    revocation: RevocationMode = RevocationMode.EMBEDDED
    limits: Limits = field(default_factory=Limits)

    @property
    def cache_key(self) -> str:
        """Identifies everything that can change a chain-validation outcome except time."""
        digest = hashlib.sha256()
        for root in sorted(self.trust_roots):
            digest.update(hashlib.sha256(root).digest())
        digest.update(f"{self.allow_sha1}|{self.revocation}".encode())
        return digest.hexdigest()


@dataclass(frozen=True)
class Expectations:
    """What the e-office system says about the document."""

    number: str | None = None  # "15/KH-UBND"
    year: int | None = None  # the scored year
    sha256: str | None = None


# Codes that say the document itself breaks a rule: a person reviewing it would not change the
# outcome. Other blocking codes mean the verifier could not decide, so a person must.
_REJECTING = frozenset(
    {
        ReasonCode.NOT_PDF,
        ReasonCode.MALFORMED_PDF,
        ReasonCode.ENCRYPTED,
        ReasonCode.TOO_LARGE,
        ReasonCode.TOO_MANY_PAGES,
        ReasonCode.UNSIGNED,
        ReasonCode.SIGNATURE_BROKEN,
        ReasonCode.MODIFIED_AFTER_SIGNING,
        ReasonCode.UNTRUSTED_SIGNER,
        ReasonCode.CERT_EXPIRED_AT_SIGNING,
        ReasonCode.CERT_REVOKED,
        ReasonCode.NO_ORGANISATION_SIGNATURE,
        ReasonCode.SCANNED_PAPER,
        ReasonCode.LETTERED_NUMBER,
        ReasonCode.NUMBER_MISMATCH,
        ReasonCode.DATE_OUTSIDE_YEAR,
        ReasonCode.HASH_MISMATCH,
        ReasonCode.FETCH_FORBIDDEN,
    }
)


def decide(reasons: Iterable[ReasonCode]) -> Decision:
    codes = set(reasons)
    if codes & _REJECTING:
        return Decision.REJECTED
    if any(code.blocks_acceptance for code in codes):
        return Decision.NEEDS_REVIEW
    return Decision.ACCEPTED


def ordered(reasons: Iterable[ReasonCode]) -> list[ReasonCode]:
    """Deduplicated, in the vocabulary's declaration order (stable reports)."""
    present = set(reasons)
    return [code for code in ReasonCode if code in present]
