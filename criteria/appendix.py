"""A criteria appendix (Phụ lục) as provinces publish it, from a grid of text cells to a set.

What is read (criteria/README.md, "Importing an appendix"):

- a title block above the table: "PHỤ LỤC I", "(Kèm theo Quyết định số 1877/QĐ-UBND ngày
  11/8/2023 của Ủy ban nhân dân tỉnh Vĩnh Long)", "... CỦA CÁC SỞ, BAN, NGÀNH TỈNH" give the
  decision, its date, the issuer and the level when the command line does not;
- a heading row, found by its wording ("STT", "Lĩnh vực/Tiêu chí/Tiêu chí thành phần" or "Nội
  dung", "Điểm tối đa" or "Điểm chuẩn" or "Thang điểm", "Cách tính điểm"/"Hướng dẫn chấm điểm",
  "Ghi chú"), possibly over two rows with merged cells ("Điểm" over "Tối đa | Tự đánh giá");
  a row numbering the columns ("1 | 2 | 3" or "(1) | (2)") is skipped;
- STT as Roman numerals for fields (I, II), Arabic for criteria ("1", "2", or "1.1" either
  relative to the field or absolute), deeper levels as "1.1.1", "a)", "-" or unnumbered rows;
  codes are derived from that hierarchy (field II's "1" is 2.1, its "a)" under 2.1 is 2.1.1);
- points with a decimal comma ("0,5"), "tối đa 2", "0,5/1" or "0 - 2" (the largest is taken
  as the maximum, with a `points_interpreted` warning);
- unnumbered rows below a criterion: when their points add up to it they are its parts, when
  they are alternatives ("Ban hành kịp thời: 1 / không kịp thời: 0,5 / không ban hành: 0")
  they are its scoring rule (kept in `note`); rows with text but no points continue the rule;
- a survey field or criterion ("Điều tra xã hội học", "khảo sát sự hài lòng", "SIPAS", or
  "Điều tra XHH" in the Ghi chú column): its leaves are scored from the survey;
- a total row ("Tổng cộng", "Tổng điểm"): the declared total, checked against the fields.

Every problem is an `Issue` with the row, the column and a reason code. A table whose parts
add up to less than their parents or the total (a fragment) cannot be proven complete: it is
refused, or, with `template=True`, kept as a template set with the reason in its note.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from enum import Enum, auto
from pathlib import Path

from criteria.errors import CriteriaError, CriteriaReason, Issue, Severity
from criteria.model import STANDARD_TOTAL, CriteriaSet, Level, Node, Source
from criteria.tables import Grid, GridRow, read_table
from criteria.validation import ValidationReport, effective_maximum, validate

HEADER_SCAN_ROWS = 30
# Seeds go four levels deep (8.4.1.1); deeper is not an appendix.
MAX_CODE_DEPTH = 6
ZERO = Decimal(0)
NOTE_SEPARATOR = "; "
SURVEY_MARKERS = (
    "điều tra xã hội học",
    "xã hội học",
    "khảo sát sự hài lòng",
    "khảo sát mức độ hài lòng",
    "chỉ số hài lòng",
    "sipas",
    "survey",
)
SURVEY_ABBREVIATION = re.compile(r"\b(?:đt)?xhh\b")
SELF_MARKERS = ("tự đánh giá", "self")
TEMPLATE_MARK = "x"
STORED_YES = "yes"

CODE_LABELS = frozenset({"stt", "tt", "số tt", "số thứ tự", "mã", "mã số", "mã tiêu chí", "ký hiệu"})
CONTENT_WORDS = ("nội dung", "tiêu chí", "lĩnh vực", "chỉ tiêu", "tên ")
# In order of preference: "Điểm tối đa" beats "Điểm chuẩn" beats "Thang điểm" ...
MAXIMUM_WORDS = ("tối đa", "điểm chuẩn", "thang điểm", "điểm quy định", "số điểm")
MAXIMUM_EXACT = frozenset({"điểm", "điểm số"})
NOT_MAXIMUM_WORDS = ("tự đánh giá", "tự chấm", "thẩm định", "đạt được", "đánh giá")
RULE_WORDS = (
    "cách tính điểm",
    "hướng dẫn chấm",
    "phương pháp chấm",
    "cách chấm",
    "cách thức chấm",
    "hướng dẫn đánh giá",
    "phương pháp đánh giá",
    "cách xác định điểm",
    "thang điểm",
)
NOTE_WORDS = ("ghi chú",)
TOTAL_WORDS = ("tổng cộng", "tổng điểm", "tổng số điểm", "tổng", "cộng")

_ROMAN = re.compile(r"^(X{0,3})(IX|IV|V?I{0,3})$")
_ROMAN_VALUES = {"I": 1, "V": 5, "X": 10}
_ARABIC = re.compile(r"^\d{1,4}(?:\.\d{1,4})*$")
VIETNAMESE_LETTERS = "abcdđeghiklmnopqrstuvxy"
_LETTER = re.compile(rf"^\(?([{VIETNAMESE_LETTERS}])[).:/]?$")
_BULLET = re.compile(r"^[-–—+•*·]$")
_PART = re.compile(r"^(?:phần\s+)?([A-H])$", re.IGNORECASE)
# A number at the start of a title when the STT cell is empty ("1.1. Kế hoạch", "a) Ban hành").
_INLINE_LABEL = re.compile(
    rf"^(?P<label>(?:[IVX]+|\d{{1,4}}(?:\.\d{{1,4}})*)\.|\d{{1,4}}(?:\.\d{{1,4}})+|\(?[{VIETNAMESE_LETTERS}]\)|[-–—+•])\s+(?P<rest>\S.*)$",
    re.DOTALL,
)
# "Lĩnh vực II: Cải cách thể chế" in the title when the STT cell is empty: field 2.
_FIELD_TITLE = re.compile(
    r"^lĩnh vực\s+(?P<number>[IVX]+|\d{1,2})\s*[:.\-–]\s*(?P<rest>\S.*)$", re.IGNORECASE
)
_NUMBER = re.compile(r"\d+(?:[.,]\d+)?")
_POINTS_WORDS = re.compile(r"(?:điểm|đ)\.?(?!\w)", re.IGNORECASE)
_MAXIMUM_PHRASE = re.compile(r"^(?:tối đa|max)\s*:?\s*", re.IGNORECASE)

_DECISION = re.compile(
    r"(?:quyết định|qđ)\s*(?:số)?\s*:?\s*"
    r"(\d{1,6}\s*/\s*(?:\d{4}\s*/\s*)?[A-ZĐ][A-ZĐa-zđ0-9\-–]*(?:-[A-ZĐ]+)*)",
    re.IGNORECASE,
)
_DATE = re.compile(
    r"ngày\s+(\d{1,2})\s*(?:tháng|/|-|\.)\s*(\d{1,2})\s*(?:năm|/|-|\.)\s*(\d{4})", re.IGNORECASE
)
_ISSUER = re.compile(
    r"(?:ủy|uỷ)\s+ban\s+nhân\s+dân\s+(tỉnh|thành\s+phố)\s+([^\n(),;]+?)\s*(?:\)|$|\n|,|;)", re.IGNORECASE
)
_ISSUER_OF = re.compile(
    r"của\s+(?:ủy|uỷ)\s+ban\s+nhân\s+dân\s+(tỉnh|thành\s+phố)\s+([^\n(),;]+?)\s*(?:\)|$|\n|,|;)",
    re.IGNORECASE,
)
_ISSUER_SHORT = re.compile(r"\bUBND\s+(tỉnh|thành\s+phố|TP\.?)\s+([^\n(),;]+?)\s*(?:\)|$|\n|,|;)")
_LEVEL_PATTERNS: tuple[tuple[Level, re.Pattern[str]], ...] = (
    (Level.COMMUNE, re.compile(r"xã,\s*phường|cấp xã|ubnd (?:các )?xã")),
    (Level.DISTRICT, re.compile(r"huyện,\s*thị xã|cấp huyện|ubnd (?:các )?huyện|quận, huyện")),
    (Level.DEPARTMENT, re.compile(r"sở,\s*ban,\s*ngành|cơ quan chuyên môn|cấp sở|các sở\b")),
)


@dataclass(frozen=True)
class SetMeta:
    """What the command line says about the set; overrides what the table's title block says."""

    issuer: str = ""
    decision: str = ""
    level: Level | None = None
    years: tuple[int, ...] = ()
    title: str = ""
    # Where the decision fixes a total other than 100 (the table's "Tổng cộng" row).
    total_basis: str = ""
    decision_date: str = ""


