"""The generated test corpus: named documents with the verdict each must get."""

from __future__ import annotations

import io
from dataclasses import dataclass, replace
from datetime import date, timedelta

from pypdf import PdfReader, PdfWriter

from contracts.vocabulary import Decision, ReasonCode
from services.evidence_verifier.testkit import documents as docs
from services.evidence_verifier.testkit.evidence import spec_for
from services.evidence_verifier.testkit.pki import TestPKI

R = ReasonCode


@dataclass(frozen=True)
class Case:
    data: bytes
    decision: Decision
    reasons: tuple[ReasonCode, ...]


def _encrypt(pdf: bytes) -> bytes:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf)))
    # a password is needed to open it (permissions-only files are verified: test_real_world_files)
    writer.encrypt(user_password="mat-khau", owner_password="chu-so-huu")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def build_corpus(pki: TestPKI) -> dict[str, Case]:
    unit = pki.units[0]
    spec = spec_for(unit)
    now = pki.now
    stamped = docs.SignOptions(signing_time=now, tsa=pki.tsa)
    plain = docs.make_document(spec)
    good = docs.sign_pdf(plain, unit.organisation, stamped)
    both = docs.sign_organisation_and_person(
        docs.make_document(spec, form_field=True), unit.organisation, unit.person, stamped
    )
    long_doc = docs.make_document(replace(spec, pages=3))
    scanned = docs.make_scanned_document(spec)
    ok, rej = Decision.ACCEPTED, Decision.REJECTED
    cases = {
        "good_timestamped": Case(good, ok, ()),
        "good_claimed_time": Case(
            docs.sign_pdf(plain, unit.organisation, docs.SignOptions(signing_time=now)), ok, ()
        ),
        "organisation_and_person": Case(both, ok, ()),
        "form_filled_after_signing": Case(docs.fill_form_field(both), ok, ()),
        "revocation_data_added_after_signing": Case(
            docs.add_revocation_data(good, crl_der=pki.crl_der), ok, ()
        ),
        "logo_not_a_scan": Case(
            docs.sign_pdf(docs.make_document(spec, logo=True), unit.organisation, stamped), ok, ()
        ),
        "three_pages": Case(docs.sign_pdf(long_doc, unit.organisation, stamped), ok, ()),
        "person_only": Case(docs.sign_pdf(plain, unit.person, stamped), rej, (R.NO_ORGANISATION_SIGNATURE,)),
        "unsigned": Case(plain, rej, (R.UNSIGNED,)),
        "page_content_changed": Case(
            docs.change_page_content(good, "Số: 15/KH-UBND"), rej, (R.MODIFIED_AFTER_SIGNING,)
        ),
        "overlay_annotation": Case(docs.add_overlay_annotation(good), rej, (R.MODIFIED_AFTER_SIGNING,)),
        "page_replaced": Case(docs.replace_first_page(good, spec), rej, (R.MODIFIED_AFTER_SIGNING,)),
        "signed_byte_altered": Case(docs.alter_signed_byte(good), rej, (R.SIGNATURE_BROKEN,)),
        "signature_value_altered": Case(docs.alter_signature_value(good), rej, (R.SIGNATURE_BROKEN,)),
        "scan_image_only": Case(
            docs.sign_pdf(scanned, unit.organisation, stamped), rej, (R.SCANNED_PAPER, R.NUMBER_NOT_FOUND)
        ),
        "scan_with_ocr_layer": Case(
            docs.sign_pdf(docs.make_scanned_document(spec, ocr_layer=True), unit.organisation, stamped),
            rej,
            (R.SCANNED_PAPER,),
        ),
        "lettered_number": Case(
            docs.sign_pdf(
                docs.make_document(replace(spec, number="15a/KH-UBND")), unit.organisation, stamped
            ),
            rej,
            (R.LETTERED_NUMBER, R.NUMBER_MISMATCH),
        ),
        "other_number": Case(
            docs.sign_pdf(docs.make_document(replace(spec, number="16/KH-UBND")), unit.organisation, stamped),
            rej,
            (R.NUMBER_MISMATCH,),
        ),
        "issued_last_year": Case(
            docs.sign_pdf(
                docs.make_document(replace(spec, issued_on=date(2023, 12, 29))), unit.organisation, stamped
            ),
            rej,
            (R.DATE_OUTSIDE_YEAR,),
        ),
        "no_number_printed": Case(
            docs.sign_pdf(docs.make_document(replace(spec, number="")), unit.organisation, stamped),
            Decision.NEEDS_REVIEW,
            (R.NUMBER_NOT_FOUND,),
        ),
        "expired_now_timestamped_while_valid": Case(
            docs.sign_pdf(
                plain, pki.expired, docs.SignOptions(signing_time=now - timedelta(days=60), tsa=pki.tsa)
            ),
            ok,
            (),
        ),
        "expired_at_signing": Case(
            docs.sign_pdf(plain, pki.expired, stamped), rej, (R.CERT_EXPIRED_AT_SIGNING,)
        ),
        "expired_now_claimed_time_only": Case(
            docs.sign_pdf(plain, pki.expired, docs.SignOptions(signing_time=now - timedelta(days=60))),
            Decision.NEEDS_REVIEW,
            (R.SIGNING_TIME_UNPROVEN,),
        ),
        "revoked_before_signing": Case(
            docs.add_revocation_data(docs.sign_pdf(plain, pki.revoked, stamped), crl_der=pki.crl_der),
            rej,
            (R.CERT_REVOKED,),
        ),
        "legacy_sha1_chain": Case(
            docs.sign_pdf(plain, pki.legacy, docs.SignOptions(signing_time=now, md_algorithm="sha1")),
            ok,
            (R.WEAK_ALGORITHM_ACCEPTED,),
        ),
        "untrusted_root": Case(docs.sign_pdf(plain, pki.untrusted, stamped), rej, (R.UNTRUSTED_SIGNER,)),
        "truncated": Case(docs.truncate(good), rej, (R.MALFORMED_PDF,)),
        "garbage": Case(docs.garbage(), rej, (R.NOT_PDF,)),
        "encrypted": Case(_encrypt(plain), rej, (R.ENCRYPTED,)),
    }
    return cases
