"""Shared vocabulary of verdicts: decisions and reason codes, as values not strings.

Modelled on EU DSS's Indication / SubIndication: a verdict is a decision plus machine-readable
reasons. Every reason code carries one sentence in English and one in Vietnamese, so a report can
be shown to a unit or a council without a lookup table elsewhere.
"""

from __future__ import annotations

from enum import StrEnum


class Decision(StrEnum):
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    NEEDS_REVIEW = "needs_review"


class ReasonCode(StrEnum):
    NOT_PDF = "NOT_PDF"
    MALFORMED_PDF = "MALFORMED_PDF"
    ENCRYPTED = "ENCRYPTED"
    TOO_LARGE = "TOO_LARGE"
    TOO_MANY_PAGES = "TOO_MANY_PAGES"
    TIMEOUT = "TIMEOUT"
    RESOURCE_LIMIT = "RESOURCE_LIMIT"
    UNSIGNED = "UNSIGNED"
    SIGNATURE_BROKEN = "SIGNATURE_BROKEN"
    MODIFIED_AFTER_SIGNING = "MODIFIED_AFTER_SIGNING"
    UNTRUSTED_SIGNER = "UNTRUSTED_SIGNER"
    WEAK_ALGORITHM_ACCEPTED = "WEAK_ALGORITHM_ACCEPTED"
    CERT_EXPIRED_AT_SIGNING = "CERT_EXPIRED_AT_SIGNING"
    CERT_REVOKED = "CERT_REVOKED"
    REVOCATION_UNKNOWN = "REVOCATION_UNKNOWN"
    SIGNING_TIME_UNPROVEN = "SIGNING_TIME_UNPROVEN"
    NO_ORGANISATION_SIGNATURE = "NO_ORGANISATION_SIGNATURE"
    SCANNED_PAPER = "SCANNED_PAPER"
    LETTERED_NUMBER = "LETTERED_NUMBER"
    NUMBER_MISMATCH = "NUMBER_MISMATCH"
    NUMBER_NOT_FOUND = "NUMBER_NOT_FOUND"
    DATE_OUTSIDE_YEAR = "DATE_OUTSIDE_YEAR"
    # Cross-document checks of the province-wide register (services/evidence_verifier/register)
    DUPLICATE_NUMBER = "DUPLICATE_NUMBER"
    NUMBER_ORDER = "NUMBER_ORDER"
    SIGNED_LONG_AFTER_ISSUE = "SIGNED_LONG_AFTER_ISSUE"
    ISSUED_AFTER_DEADLINE = "ISSUED_AFTER_DEADLINE"
    REUSED_EVIDENCE = "REUSED_EVIDENCE"
    ISSUER_MISMATCH = "ISSUER_MISMATCH"
    FETCH_FAILED = "FETCH_FAILED"
    FETCH_FORBIDDEN = "FETCH_FORBIDDEN"
    HASH_MISMATCH = "HASH_MISMATCH"
    INTERNAL_ERROR = "INTERNAL_ERROR"

    @property
    def english(self) -> str:
        return _DESCRIPTIONS[self][0]

    @property
    def vietnamese(self) -> str:
        return _DESCRIPTIONS[self][1]

    @property
    def blocks_acceptance(self) -> bool:
        """Informational codes annotate an accepted verdict; every other code prevents it."""
        return self not in _INFORMATIONAL


_INFORMATIONAL = frozenset({ReasonCode.WEAK_ALGORITHM_ACCEPTED})

# The cross-document checks of the province-wide evidence register (what search shows as signals).
REGISTER_CODES: tuple[ReasonCode, ...] = (
    ReasonCode.DUPLICATE_NUMBER,
    ReasonCode.NUMBER_ORDER,
    ReasonCode.SIGNED_LONG_AFTER_ISSUE,
    ReasonCode.ISSUED_AFTER_DEADLINE,
    ReasonCode.REUSED_EVIDENCE,
    ReasonCode.ISSUER_MISMATCH,
)