@dataclass(frozen=True)
class TableImport:
    """The imported set, every issue (with rows and columns), and whether it is complete."""

    cset: CriteriaSet
    report: ValidationReport
    # Why the table cannot be proven complete (empty when it is); a fragment.
    incomplete: tuple[str, ...] = ()
    title_meta: Mapping[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.report.ok


class Kind(Enum):
    ROMAN = auto()
    ARABIC = auto()
    LETTER = auto()
    BULLET = auto()
    NONE = auto()


# Kinds whose codes the table does not give: derived from their place under their parent.
SOFT_KINDS = frozenset({Kind.LETTER, Kind.BULLET, Kind.NONE})


@dataclass
class _Columns:
    code: int
    content: int
    maximum: int
    labels: tuple[str, ...]
    rule: int | None = None
    note: int | None = None
    source: int | None = None
    step: int | None = None
    template: int | None = None

    def name(self, index: int | None) -> str:
        if index is None:
            return ""
        label = self.labels[index] if index < len(self.labels) else ""
        return f"{column_letter(index)} ({label})" if label else column_letter(index)


@dataclass
class _Item:
    """One row of the table on its way to a node."""

    row: int
    kind: Kind
    label: str  # as written: "II", "1.1", "a)", "-", ""
    parts: tuple[int, ...]  # ROMAN: (n,), ARABIC: its numbers
    title: str
    maximum: Decimal | None
    points_text: str
    note: str
    source: Source | None
    step: Decimal | None
    template: bool
    code: str = ""
    parent: _Item | None = None
    children: list[_Item] = field(default_factory=list)
    options: list[str] = field(default_factory=list)

    def walk(self) -> Iterable[_Item]:
        yield self
        for child in self.children:
            yield from child.walk()


def column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(ord("A") + rem) + letters
    return letters


def fold(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).lower().split())


def _one_line(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).split())


def _lines(text: str) -> str:
    parts = [_one_line(line) for line in unicodedata.normalize("NFC", text).splitlines()]
    return NOTE_SEPARATOR.join(p for p in parts if p)


def format_points(value: Decimal) -> str:
    """As a Vietnamese table writes it: 0,5; 1; 2,25."""
    text = format(value.normalize(), "f") if value == value.to_integral_value() else str(value.normalize())
    return text.replace(".", ",")


def _to_decimal(text: str) -> Decimal | None:
    try:
        value = Decimal(text.replace(",", "."))
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


@dataclass(frozen=True)
class Points:
    value: Decimal | None
    interpreted: bool = False  # "0,5/1", "0 - 2": the largest number taken
    bad: bool = False


def parse_points(text: str) -> Points:
    """A points cell: "2", "0,5", "1.5", "2 điểm", "tối đa 2", "0,5/1", "0 - 2"; "" and "-" are
    no points; anything else is bad."""
    cleaned = _POINTS_WORDS.sub("", fold(text)).strip().strip(":").strip()
    if cleaned in {"", "-", "–", "—"}:
        return Points(None)
    cleaned = _MAXIMUM_PHRASE.sub("", cleaned).strip()
    if re.match(r"[-–—]\s*\d", cleaned):
        return Points(None, bad=True)  # a negative maximum, not a range
    if re.fullmatch(r"\d+(?:[.,]\d+)?", cleaned):
        return Points(_to_decimal(cleaned))
    numbers = _NUMBER.findall(cleaned)
    rest = _NUMBER.sub("", cleaned)
    if numbers and re.fullmatch(r"[\s/÷\-–—~,;]*(?:đến|tới)?[\s/÷\-–—~]*|\s*từ\s*(?:đến|tới)?\s*", rest):
        values = [v for v in (_to_decimal(n) for n in numbers) if v is not None]
        if values:
            return Points(max(values), interpreted=len(values) > 1)
    return Points(None, bad=True)


