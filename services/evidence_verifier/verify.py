"""Verify one evidence file: the verdict (a VerificationReport) and its text for search.

`verify_bytes` runs in the calling process; `verify_isolated` runs it in a child process that is
killed past the time limit and whose address space is capped, for untrusted uploads.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from dataclasses import dataclass

from pyhanko.pdf_utils.crypt import AuthStatus
from pyhanko.pdf_utils.reader import PdfFileReader

from contracts.report import DocumentFacts, VerificationReport
from contracts.vocabulary import ReasonCode, SignatureKind
from services.evidence_verifier import (
    numbering,
    readable_prefix,
    scan,
    signature_fields,
    signatures,
    speedups,
    stages,
)
from services.evidence_verifier.errors import DocumentRejectedError
from services.evidence_verifier.pages import PageWorkLimitError, PdfiumError, inspect_document, read_pages
from services.evidence_verifier.policy import Expectations, VerifierPolicy, decide, ordered
from services.evidence_verifier.rendered_text import visible_first_page_text
from services.evidence_verifier.trust import load_trust_roots

__all__ = ["Outcome", "load_trust_roots", "verify_bytes", "verify_bytes_async"]

logger = logging.getLogger(__name__)
PDF_MAGIC = b"%PDF-"
MAGIC_WINDOW = 1024  # the header may follow some junk bytes, as readers tolerate
MS_PER_SECOND = 1000


@dataclass(frozen=True)
class Outcome:
    report: VerificationReport
    text: str
    # Seconds per stage (stages.py), for the metrics; empty when the document never got that far.
    stages: tuple[tuple[str, float], ...] = ()


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def verify_bytes(data: bytes, *, name: str, policy: VerifierPolicy, expected: Expectations) -> Outcome:
    """Verify a document. Never raises for a bad document: every failure is a reason code."""
    return asyncio.run(verify_bytes_async(data, name=name, policy=policy, expected=expected))


async def verify_bytes_async(
    data: bytes, *, name: str, policy: VerifierPolicy, expected: Expectations
) -> Outcome:
    started = time.perf_counter()
    digest = sha256_hex(data)
    with stages.collecting() as spent:
        outcome = await _verify_timed(data, name, policy, expected, digest, started)
    return Outcome(outcome.report, outcome.text, tuple(sorted(spent.items())))


async def _verify_timed(
    data: bytes, name: str, policy: VerifierPolicy, expected: Expectations, digest: str, started: float
) -> Outcome:
    try:
        facts, signature_reports, reasons, text = await _verify(data, policy, expected, digest)
    except DocumentRejectedError as exc:
        facts, signature_reports, reasons, text = DocumentFacts(), [], [exc.reason], ""
    except MemoryError:
        facts, signature_reports, reasons, text = DocumentFacts(), [], [ReasonCode.RESOURCE_LIMIT], ""
    except Exception:  # unknown is never accepted: a person looks at it
        logger.exception("verifier failed on %s", name)
        facts, signature_reports, reasons, text = DocumentFacts(), [], [ReasonCode.INTERNAL_ERROR], ""
    codes = ordered(reasons)
    report = VerificationReport(
        file=name,
        sha256=digest,
        decision=decide(codes),
        reasons=codes,
        signatures=signature_reports,
        document=facts,
        elapsed_ms=int((time.perf_counter() - started) * MS_PER_SECOND),
    )
    return Outcome(report=report, text=text)


def open_without_password(reader: PdfFileReader) -> None:
    """Authenticate with the empty user password PDFium already opened the file with."""
    result = reader.decrypt(b"")
    if result.status is AuthStatus.FAILED:
        raise DocumentRejectedError(ReasonCode.ENCRYPTED, "encrypted PDF")


async def _signature_outcomes(
    data: bytes, permissions_only: bool, policy: VerifierPolicy
) -> list[signatures.SignatureOutcome]:
    try:
        return await _judge_signatures(data, permissions_only, policy)
    except readable_prefix.UNREADABLE as exc:
        # structure pyHanko cannot follow: if an earlier revision reads, each signature in it is
        # judged there and marked modified after signing (the later update is unseen)
        logger.info("signature parsing failed: %s", exc)
        failure = exc
    for end in readable_prefix.revision_ends(data):
        try:
            outcomes = await _judge_signatures(data[:end], permissions_only, policy)
        except readable_prefix.UNREADABLE:
            continue
        if not outcomes:
            break  # the unread update may hold the signatures: no verdict on a part of the file
        return [signatures.modified_unseen(o) for o in outcomes]
    raise DocumentRejectedError(ReasonCode.MALFORMED_PDF, str(failure)) from failure


async def _judge_signatures(
    data: bytes, permissions_only: bool, policy: VerifierPolicy
) -> list[signatures.SignatureOutcome]:
    limits = policy.limits
    sig_reader = readable_prefix.readable(data)
    if permissions_only:
        open_without_password(sig_reader)
    # Each signature field is a CMS validation: bounded by count (fields may all name
    # one signature dictionary, thousands of them in a small file).
    # parsed here first (the count bound), so inside the fast hex reader's scope
    with speedups.fast_scope():
        found = signature_fields.collect(sig_reader)
    if len(found) > limits.max_signatures:
        raise DocumentRejectedError(
            ReasonCode.RESOURCE_LIMIT, f"more than {limits.max_signatures} signature fields"
        )
    return await signatures.evaluate(sig_reader, found, policy)


def failed_report(name: str, reason: ReasonCode, *, sha256: str | None = None) -> VerificationReport:
    """A report for a document that could not be verified at all (fetch failures, timeouts)."""
    return VerificationReport(
        file=name, sha256=sha256, decision=decide([reason]), reasons=[reason], elapsed_ms=0
    )


async def _verify(
    data: bytes, policy: VerifierPolicy, expected: Expectations, digest: str
) -> tuple[DocumentFacts, list, list[ReasonCode], str]:  # type: ignore[type-arg]
    limits = policy.limits
    if len(data) > limits.max_bytes:
        raise DocumentRejectedError(ReasonCode.TOO_LARGE, "file over the size limit")
    if expected.sha256 is not None and expected.sha256.lower() != digest:
        raise DocumentRejectedError(ReasonCode.HASH_MISMATCH, "sha256 differs from the reported one")
    if PDF_MAGIC not in data[:MAGIC_WINDOW]:
        raise DocumentRejectedError(ReasonCode.NOT_PDF, "no PDF header")

    try:
        with stages.timed(stages.PARSE):
            info = inspect_document(data)
    except (PdfiumError, ValueError) as exc:
        raise DocumentRejectedError(ReasonCode.MALFORMED_PDF, str(exc)) from exc
    if info.encrypted:
        raise DocumentRejectedError(ReasonCode.ENCRYPTED, "encrypted PDF")
    page_count = info.pages
    if page_count > limits.max_pages:
        raise DocumentRejectedError(ReasonCode.TOO_MANY_PAGES, "too many pages")
    if page_count == 0:
        raise DocumentRejectedError(ReasonCode.MALFORMED_PDF, "no pages")

    reasons: list[ReasonCode] = []
    with stages.timed(stages.SIGNATURES):
        outcomes = await _signature_outcomes(data, info.permissions_only, policy)
    # a document timestamp proves when, not who: alone it leaves a document unsigned
    signed = [o for o in outcomes if o.report.kind is not SignatureKind.DOCUMENT_TIMESTAMP]
    if not signed:
        reasons.append(ReasonCode.UNSIGNED)
    for outcome in outcomes:
        reasons.extend(outcome.reasons)
    # trust and integrity are judged per signature; this rule is only about who signed
    if signed and not any(o.report.kind is SignatureKind.ORGANISATION for o in signed):
        reasons.append(ReasonCode.NO_ORGANISATION_SIGNATURE)

    try:
        with stages.timed(stages.PAGES):
            pages = read_pages(data, text_chars=limits.text_chars, max_objects=limits.max_page_objects)
            # the number and date are read from what is drawn: annotations included
            first_page_text = visible_first_page_text(data, limits) or pages.first_page_text
    except PageWorkLimitError as exc:
        raise DocumentRejectedError(ReasonCode.RESOURCE_LIMIT, str(exc)) from exc
    except (PdfiumError, ValueError, KeyError, TypeError, AttributeError, IndexError) as exc:
        raise DocumentRejectedError(ReasonCode.MALFORMED_PDF, str(exc)) from exc
    verdict = scan.classify(pages.facts)
    if verdict.scanned:
        reasons.append(ReasonCode.SCANNED_PAPER)
    number = numbering.find_number(first_page_text)
    issued_on = numbering.find_issue_date(first_page_text)
    reasons.extend(numbering.number_reasons(number, expected.number))
    reasons.extend(numbering.date_reasons(issued_on, expected.year))

    facts = DocumentFacts(
        pages=pages.pages,
        scanned=verdict.scanned,
        text_layer=verdict.text_layer,
        number=number.text if number else None,
        notation=number.notation if number else None,
        issued_on=issued_on,
    )
    return facts, [o.report for o in outcomes], reasons, pages.text