_DESCRIPTIONS: dict[ReasonCode, tuple[str, str]] = {
    ReasonCode.NOT_PDF: ("The file is not a PDF document.", "Tệp không phải là văn bản PDF."),
    ReasonCode.MALFORMED_PDF: (
        "The PDF is damaged or cannot be parsed.",
        "Tệp PDF bị hỏng hoặc không đọc được.",
    ),
    ReasonCode.ENCRYPTED: (
        "The PDF is encrypted and cannot be checked.",
        "Tệp PDF bị mã hóa nên không kiểm tra được.",
    ),
    ReasonCode.TOO_LARGE: (
        "The file exceeds the configured size limit.",
        "Tệp vượt quá dung lượng cho phép.",
    ),
    ReasonCode.TOO_MANY_PAGES: (
        "The document exceeds the configured page limit.",
        "Văn bản vượt quá số trang cho phép.",
    ),
    ReasonCode.TIMEOUT: (
        "Verification did not finish within the time limit.",
        "Việc kiểm tra không hoàn thành trong thời gian cho phép.",
    ),
    ReasonCode.RESOURCE_LIMIT: (
        "Verification exceeded the memory limit for one document.",
        "Việc kiểm tra vượt quá giới hạn bộ nhớ cho một văn bản.",
    ),
    ReasonCode.UNSIGNED: (
        "The document carries no digital signature.",
        "Văn bản không có chữ ký số.",
    ),
    ReasonCode.SIGNATURE_BROKEN: (
        "A signature does not verify: the signed bytes or the signature value were altered.",
        "Chữ ký số không hợp lệ: nội dung đã ký hoặc giá trị chữ ký bị thay đổi.",
    ),
    ReasonCode.MODIFIED_AFTER_SIGNING: (
        "The document was changed in a disallowed way after it was signed.",
        "Văn bản bị sửa đổi không hợp lệ sau khi ký.",
    ),
    ReasonCode.UNTRUSTED_SIGNER: (
        "The signer's certificate does not chain to a configured trusted root.",
        "Chứng thư số của người ký không thuộc tổ chức chứng thực được tin cậy.",
    ),
    ReasonCode.WEAK_ALGORITHM_ACCEPTED: (
        "A legacy algorithm (such as SHA-1) was accepted by the configured algorithm policy.",
        "Thuật toán cũ (như SHA-1) được chấp nhận theo chính sách thuật toán đã cấu hình.",
    ),
    ReasonCode.CERT_EXPIRED_AT_SIGNING: (
        "The signer's certificate was not valid at the time of signing.",
        "Chứng thư số của người ký đã hết hạn hoặc chưa có hiệu lực tại thời điểm ký.",
    ),
    ReasonCode.CERT_REVOKED: (
        "The signer's certificate was revoked before the time of signing.",
        "Chứng thư số của người ký đã bị thu hồi trước thời điểm ký.",
    ),
    ReasonCode.REVOCATION_UNKNOWN: (
        "The revocation status of the signer's certificate could not be established.",
        "Không xác định được tình trạng thu hồi của chứng thư số người ký.",
    ),
    ReasonCode.SIGNING_TIME_UNPROVEN: (
        "The signing time is only claimed by the signer, not proven by a timestamp.",
        "Thời điểm ký chỉ do người ký khai, không được chứng thực bằng dấu thời gian.",
    ),
    ReasonCode.NO_ORGANISATION_SIGNATURE: (
        "No signature of the issuing organisation (its seal) is present.",
        "Văn bản không có chữ ký số của cơ quan, tổ chức ban hành.",
    ),
    ReasonCode.SCANNED_PAPER: (
        "The document is a scan of paper, not an electronic document.",
        "Văn bản là bản giấy được quét, không phải văn bản điện tử.",
    ),
    ReasonCode.LETTERED_NUMBER: (
        "The document number carries a letter suffix such as 15a.",
        "Số văn bản có chữ cái kèm theo (ví dụ 15a).",
    ),
    ReasonCode.NUMBER_MISMATCH: (
        "The number printed on the document differs from the one the e-office system reports.",
        "Số, ký hiệu trên văn bản khác với số, ký hiệu trên hệ thống quản lý văn bản.",
    ),
    ReasonCode.NUMBER_NOT_FOUND: (
        "No document number could be read from the first page.",
        "Không đọc được số, ký hiệu văn bản trên trang đầu.",
    ),
    ReasonCode.DATE_OUTSIDE_YEAR: (
        "The issue date lies outside the scored year.",
        "Ngày ban hành nằm ngoài năm đánh giá.",
    ),
    ReasonCode.DUPLICATE_NUMBER: (
        "Another document of the same issuer and year carries the same number and notation.",
        "Một văn bản khác của cùng cơ quan ban hành trong năm có cùng số, ký hiệu.",
    ),
    ReasonCode.NUMBER_ORDER: (
        "The number is out of order with the issue date among the issuer's documents of the year.",
        "Số văn bản không theo thứ tự ngày ban hành so với các văn bản khác của cơ quan trong năm.",
    ),
    ReasonCode.SIGNED_LONG_AFTER_ISSUE: (
        "The document was signed long after the issue date printed on it.",
        "Văn bản được ký số muộn hơn nhiều so với ngày ban hành ghi trên văn bản.",
    ),
    ReasonCode.ISSUED_AFTER_DEADLINE: (
        "The document was issued or signed after the scoring deadline of the year it is linked to.",
        "Văn bản được ban hành hoặc ký số sau thời hạn chấm điểm của năm đánh giá.",
    ),
    ReasonCode.REUSED_EVIDENCE: (
        "The same document is linked by several units, or by one unit to criteria of different fields.",
        "Cùng một văn bản được nhiều đơn vị sử dụng, hoặc một đơn vị dùng cho tiêu chí của nhiều lĩnh vực.",
    ),
    ReasonCode.ISSUER_MISMATCH: (
        "The document was sealed by an organisation other than the unit that linked it.",
        "Văn bản do cơ quan, tổ chức khác ban hành, không phải đơn vị sử dụng làm tài liệu kiểm chứng.",
    ),
    ReasonCode.FETCH_FAILED: (
        "The document could not be fetched from the e-office system.",
        "Không tải được văn bản từ hệ thống quản lý văn bản.",
    ),
    ReasonCode.FETCH_FORBIDDEN: (
        "The document's address is not on an allowed host or scheme.",
        "Địa chỉ văn bản không thuộc máy chủ hoặc giao thức được phép.",
    ),
    ReasonCode.HASH_MISMATCH: (
        "The fetched file's SHA-256 differs from the one the e-office system reported.",
        "Mã băm SHA-256 của tệp tải về khác với mã do hệ thống quản lý văn bản cung cấp.",
    ),
    ReasonCode.INTERNAL_ERROR: (
        "The verifier failed unexpectedly; the document needs a person's review.",
        "Lỗi không mong muốn khi kiểm tra; văn bản cần được xem xét thủ công.",
    ),
}