def _roman_value(label: str) -> int | None:
    if not label or not _ROMAN.match(label):
        return None
    total = 0
    previous = 0
    for char in reversed(label):
        value = _ROMAN_VALUES[char]
        total = total - value if value < previous else total + value
        previous = max(previous, value)
    return total or None


@dataclass(frozen=True)
class _Label:
    kind: Kind
    parts: tuple[int, ...] = ()
    text: str = ""
    part_heading: bool = False
    bad: bool = False


def parse_label(raw: str) -> _Label:
    """The STT cell: "II", "1", "1.1.", "a)", "-", ""; "A"/"Phần B" are part headings (no code)."""
    text = _one_line(raw)
    if not text:
        return _Label(Kind.NONE)
    stripped = text.rstrip(".)").strip() if not _LETTER.match(text) else text
    roman = _roman_value(stripped)
    if roman is not None:
        return _Label(Kind.ROMAN, (roman,), text)
    if _ARABIC.match(stripped):
        parts = tuple(int(p) for p in stripped.split("."))
        if all(p > 0 for p in parts):
            return _Label(Kind.ARABIC, parts, text)
        return _Label(Kind.ARABIC, parts, text, bad=True)
    if _LETTER.match(text.lower()):
        return _Label(Kind.LETTER, (), text)
    if _BULLET.match(text):
        return _Label(Kind.BULLET, (), text)
    if _PART.match(stripped):
        return _Label(Kind.NONE, (), text, part_heading=True)
    return _Label(Kind.NONE, (), text, bad=True)


# ---------------------------------------------------------------- heading


def _roles(labels: Sequence[str]) -> _Columns | None:
    folded = [fold(label) for label in labels]
    code = next((j for j, c in enumerate(folded) if c in CODE_LABELS or c.startswith(("stt", "số tt"))), None)
    if code is None:
        return None
    content = next(
        (
            j
            for j, c in enumerate(folded)
            if j != code and "điểm" not in c and any(w in c + " " for w in CONTENT_WORDS)
        ),
        None,
    )
    maximum: int | None = None
    for word in MAXIMUM_WORDS:
        maximum = next(
            (
                j
                for j, c in enumerate(folded)
                if j not in {code, content} and word in c and not any(n in c for n in NOT_MAXIMUM_WORDS)
            ),
            None,
        )
        if maximum is not None:
            break
    if maximum is None:
        maximum = next((j for j, c in enumerate(folded) if c in MAXIMUM_EXACT), None)
    if content is None or maximum is None:
        return None
    cols = _Columns(code, content, maximum, tuple(_one_line(label) for label in labels))
    taken = {code, content, maximum}
    for j, c in enumerate(folded):
        if j in taken or not c:
            continue
        if cols.rule is None and any(w in c for w in RULE_WORDS):
            cols.rule = j
        elif cols.note is None and any(w in c for w in NOTE_WORDS):
            cols.note = j
        elif cols.source is None and c.startswith("nguồn"):
            cols.source = j
        elif cols.step is None and c.startswith("bước"):
            cols.step = j
        elif cols.template is None and c == "mẫu":
            cols.template = j
    return cols


def _is_text_only(row: GridRow) -> bool:
    """A sub-heading row: words only (no STT, no points)."""
    filled = [c for c in row.cells if c.strip()]
    return bool(filled) and all(
        parse_points(c).value is None and not _ARABIC.match(c.strip()) for c in filled
    )


def _combined_labels(top: GridRow, sub: GridRow) -> list[str]:
    """Labels of a two-row heading: a merged top cell ("Điểm") spreads over the columns its
    sub-heading fills ("Tối đa", "Tự đánh giá") and prefixes them."""
    width = max(len(top.cells), len(sub.cells))
    tops = [top.cells[j] if j < len(top.cells) else "" for j in range(width)]
    subs = [sub.cells[j] if j < len(sub.cells) else "" for j in range(width)]
    out: list[str] = []
    spread = ""
    for j in range(width):
        if tops[j].strip():
            spread = tops[j]
        elif not subs[j].strip():
            spread = ""
        head = tops[j] if tops[j].strip() else (spread if subs[j].strip() else "")
        out.append(" ".join(x for x in (head.strip(), subs[j].strip()) if x))
    return out


@dataclass(frozen=True)
class _Heading:
    cols: _Columns
    index: int  # the heading's first row, as an index into the grid's rows
    start: int  # the first data row below it
    end: int = 0  # where its data stops: the next heading, or the end of the grid


def _heading_at(rows: Sequence[GridRow], i: int) -> tuple[_Columns, int] | None:
    row = rows[i]
    top = _roles(row.cells)
    following = rows[i + 1] if i + 1 < len(rows) else None
    if top is None:
        # A two-row heading whose roles need both rows: the top row names the STT column and
        # holds words only; a total or text row just above a heading is not part of it.
        names_code = any(fold(c) in CODE_LABELS or fold(c).startswith("stt") for c in row.cells)
        if (
            names_code
            and _is_text_only(row)
            and following is not None
            and _is_text_only(following)
            and _roles(following.cells) is None
        ):
            cols = _roles(_combined_labels(row, following))
            if cols is not None:
                return cols, i + 2
        return None
    if following is not None and _is_text_only(following):
        code_cell = following.cells[top.code] if top.code < len(following.cells) else ""
        if not code_cell.strip():
            combined = _roles(_combined_labels(row, following))
            if combined is not None:
                return combined, i + 2
    return top, i + 1


def find_headings(rows: Sequence[GridRow]) -> list[_Heading]:
    """Every heading row (one per table section), the first within HEADER_SCAN_ROWS rows."""
    out: list[_Heading] = []
    i = 0
    while i < len(rows):
        if not out and i >= HEADER_SCAN_ROWS:
            break
        found = _heading_at(rows, i)
        if found is None:
            i += 1
            continue
        cols, start = found
        if out:
            out[-1] = replace(out[-1], end=i)
        out.append(_Heading(cols, i, start, len(rows)))
        i = start
    return out


def find_heading(rows: Sequence[GridRow]) -> tuple[_Columns, int] | None:
    """The first heading's column roles and the index of its first data row, or None."""
    headings = find_headings(rows)
    return (headings[0].cols, headings[0].start) if headings else None


