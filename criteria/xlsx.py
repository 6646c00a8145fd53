"""A province's appendix table (Phụ lục) in Excel to and from a criteria set.

Import reads the first sheet that is not the metadata sheet: a header row naming the columns
(STT/TT/Mã, Nội dung/Tiêu chí, Điểm tối đa, optionally Nguồn điểm/Ghi chú, Bước điểm, Mẫu),
or, when no header is found, columns A, B, C as code, content and maximum. Rows whose first
cell is not a code like 1, 1.1, 8.4.1.1 (Roman-numbered sections, blank rows) are skipped; a
"Tổng" row gives the declared total. Codes typed as numbers lose trailing zeros in Excel
(1.10 becomes 1.1), so such cells are reported as warnings: type codes as text.

Export writes the sheet this import reads plus a "Thông tin" sheet with the set's metadata,
so export → import round-trips.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import openpyxl

from criteria.errors import CriteriaReason, Issue, Severity
from criteria.model import STANDARD_TOTAL, CriteriaSet, Level, Node, Source, is_valid_code, parent_code
from criteria.validation import ValidationReport, validate
from criteria.xlsx_bounds import XlsxRefusedError, as_text, bounded_rows, open_bounded

META_SHEET = "Thông tin"
CRITERIA_SHEET = "Tiêu chí"
HEADER_SCAN_ROWS = 20
SURVEY_MARKERS = ("điều tra", "xã hội học", "sipas", "survey")
TOTAL_MARKER = "tổng"
TEMPLATE_MARK = "x"
SURVEY_LABEL = "Điều tra xã hội học"
SELF_LABEL = "Tự đánh giá"
HEADERS = ("STT", "Nội dung", "Điểm tối đa", "Nguồn điểm", "Bước điểm", "Mẫu", "Ghi chú")


@dataclass(frozen=True)
class SetMeta:
    """Metadata the table itself may not carry; given on the command line."""

    issuer: str = ""
    decision: str = ""
    level: Level | None = None
    years: tuple[int, ...] = ()
    title: str = ""
    # Where the decision fixes a total other than 100 (the table's "Tổng cộng" row).
    total_basis: str = ""


@dataclass
class _Columns:
    code: int = 0
    content: int = 1
    maximum: int = 2
    source: int | None = None
    step: int | None = None
    template: int | None = None
    note: int | None = None


@dataclass
class _Builder:
    code: str
    title: str
    maximum: Decimal | None
    source: Source | None
    step: Decimal | None
    template: bool
    note: str
    children: list[_Builder] = field(default_factory=list)

    def build(self) -> Node:
        return Node(
            code=self.code,
            title=self.title,
            maximum=self.maximum,
            source=self.source,
            step=self.step,
            template=self.template,
            note=self.note,
            children=tuple(child.build() for child in self.children),
        )


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _fold(value: Any) -> str:
    return _text(value).lower()


def _decimal(value: Any) -> Decimal | None:
    if value is None or _text(value) == "":
        return None
    if isinstance(value, float):
        value = repr(value)  # shortest repr: 0.25 stays "0.25"
    # Vietnamese tables write decimals with a comma (0,5).
    try:
        return Decimal(_text(value).replace(",", "."))
    except InvalidOperation:
        return None


def _find_columns(rows: list[tuple[Any, ...]]) -> tuple[_Columns, int]:
    """The column layout and the index of the first data row."""
    for i, row in enumerate(rows[:HEADER_SCAN_ROWS]):
        cells = [_fold(c) for c in row]
        code = next((j for j, c in enumerate(cells) if c in {"stt", "tt", "mã", "mã số", "số tt"}), None)
        content = next((j for j, c in enumerate(cells) if "nội dung" in c or c.startswith("tiêu chí")), None)
        maximum = next((j for j, c in enumerate(cells) if "tối đa" in c), None)
        if code is None or content is None or maximum is None:
            continue
        cols = _Columns(code, content, maximum)
        for j, c in enumerate(cells):
            if "nguồn" in c:
                cols.source = j
            elif "ghi chú" in c:
                cols.note = j
            elif "bước" in c:
                cols.step = j
            elif c == "mẫu":
                cols.template = j
        return cols, i + 1
    return _Columns(), 0


def _cell(row: tuple[Any, ...], index: int | None) -> Any:
    if index is None or index >= len(row):
        return None
    return row[index]


def _read_meta(workbook: Any) -> dict[str, str]:
    if META_SHEET not in workbook.sheetnames:
        return {}
    out: dict[str, str] = {}
    for row in bounded_rows(workbook[META_SHEET]):
        if row and row[0] is not None:
            out[_text(row[0])] = _text(row[1] if len(row) > 1 else None)
    return out


def import_xlsx(path: Path, meta: SetMeta = SetMeta()) -> tuple[CriteriaSet, ValidationReport]:
    """Read a table into a set; the report holds import problems and every validation issue."""
    issues: list[Issue] = []
    try:
        workbook = open_bounded(path)
        try:
            stored = _read_meta(workbook)
            names = [n for n in workbook.sheetnames if n != META_SHEET]
            sheet = workbook[CRITERIA_SHEET] if CRITERIA_SHEET in names else workbook[names[0]]
            rows = list(bounded_rows(sheet))
        finally:
            workbook.close()
    except XlsxRefusedError as exc:
        empty = CriteriaSet("", "", Level.DEPARTMENT, (), ())
        return empty, ValidationReport((Issue(exc.reason, "", str(exc)),))
    except Exception as exc:  # openpyxl raises many unrelated types for a bad file
        raise_issue = Issue(CriteriaReason.XLSX_UNREADABLE, "", f"{path}: {exc}")
        empty = CriteriaSet("", "", Level.DEPARTMENT, (), ())
        return empty, ValidationReport((raise_issue,))
    cols, start = _find_columns(rows)
    top: list[_Builder] = []
    by_code: dict[str, _Builder] = {}
    total: Decimal | None = None
    for number, row in enumerate(rows[start:], start=start + 1):
        raw_code = _cell(row, cols.code)
        code = _text(raw_code).rstrip(".")
        content = _text(_cell(row, cols.content))
        maximum_raw = _cell(row, cols.maximum)
        maximum = _decimal(maximum_raw)
        where = f"row {number}"
        if not is_valid_code(code):
            if TOTAL_MARKER in _fold(raw_code) or TOTAL_MARKER in content.lower():
                total = maximum
            continue
        if isinstance(raw_code, float):
            issues.append(
                Issue(
                    CriteriaReason.XLSX_BAD_ROW,
                    code,
                    f"{where}: code typed as a number; trailing zeros are lost (type it as text)",
                    Severity.WARNING,
                )
            )
        if not content:
            issues.append(Issue(CriteriaReason.XLSX_BAD_ROW, code, f"{where}: no content (Nội dung)"))
        if maximum is None and _text(maximum_raw):
            issues.append(Issue(CriteriaReason.BAD_DECIMAL, code, f"{where}: maximum {maximum_raw!r}"))
        # Seed 003 marks survey criteria in the "Ghi chú" column when there is no source column.
        source_text = _fold(_cell(row, cols.source if cols.source is not None else cols.note))
        source: Source | None = None
        if any(marker in source_text for marker in SURVEY_MARKERS):
            source = Source.SURVEY
        elif cols.source is not None and source_text:
            source = Source.SELF_ASSESSED
        builder = _Builder(
            code=code,
            title=content,
            maximum=maximum,
            source=source,
            step=_decimal(_cell(row, cols.step)),
            template=_fold(_cell(row, cols.template)) == TEMPLATE_MARK,
            note=_text(_cell(row, cols.note)),
        )
        parent = by_code.get(parent_code(code))
        # An orphan goes to the top level, where validation reports it as not nested.
        (parent.children if parent is not None else top).append(builder)
        by_code.setdefault(code, builder)
    if not top:
        issues.append(Issue(CriteriaReason.XLSX_NO_ROWS, "", f"{path}: no rows with a criterion code"))
    level_text = meta.level.value if meta.level is not None else stored.get("level", "")
    try:
        level = Level(level_text)
    except ValueError:
        issues.append(Issue(CriteriaReason.BAD_LEVEL, "", f"level {level_text!r}: give --level"))
        level = Level.DEPARTMENT
    years = meta.years or tuple(
        int(y) for y in stored.get("years", "").replace(",", " ").split() if y.isdigit()
    )
    if not years:
        issues.append(Issue(CriteriaReason.MISSING_KEY, "", "no years: give --year"))
    cset = CriteriaSet(
        issuer=meta.issuer or stored.get("issuer", ""),
        decision=meta.decision or stored.get("decision", ""),
        level=level,
        years=years,
        title=meta.title or stored.get("title", ""),
        decision_date=stored.get("decision_date", ""),
        total=total if total is not None else STANDARD_TOTAL,
        total_basis=meta.total_basis or stored.get("total_basis", ""),
        fields=tuple(b.build() for b in top),
    )
    for key, value in (("issuer", cset.issuer), ("decision", cset.decision)):
        if not value:
            issues.append(Issue(CriteriaReason.MISSING_KEY, "", f"no {key}: give --{key}"))
    report = validate(cset)
    return cset, ValidationReport((*issues, *report.issues))


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
    ):
        meta.append([key, value])
    as_text(workbook)  # a title or note starting with "=" stays text
    workbook.save(path)
