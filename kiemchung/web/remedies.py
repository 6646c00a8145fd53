"""What a unit can do about a rejected document, per reason code (Vietnamese, English)."""

from __future__ import annotations

from contracts.vocabulary import ReasonCode

_RESIGN = (
    "Ký số lại bản gốc điện tử bằng chứng thư số của cơ quan rồi liên kết lại.",
    "Sign the electronic original again with the agency's certificate and link it again.",
)
REMEDIES: dict[ReasonCode, tuple[str, str]] = {
    ReasonCode.UNSIGNED: _RESIGN,
    ReasonCode.SIGNATURE_BROKEN: _RESIGN,
    ReasonCode.NO_ORGANISATION_SIGNATURE: _RESIGN,
    ReasonCode.UNTRUSTED_SIGNER: (
        "Ký bằng chứng thư số do tổ chức cung cấp dịch vụ chứng thực được công nhận cấp.",
        "Sign with a certificate from a recognised certification service.",
    ),
    ReasonCode.MODIFIED_AFTER_SIGNING: (
        "Không sửa văn bản sau khi ký; liên kết bản đã ký nguyên vẹn từ hệ thống văn bản.",
        "Do not edit after signing; link the untouched signed copy from e-office.",
    ),
    ReasonCode.SCANNED_PAPER: (
        "Không dùng bản scan giấy; liên kết bản điện tử gốc có chữ ký số.",
        "Do not use a scan of paper; link the signed electronic original.",
    ),
    ReasonCode.LETTERED_NUMBER: (
        "Số văn bản có chữ a/b bị loại: liên kết văn bản có số đăng ký theo thứ tự.",
        "Numbers with a/b letters are refused: link a document with a regular number.",
    ),
}
DEFAULT_REMEDY = (
    "Kiểm tra lý do, sửa văn bản gốc và liên kết lại trước hạn; liên hệ hội đồng nếu cần.",
    "Check the reason, fix the original and link it again before the deadline; ask the council if needed.",
)


def remedy(code: str, english: bool = False) -> str:
    try:
        pair = REMEDIES.get(ReasonCode(code), DEFAULT_REMEDY)
    except ValueError:
        pair = DEFAULT_REMEDY
    return pair[1] if english else pair[0]