def _is_column_numbering(row: GridRow) -> bool:
    """ "1 | 2 | 3 | 4" or "(1) | (2) | (3)" or "A | B | C" under the heading."""
    filled = [c.strip().strip("()") for c in row.cells if c.strip()]
    if len(filled) < 3:
        return False
    if all(c.isdigit() for c in filled):
        numbers = [int(c) for c in filled]
        return numbers == list(range(numbers[0], numbers[0] + len(numbers)))
    return all(len(c) == 1 and c.isalpha() and c.isupper() for c in filled) and [
        ord(c) for c in filled
    ] == list(range(ord(filled[0]), ord(filled[0]) + len(filled)))


# ---------------------------------------------------------------- title block


def read_title_block(text: str) -> dict[str, str]:
    """Decision, date, issuer and level stated above the table."""
    out: dict[str, str] = {}
    flat = _one_line(text)
    decision = _DECISION.search(flat)
    if decision:
        out["decision"] = re.sub(r"\s+", "", decision.group(1)).rstrip(".-")
        date = _DATE.search(flat[decision.end() : decision.end() + 80])
        if date:
            day, month, year = (int(g) for g in date.groups())
            out["decision_date"] = f"{year:04d}-{month:02d}-{day:02d}"
    # "(Kèm theo Quyết định ... của Ủy ban nhân dân tỉnh Vĩnh Long)" names the issuer; the
    # letterhead ("ỦY BAN NHÂN DÂN TỈNH ...") is the fallback.
    issuer = _ISSUER_OF.search(flat) or _ISSUER.search(text) or _ISSUER.search(flat)
    if issuer:
        name = _one_line(issuer.group(2))
        out["issuer"] = f"UBND {fold(issuer.group(1))} {name.title() if name.isupper() else name}"
    else:
        short = _ISSUER_SHORT.search(flat)
        if short:
            kind = "thành phố" if short.group(1).lower().startswith(("thành", "tp")) else "tỉnh"
            out["issuer"] = f"UBND {kind} {_one_line(short.group(2))}"
    # The level from the appendix's own title ("PHỤ LỤC II ... CẤP HUYỆN"): lines from the last
    # "Phụ lục" on, and only when exactly one level is named (a decision's own title names all
    # three: "sở, ban, ngành tỉnh; UBND cấp huyện, cấp xã").
    lines = text.splitlines()
    marks = [i for i, line in enumerate(lines) if "phụ lục" in fold(line)]
    own = fold("\n".join(lines[marks[-1] :] if marks else lines))
    levels = [level for level, pattern in _LEVEL_PATTERNS if pattern.search(own)]
    if len(levels) == 1:
        out["level"] = levels[0].value
    # Title: the line under "PHỤ LỤC I" ("CHỈ SỐ CẢI CÁCH HÀNH CHÍNH CỦA CÁC SỞ, BAN, NGÀNH TỈNH").
    if marks:
        heading = _one_line(lines[marks[-1]])
        below = next((_one_line(x) for x in lines[marks[-1] + 1 :] if x.strip()), "")
        name = below if below and not below.startswith("(") and "quyết định" not in fold(below) else ""
        out["title"] = f"{name} ({heading})" if name else heading
    return out


# ---------------------------------------------------------------- rows to items


