"""Every reason code is produced by at least one named scenario in this test kit."""

from __future__ import annotations

from contracts.vocabulary import ReasonCode

# scenario -> where it is asserted
PRODUCED_BY: dict[ReasonCode, str] = {
    ReasonCode.NOT_PDF: "test_verify::garbage",
    ReasonCode.MALFORMED_PDF: "test_verify::truncated",
    ReasonCode.ENCRYPTED: "test_verify::encrypted",
    ReasonCode.TOO_LARGE: "test_verify::test_limits, test_fetch::test_fetch_failures",
    ReasonCode.TOO_MANY_PAGES: "test_verify::test_limits",
    ReasonCode.TIMEOUT: "test_isolation_cli::test_isolated_timeout",
    ReasonCode.RESOURCE_LIMIT: "test_isolation_cli::test_isolated_memory_limit",
    ReasonCode.UNSIGNED: "test_verify::unsigned",
    ReasonCode.SIGNATURE_BROKEN: (
        "test_verify::signed_byte_altered, signature_value_altered, test_attack_byte_range, "
        "test_attack_document_timestamp::test_copied_timestamp_token_is_signature_broken"
    ),
    ReasonCode.MODIFIED_AFTER_SIGNING: (
        "test_verify::page_content_changed, overlay_annotation, page_replaced, test_attack_visual"
    ),
    ReasonCode.UNTRUSTED_SIGNER: "test_verify::untrusted_root",
    ReasonCode.WEAK_ALGORITHM_ACCEPTED: "test_verify::legacy_sha1_chain, test_real_samples",
    ReasonCode.CERT_EXPIRED_AT_SIGNING: "test_verify::expired_at_signing",
    ReasonCode.CERT_REVOKED: "test_verify::revoked_before_signing",
    ReasonCode.REVOCATION_UNKNOWN: "test_verify::test_required_revocation_data_missing",
    ReasonCode.SIGNING_TIME_UNPROVEN: "test_verify::expired_now_claimed_time_only",
    ReasonCode.NO_ORGANISATION_SIGNATURE: "test_verify::person_only",
    ReasonCode.SCANNED_PAPER: "test_verify::scan_image_only, scan_with_ocr_layer",
    ReasonCode.LETTERED_NUMBER: "test_verify::lettered_number",
    ReasonCode.NUMBER_MISMATCH: "test_verify::other_number, test_attack_rendered_number",
    ReasonCode.NUMBER_NOT_FOUND: "test_verify::no_number_printed",
    ReasonCode.DATE_OUTSIDE_YEAR: "test_verify::issued_last_year",
    ReasonCode.DUPLICATE_NUMBER: "test_register_checks::test_duplicate_number_reopens_the_earlier_verdict…",
    ReasonCode.NUMBER_ORDER: "test_register_checks::test_a_lower_number_dated_after_a_higher_one",
    ReasonCode.SIGNED_LONG_AFTER_ISSUE: "test_register_checks::test_signed_long_after_the_printed_date",
    ReasonCode.ISSUED_AFTER_DEADLINE: "test_register_checks::test_issued_after_the_scoring_deadline",
    ReasonCode.REUSED_EVIDENCE: "test_register_checks::test_one_file_linked_by_two_units",
    ReasonCode.ISSUER_MISMATCH: "test_register_checks::test_a_unit_linking_another_bodys_document",
    ReasonCode.FETCH_FAILED: "test_fetch::test_fetch_failures",
    ReasonCode.FETCH_FORBIDDEN: "test_fetch::test_fetch_forbidden",
    ReasonCode.HASH_MISMATCH: "test_verify::test_expected_hash, test_fetch::test_fetch_and_hash",
    ReasonCode.INTERNAL_ERROR: "test_verify::test_unexpected_exception_needs_review",
}


def test_every_reason_code_has_a_scenario() -> None:
    assert set(PRODUCED_BY) == set(ReasonCode)
