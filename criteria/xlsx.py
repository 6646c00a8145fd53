"""A province's appendix table (Phụ lục) in Excel to and from a criteria set.

Import reads the sheet "Tiêu chí", else the first that is not the metadata sheet, with
`criteria.appendix`: our own layout (STT, Nội dung, Điểm tối đa, Nguồn điểm, Bước điểm, Mẫu,
Ghi chú) and the layouts provinces publish (title block, Roman fields, merged headings, decimal
commas, scoring rules in following rows; see criteria/README.md). Codes typed as numbers lose
trailing zeros in Excel (1.10 becomes 1.1), so such cells are reported as warnings.

Export writes the sheet this import reads plus a "Thông tin" sheet with the set's metadata,
so export → import round-trips.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import openpyxl

from criteria.appendix import STORED_YES, TEMPLATE_MARK, SetMeta, import_grid
from criteria.errors import Issue
from criteria.model import CriteriaSet, Level, Source
from criteria.tables import CRITERIA_SHEET, META_SHEET, TableRefusedError, read_xlsx
from criteria.validation import ValidationReport
from criteria.xlsx_bounds import XlsxRefusedError, as_text

__all__ = ["SetMeta", "export_xlsx", "import_xlsx"]
SURVEY_LABEL = "Điều tra xã hội học"
SELF_LABEL = "Tự đánh giá"
HEADERS = ("STT", "Nội dung", "Điểm tối đa", "Nguồn điểm", "Bước điểm", "Mẫu", "Ghi chú")


def import_xlsx(
    path: Path, meta: SetMeta | None = None, template: bool = False
) -> tuple[CriteriaSet, ValidationReport]:
    """Read a table into a set; the report holds import problems and every validation issue
    (each with its row and column). Any layout `criteria.appendix` reads is accepted."""
    try:
        grid = read_xlsx(path)
    except (XlsxRefusedError, TableRefusedError) as exc:
        empty = CriteriaSet("", "", Level.DEPARTMENT, (), ())
        return empty, ValidationReport((Issue(exc.reason, "", str(exc)),))
    result = import_grid(grid, meta or SetMeta(), template)
    return result.cset, result.report


def _number(value: Decimal | None) -> Decimal | int | None:
    if value is None:
        return None
    return int(value) if value == value.to_integral_value() else value


def export_xlsx(cset: CriteriaSet, path: Path) -> None:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = CRITERIA_SHEET
    sheet.append(list(HEADERS))
    sources = cset.effective_sources()
    steps = cset.effective_steps()
    for node in cset.walk():
        label = ""
        if node.is_leaf:
            label = SURVEY_LABEL if sources[node.code] is Source.SURVEY else SELF_LABEL
        sheet.append(
            [
                node.code,
                node.title,
                _number(node.maximum),
                label,
                # Leaves carry their effective step so a set-wide step survives the round trip.
                _number(steps[node.code] if label == SELF_LABEL else node.step),
                TEMPLATE_MARK if node.template else "",
                node.note,
            ]
        )
        # Codes are text so 1.10 keeps its zero.
        sheet.cell(row=sheet.max_row, column=1).data_type = "s"
    sheet.append(["", "Tổng cộng", _number(cset.total)])
    meta = workbook.create_sheet(META_SHEET)
    for key, value in (
        ("issuer", cset.issuer),
        ("decision", cset.decision),
        ("decision_date", cset.decision_date),
        ("level", cset.level.value),
        ("years", " ".join(str(y) for y in cset.years)),
        ("title", cset.title),
        ("total_basis", cset.total_basis),
        ("note", cset.note),
        ("template", STORED_YES if cset.template else ""),
    ):
        meta.append([key, value])
    as_text(workbook)  # a title or note starting with "=" stays text
    workbook.save(path)