class _Reader:
    def __init__(self, grid: Grid, cols: _Columns) -> None:
        self.grid = grid
        self.cols = cols
        self.issues: list[Issue] = []
        self.items: list[_Item] = []
        self.total: Decimal | None = None
        self.total_row: int | None = None

    def issue(
        self,
        reason: CriteriaReason,
        row: int,
        column: int | None,
        message: str,
        path: str = "",
        severity: Severity = Severity.ERROR,
    ) -> None:
        self.issues.append(Issue(reason, path, message, severity, row, self.cols.name(column)))

    @staticmethod
    def cell(row: GridRow, index: int | None) -> str:
        if index is None or index >= len(row.cells):
            return ""
        return row.cells[index]

    def survey_source(self, row: GridRow, title: str, note: str) -> Source | None:
        cols = self.cols
        if cols.source is not None:
            text = fold(self.cell(row, cols.source))
            if any(m in text for m in SURVEY_MARKERS) or SURVEY_ABBREVIATION.search(text):
                return Source.SURVEY
            return Source.SELF_ASSESSED if text else None
        text = f"{fold(title)} | {fold(note)}"
        if any(m in text for m in SURVEY_MARKERS) or SURVEY_ABBREVIATION.search(text):
            return Source.SURVEY
        return None

    def read(self, rows: Sequence[GridRow]) -> None:
        """Rows of one table section; a rule continued across a page split still reaches the
        row above it."""
        cols = self.cols
        last = self.items[-1] if self.items else None
        for row in rows:
            if not any(c.strip() for c in row.cells) or _is_column_numbering(row):
                continue
            raw_code = self.cell(row, cols.code)
            content = self.cell(row, cols.content)
            label = parse_label(raw_code)
            if label.kind is Kind.NONE and not label.text:
                inline = _INLINE_LABEL.match(_one_line(content))
                field_title = _FIELD_TITLE.match(_one_line(content))
                if field_title:
                    number = field_title.group("number")
                    value = int(number) if number.isdigit() else _roman_value(number.upper())
                    if value:
                        label = _Label(Kind.ROMAN, (value,), number)
                        content = field_title.group("rest")
                elif inline:
                    candidate = parse_label(inline.group("label"))
                    if candidate.kind is not Kind.NONE and not candidate.bad:
                        label, content = candidate, inline.group("rest")
            title = _one_line(content)
            points_raw = self.cell(row, cols.maximum)
            if self.total_row is not None:
                if label.kind is not Kind.NONE or parse_points(points_raw).value is not None:
                    self.issue(
                        CriteriaReason.ROWS_AFTER_TOTAL,
                        row.number,
                        cols.code,
                        f"a criterion row after the total row (row {self.total_row}): {raw_code or title!r}",
                    )
                continue
            plain = label.kind is Kind.NONE and not label.bad and not label.part_heading
            if plain and (fold(title).startswith(TOTAL_WORDS) or fold(raw_code).startswith(TOTAL_WORDS)):
                self.read_total(row, points_raw)
                continue
            if label.part_heading:
                self.issue(
                    CriteriaReason.BAD_STT,
                    row.number,
                    cols.code,
                    f"part heading {raw_code!r} ({title!r}) has no place in the code tree: ignored",
                    severity=Severity.WARNING,
                )
                continue
            if label.bad:
                self.issue(
                    CriteriaReason.BAD_STT,
                    row.number,
                    cols.code,
                    f"STT {raw_code!r} is not a field (I, II), a number (1, 1.1), a letter (a) or a dash",
                )
                continue
            if len(label.parts) > MAX_CODE_DEPTH:
                # Refused here, before any tree is built: depth is bounded for every walk below.
                self.issue(
                    CriteriaReason.TOO_DEEP,
                    row.number,
                    cols.code,
                    f"STT {raw_code[:40]!r} is nested more than {MAX_CODE_DEPTH} levels deep",
                )
                continue
            if cols.code in row.numeric and label.kind is Kind.ARABIC:
                self.issue(
                    CriteriaReason.XLSX_BAD_ROW,
                    row.number,
                    cols.code,
                    f"STT {raw_code!r} typed as a number: trailing zeros are lost (1.10 becomes 1.1); "
                    "type codes as text",
                    severity=Severity.WARNING,
                )
            points = parse_points(points_raw)
            if points.bad:
                self.issue(
                    CriteriaReason.BAD_DECIMAL,
                    row.number,
                    cols.maximum,
                    f"points {points_raw!r} are not a number",
                    path=raw_code,
                )
            elif points.interpreted:
                self.issue(
                    CriteriaReason.POINTS_INTERPRETED,
                    row.number,
                    cols.maximum,
                    f"points {points_raw!r} read as a maximum of {format_points(points.value or ZERO)}",
                    path=raw_code,
                    severity=Severity.WARNING,
                )
            rule = _lines(self.cell(row, cols.rule))
            note = NOTE_SEPARATOR.join(x for x in (rule, _lines(self.cell(row, cols.note))) if x)
            if label.kind is Kind.NONE and points.value is None and not points.bad:
                # Text only: the rule or title of the row above continues here.
                text = NOTE_SEPARATOR.join(x for x in (title, note) if x)
                if last is not None and text:
                    last.note = NOTE_SEPARATOR.join(x for x in (last.note, text) if x)
                continue
            if not title:
                self.issue(
                    CriteriaReason.XLSX_BAD_ROW,
                    row.number,
                    cols.content,
                    "no content (Nội dung)",
                    path=raw_code,
                )
            step_raw = self.cell(row, cols.step)
            step = parse_points(step_raw).value if step_raw else None
            item = _Item(
                row=row.number,
                kind=label.kind,
                label=label.text,
                parts=label.parts,
                title=title,
                maximum=points.value,
                points_text=points_raw,
                note=note,
                source=self.survey_source(row, title, note),
                step=step,
                template=fold(self.cell(row, cols.template)) == TEMPLATE_MARK,
            )
            self.items.append(item)
            last = item

    def read_total(self, row: GridRow, points_raw: str) -> None:
        points = parse_points(points_raw)
        if points.bad:
            self.issue(CriteriaReason.BAD_DECIMAL, row.number, self.cols.maximum, f"total {points_raw!r}")
            return
        self.total = points.value
        self.total_row = row.number


# ---------------------------------------------------------------- items to a tree


class _Builder:
    def __init__(self, reader: _Reader) -> None:
        self.reader = reader
        self.top: list[_Item] = []
        self.by_code: dict[str, _Item] = {}

    def issue(self, reason: CriteriaReason, item: _Item, column: int | None, message: str) -> None:
        self.reader.issue(reason, item.row, column, message, path=item.code or item.label)

    def absolute_sections(self, items: Sequence[_Item]) -> set[int]:
        """Roman fields whose Arabic codes already start with the field's number (I: 1.1, 1.2)."""
        sections: dict[int, list[_Item]] = {}
        current: int | None = None
        for item in items:
            if item.kind is Kind.ROMAN:
                current = item.parts[0]
                sections.setdefault(current, [])
            elif item.kind is Kind.ARABIC and current is not None:
                sections[current].append(item)
        return {
            number
            for number, arabic in sections.items()
            if arabic and all(len(a.parts) >= 2 and a.parts[0] == number for a in arabic)
        }

    def build(self, items: Sequence[_Item]) -> None:
        roman_mode = any(item.kind is Kind.ROMAN for item in items)
        absolute = self.absolute_sections(items)
        field_item: _Item | None = None
        numbered: _Item | None = None  # last Roman or Arabic row
        lettered: _Item | None = None  # last letter row under `numbered`
        dashed: _Item | None = None  # last "-" row
        last: _Item | None = None
        for item in items:
            if item.kind is Kind.ROMAN:
                item.code = str(item.parts[0])
                self.attach(item, None)
                field_item = numbered = item
                lettered = dashed = None
            elif item.kind is Kind.ARABIC:
                parts = item.parts
                if roman_mode:
                    if field_item is None:
                        self.issue(
                            CriteriaReason.CODE_NOT_NESTED,
                            item,
                            self.reader.cols.code,
                            f"STT {item.label!r} comes before the first field (I)",
                        )
                        continue
                    if field_item.parts[0] not in absolute:
                        parts = (field_item.parts[0], *parts)
                item.code = ".".join(str(p) for p in parts)
                self.attach(item, self.by_code.get(item.code.rpartition(".")[0]) if len(parts) > 1 else None)
                numbered = item
                lettered = dashed = None
            elif item.kind is Kind.LETTER:
                if numbered is None:
                    self.issue(
                        CriteriaReason.CODE_NOT_NESTED, item, self.reader.cols.code, "no criterion above"
                    )
                    continue
                self.attach(item, numbered)
                lettered, dashed = item, None
            elif item.kind is Kind.BULLET:
                parent = lettered or numbered
                if item.label.startswith("+") and dashed is not None:
                    parent = dashed
                if parent is None:
                    self.issue(
                        CriteriaReason.CODE_NOT_NESTED, item, self.reader.cols.code, "no criterion above"
                    )
                    continue
                self.attach(item, parent)
                if not item.label.startswith("+"):
                    dashed = item
            else:  # unnumbered with points: under the row above
                if last is None:
                    self.issue(
                        CriteriaReason.BAD_STT,
                        item,
                        self.reader.cols.code,
                        "points on a row without STT and no criterion above it",
                    )
                    continue
                self.attach(item, last if last.kind is not Kind.NONE else last.parent)
            last = item

    def attach(self, item: _Item, parent: _Item | None) -> None:
        item.parent = parent
        (parent.children if parent is not None else self.top).append(item)
        if item.code:
            self.by_code.setdefault(item.code, item)

    def fold_options(self, item: _Item) -> None:
        """Unnumbered, lettered or dashed leaf rows that are alternatives for their parent's points
        (one of them equals its maximum, or one is 0, and they do not add up to it) are its
        scoring rule, not its parts."""
        for child in item.children:
            self.fold_options(child)
        for kind in SOFT_KINDS:
            group = [c for c in item.children if c.kind is kind]
            if not group or any(c.children for c in group):
                continue
            if _are_options(item.maximum, [c.maximum for c in group]):
                rule = NOTE_SEPARATOR.join(_option_text(c) for c in group)
                item.note = NOTE_SEPARATOR.join(x for x in (item.note, rule) if x)
                item.children = [c for c in item.children if c.kind is not kind]

    def assign_codes(self, item: _Item, depth: int) -> None:
        if depth > MAX_CODE_DEPTH:
            return
        for position, child in enumerate(item.children, start=1):
            if child.kind in SOFT_KINDS:
                child.code = f"{item.code}.{position}"
            self.assign_codes(child, depth + 1)


