# mypy: disable-error-code="no-untyped-call"
# (pyHanko and pyhanko-certvalidator are only partly typed)
"""Signature checks with pyHanko: integrity, changes after signing, trust at signing time.

Trust is judged at the time the signature's RFC 3161 timestamp proves (the timestamp itself is
validated at its own genTime), else at the time the signer claims. Validated chains are cached
per process: a province's documents repeat the same few signer chains, and path building and
validation is most of pyHanko's per-signature cost.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from asn1crypto import cms, crl, ocsp
from asn1crypto import x509 as asn1_x509
from asn1crypto.core import Void
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.ades.report import AdESFailure, AdESIndeterminate, AdESSubIndic
from pyhanko.sign.diff_analysis import DEFAULT_DIFF_POLICY, ModificationLevel
from pyhanko.sign.validation import errors as pyhanko_errors
from pyhanko.sign.validation import generic_cms
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature
from pyhanko.sign.validation.status import PdfSignatureStatus, SignatureCoverageLevel
from pyhanko.sign.validation.utils import CMSAlgorithmUsagePolicy
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.path import ValidationPath
from pyhanko_certvalidator.policy_decl import DisallowWeakAlgorithmsPolicy
from pyhanko_certvalidator.registry import SimpleTrustManager

from contracts.report import SignatureReport, SignerInfo
from contracts.vocabulary import (
    Coverage,
    Indication,
    ModifiedAfter,
    ReasonCode,
    SignatureKind,
    SubIndication,
)
from services.evidence_verifier import signed_range, speedups, stages, vn_identity
from services.evidence_verifier.errors import SignedRangeError
from services.evidence_verifier.policy import RevocationMode, VerifierPolicy, signature_kind
from services.evidence_verifier.signature_fields import UnreadableSignature
from services.evidence_verifier.visual_check import VisualCheck

LEGACY_WEAK_HASHES = frozenset({"md2", "md5"})
STRICT_WEAK_HASHES = frozenset({"md2", "md5", "sha1"})
SHA1_NAMES = ("sha1",)
# Changes after a signature that keep the signed content: LTV data, more signatures, form fill.
ALLOWED_LEVELS = frozenset({ModificationLevel.LTA_UPDATES, ModificationLevel.FORM_FILLING})
CLOCK_SKEW = timedelta(minutes=5)
UNKNOWN_SERIAL = "unknown"
DOC_TIMESTAMP = "/DocTimeStamp"


@dataclass(frozen=True)
class SignatureOutcome:
    report: SignatureReport
    reasons: tuple[ReasonCode, ...]
    # the revision a signature covers when pyHanko allows what changed after it (the visual
    # check compares from there), and the byte where its signed prefix of the file ends
    revision: int | None = None
    signed_end: int | None = None


@dataclass(frozen=True)
class _Trust:
    roots: tuple[asn1_x509.Certificate, ...]
    cert_policy: DisallowWeakAlgorithmsPolicy
    cms_policy: CMSAlgorithmUsagePolicy
    manager: SimpleTrustManager  # built once: building it per signature re-encodes every root


_TRUST_LOCK = threading.Lock()
_TRUST: dict[str, _Trust] = {}


def _trust(policy: VerifierPolicy) -> _Trust:
    key = policy.cache_key
    with _TRUST_LOCK:
        found = _TRUST.get(key)
        if found is None:
            weak = LEGACY_WEAK_HASHES if policy.allow_sha1 else STRICT_WEAK_HASHES
            cert_policy = DisallowWeakAlgorithmsPolicy(weak_hash_algos=weak)
            found = _Trust(
                roots=tuple(asn1_x509.Certificate.load(der) for der in policy.trust_roots),
                cert_policy=cert_policy,
                cms_policy=CMSAlgorithmUsagePolicy.lift_policy(cert_policy),
                manager=SimpleTrustManager.build(
                    trust_roots=[asn1_x509.Certificate.load(der) for der in policy.trust_roots]
                ),
            )
            _TRUST[key] = found
        return found


def clear_chain_cache() -> None:
    speedups.clear_caches()


def _offered(signed_data: cms.SignedData) -> list[bytes]:
    """DER of every certificate a CMS blob carries: what path building may use besides roots."""
    return [c.chosen.dump() for c in signed_data["certificates"] or ()]


# --- helpers ----------------------------------------------------------------------------------


def _embedded_revinfo(reader: PdfFileReader, signer_info: cms.SignerInfo) -> tuple[list[bytes], list[bytes]]:
    """CRLs and OCSP responses from the document's DSS and the signature's archival attribute."""
    crls: list[bytes] = []
    ocsps: list[bytes] = []
    dss = reader.root.get("/DSS")
    if dss is not None:
        dss = dss.get_object()
        crls.extend(ref.get_object().data for ref in dss.get("/CRLs", ()))
        ocsps.extend(ref.get_object().data for ref in dss.get("/OCSPs", ()))
    # iterate without `.native` (decodes every attribute) or `.contents` (re-encodes them all)
    signed_attrs = signer_info["signed_attrs"]
    if not isinstance(signed_attrs, Void):
        for attr in signed_attrs:
            if attr["type"].native == "adobe_revocation_info_archival":
                archive = attr["values"][0]
                crls.extend(c.dump() for c in (archive["crl"] or ()))
                ocsps.extend(o.dump() for o in (archive["ocsp"] or ()))
    return crls, ocsps


def _signer_info(cert: asn1_x509.Certificate) -> SignerInfo:
    subject = cert.subject.native
    issuer = cert.issuer.native
    return SignerInfo(
        common_name=_text(subject.get("common_name")),
        organisation=_text(subject.get("organization_name")),
        serial=format(cert.serial_number, "x"),
        issuer=_text(issuer.get("common_name")) or cert.issuer.human_friendly,
    )


def _text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def _kind(policy: VerifierPolicy, cert: asn1_x509.Certificate) -> SignatureKind:
    facts = vn_identity.subject_facts(cert.subject.native)
    policies = cert.certificate_policies_value
    oids = [p["policy_identifier"].dotted for p in policies] if policies is not None else []
    return signature_kind(
        policy.organisation,
        policy_oids=oids,
        common_name=facts.common_name,
        organisation=facts.organisation,
        has_person_attributes=facts.has_person_attributes,
        identifiers=facts.identifiers,
    )


def _algorithm(signer_info: cms.SignerInfo) -> tuple[str, str]:
    md = signer_info["digest_algorithm"]["algorithm"].native
    mechanism = signer_info["signature_algorithm"]["algorithm"].native
    if "ecdsa" in mechanism:
        return md, f"ecdsa-with-{md.upper()}"
    if "pss" in mechanism:
        return md, f"rsassa-pss-{md}"
    return md, f"{md}WithRSA"


def _path_uses_sha1(path: ValidationPath | None) -> bool:
    if path is None:
        return False
    for cert in path.iter_certs(include_root=False):
        if isinstance(cert, asn1_x509.Certificate) and cert.hash_algo in SHA1_NAMES:
            return True
    return False


_TRUST_MAP: dict[AdESSubIndic, tuple[ReasonCode, SubIndication | None, Indication]] = {
    AdESIndeterminate.REVOKED_NO_POE: (
        ReasonCode.CERT_REVOKED,
        SubIndication.REVOKED,
        Indication.TOTAL_FAILED,
    ),
    AdESIndeterminate.REVOKED_CA_NO_POE: (
        ReasonCode.CERT_REVOKED,
        SubIndication.REVOKED,
        Indication.TOTAL_FAILED,
    ),
    AdESFailure.REVOKED: (ReasonCode.CERT_REVOKED, SubIndication.REVOKED, Indication.TOTAL_FAILED),
    AdESIndeterminate.EXPIRED: (
        ReasonCode.CERT_EXPIRED_AT_SIGNING,
        SubIndication.EXPIRED,
        Indication.TOTAL_FAILED,
    ),
    AdESIndeterminate.OUT_OF_BOUNDS_NO_POE: (
        ReasonCode.CERT_EXPIRED_AT_SIGNING,
        SubIndication.EXPIRED,
        Indication.TOTAL_FAILED,
    ),
    AdESIndeterminate.OUT_OF_BOUNDS_NOT_REVOKED: (
        ReasonCode.CERT_EXPIRED_AT_SIGNING,
        SubIndication.EXPIRED,
        Indication.TOTAL_FAILED,
    ),
    AdESIndeterminate.NOT_YET_VALID: (
        ReasonCode.CERT_EXPIRED_AT_SIGNING,
        SubIndication.NOT_YET_VALID,
        Indication.TOTAL_FAILED,
    ),
    AdESFailure.NOT_YET_VALID: (
        ReasonCode.CERT_EXPIRED_AT_SIGNING,
        SubIndication.NOT_YET_VALID,
        Indication.TOTAL_FAILED,
    ),
    AdESIndeterminate.NO_CERTIFICATE_CHAIN_FOUND: (
        ReasonCode.UNTRUSTED_SIGNER,
        SubIndication.NO_CERTIFICATE_CHAIN_FOUND,
        Indication.INDETERMINATE,
    ),
    AdESIndeterminate.CRYPTO_CONSTRAINTS_FAILURE: (
        ReasonCode.UNTRUSTED_SIGNER,
        SubIndication.CRYPTO_CONSTRAINTS_FAILURE,
        Indication.INDETERMINATE,
    ),
    AdESIndeterminate.CRYPTO_CONSTRAINTS_FAILURE_NO_POE: (
        ReasonCode.UNTRUSTED_SIGNER,
        SubIndication.CRYPTO_CONSTRAINTS_FAILURE,
        Indication.INDETERMINATE,
    ),
    AdESIndeterminate.TRY_LATER: (
        ReasonCode.REVOCATION_UNKNOWN,
        SubIndication.TRY_LATER,
        Indication.INDETERMINATE,
    ),
    AdESIndeterminate.REVOCATION_OUT_OF_BOUNDS_NO_POE: (
        ReasonCode.REVOCATION_UNKNOWN,
        SubIndication.REVOCATION_OUT_OF_BOUNDS_NO_POE,
        Indication.INDETERMINATE,
    ),
}


def _validation_context(  # the CMS blob's own certificates are registered by pyHanko itself
    policy: VerifierPolicy,
    trust: _Trust,
    moment: datetime,
    crls: Sequence[bytes],
    ocsps: Sequence[bytes],
    *,
    require_revocation: bool = False,
) -> ValidationContext:
    mode = "hard-fail" if require_revocation else "soft-fail"
    return ValidationContext(
        trust_manager=trust.manager,
        moment=moment,
        best_signature_time=moment,
        allow_fetching=policy.revocation is RevocationMode.ONLINE,
        crls=[crl.CertificateList.load(c) for c in crls],
        ocsps=[ocsp.OCSPResponse.load(o) for o in ocsps],
        revocation_mode=mode,
        algorithm_usage_policy=trust.cert_policy,
    )


# --- the check --------------------------------------------------------------------------------


async def evaluate(
    reader: PdfFileReader, found: Sequence[EmbeddedPdfSignature | UnreadableSignature], policy: VerifierPolicy
) -> list[SignatureOutcome]:
    """Each signature `signature_fields.collect` found in `reader`, judged on its own."""
    with speedups.fast_scope():
        return await _evaluate_all(reader, found, policy)


async def _evaluate_all(
    reader: PdfFileReader, found: Sequence[EmbeddedPdfSignature | UnreadableSignature], policy: VerifierPolicy
) -> list[SignatureOutcome]:
    trust = _trust(policy)
    outcomes: list[SignatureOutcome] = []
    earlier: SignatureOutcome | None = None  # the latest signature (not timestamp) so far
    for embedded in found:
        if isinstance(embedded, UnreadableSignature):
            outcomes.append(_unreadable(embedded))
            continue
        try:
            if embedded.sig_object_type == DOC_TIMESTAMP:
                outcomes.append(await _evaluate_timestamp(reader, embedded, policy, trust, earlier))
            else:
                outcomes.append(await _evaluate_one(reader, embedded, policy, trust))
                earlier = outcomes[-1]
        except (
            pyhanko_errors.SignatureValidationError,
            SignedRangeError,
            ValueError,
            KeyError,
            TypeError,
        ) as exc:
            # a CMS blob that cannot be read or matched to its signer: the signature is broken
            outcomes.append(_broken(embedded, str(exc)))
    with stages.timed(stages.RENDER_CHECK):
        return _judge_visible_changes(outcomes, VisualCheck(reader, policy.limits))


def _judge_visible_changes(outcomes: list[SignatureOutcome], visual: VisualCheck) -> list[SignatureOutcome]:
    """pyHanko allows form filling and new signature fields even when they paint over signed
    content; what a reader sees decides. After a signature, pixels may change only where its
    page was blank, and only by signature appearances. A change a later signature attests (an
    intact, trusted signature made after it, itself not modified) may also be a form filled in
    on blank paper: the form filled, then signed again. Judged from the last signature back, so
    a later signature's verdict is known when an earlier one relies on it."""
    judged = list(outcomes)
    for i in reversed(range(len(judged))):
        outcome = judged[i]
        if outcome.revision is None or outcome.signed_end is None:
            continue
        if visual.unchanged_after(outcome.revision, outcome.signed_end):
            continue
        attested = next(
            (
                later
                for later in reversed(judged[i + 1 :])
                if later.signed_end is not None
                and later.signed_end > outcome.signed_end
                and later.report.trusted
                and later.report.kind is not SignatureKind.DOCUMENT_TIMESTAMP
                and later.report.modified_after is not ModifiedAfter.DISALLOWED
            ),
            None,
        )
        if attested is not None and visual.unchanged_after(
            outcome.revision, outcome.signed_end, until=attested.signed_end, form_filling=True
        ):
            continue
        report = outcome.report.model_copy(
            update={"modified_after": ModifiedAfter.DISALLOWED, "indication": Indication.TOTAL_FAILED}
        )
        judged[i] = SignatureOutcome(report, (*outcome.reasons, ReasonCode.MODIFIED_AFTER_SIGNING))
    return judged


