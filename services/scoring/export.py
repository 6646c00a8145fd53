"""Excel export in the appendix layout (Phụ lục: bảng điểm tự đánh giá và thẩm định).

One sheet per unit, rows in criteria order: code, content, maximum, self-assessed, appraised,
explanation, evidence (number, title, verdict with reasons, link); then the total, the index and
its rating band. A sheet ranks the units of the level; the last lists the evidence register's
cross-document findings on those units' links ("Kiểm tra chéo"). Exact decimals are written as
numbers formatted with two decimals; the index is rounded half up to the province's decimals for
that year (two without a rules file; Thừa Thiên Huế 2023: three), as its published tables are,
on the unit sheets and the ranking sheet alike.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.worksheet.worksheet import Worksheet
from sqlalchemy.orm import Session

from criteria.xlsx_bounds import as_text
from services.evidence_verifier.register.reading import flagged_for
from services.evidence_verifier.register.views import FlaggedLink
from services.scoring.core.rules import ProvinceRules, default_rules
from services.scoring.corrections import SheetLabels, mark_corrections
from services.scoring.display import display_rules
from services.scoring.service import CriteriaCatalogue, UnitInfo
from services.scoring.views import (
    EvidenceView,
    Figure,
    NodeView,
    RankingView,
    evidence_view,
    ranking_view,
    unit_score_view,
)

HEADINGS = (
    "STT",
    "Nội dung",
    "Điểm tối đa",
    "Điểm tự đánh giá",
    "Điểm thẩm định",
    "Giải trình",
    "Tài liệu kiểm chứng",
)
RANKING_HEADINGS = ("Hạng", "Mã đơn vị", "Tên đơn vị", "Chỉ số CCHC (%)", "Ghi chú")
RANKING_SHEET = "Xếp hạng"
REGISTER_SHEET = "Kiểm tra chéo"
REGISTER_HEADINGS = (
    "Đơn vị",
    "Tiêu chí",
    "Số, ký hiệu",
    "Ngày ban hành",
    "Ngày ký số",
    "Dấu hiệu",
    "Nội dung",
    "Chi tiết",
    "Liên quan",
)
REGISTER_WIDTHS = (20, 10, 18, 14, 14, 26, 60, 40, 50)
TOTAL_LABEL = "Tổng điểm"
INDEX_LABEL = "Chỉ số CCHC (%)"
BAND_LABEL = "Xếp loại"
NOT_RANKED_NOTE = "Đánh giá, không xếp hạng"
NOT_APPLICABLE_NOTE = "Không áp dụng"
NO_RESULT_NOTE = "Không có kết quả"
RULES_HEADINGS = ("Nhóm xếp hạng", "Hạng trong nhóm", "Xếp loại")


def _number_format(decimals: int) -> str:
    return "0." + "0" * decimals if decimals else "0"


HEADER_ROW = 4
FIRST_DATA_ROW = HEADER_ROW + 1
NUMBER_FORMAT = "0.00"
SHEET_NAME_MAX = 31
_SHEET_FORBIDDEN = re.compile(r"[\[\]\:\*\?\/\\]")
COLUMN_WIDTHS = (10, 60, 12, 16, 16, 40, 70)
MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

VERDICT_LABELS: Mapping[str, str] = {
    "accepted": "Hợp lệ",
    "rejected": "Không hợp lệ",
    "needs_review": "Cần xem xét",
}
STATUS_NOTES: Mapping[str, str] = {"unlinked": " (đã gỡ liên kết)", "not_recorded": " (không được ghi nhận)"}


def _number(value: Figure | None) -> Decimal | None:
    return None if value is None else Decimal(value.exact)


def evidence_text(items: Sequence[EvidenceView]) -> str:
    lines = []
    for item in items:
        verdict = VERDICT_LABELS.get(item.decision, item.decision)
        reasons = "; ".join(r.vietnamese or r.code for r in item.reasons)
        head = " – ".join(part for part in (item.number, item.title) if part)
        line = f"{head or item.document_id}: {verdict}"
        if reasons:
            line += f" ({reasons})"
        line += STATUS_NOTES.get(item.status.value, "")
        if item.link:
            line += f" – {item.link}"
        lines.append(line)
    return "\n".join(lines)


def sheet_title(name: str, taken: set[str]) -> str:
    base = _SHEET_FORBIDDEN.sub(" ", name).strip()[:SHEET_NAME_MAX] or "Đơn vị"
    title, n = base, 1
    while title.lower() in taken:
        n += 1
        suffix = f" ({n})"
        title = base[: SHEET_NAME_MAX - len(suffix)] + suffix
    taken.add(title.lower())
    return title


def _walk(nodes: Iterable[NodeView]) -> Iterable[NodeView]:
    for node in nodes:
        yield node
        yield from _walk(node.children)


def _appraised(node: NodeView) -> Decimal | None:
    """The council's column: a leaf's appraised points (survey leaves: imported points); a group's
    achieved sum (appraised where recorded, else verified self points, plus survey)."""
    if not node.leaf:
        return _number(node.achieved)
    if node.source == "survey":
        return _number(node.survey)
    return _number(node.appraised)


def write_unit_sheet(
    sheet: Worksheet,
    unit: UnitInfo,
    year: int,
    nodes: Sequence[NodeView],
    evidence: Sequence[EvidenceView],
    total: tuple[Figure, Figure, Figure, Figure],
    rules: ProvinceRules | None = None,
    has_result: bool = True,
) -> None:
    """`rules`: the year's province rules (the index at its decimals, its band on the next row);
    a unit with no result shows "Không có kết quả" instead of an index."""
    shown = rules if rules is not None else default_rules(year)
    bold = Font(bold=True)
    sheet["A1"] = f"BẢNG ĐIỂM TỰ ĐÁNH GIÁ, THẨM ĐỊNH CHỈ SỐ CẢI CÁCH HÀNH CHÍNH NĂM {year}"
    sheet["A1"].font = bold
    sheet["A2"] = f"Đơn vị: {unit.name} ({unit.unit_id})"
    for column, heading in enumerate(HEADINGS, start=1):
        cell = sheet.cell(row=HEADER_ROW, column=column, value=heading)
        cell.font = bold
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    by_leaf: dict[str, list[EvidenceView]] = {}
    for item in evidence:
        by_leaf.setdefault(item.criterion_code, []).append(item)
    row = FIRST_DATA_ROW
    for node in _walk(nodes):
        is_group = not node.leaf
        values: tuple[object, ...] = (
            node.code,
            node.title,
            _number(node.maximum),
            _number(node.self_assessed) if is_group else _number(node.self_points),
            _appraised(node),
            node.explanation if node.applicable else NOT_APPLICABLE_NOTE,
            evidence_text(by_leaf.get(node.code, [])),
        )
        for column, value in enumerate(values, start=1):
            cell = sheet.cell(row=row, column=column, value=value)
            if isinstance(value, Decimal):
                cell.number_format = NUMBER_FORMAT
            if is_group:
                cell.font = bold
            if column in (2, 6, 7):
                cell.alignment = Alignment(wrap_text=True, vertical="top")
        links = [e.link for e in by_leaf.get(node.code, []) if e.link]
        if links:
            sheet.cell(row=row, column=7).hyperlink = links[0]
        row += 1
    maximum, claimed, achieved, index = total
    exact = Decimal(index.exact)
    band = shown.band(exact) if has_result else None
    closing: list[tuple[str, tuple[object, object, object], str]] = [
        (TOTAL_LABEL, (_number(maximum), _number(claimed), _number(achieved)), NUMBER_FORMAT),
        (
            INDEX_LABEL,
            (None, None, shown.shown(exact) if has_result else NO_RESULT_NOTE),
            _number_format(shown.decimals),
        ),
    ]
    if band is not None:
        closing.append((BAND_LABEL, (None, None, band), NUMBER_FORMAT))
    for label, cells, number_format in closing:
        sheet.cell(row=row, column=2, value=label).font = bold
        for column, value in zip((3, 4, 5), cells, strict=True):
            if value is not None:
                cell = sheet.cell(row=row, column=column, value=value)
                if isinstance(value, Decimal):
                    cell.number_format = number_format
                cell.font = bold
        row += 1
    for column, width in enumerate(COLUMN_WIDTHS, start=1):
        sheet.column_dimensions[chr(ord("A") + column - 1)].width = width
    sheet.freeze_panes = sheet.cell(row=FIRST_DATA_ROW, column=3)


def write_ranking_sheet(
    sheet: Worksheet, level: str, year: int, ranking: RankingView | None, rules: ProvinceRules | None = None
) -> None:
    """The ranking; with the province's rules for the year, the index at its decimals and three
    more columns: the ranking group, the rank in it and the rating band."""
    bold = Font(bold=True)
    sheet["A1"] = f"XẾP HẠNG CHỈ SỐ CẢI CÁCH HÀNH CHÍNH NĂM {year} ({level})"
    sheet["A1"].font = bold
    headings = RANKING_HEADINGS + (RULES_HEADINGS if rules is not None else ())
    number_format = NUMBER_FORMAT if rules is None else _number_format(rules.decimals)
    for column, heading in enumerate(headings, start=1):
        sheet.cell(row=HEADER_ROW, column=column, value=heading).font = bold
    row = FIRST_DATA_ROW
    if ranking is not None:
        for entry in (*ranking.ranked, *ranking.not_ranked):
            sheet.cell(row=row, column=1, value=entry.rank)
            sheet.cell(row=row, column=2, value=entry.unit_id)
            sheet.cell(row=row, column=3, value=entry.name)
            if entry.no_result:
                sheet.cell(row=row, column=5, value=NO_RESULT_NOTE)
                row += 1
                continue
            shown = Decimal(entry.index.display) if rules is None else rules.shown(Decimal(entry.index.exact))
            cell = sheet.cell(row=row, column=4, value=shown)
            cell.number_format = number_format
            if entry.rank is None:
                sheet.cell(row=row, column=5, value=NOT_RANKED_NOTE)
            if rules is not None:
                groups = {g.id: g.name for g in rules.groups}
                sheet.cell(row=row, column=6, value=groups.get(entry.group or "", entry.group))
                sheet.cell(row=row, column=7, value=entry.group_rank)
                sheet.cell(row=row, column=8, value=entry.band)
            row += 1
    for column, width in enumerate((8, 20, 40, 16, 28), start=1):
        sheet.column_dimensions[chr(ord("A") + column - 1)].width = width


def write_register_sheet(sheet: Worksheet, year: int, flagged: Sequence[FlaggedLink]) -> None:
    """The evidence register's findings on the exported units' links: one row per finding."""
    bold = Font(bold=True)
    sheet["A1"] = f"KIỂM TRA CHÉO TÀI LIỆU KIỂM CHỨNG TOÀN TỈNH NĂM {year}"
    sheet["A1"].font = bold
    for column, heading in enumerate(REGISTER_HEADINGS, start=1):
        sheet.cell(row=HEADER_ROW, column=column, value=heading).font = bold
    for row, item in enumerate(flagged, start=FIRST_DATA_ROW):
        values = (
            item.unit_id,
            item.criterion_code,
            item.number,
            item.issued_on,
            item.signed_on,
            item.code.value,
            item.code.vietnamese,
            item.detail,
            "; ".join(item.related),
        )
        for column, value in enumerate(values, start=1):
            cell = sheet.cell(row=row, column=column, value=value)
            if column in (7, 8, 9):
                cell.alignment = Alignment(wrap_text=True, vertical="top")
            if column in (4, 5) and value is not None:
                cell.number_format = "dd/mm/yyyy"
    for column, width in enumerate(REGISTER_WIDTHS, start=1):
        sheet.column_dimensions[chr(ord("A") + column - 1)].width = width
    sheet.freeze_panes = sheet.cell(row=FIRST_DATA_ROW, column=1)


def build_workbook(
    session: Session, catalogue: CriteriaCatalogue, level: str, year: int, readable: Sequence[UnitInfo]
) -> Workbook:
    """Sheets for the readable units of `level` (by name), then the ranking sheet."""
    book = Workbook()
    default = book.active
    if default is not None:
        book.remove(default)
    taken: set[str] = {RANKING_SHEET.lower(), REGISTER_SHEET.lower()}
    chosen = sorted((u for u in readable if u.level == level), key=lambda u: (u.name, u.unit_id))
    rules = display_rules(session, catalogue, level, year)  # a published year: as published
    for unit in chosen:
        view, state = unit_score_view(session, unit, year, catalogue)
        sheet = book.create_sheet(sheet_title(unit.name, taken))
        totals = (view.maximum, view.self_assessed, view.achieved, view.index)
        evidence = evidence_view(session, state, None)
        write_unit_sheet(sheet, unit, year, view.tree, evidence, totals, rules, view.has_result)
    ranking = ranking_view(session, level, year, {u.unit_id: u for u in chosen}, rules)
    write_ranking_sheet(book.create_sheet(RANKING_SHEET), level, year, ranking, rules)
    flagged = flagged_for(session, [u.unit_id for u in chosen], year)
    write_register_sheet(book.create_sheet(REGISTER_SHEET), year, flagged)
    # Corrected published values carry their decision on both sheets (issue 13).
    mark_corrections(book, session, year, SheetLabels(TOTAL_LABEL, INDEX_LABEL, RANKING_SHEET))
    return as_text(book)  # explanations and titles are user text: never a live formula


def workbook_bytes(book: Workbook) -> bytes:
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