def _are_options(parent: Decimal | None, points: list[Decimal | None]) -> bool:
    if parent is None or any(p is None for p in points):
        return False
    known = [p for p in points if p is not None]
    if len(known) > 1 and sum(known, ZERO) == parent and all(p > ZERO for p in known):
        return False  # they add up: the parent's parts
    return max(known) <= parent and (any(p == ZERO for p in known) or max(known) == parent)


def _option_text(item: _Item) -> str:
    points = format_points(item.maximum) if item.maximum is not None else item.points_text
    text = f"{item.title}: {points}"
    return f"{text} ({item.note})" if item.note else text


def _depth_issues(builder: _Builder, items: Iterable[_Item]) -> set[int]:
    too_deep: set[int] = set()
    for item in items:
        depth = item.code.count(".") + 1 if item.code else 0
        if depth > MAX_CODE_DEPTH or (not item.code and item.parent is not None):
            too_deep.add(id(item))
            builder.issue(
                CriteriaReason.TOO_DEEP,
                item,
                builder.reader.cols.code,
                f"nested more than {MAX_CODE_DEPTH} levels deep",
            )
    return too_deep


def _to_node(item: _Item, skip: set[int]) -> Node:
    return Node(
        code=item.code,
        title=item.title,
        maximum=item.maximum,
        source=item.source,
        step=item.step,
        template=item.template,
        note=item.note,
        children=tuple(_to_node(c, skip) for c in item.children if id(c) not in skip),
    )


# ---------------------------------------------------------------- completeness


def _underfull(node: Node) -> Decimal | None:
    """How many points of a node's stated maximum its children do not account for."""
    if not node.children or node.maximum is None:
        return None
    parts = [effective_maximum(c) for c in node.children]
    if any(p is None for p in parts):
        return None
    total = sum((p for p in parts if p is not None), ZERO)
    return node.maximum - total if total < node.maximum else None


def _overfull(cset: CriteriaSet, total_row: int | None) -> list[tuple[str, str]]:
    """(code, message) for every node whose parts add up to more than it, and the fields to more
    than the total: wrong data, never a fragment (a template would not hide it)."""
    out: list[tuple[str, str]] = []
    for node in cset.walk():
        if not node.children or node.maximum is None:
            continue
        parts = [effective_maximum(c) for c in node.children]
        known = sum((p for p in parts if p is not None), ZERO)
        if known > node.maximum:
            out.append((node.code, f"maximum {node.maximum} but its parts add up to {known} (or more)"))
    fields = sum((p for p in (effective_maximum(f) for f in cset.fields) if p is not None), ZERO)
    if fields > cset.total:
        where = f"the total row (row {total_row})" if total_row is not None else "the standard total"
        out.append(("", f"the fields add up to {fields}, more than {cset.total} in {where}"))
    return out


def _mark_templates(node: Node, marked: list[str]) -> Node:
    children = tuple(_mark_templates(c, marked) for c in node.children)
    missing = _underfull(node)
    if missing is not None:
        marked.append(node.code)
    return replace(node, children=children, template=node.template or missing is not None)


def incompleteness(cset: CriteriaSet, has_total_row: bool) -> list[str]:
    """Why the set cannot be proven complete: parts adding up to less than their parent, fields
    to less than the total."""
    reasons: list[str] = []
    for node in cset.walk():
        missing = _underfull(node)
        if missing is not None:
            reasons.append(
                f"{node.code} ({format_points(node.maximum or ZERO)}): "
                f"its parts miss {format_points(missing)} points"
            )
    parts = [effective_maximum(f) for f in cset.fields]
    if cset.fields and all(p is not None for p in parts):
        fields_sum = sum((p for p in parts if p is not None), ZERO)
        if fields_sum < cset.total:
            where = "the total row" if has_total_row else "the standard total"
            reasons.append(
                f"the fields sum to {format_points(fields_sum)} of {format_points(cset.total)} ({where})"
            )
    return reasons


# ---------------------------------------------------------------- entry point


def _node_rows(items: Iterable[_Item]) -> dict[str, int]:
    rows: dict[str, int] = {}
    for item in items:
        for one in item.walk():
            rows.setdefault(one.code, one.row)
    return rows


_SUM_REASONS = frozenset(
    {CriteriaReason.PARENT_SUM_MISMATCH, CriteriaReason.TOTAL_MISMATCH, CriteriaReason.MISSING_MAXIMUM}
)