def modified_unseen(outcome: SignatureOutcome) -> SignatureOutcome:
    """A signature followed by a revision that could not be read: what changed after it cannot
    be shown to be allowed, so it is a change after signing (the signature itself is judged)."""
    if ReasonCode.MODIFIED_AFTER_SIGNING in outcome.reasons:
        return outcome
    report = outcome.report.model_copy(
        update={"modified_after": ModifiedAfter.DISALLOWED, "indication": Indication.TOTAL_FAILED}
    )
    return SignatureOutcome(report, (*outcome.reasons, ReasonCode.MODIFIED_AFTER_SIGNING))


def _broken(embedded: EmbeddedPdfSignature, why: str) -> SignatureOutcome:
    try:
        signer = _signer_info(embedded.signer_cert)
    except Exception:  # the certificate itself may be what is unreadable
        signer = SignerInfo(serial=UNKNOWN_SERIAL)
    del why
    timestamp = embedded.sig_object_type == DOC_TIMESTAMP
    return _broken_report(str(embedded.field_name), signer, timestamp=timestamp)


def _unreadable(found: UnreadableSignature) -> SignatureOutcome:
    """A signature dictionary pyHanko cannot read (no /Contents, a null one, no CMS blob)."""
    return _broken_report(found.field, SignerInfo(serial=UNKNOWN_SERIAL), timestamp=found.timestamp)


