"""The pages' words in Vietnamese (first) and English. Reason codes carry their own texts."""

from __future__ import annotations

from enum import StrEnum


class Lang(StrEnum):
    VI = "vi"
    EN = "en"


LANG_COOKIE = "kiemchung_lang"

# key -> (Vietnamese, English)
MESSAGES: dict[str, tuple[str, str]] = {
    "app": ("Kiểm chứng CCHC", "CCHC evidence"),
    "skip": ("Bỏ qua, tới nội dung chính", "Skip to main content"),
    "signin": ("Đăng nhập", "Sign in"),
    "signout": ("Đăng xuất", "Sign out"),
    "api_key": ("Khóa truy cập (API key)", "Access key (API key)"),
    "signin_help": (
        "Nhập khóa được cấp cho đơn vị, hội đồng thẩm định hoặc tỉnh.",
        "Enter the key issued to your unit, appraisal council or the province.",
    ),
    "bad_key": ("Khóa không đúng hoặc đã bị thu hồi.", "Unknown or revoked key."),
    "council": ("Hội đồng thẩm định", "Appraisal council"),
    "unit": ("Đơn vị", "Unit"),
    "units": ("Đơn vị", "Units"),
    "province": ("Tỉnh", "Province"),
    "search": ("Tìm kiếm", "Search"),
    "year": ("Năm", "Year"),
    "criteria": ("Tiêu chí", "Criteria"),
    "criterion": ("Tiêu chí", "Criterion"),
    "self_assessed": ("Tự chấm", "Self-assessed"),
    "explanation": ("Giải trình", "Explanation"),
    "documents": ("Văn bản kiểm chứng", "Evidence documents"),
    "appraised": ("Điểm thẩm định", "Appraised"),
    "no_evidence": ("Đơn vị chưa có văn bản kiểm chứng", "Units with no evidence"),
    "none": ("Không có", "None"),
    "record": ("Ghi điểm thẩm định", "Record appraisal"),
    "points": ("Điểm", "Points"),
    "comment": ("Nhận xét", "Comment"),
    "save": ("Lưu", "Save"),
    "supplement": ("Yêu cầu bổ sung", "Request supplement"),
    "until": ("Hạn bổ sung", "Deadline"),
    "request_number": ("Số văn bản yêu cầu", "Request letter number"),
    "send": ("Gửi", "Send"),
    "next_unit": ("Đơn vị kế tiếp", "Next unit"),
    "prev_unit": ("Đơn vị trước", "Previous unit"),
    "next_criterion": ("Tiêu chí kế tiếp", "Next criterion"),
    "prev_criterion": ("Tiêu chí trước", "Previous criterion"),
    "keys_help": (
        "Phím tắt: j/k đơn vị kế tiếp/trước, n/p tiêu chí kế tiếp/trước, / tìm kiếm.",
        "Keys: j/k next/previous unit, n/p next/previous criterion, / search.",
    ),
    "accepted_cmd": ("Đã ghi vào sổ điểm.", "Recorded in the ledger."),
    "refused_cmd": ("Sổ điểm từ chối", "The ledger refused"),
    "document": ("Văn bản", "Document"),
    "signatures": ("Chữ ký số", "Digital signatures"),
    "signer": ("Người ký", "Signer"),
    "kind": ("Loại chữ ký", "Kind"),
    "organisation": ("Tổ chức", "Organisation"),
    "issuer": ("Cơ quan cấp chứng thư", "Certificate issuer"),
    "signing_time": ("Thời điểm ký", "Signing time"),
    "timestamp": ("Dấu thời gian (TSA)", "Timestamp (TSA)"),
    "chain": ("Chuỗi tin cậy", "Trust chain"),
    "coverage": ("Phạm vi ký", "Coverage"),
    "changes_after": ("Thay đổi sau khi ký", "Changes after signing"),
    "intact": ("Toàn vẹn", "Intact"),
    "algorithm": ("Thuật toán", "Algorithm"),
    "yes": ("Có", "Yes"),
    "no": ("Không", "No"),
    "trusted": ("Tin cậy", "Trusted"),
    "not_trusted": ("Không tin cậy", "Not trusted"),
    "reasons": ("Lý do", "Reasons"),
    "number_read": ("Số, ký hiệu đọc được", "Number read"),
    "date_read": ("Ngày ban hành đọc được", "Date read"),
    "pages": ("Trang", "Pages"),
    "page": ("Trang", "Page"),
    "zoom": ("Thu phóng", "Zoom"),
    "open_eoffice": ("Mở trên hệ thống văn bản điện tử", "Open in e-office"),
    "pages_unavailable": ("Không tải được văn bản", "The document could not be loaded"),
    "ledger": ("Lịch sử sổ điểm", "Ledger history"),
    "who": ("Người thực hiện", "Who"),
    "when": ("Thời điểm", "When"),
    "what": ("Nội dung", "What"),
    "scores": ("Điểm và chỉ số", "Scores and indices"),
    "index": ("Chỉ số", "Index"),
    "maximum": ("Điểm tối đa", "Maximum"),
    "achieved": ("Điểm đạt", "Achieved"),
    "component_indices": ("Chỉ số thành phần", "Component indices"),
    "rejected_docs": ("Văn bản không được chấp nhận", "Rejected documents"),
    "what_to_do": ("Cần làm gì", "What to do"),
    "deadlines": ("Thời hạn", "Deadlines"),
    "locks_at": ("Khóa sổ tự chấm", "Self-assessment locks"),
    "rankings": ("Xếp hạng", "Rankings"),
    "rank": ("Hạng", "Rank"),
    "not_ranked": ("Đánh giá, không xếp hạng", "Evaluated, not ranked"),
    "export": ("Tải phụ lục (xlsx)", "Download appendix (xlsx)"),
    "publish": ("Công bố kết quả", "Publish results"),
    "decision_number": ("Số quyết định công bố", "Decision number"),
    "no_ranking": ("Chưa có xếp hạng.", "No ranking yet."),
    "query": ("Từ khóa (có dấu hoặc không dấu)", "Words (with or without diacritics)"),
    "results": ("kết quả", "results"),
    "decision": ("Kết luận", "Decision"),
    "reason": ("Lý do", "Reason"),
    "all": ("Tất cả", "All"),
    "filter": ("Lọc", "Filter"),
    "next_page": ("Trang sau", "Next page"),
    "first_page": ("Trang đầu", "First page"),
    "no_index": ("Chưa có chỉ mục tìm kiếm.", "There is no search index."),
    "refused": ("Không được phép", "Not allowed"),
    "not_found": ("Không tìm thấy", "Not found"),
    "bad_input": ("Dữ liệu không hợp lệ", "Invalid input"),
    "live": ("Cập nhật trực tiếp", "Live updates"),
    "role_unit": ("Đơn vị", "Unit"),
    "role_appraiser": ("Hội đồng thẩm định", "Appraisal council"),
    "role_province": ("Tỉnh", "Province"),
    "accepted": ("Hợp lệ", "Accepted"),
    "rejected": ("Không hợp lệ", "Rejected"),
    "needs_review": ("Cần xem xét", "Needs review"),
    "level": ("Cấp", "Level"),
    "facets": ("Thu hẹp kết quả", "Narrow the results"),
    "supplements": ("Yêu cầu bổ sung", "Supplement requests"),
    "language": ("English", "Tiếng Việt"),
}


def translate(lang: Lang, key: str) -> str:
    pair = MESSAGES.get(key)
    if pair is None:
        return key
    return pair[0] if lang is Lang.VI else pair[1]