def _locate(
    issues: Iterable[Issue], rows: Mapping[str, int], cols: _Columns, total_row: int | None
) -> list[Issue]:
    """Validation issues found by code path, given the row and column they come from."""
    out: list[Issue] = []
    for issue in issues:
        if issue.row is not None:
            out.append(issue)
            continue
        if issue.path:
            column = (
                cols.maximum if issue.reason in _SUM_REASONS or "maximum" in issue.reason.value else cols.code
            )
            if issue.reason is CriteriaReason.SOURCE_CONFLICT:
                column = cols.source if cols.source is not None else cols.content
            out.append(
                replace(
                    issue, row=rows.get(issue.path), column=cols.name(column) if issue.path in rows else ""
                )
            )
        elif issue.reason is CriteriaReason.TOTAL_MISMATCH and total_row is not None:
            out.append(replace(issue, row=total_row, column=cols.name(cols.maximum)))
        else:
            out.append(issue)
    return out


def _duplicate_rows(items: Iterable[_Item], cols: _Columns) -> list[Issue]:
    seen: dict[str, list[int]] = {}
    for item in items:
        for one in item.walk():
            seen.setdefault(one.code, []).append(one.row)
    return [
        Issue(
            CriteriaReason.DUPLICATE_CODE,
            code,
            f"STT gives code {code} on rows {', '.join(map(str, rows))}",
            Severity.ERROR,
            rows[1],
            cols.name(cols.code),
        )
        for code, rows in seen.items()
        if len(rows) > 1 and code
    ]


@dataclass(frozen=True)
class _Appendix:
    """One appendix of the file: its table sections (a repeated heading after a page split
    continues it) and the title text above it."""

    sections: tuple[_Heading, ...]
    title: str

    def label(self, grid: Grid) -> str:
        first = grid.rows[self.sections[0].index].number
        last = grid.rows[self.sections[-1].end - 1].number if self.sections[-1].end else first
        line = next((x for x in self.title.splitlines() if "phụ lục" in fold(x)), "")
        return f"{line or 'untitled'} (rows {first}-{last})"


def _row_text(row: GridRow) -> str:
    return " ".join(c for c in row.cells if c.strip())


def _first_label(rows: Sequence[GridRow], heading: _Heading) -> _Label:
    for row in rows[heading.start : heading.end]:
        if any(c.strip() for c in row.cells) and not _is_column_numbering(row):
            cell = row.cells[heading.cols.code] if heading.cols.code < len(row.cells) else ""
            return parse_label(cell)
    return _Label(Kind.NONE)


def split_appendices(grid: Grid, headings: Sequence[_Heading]) -> list[_Appendix]:
    """Group heading sections into appendices. A heading starts a new appendix when the text
    above it says "Phụ lục" or its first row restarts the numbering (I or 1); otherwise it is
    the same table continued after a page break, its heading repeated."""
    appendices: list[tuple[list[_Heading], str]] = []
    previous_row = 0  # row number after which this heading's paragraphs start
    for k, heading in enumerate(headings):
        number = grid.rows[heading.index].number
        # (place, 0 for a paragraph before that row / 1 for the row itself, text), in file order.
        lines = [(at, 0, text) for at, text in grid.paragraphs if previous_row < at <= number]
        if k == 0:
            lines += [(row.number, 1, _row_text(row)) for row in grid.rows[: heading.index]]
        lines.sort(key=lambda line: line[:2])  # stable: paragraphs keep their order
        above = "\n".join(text for _, _, text in lines)
        label = _first_label(grid.rows, heading)
        restarts = label.kind in {Kind.ROMAN, Kind.ARABIC} and label.parts == (1,)
        if k == 0 or "phụ lục" in fold(above) or restarts:
            appendices.append(([heading], above))
        else:
            appendices[-1][0].append(heading)
        previous_row = number
    return [_Appendix(tuple(sections), title) for sections, title in appendices]


def _refused(reason: CriteriaReason, message: str) -> TableImport:
    empty = CriteriaSet("", "", Level.DEPARTMENT, (), ())
    return TableImport(empty, ValidationReport((Issue(reason, "", message),)))