def _broken_report(field: str, signer: SignerInfo, *, timestamp: bool) -> SignatureOutcome:
    report = SignatureReport(
        field=field,
        signer=signer,
        kind=SignatureKind.DOCUMENT_TIMESTAMP if timestamp else SignatureKind.UNKNOWN,
        intact=False,
        trusted=False,
        indication=Indication.TOTAL_FAILED,
        sub_indication=SubIndication.FORMAT_FAILURE,
        coverage=Coverage.PARTIAL,
        modified_after=ModifiedAfter.NONE,
        timestamped=False,
    )
    return SignatureOutcome(report, (ReasonCode.SIGNATURE_BROKEN,))


async def _timestamp_time(
    signer_info: cms.SignerInfo, policy: VerifierPolicy, trust: _Trust
) -> tuple[datetime | None, bool]:
    """(proven time, any timestamp used SHA-1). Each token is validated at its own genTime:
    the TSA's certificate must have been valid when it stamped, not today."""
    for token in generic_cms.extract_tst_data_iter(signer_info, signed=False):
        tst_info = token["encap_content_info"]["content"].parsed
        gen_time: datetime = tst_info["gen_time"].native
        context = _validation_context(policy, trust, gen_time, (), ())
        scope = speedups.PathScope(
            key=speedups.path_key(policy.cache_key, _offered(token)),
            moment=gen_time,
            cacheable=policy.revocation is RevocationMode.EMBEDDED,
        )
        try:
            with speedups.path_scope(scope):
                kwargs = await generic_cms.validate_tst_signed_data(
                    token,
                    context,
                    generic_cms.message_imprint_checker(signer_info),
                    algorithm_policy=trust.cms_policy,
                )
        except (pyhanko_errors.SignatureValidationError, ValueError):
            continue
        if kwargs.get("intact") and kwargs.get("valid") and kwargs.get("trust_problem_indic") is None:
            tst_md = token["signer_infos"][0]["digest_algorithm"]["algorithm"].native
            return gen_time, tst_md in SHA1_NAMES or _path_uses_sha1(kwargs.get("validation_path"))
    return None, False