class SignatureKind(StrEnum):
    ORGANISATION = "organisation"
    PERSON = "person"
    UNKNOWN = "unknown"
    DOCUMENT_TIMESTAMP = "document_timestamp"  # an RFC 3161 token over the file (/DocTimeStamp)


class Indication(StrEnum):
    """ETSI EN 319 102-1 main indications."""

    TOTAL_PASSED = "TOTAL_PASSED"
    TOTAL_FAILED = "TOTAL_FAILED"
    INDETERMINATE = "INDETERMINATE"


class SubIndication(StrEnum):
    """ETSI EN 319 102-1 sub-indications used by this verifier."""

    HASH_FAILURE = "HASH_FAILURE"
    SIG_CRYPTO_FAILURE = "SIG_CRYPTO_FAILURE"
    REVOKED = "REVOKED"
    EXPIRED = "EXPIRED"
    NOT_YET_VALID = "NOT_YET_VALID"
    NO_CERTIFICATE_CHAIN_FOUND = "NO_CERTIFICATE_CHAIN_FOUND"
    CRYPTO_CONSTRAINTS_FAILURE = "CRYPTO_CONSTRAINTS_FAILURE"
    REVOCATION_OUT_OF_BOUNDS_NO_POE = "REVOCATION_OUT_OF_BOUNDS_NO_POE"
    TRY_LATER = "TRY_LATER"
    FORMAT_FAILURE = "FORMAT_FAILURE"


class Coverage(StrEnum):
    ENTIRE_FILE = "entire_file"
    ENTIRE_REVISION = "entire_revision"
    PARTIAL = "partial"


class ModifiedAfter(StrEnum):
    NONE = "none"
    ALLOWED = "allowed"
    DISALLOWED = "disallowed"


class TextLayer(StrEnum):
    NONE = "none"
    OCR = "ocr"
    BORN_DIGITAL = "born_digital"


class Level(StrEnum):
    DEPARTMENT = "department"
    DISTRICT = "district"
    COMMUNE = "commune"