def import_grid(
    grid: Grid, meta: SetMeta = SetMeta(), template: bool = False, appendix: int | None = None
) -> TableImport:
    """A set from an appendix grid: every problem reported, with its row and column. A file
    holding several appendices (Phụ lục I, II, III) needs `appendix` (1-based)."""
    headings = find_headings(grid.rows)
    if not headings:
        return _refused(
            CriteriaReason.NO_HEADER,
            f"no heading row found in the first {HEADER_SCAN_ROWS} rows: need columns like 'STT', "
            "'Nội dung' or 'Lĩnh vực/Tiêu chí', and 'Điểm tối đa' (or 'Điểm chuẩn', 'Thang điểm')",
        )
    appendices = split_appendices(grid, headings)
    listing = "; ".join(f"{i}: {a.label(grid)}" for i, a in enumerate(appendices, start=1))
    if appendix is None and len(appendices) > 1:
        return _refused(
            CriteriaReason.MULTIPLE_APPENDICES,
            f"the file holds {len(appendices)} appendices ({listing}); choose one with --appendix N",
        )
    chosen = appendix or 1
    if not 1 <= chosen <= len(appendices):
        return _refused(CriteriaReason.NO_SUCH_APPENDIX, f"no appendix {chosen}: the file holds {listing}")
    picked = appendices[chosen - 1]
    cols = picked.sections[0].cols
    stated = read_title_block(picked.title)
    # Decision, date and issuer are often written once, above the first appendix.
    for key, value in read_title_block(appendices[0].title).items():
        if key != "level":
            stated.setdefault(key, value)
    reader = _Reader(grid, cols)
    for section in picked.sections:
        reader.cols = section.cols
        reader.read(grid.rows[section.start : section.end])
    reader.cols = cols
    builder = _Builder(reader)
    items = reader.items
    romans = [item for item in items if item.kind is Kind.ROMAN]
    if romans and all(item.maximum is None for item in romans):
        # "I. CÁC LĨNH VỰC" over Arabic fields: a part heading, not a field (fields state points).
        for item in romans:
            reader.issue(
                CriteriaReason.BAD_STT,
                item.row,
                cols.code,
                f"{item.label!r} ({item.title!r}) states no points: read as a part heading, not a field",
                severity=Severity.WARNING,
            )
        items = [item for item in items if item.kind is not Kind.ROMAN]
    builder.build(items)
    for top in builder.top:
        builder.fold_options(top)
    for top in builder.top:
        builder.assign_codes(top, 1)
    skip = _depth_issues(builder, (one for top in builder.top for one in top.walk()))
    # Issues found while reading name the STT as written; name the code derived from it.
    row_codes = {one.row: one.code for top in builder.top for one in top.walk() if one.code}
    issues: list[Issue] = [
        replace(i, path=row_codes[i.row]) if i.row in row_codes and i.path else i for i in reader.issues
    ]
    issues += _duplicate_rows(builder.top, cols)
    if not builder.top:
        issues.append(
            Issue(CriteriaReason.XLSX_NO_ROWS, "", f"no criterion rows below the heading ({grid.where})")
        )

    stored = dict(grid.stored)
    meta_issues: list[Issue] = []

    def pick(key: str, given: str) -> str:
        table_value = stored.get(key) or stated.get(key, "")
        if given and table_value and fold(given) != fold(table_value):
            meta_issues.append(
                Issue(
                    CriteriaReason.METADATA_CONFLICT,
                    "",
                    f"{key}: the table says {table_value!r}, the command line {given!r}; using {given!r}",
                    Severity.WARNING,
                )
            )
        return given or table_value

    level_text = pick("level", meta.level.value if meta.level is not None else "")
    try:
        level = Level(level_text)
    except ValueError:
        meta_issues.append(
            Issue(
                CriteriaReason.BAD_LEVEL,
                "",
                f"the table does not state its level ({level_text!r}): give --level",
            )
        )
        level = Level.DEPARTMENT
    years = meta.years or tuple(
        int(y) for y in stored.get("years", "").replace(",", " ").split() if y.isdigit()
    )
    if not years:
        meta_issues.append(
            Issue(CriteriaReason.MISSING_KEY, "", "the table does not state the years: give --year")
        )
    total = reader.total if reader.total is not None else STANDARD_TOTAL
    cset = CriteriaSet(
        issuer=pick("issuer", meta.issuer),
        decision=pick("decision", meta.decision),
        decision_date=pick("decision_date", meta.decision_date),
        level=level,
        years=years,
        title=meta.title or stored.get("title", "") or stated.get("title", ""),
        total=total,
        total_basis=meta.total_basis or stored.get("total_basis", ""),
        note=stored.get("note", ""),
        # A template set written by `criteria export` stays one.
        template=stored.get("template") == STORED_YES,
        fields=tuple(_to_node(top, skip) for top in builder.top if id(top) not in skip),
    )
    # A table whose rows say "Mẫu: x" (or a template set's export) declares itself a template.
    template = template or cset.is_template
    for key, value in (("issuer", cset.issuer), ("decision", cset.decision)):
        if not value:
            meta_issues.append(
                Issue(CriteriaReason.MISSING_KEY, "", f"the table does not state the {key}: give --{key}")
            )
    incomplete = tuple(incompleteness(cset, reader.total is not None)) if cset.fields else ()
    if incomplete and template:
        marked: list[str] = []
        fields = tuple(_mark_templates(f, marked) for f in cset.fields)
        cset = replace(
            cset,
            fields=fields,
            # Whole fields missing and no node marked: the set itself is the template (any template
            # node already keeps a set from being scored).
            template=cset.template or not any(n.template for f in fields for n in f.walk()),
            note=cset.note or f"Mẫu (template): bảng nguồn chưa đầy đủ: {'; '.join(incomplete)}",
        )
    report = validate(cset)
    rows = _node_rows(builder.top)
    for code, message in _overfull(cset, reader.total_row):
        reason = CriteriaReason.PARENT_SUM_MISMATCH if code else CriteriaReason.TOTAL_MISMATCH
        issues.append(
            Issue(
                reason,
                code,
                message,
                Severity.ERROR,
                rows.get(code, reader.total_row),
                cols.name(cols.maximum),
            )
        )
    located = _locate(report.issues, rows, cols, reader.total_row)
    # The importer reports duplicates (with every row) and over-full sums itself.
    mine = {(i.reason, i.path) for i in issues}
    located = [
        i
        for i in located
        if not (i.reason is CriteriaReason.DUPLICATE_CODE and i.path) and (i.reason, i.path) not in mine
    ]
    if incomplete and not template:
        located.append(
            Issue(
                CriteriaReason.INCOMPLETE_SET,
                "",
                "the table cannot be proven complete (" + "; ".join(incomplete) + "); if it is a fragment, "
                "import it with --template to keep it as a template set",
            )
        )
    return TableImport(
        cset,
        ValidationReport((*issues, *meta_issues, *located)),
        incomplete=incomplete,
        title_meta=stated,
    )


def import_file(
    path: Path,
    meta: SetMeta | None = None,
    template: bool = False,
    appendix: int | None = None,
    sheet: str | None = None,
) -> TableImport:
    """`import_grid` on a .xlsx (its `sheet`), .csv or .docx file; a refused file is one issue
    with its reason."""
    try:
        grid = read_table(path, sheet)
    except CriteriaError as exc:  # TableRefusedError, XlsxRefusedError
        return _refused(exc.reason, exc.message)
    return import_grid(grid, meta or SetMeta(), template, appendix)


def _ascii_slug(text: str) -> str:
    text = text.replace("đ", "d").replace("Đ", "D")
    stripped = "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))
    return re.sub(r"[^a-z0-9]+", "", stripped.lower())


def suggested_id(cset: CriteriaSet) -> str:
    """A set id (file stem) in the repository's naming: vinhlong-1877-2023-department."""
    place = re.sub(
        r"^(?:ubnd|ủy ban nhân dân|uỷ ban nhân dân)\s+(?:tỉnh|thành phố|tp\.?)\s*", "", fold(cset.issuer)
    )
    number = cset.decision.split("/", 1)[0]
    parts = [
        _ascii_slug(place),
        _ascii_slug(number),
        str(cset.years[0]) if cset.years else "",
        cset.level.value,
    ]
    return "-".join(p for p in parts if p) or "criteria-set"