async def _evaluate_one(
    reader: PdfFileReader,
    embedded: EmbeddedPdfSignature,
    policy: VerifierPolicy,
    trust: _Trust,
) -> SignatureOutcome:
    reasons: list[ReasonCode] = []
    signer_info = embedded.signer_info
    cert = embedded.signer_cert
    md, algorithm = _algorithm(signer_info)
    signed = _signed_range(embedded)  # raises SignedRangeError: pyHanko trusts a sum of lengths

    cov, modified = _integrity(embedded)
    if modified is ModifiedAfter.DISALLOWED:
        reasons.append(ReasonCode.MODIFIED_AFTER_SIGNING)

    # the time trust is judged at
    proven, tst_sha1 = await _timestamp_time(signer_info, policy, trust)
    claimed = generic_cms.extract_self_reported_ts(signer_info) or embedded.self_reported_timestamp
    moment = proven or claimed or policy.now
    if proven is None and (claimed is None or claimed > policy.now + CLOCK_SKEW):
        moment = policy.now

    crls, ocsps = _embedded_revinfo(reader, signer_info)
    offered = speedups.path_key(policy.cache_key, _offered(embedded.signed_data))
    required = policy.revocation is RevocationMode.EMBEDDED_REQUIRED

    async def check(require_revocation: bool) -> dict[str, Any]:
        context = _validation_context(
            policy, trust, moment, crls, ocsps, require_revocation=require_revocation
        )
        # revocation data can make the outcome depend on the exact time: such checks are not cached
        cacheable = (
            not crls and not ocsps and not require_revocation and policy.revocation is RevocationMode.EMBEDDED
        )
        with speedups.path_scope(speedups.PathScope(offered, moment, cacheable)):
            result: dict[str, Any] = await generic_cms.cms_basic_validation(
                embedded.signed_data,
                raw_digest=embedded.compute_digest(),
                validation_context=context,
                key_usage_settings=PdfSignatureStatus.default_usage_constraints(),
                algorithm_policy=trust.cms_policy,
            )
        return result

    status = await check(required)
    intact = bool(status["intact"] and status["valid"])
    problem = status["trust_problem_indic"]
    if required and problem is AdESIndeterminate.CERTIFICATE_CHAIN_GENERAL_FAILURE:
        # pyHanko reports missing revocation data under hard-fail only as a general failure;
        # if the chain passes without it, missing revocation data was the cause
        relaxed = await check(False)
        if relaxed["trust_problem_indic"] is None:
            problem = AdESIndeterminate.TRY_LATER
    path = status["validation_path"]
    trusted = intact and problem is None

    indication, sub = Indication.TOTAL_PASSED, None
    if not intact:
        reasons.append(ReasonCode.SIGNATURE_BROKEN)
        indication = Indication.TOTAL_FAILED
        sub = SubIndication.HASH_FAILURE if not status["intact"] else SubIndication.SIG_CRYPTO_FAILURE
    elif problem is not None:
        code, sub, indication = _TRUST_MAP.get(
            problem,
            (ReasonCode.UNTRUSTED_SIGNER, SubIndication.NO_CERTIFICATE_CHAIN_FOUND, Indication.INDETERMINATE),
        )
        reasons.append(code)
    if trusted:
        if proven is None and not _valid_at(cert, policy.now):
            # nothing but the signer's word places the signature inside the certificate's life
            reasons.append(ReasonCode.SIGNING_TIME_UNPROVEN)
            indication, sub = Indication.INDETERMINATE, SubIndication.EXPIRED
        if policy.allow_sha1 and (md in SHA1_NAMES or tst_sha1 or _path_uses_sha1(path)):
            reasons.append(ReasonCode.WEAK_ALGORITHM_ACCEPTED)
    if modified is ModifiedAfter.DISALLOWED and indication is Indication.TOTAL_PASSED:
        indication = Indication.TOTAL_FAILED

    report = SignatureReport(
        field=embedded.field_name,
        signer=_signer_info(cert),
        kind=_kind(policy, cert),
        intact=intact,
        trusted=trusted,
        indication=indication,
        sub_indication=sub,
        coverage=cov,
        modified_after=modified,
        signing_time=proven or claimed,
        timestamped=proven is not None,
        algorithm=algorithm,
    )
    return _outcome(report, reasons, embedded, signed)


