"""What an import's reason codes and notes mean, in Vietnamese (first) and English.

The importer (services/scoring/importer.py) refuses rows with its own codes, the table reader's
(tables.py), the cell reader's and the scoring core's; the web page shows each code with its
explanation, as it shows the verifier's reason codes.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType

from kiemchung.web.errors import UploadReason
from services.scoring.core.errors import ScoringReason
from services.scoring.importer import ImportReason, NoteKind
from services.scoring.layout import Skip
from services.scoring.tables import CellReason, TableReason

_IMPORT: dict[ImportReason, tuple[str, str]] = {
    ImportReason.MISSING_COLUMN: (
        "Thiếu cột bắt buộc (không tìm thấy dòng tiêu đề có cột này)",
        "A required column is missing (no heading row names it)",
    ),
    ImportReason.MISSING_VALUE: ("Ô bắt buộc để trống", "A required cell is empty"),
    ImportReason.BAD_NUMBER: ("Không phải là số", "Not a number"),
    ImportReason.BAD_LEVEL: ("Cấp đơn vị không hợp lệ", "Unknown level"),
    ImportReason.BAD_FLAG: ("Giá trị có/không không hợp lệ", "Not a yes/no value"),
    ImportReason.BAD_YEAR: ("Năm không hợp lệ hoặc không xác định được", "No valid year"),
    ImportReason.YEAR_MISMATCH: (
        "Năm trong tệp khác năm đã chọn",
        "The file's year differs from the year chosen",
    ),
    ImportReason.NO_UNIT_ID: ("Không xác định được mã đơn vị", "No unit id"),
    ImportReason.UNKNOWN_UNIT: ("Không tìm thấy đơn vị này", "No such unit"),
    ImportReason.AMBIGUOUS_UNIT: ("Tên đơn vị khớp với nhiều đơn vị", "The name matches more than one unit"),
    ImportReason.UNKNOWN_CRITERIA_SET: ("Không có bộ tiêu chí này", "No such criteria set"),
    ImportReason.UNKNOWN_CRITERION: (
        "Không có tiêu chí này trong bộ tiêu chí",
        "No such criterion in the set",
    ),
    ImportReason.NOT_SCORED_THAT_YEAR: (
        "Tiêu chí không còn được chấm trong năm này (bộ tiêu chí đã sửa đổi)",
        "The criterion is not scored that year (amended set)",
    ),
    ImportReason.NOT_A_CRITERION_CODE: ("Không phải là mã tiêu chí", "Not a criterion code"),
    ImportReason.AMBIGUOUS_CODE: ("Mã tiêu chí không rõ ràng", "Ambiguous criterion code"),
    ImportReason.AMBIGUOUS_COLUMN: (
        "Một tiêu chí đứng trên nhiều cột điểm: không rõ cột nào là điểm thẩm định",
        "A criterion heads several points columns: which is the council's is unclear",
    ),
    ImportReason.SURVEY_TOTAL_AMBIGUOUS: (
        "Tổng điểm điều tra không chia được cho các tiêu chí con",
        "The survey total cannot be split over its criteria",
    ),
    ImportReason.DUPLICATE_ROW: (
        "Trùng với dòng khác nhưng khác giá trị",
        "Repeats another row with a different value",
    ),
    ImportReason.NO_ROWS: ("Tệp không có dòng dữ liệu nào", "The file has no data rows"),
    ImportReason.EXTRA_VALUES: ("Dòng có giá trị thừa ngoài các cột đã biết", "Values outside known columns"),
    ImportReason.TOO_LONG: ("Nội dung ô quá dài", "The cell's text is too long"),
    ImportReason.REFUSED_ON_COMMIT: (
        "Sổ điểm từ chối khi ghi (dữ liệu đã thay đổi sau khi xem trước)",
        "Refused when recording (the data changed after the preview)",
    ),
}
_TABLE: dict[TableReason, tuple[str, str]] = {
    TableReason.FILE_TOO_LARGE: ("Tệp quá lớn", "The file is too large"),
    TableReason.EMPTY_FILE: ("Tệp rỗng", "The file is empty"),
    TableReason.UNREADABLE_FILE: ("Không đọc được tệp", "The file cannot be read"),
    TableReason.UNKNOWN_FORMAT: (
        "Định dạng không hỗ trợ (chỉ nhận .xlsx, .csv, .txt)",
        "Unsupported format (only .xlsx, .csv, .txt)",
    ),
    TableReason.XLS_NOT_XLSX: (
        "Tệp Excel 97-2003 (.xls) hoặc có mật khẩu: hãy lưu lại dạng .xlsx không mật khẩu",
        "An Excel 97-2003 (.xls) or password-protected workbook: save it as .xlsx without a password",
    ),
    TableReason.HTML_NOT_XLSX: (
        "Trang web (HTML) hoặc bảng XML đặt tên như bảng tính: mở bằng Excel và lưu lại dạng .xlsx",
        "A web page (HTML) or XML table under a spreadsheet name: open it in Excel and save as .xlsx",
    ),
    TableReason.UNPACKS_TOO_LARGE: ("Tệp giải nén quá lớn", "The workbook unpacks too large"),
    TableReason.LEGACY_ENCODING: (
        "Bảng mã cũ (TCVN3/VNI): hãy chuyển sang Unicode",
        "A legacy encoding (TCVN3/VNI): convert it to Unicode",
    ),
    TableReason.TOO_MANY_SHEETS: ("Quá nhiều trang tính", "Too many sheets"),
    TableReason.TOO_MANY_ROWS: ("Quá nhiều dòng", "Too many rows"),
    TableReason.TOO_MANY_COLUMNS: ("Quá nhiều cột", "Too many columns"),
    TableReason.TOO_MANY_CELLS: ("Quá nhiều ô", "Too many cells"),
    TableReason.CELL_TOO_LONG: ("Nội dung ô quá dài", "A cell's text is too long"),
}
_CELL: dict[CellReason, tuple[str, str]] = {
    CellReason.BAD_NUMBER: ("Không phải là số điểm", "Not a number of points"),
    CellReason.FORMULA_WITHOUT_VALUE: (
        "Công thức chưa có giá trị: mở bằng Excel, tính lại và lưu",
        "A formula without a value: open it in Excel, recalculate and save",
    ),
    CellReason.DATE_NOT_A_NUMBER: ("Ô định dạng ngày, không phải số điểm", "A date, not points"),
    CellReason.PERCENT_NOT_POINTS: ("Tỷ lệ phần trăm, không phải số điểm", "A percentage, not points"),
}
_SCORING: dict[ScoringReason, tuple[str, str]] = {
    ScoringReason.UNKNOWN_LEAF: ("Không có tiêu chí này để chấm", "No such criterion to score"),
    ScoringReason.NOT_A_LEAF: (
        "Tiêu chí có tiêu chí con: chấm ở tiêu chí con",
        "The criterion has sub-criteria: score those",
    ),
    ScoringReason.LEAF_NOT_APPLICABLE: (
        "Tiêu chí không áp dụng cho đơn vị",
        "The criterion does not apply to the unit",
    ),
    ScoringReason.UNKNOWN_UNIT: ("Không tìm thấy đơn vị này", "No such unit"),
    ScoringReason.UNKNOWN_CRITERIA_SET: ("Không có bộ tiêu chí này", "No such criteria set"),
    ScoringReason.SET_NOT_FOR_YEAR: (
        "Bộ tiêu chí không áp dụng cho năm này",
        "The set does not score that year",
    ),
    ScoringReason.SET_LEVEL_MISMATCH: (
        "Bộ tiêu chí không dành cho cấp của đơn vị",
        "The set is not for the unit's level",
    ),
    ScoringReason.BAD_POINTS: ("Điểm không hợp lệ", "Invalid points"),
    ScoringReason.POINTS_OUT_OF_RANGE: (
        "Điểm ngoài khoảng cho phép (âm hoặc lớn hơn điểm tối đa)",
        "Points outside the allowed range (negative or above the maximum)",
    ),
    ScoringReason.POINTS_OFF_STEP: (
        "Điểm không đúng bước chấm của tiêu chí",
        "Points off the criterion's step",
    ),
    ScoringReason.SURVEY_LEAF_APPRAISED: (
        "Tiêu chí điều tra xã hội học không chấm thẩm định",
        "A survey criterion is not appraised",
    ),
    ScoringReason.NOT_SURVEY_LEAF: ("Không phải tiêu chí điều tra xã hội học", "Not a survey criterion"),
    ScoringReason.PERIOD_LOCKED: ("Đã khóa sổ", "The period is locked"),
    ScoringReason.NOT_YET_SUBMITTED: ("Đơn vị chưa nộp tự chấm", "The unit has not submitted"),
    ScoringReason.ALREADY_PUBLISHED: (
        "Kết quả năm này đã công bố: chỉ sửa bằng quyết định đính chính",
        "The year is published: only a correction changes it",
    ),
    ScoringReason.STALE_APPRAISAL_ROUND: ("Vòng thẩm định đã cũ", "A stale appraisal round"),
    ScoringReason.INCOMPLETE_CRITERIA: ("Bộ tiêu chí chưa đầy đủ", "The criteria set is incomplete"),
    ScoringReason.UNKNOWN_LEVEL_DEADLINE: (
        "Chưa có thời hạn cho cấp này trong năm",
        "No deadline for the level that year",
    ),
    ScoringReason.SURVEY_LEAF_SELF_SCORED: (
        "Tiêu chí điều tra xã hội học không tự chấm",
        "A survey criterion is not self-assessed",
    ),
    ScoringReason.EVIDENCE_ON_SURVEY_LEAF: (
        "Tiêu chí điều tra xã hội học không cần văn bản kiểm chứng",
        "A survey criterion takes no evidence",
    ),
    ScoringReason.NAIVE_TIME: ("Thời điểm không có múi giờ", "A time without a time zone"),
    ScoringReason.ALREADY_SUBMITTED: ("Đơn vị đã nộp tự chấm", "The unit has already submitted"),
    ScoringReason.EVIDENCE_AFTER_LOCK: ("Văn bản kiểm chứng sau khi khóa sổ", "Evidence after the lock"),
    ScoringReason.UNKNOWN_LINK: ("Không có liên kết văn bản này", "No such evidence link"),
    ScoringReason.LINK_LEAF_MISMATCH: (
        "Liên kết thuộc tiêu chí khác",
        "The link belongs to another criterion",
    ),
    ScoringReason.LINK_REMOVED: ("Liên kết văn bản đã bị gỡ", "The evidence link was removed"),
    ScoringReason.STALE_VERDICT: ("Kết luận văn bản đã cũ", "A stale verdict"),
    ScoringReason.BAD_ROUND: ("Vòng thẩm định không hợp lệ", "Invalid appraisal round"),
    ScoringReason.SUPPLEMENT_IN_PAST: ("Hạn bổ sung đã qua", "The supplement deadline is past"),
    ScoringReason.EMPTY_COMMAND: ("Lệnh không có nội dung", "An empty command"),
    ScoringReason.NOT_PUBLISHED: ("Kết quả năm này chưa công bố", "The year is not published"),
    ScoringReason.BAD_MAXIMUM: ("Điểm tối đa không hợp lệ", "Invalid maximum"),
    ScoringReason.PUBLISHED_YEAR_CHANGED: (
        "Năm đã công bố: không thay đổi",
        "A published year: not changed",
    ),
}
_UPLOAD: dict[UploadReason, tuple[str, str]] = {
    UploadReason.LENGTH_REQUIRED: (
        "Yêu cầu không cho biết kích thước tệp",
        "The request does not say how large the file is",
    ),
    UploadReason.BAD_FORM: ("Biểu mẫu gửi lên không đọc được", "The form sent cannot be read"),
    UploadReason.BAD_KIND: (
        "Loại dữ liệu không hợp lệ (đơn vị, kết quả thẩm định hoặc điểm điều tra XHH)",
        "Unknown kind of table (units, appraisals or survey results)",
    ),
    UploadReason.BAD_YEAR: ("Năm không hợp lệ", "Invalid year"),
    UploadReason.NO_FILE: ("Chưa chọn tệp", "No file chosen"),
    UploadReason.UPLOAD_EXPIRED: (
        "Tệp xem trước đã hết hạn hoặc đã được ghi nhận: hãy tải lên lại",
        "The previewed file has expired or was already recorded: upload it again",
    ),
    UploadReason.READ_ONLY: ("Máy chủ này chỉ cho xem, không ghi nhận", "This server records nothing"),
}
_NOTES: dict[StrEnum, tuple[str, str]] = {
    NoteKind.SHEET_USED: ("Đã đọc bảng", "Table read"),
    NoteKind.SHEET_IGNORED: ("Bỏ qua trang tính", "Sheet ignored"),
    NoteKind.COLUMN_IGNORED: ("Bỏ qua cột", "Column ignored"),
    NoteKind.UNIT_FROM: ("Đơn vị xác định từ", "Unit taken from"),
    NoteKind.ID_FROM_NAME: ("Mã đơn vị lấy từ tên", "Unit id taken from the name"),
    NoteKind.SAME_VALUE_TWICE: ("Giá trị lặp lại giống nhau", "The same value twice"),
    Skip.HIDDEN_ROW: ("Bỏ qua dòng ẩn", "Hidden row skipped"),
    Skip.COLUMN_NUMBERS: ("Bỏ qua dòng đánh số cột", "Column-number row skipped"),
    Skip.TOTAL_ROW: ("Bỏ qua dòng tổng", "Total row skipped"),
    Skip.GROUP_ROW: ("Bỏ qua dòng tên nhóm", "Group heading row skipped"),
}

IMPORT_TEXTS: Mapping[str, tuple[str, str]] = MappingProxyType(
    {
        **{k.value: v for k, v in _SCORING.items()},
        **{k.value: v for k, v in _CELL.items()},
        **{k.value: v for k, v in _TABLE.items()},
        **{k.value: v for k, v in _IMPORT.items()},
        **{k.value: v for k, v in _NOTES.items()},
        **{k.value: v for k, v in _UPLOAD.items()},
    }
)


def import_text(code: str, english: bool) -> str | None:
    """The explanation of an import's reason code or note, or None for a code it does not know."""
    pair = IMPORT_TEXTS.get(code)
    if pair is None:
        return None
    return pair[1] if english else pair[0]