def _outcome(
    report: SignatureReport,
    reasons: list[ReasonCode],
    embedded: EmbeddedPdfSignature,
    signed: signed_range.SignedRange,
) -> SignatureOutcome:
    allowed = report.modified_after is ModifiedAfter.ALLOWED
    return SignatureOutcome(report, tuple(reasons), embedded.signed_revision if allowed else None, signed.end)


def _integrity(embedded: EmbeddedPdfSignature, *, skip_diff: bool = False) -> tuple[Coverage, ModifiedAfter]:
    """What the signed bytes cover and whether pyHanko's difference analysis allows what changed
    afterwards (what a reader sees is judged afterwards, by `_judge_visible_changes`)."""
    embedded.compute_integrity_info(diff_policy=DEFAULT_DIFF_POLICY, skip_diff=skip_diff)
    integrity = embedded.summarise_integrity_info()
    coverage = integrity["coverage"]
    level = getattr(integrity["diff_result"], "modification_level", None)
    if coverage == SignatureCoverageLevel.ENTIRE_FILE:
        return Coverage.ENTIRE_FILE, ModifiedAfter.NONE
    if coverage == SignatureCoverageLevel.ENTIRE_REVISION:
        allowed = integrity["docmdp_ok"] and level in ALLOWED_LEVELS
        return Coverage.ENTIRE_REVISION, ModifiedAfter.ALLOWED if allowed else ModifiedAfter.DISALLOWED
    return Coverage.PARTIAL, ModifiedAfter.DISALLOWED


async def _evaluate_timestamp(
    reader: PdfFileReader,
    embedded: EmbeddedPdfSignature,
    policy: VerifierPolicy,
    trust: _Trust,
    earlier: SignatureOutcome | None,
) -> SignatureOutcome:
    """A document timestamp: its token's imprint must be the digest of its own byte range (a
    token copied from another file or revision is SIGNATURE_BROKEN); its TSA is judged at the
    token's genTime. An untrusted TSA is reported, not a reason: the document's signatures are
    judged on their own, and a visible timestamp field is judged by what it paints.

    What changed after it is a subset of what changed after an earlier intact signature, whose
    difference analysis already judged it: that verdict is reused (pyHanko's analysis of every
    LTA timestamp would double the cost of a long LTA chain). Without an earlier signature,
    pyHanko analyses the timestamp's own later revisions."""
    signed = _signed_range(embedded)
    if earlier is not None and earlier.report.intact and earlier.report.coverage is not Coverage.PARTIAL:
        cov, modified = _integrity(embedded, skip_diff=True)
        if cov is Coverage.ENTIRE_REVISION:
            modified = earlier.report.modified_after
    else:
        cov, modified = _integrity(embedded)
    signed_data = embedded.signed_data
    gen_time: datetime = signed_data["encap_content_info"]["content"].parsed["gen_time"].native
    crls, ocsps = _embedded_revinfo(reader, embedded.signer_info)
    context = _validation_context(policy, trust, gen_time, crls, ocsps)
    cacheable = not crls and not ocsps and policy.revocation is RevocationMode.EMBEDDED
    scope = speedups.PathScope(
        speedups.path_key(policy.cache_key, _offered(signed_data)), gen_time, cacheable
    )
    with speedups.path_scope(scope):
        status = await generic_cms.validate_tst_signed_data(
            signed_data, context, embedded.compute_digest, algorithm_policy=trust.cms_policy
        )
    intact = bool(status["intact"] and status["valid"])
    problem = status["trust_problem_indic"]
    reasons: list[ReasonCode] = []
    indication, sub = Indication.TOTAL_PASSED, None
    if not intact:
        reasons.append(ReasonCode.SIGNATURE_BROKEN)
        indication = Indication.TOTAL_FAILED
        sub = SubIndication.HASH_FAILURE if not status["intact"] else SubIndication.SIG_CRYPTO_FAILURE
    elif problem is not None:
        _, sub, indication = _TRUST_MAP.get(
            problem,
            (ReasonCode.UNTRUSTED_SIGNER, SubIndication.NO_CERTIFICATE_CHAIN_FOUND, Indication.INDETERMINATE),
        )
    if modified is ModifiedAfter.DISALLOWED:
        reasons.append(ReasonCode.MODIFIED_AFTER_SIGNING)
        indication = Indication.TOTAL_FAILED
    md, _ = _algorithm(embedded.signer_info)
    report = SignatureReport(
        field=embedded.field_name,
        signer=_signer_info(embedded.signer_cert),
        kind=SignatureKind.DOCUMENT_TIMESTAMP,
        intact=intact,
        trusted=intact and problem is None,
        indication=indication,
        sub_indication=sub,
        coverage=cov,
        modified_after=modified,
        signing_time=gen_time,
        timestamped=True,
        algorithm=md,
    )
    return _outcome(report, reasons, embedded, signed)


def _signed_range(embedded: EmbeddedPdfSignature) -> signed_range.SignedRange:
    byte_range = embedded.byte_range
    if isinstance(byte_range, generic.IndirectObject):
        byte_range = byte_range.get_object()
    if not isinstance(byte_range, list):
        raise SignedRangeError("/ByteRange is not an array")
    stream = embedded.reader.stream
    if isinstance(stream, io.BytesIO):
        with stream.getbuffer() as view:  # no copy of the file per signature
            return signed_range.check_signed_range(view, byte_range, embedded.pkcs7_content)
    stream.seek(0)
    return signed_range.check_signed_range(stream.read(), byte_range, embedded.pkcs7_content)


def _valid_at(cert: asn1_x509.Certificate, moment: datetime) -> bool:
    validity = cert["tbs_certificate"]["validity"]
    return bool(validity["not_before"].native <= moment <= validity["not_after"].native)
