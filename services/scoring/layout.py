"""Finding a province's table in a sheet: its heading rows, what each column means, which rows
are data.

Headings are matched by meaning: folded (no diacritics, case, line breaks or punctuation; words
in parentheses dropped), then compared with each field's synonyms: equal, or holding all of a
synonym's words (≥ 2 words, at least half the heading), so "Điểm HĐTĐ\\nthẩm định (điểm)" is the
appraised column and "Cơ quan, đơn vị" the unit's name. The heading may sit below a title block
(the province's header, "Phụ lục …", dates) and span up to three rows with merged cells ("Điểm"
over "Tự đánh giá | Thẩm định"); the rows and depth whose headings match best are taken. A visible
column wins over a hidden one with the same meaning. A column headed by a criterion code ("1.1",
"TC 8.1", "Tiêu chí 2.3.1") is a wide table's column for that criterion.

Rows that are not data are skipped and said why: the column numbering row under the heading
("(1) (2) (3)"), total and summary rows ("Tổng cộng", "Tổng số", "Trung bình"), group sub-headings
("I. Khối sở, ban, ngành", "II. UBND cấp huyện"), hidden rows.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType

from services.scoring.tables import Cell, Sheet, column_letter, text
from services.scoring.vntext import fold

HEADING_SEARCH_ROWS = 50
MAX_HEADING_DEPTH = 3
EXACT_SCORE = 100
HIDDEN_PENALTY = 1_000
MIN_SUBSET_WORDS = 2
LABEL_CACHE = 4096


class Field(StrEnum):
    UNIT_ID = "unit_id"
    NAME = "name"
    STT = "stt"
    NOTE = "note"
    CODE = "criterion_code"
    CONTENT = "content"
    APPRAISED = "appraised"
    SELF = "self_assessed"
    MAXIMUM = "maximum"
    SURVEY = "survey"
    POINTS = "points"
    TOTAL = "total"
    INDEX = "index"
    RANK = "rank"
    LEVEL = "level"
    COUNCIL = "council_id"
    CRITERIA_SET = "criteria_set"
    RANKED = "ranked"
    NOT_APPLICABLE = "not_applicable"
    YEAR = "year"


SYNONYMS: Mapping[Field, tuple[str, ...]] = MappingProxyType(
    {
        Field.UNIT_ID: (
            "Mã đơn vị",
            "Mã ĐV",
            "Mã",
            "Mã cơ quan",
            "Mã CQ",
            "Mã định danh",
            "unit_id",
            "unit id",
        ),
        Field.NAME: (
            "Tên đơn vị",
            "Đơn vị",
            "Cơ quan, đơn vị",
            "Tên cơ quan",
            "Tên cơ quan, đơn vị",
            "Cơ quan",
            "Đơn vị được đánh giá",
            "Đơn vị, địa phương",
            "Địa phương",
            "Tên địa phương",
            "Cơ quan, địa phương",
            "Sở, ban, ngành",
            "Tên sở, ban, ngành",
            "Huyện, thị xã, thành phố",
            "Tên huyện, thị xã, thành phố",
            "Xã, phường, thị trấn",
            "Tên xã, phường, thị trấn",
            "Tên",
            "name",
        ),
        Field.STT: ("STT", "TT", "Số thứ tự", "Số TT"),
        Field.NOTE: ("Ghi chú", "Giải trình", "Tài liệu kiểm chứng"),
        Field.CODE: ("Mã tiêu chí", "Tiêu chí", "Mã TC", "criterion_code"),
        Field.CONTENT: (
            "Nội dung",
            "Lĩnh vực, tiêu chí, tiêu chí thành phần",
            "Lĩnh vực tiêu chí tiêu chí thành phần",
            "Tiêu chí, tiêu chí thành phần",
            "Nội dung tiêu chí",
            "Tên tiêu chí",
        ),
        Field.APPRAISED: (
            "Điểm thẩm định",
            "Điểm HĐTĐ thẩm định",
            "Điểm HĐTĐ",
            "Điểm đạt được",
            "Thẩm định",
            "Điểm sau thẩm định",
            "Kết quả thẩm định",
            "Điểm Hội đồng thẩm định",
            "Điểm thẩm định của Hội đồng",
            "Điểm Hội đồng thẩm định chấm",
            "Điểm HĐTĐ chấm",
            "Điểm Hội đồng chấm",
            "Điểm thẩm định HĐTĐ",
        ),
        Field.SELF: (
            "Điểm tự đánh giá",
            "Tự đánh giá",
            "Điểm tự chấm",
            "Tự chấm",
            "Điểm tự đánh giá, chấm điểm",
        ),
        Field.MAXIMUM: ("Điểm tối đa", "Tối đa", "Điểm chuẩn", "Thang điểm"),
        Field.SURVEY: (
            "Điểm điều tra XHH",
            "Điểm điều tra xã hội học",
            "Điều tra XHH",
            "Điều tra xã hội học",
            "Điểm ĐTXHH",
            "Điểm khảo sát",
            "Khảo sát",
            "Điểm SIPAS",
            "SIPAS",
            "Kết quả điều tra xã hội học",
            "Điểm đánh giá qua điều tra xã hội học",
            "Kết quả khảo sát",
            "Điểm khảo sát SIPAS",
            "Điểm quy đổi",
            "Điểm SIPAS quy đổi",
            "Điểm khảo sát quy đổi",
        ),
        Field.POINTS: ("Điểm", "Điểm số", "points"),
        Field.TOTAL: ("Tổng điểm", "Tổng điểm đạt được", "Tổng số điểm", "Điểm tổng", "Tổng cộng điểm"),
        Field.INDEX: (
            "Chỉ số",
            "Chỉ số CCHC",
            "Chỉ số cải cách hành chính",
            "Kết quả Chỉ số CCHC",
            "Chỉ số CCHC năm",
            "Tỷ lệ",
            "Tỷ lệ đạt",
        ),
        Field.RANK: ("Xếp hạng", "Hạng", "Thứ hạng", "Xếp thứ", "Thứ tự xếp hạng"),
        Field.LEVEL: ("Cấp", "Cấp hành chính", "level"),
        Field.COUNCIL: ("Hội đồng thẩm định", "Hội đồng", "council_id"),
        Field.CRITERIA_SET: ("Bộ tiêu chí", "criteria_set"),
        Field.RANKED: ("Xếp hạng", "Có xếp hạng", "ranked"),
        Field.NOT_APPLICABLE: ("Không áp dụng", "Tiêu chí không áp dụng", "not_applicable"),
        Field.YEAR: ("Năm", "Năm đánh giá", "Năm đánh giá, xếp hạng", "year"),
    }
)
_FOLDED: Mapping[Field, tuple[tuple[str, frozenset[str], int], ...]] = MappingProxyType(
    {
        key: tuple((fold(s), frozenset(fold(s).split()), len(fold(s).split())) for s in synonyms)
        for key, synonyms in SYNONYMS.items()
    }
)
CODE_PATTERN = re.compile(r"^\d{1,2}(?:\.\d{1,2}){0,4}$")
# "TC1.1", "tc2.2.1": a prefix glued to the code.
_GLUED_CODE = re.compile(r"^(?:tc|ma|lv)(\d{1,2}(?:\.\d{1,2}){0,4})$")
_CODE_PREFIX_WORDS = frozenset(
    {"tc", "tieu", "chi", "ma", "diem", "linh", "vuc", "lv", "tctp", "thanh", "phan"}
)
_ROMAN = re.compile(r"^(?:i{1,3}|iv|v|vi{1,3}|ix|x|xi{1,3})$")
_NUMBERING_CELL = re.compile(r"^\(?[0-9a-z]{1,3}\)?(?:\s*[-=+x*/]\s*\(?[0-9a-z]{1,3}\)?)*$")
_TOTAL_STARTS = (
    "tong cong",
    "tong so",
    "tong diem",
    "trung binh",
    "binh quan",
    "diem trung binh",
    "chi so cchc",
    "chi so trung binh",
)
_TOTAL_WORDS = frozenset({"tong", "cong", "chi so", "tong hop"})
_GROUP_STARTS = ("khoi ", "nhom ")
_NOT_POINTS = frozenset({Field.SELF, Field.MAXIMUM, Field.TOTAL, Field.INDEX, Field.RANK, Field.NOTE})
_POINTS = frozenset({Field.APPRAISED, Field.SURVEY, Field.POINTS})


class Skip(StrEnum):
    """Why a row of a table is not data (listed, never silent)."""

    HIDDEN_ROW = "hidden_row"
    COLUMN_NUMBERS = "column_numbers"
    TOTAL_ROW = "total_row"
    GROUP_ROW = "group_row"


@dataclass(frozen=True)
class Layout:
    """A table found in a sheet: heading rows first..last, column of each field, criterion code
    of each wide column, and each column's heading text (for messages)."""

    sheet: Sheet
    first: int
    last: int
    columns: Mapping[Field, int]
    codes: Mapping[str, int]
    labels: Mapping[int, str]
    score: int
    # Criterion codes heading more than one points column: which is meant cannot be told.
    conflicts: Mapping[str, tuple[int, ...]] = field(default_factory=dict)

    def value(self, row: int, key: Field) -> Cell:
        column = self.columns.get(key)
        return None if column is None else self.sheet.cell(row, column)

    def letter(self, key: Field) -> str:
        return column_letter(self.columns[key]) if key in self.columns else ""

    def has(self, *keys: Field) -> bool:
        return all(k in self.columns for k in keys)

    def data_rows(self) -> Iterable[int]:
        for number in range(self.last + 1, len(self.sheet.rows) + 1):
            if any(text(v) for v in self.sheet.rows[number - 1]):
                yield number

    def title_texts(self) -> list[tuple[int, int, str]]:
        """(row, column, text) of every cell above the heading: the title block."""
        out = []
        for row in range(1, self.first):
            for column, value in enumerate(self.sheet.rows[row - 1], start=1):
                if isinstance(value, str) and value.strip():
                    out.append((row, column, value.strip()))
        return out

    def unread(self) -> list[int]:
        """Headed columns that are neither a field nor a criterion's points."""
        used = {*self.columns.values(), *self.codes.values()}
        used.update(c for columns in self.conflicts.values() for c in columns)
        return [c for c in sorted(self.labels) if c not in used]

    def describe(self) -> str:
        named = ", ".join(
            f"{column_letter(c)} {' '.join(self.labels.get(c, '').split())!r}"
            for c in sorted(set(self.columns.values()))
        )
        codes = f"; {len(self.codes)} criterion column(s)" if self.codes else ""
        rows = f"row {self.first}" if self.first == self.last else f"rows {self.first}-{self.last}"
        return f"heading on {rows}: {named}{codes}"


@functools.lru_cache(maxsize=LABEL_CACHE)
def _match(label: str) -> tuple[tuple[Field, int], ...]:
    folded = fold(label, drop_parentheses=True) or fold(label)
    words = folded.split()
    found: list[tuple[Field, int]] = []
    for key, synonyms in _FOLDED.items():
        best = 0
        for synonym, synonym_words, count in synonyms:
            if folded == synonym:
                best = max(best, EXACT_SCORE + count)
            elif count >= MIN_SUBSET_WORDS and synonym_words <= set(words) and count * 2 >= len(words):
                best = max(best, count)
        if best:
            found.append((key, best))
    return tuple(found)


@functools.lru_cache(maxsize=LABEL_CACHE)
def heading_code(label: str) -> str | None:
    """The criterion code a wide table's column heading names ("1.1", "TC 8.1", "Tiêu chí 2.3"),
    or None."""
    words = [
        glued.group(1) if (glued := _GLUED_CODE.match(w)) else w
        for w in fold(label, drop_parentheses=True).split()
    ]
    codes = [w for w in words if CODE_PATTERN.match(w)]
    if len(codes) > 1:
        # "1.1 / Lần 1": a dotted code among plain numbers is the criterion.
        codes = [w for w in codes if "." in w]
        words = [w for w in words if "." in w or not CODE_PATTERN.match(w)]
    if len(codes) != 1:
        return None
    code = codes[0]
    before = words[: words.index(code)]
    if before and not set(before) <= _CODE_PREFIX_WORDS:
        return None
    if "." not in code and not before:
        return None  # a bare "1" is as likely the column numbering as field 1
    return code


def _labels(sheet: Sheet, first: int, last: int) -> dict[int, str]:
    width = max((len(sheet.rows[r - 1]) for r in range(first, last + 1)), default=0)
    labels: dict[int, str] = {}
    for column in range(1, width + 1):
        parts: list[str] = []
        for row in range(first, last + 1):
            part = text(sheet.filled(row, column))
            if part and (not parts or parts[-1] != part):
                parts.append(part)
        if parts:
            labels[column] = "\n".join(parts)
    return labels


def _qualifiers(label: str, code: str) -> frozenset[Field]:
    """What the words around a criterion code say the column holds ("1.1 / Tự đánh giá")."""
    found: set[Field] = set()
    for part in label.split("\n"):
        words = [
            w for w in fold(part, drop_parentheses=True).split() if w != code and not _GLUED_CODE.match(w)
        ]
        rest = " ".join(words)
        if rest:
            found.update(key for key, _ in _match(rest))
    return frozenset(found)


def _code_columns(
    sheet: Sheet, labels: Mapping[int, str]
) -> tuple[dict[str, int], dict[str, tuple[int, ...]], set[int]]:
    """Criterion code → its points column. A code heading several columns ("1.1" over "Tự đánh
    giá | Thẩm định") keeps the one holding points: not the self-assessment, maximum, totals; a
    visible one before a hidden one; one named as points (Thẩm định, Điều tra XHH) before an
    unnamed one. Codes still heading two columns are conflicts (never a guess)."""
    candidates: dict[str, list[tuple[int, frozenset[Field]]]] = {}
    for column, label in labels.items():
        # A code on the heading's lowest row names the column even under a merged field title
        # ("Công tác chỉ đạo, điều hành" over "1.1 | 1.2").
        code = heading_code(label.rsplit("\n", 1)[-1]) or heading_code(label)
        if code is not None:
            candidates.setdefault(code, []).append((column, _qualifiers(label, code)))
    codes: dict[str, int] = {}
    conflicts: dict[str, tuple[int, ...]] = {}
    every: set[int] = set()
    for code, found in candidates.items():
        every.update(column for column, _ in found)
        usable = [(c, q) for c, q in found if not q & _NOT_POINTS]
        usable = [(c, q) for c, q in usable if c not in sheet.hidden_columns] or usable
        if len(usable) > 1:
            usable = [(c, q) for c, q in usable if q & _POINTS] or usable
        if len(usable) == 1:
            codes[code] = usable[0][0]
        elif usable:
            conflicts[code] = tuple(c for c, _ in usable)
    return codes, conflicts, every


def _assign(
    sheet: Sheet, labels: Mapping[int, str], wanted: frozenset[Field]
) -> tuple[dict[Field, int], dict[str, int], int, frozenset[Field], dict[str, tuple[int, ...]]]:
    # A heading naming a criterion code ("TC 2.1", "Tiêu chí 2.2") is that criterion's column.
    codes, conflicts, code_columns = _code_columns(sheet, labels)
    pairs: list[tuple[int, int, Field]] = []
    for column, label in labels.items():
        if column in code_columns:
            continue
        penalty = HIDDEN_PENALTY if column in sheet.hidden_columns else 0
        for key, score in _match(label):
            if key in wanted:
                pairs.append((score - penalty, column, key))
    pairs.sort(key=lambda p: (-p[0], p[1]))
    columns: dict[Field, int] = {}
    taken: set[int] = set()
    total = 0
    exact: set[Field] = set()
    for score, column, key in pairs:
        if key in columns or column in taken:
            continue
        columns[key] = column
        taken.add(column)
        total += max(score, 1)
        if score >= EXACT_SCORE:
            exact.add(key)
    return columns, codes, total + len(codes), frozenset(exact), conflicts


def _layout(
    sheet: Sheet,
    first: int,
    last: int,
    wanted: frozenset[Field],
    accept: Sequence[frozenset[Field]],
    wide: bool,
) -> Layout | None:
    labels = _labels(sheet, first, last)
    columns, codes, score, exact, conflicts = _assign(sheet, labels, wanted)
    found = frozenset(columns)
    ok = any(need <= found and need & exact for need in accept)
    if wide and (codes or conflicts) and (Field.NAME in exact or Field.UNIT_ID in exact):
        # Criterion columns need a unit column headed as such ("Tên đơn vị"), not a data row
        # whose name and figures ("Đơn vị 1", 10.39) merely look like headings.
        ok = True
    if not ok:
        return None
    return Layout(
        sheet,
        first,
        last,
        MappingProxyType(columns),
        MappingProxyType(codes),
        labels,
        score,
        MappingProxyType(conflicts),
    )


def find_layouts(
    sheet: Sheet,
    wanted: frozenset[Field],
    accept: Sequence[frozenset[Field]],
    *,
    wide: bool = False,
) -> Layout | None:
    """The best heading in the first rows: the rows and depth whose labels match the most (exact
    matches first); it must hold one of the `accept` field sets (or, `wide`, a unit column and
    criterion code columns). A heading whose cells are merged across rows above or below it
    takes those rows in (a multi-row heading is read whole, whatever scores best alone)."""
    best: Layout | None = None
    last_row = min(HEADING_SEARCH_ROWS, len(sheet.rows))
    for first in range(1, last_row + 1):
        if not any(text(v) for v in sheet.rows[first - 1]):
            continue
        for depth in range(MAX_HEADING_DEPTH):
            last = first + depth
            if last > len(sheet.rows):
                break
            found = _layout(sheet, first, last, wanted, accept, wide)
            if found is not None and (best is None or found.score > best.score):
                best = found
    if best is None:
        return None
    first, last = best.first, best.last
    while first > 1 and sheet.continues_above(first):
        first -= 1
    while last < len(sheet.rows) and sheet.continues_above(last + 1):
        last += 1
    if (first, last) != (best.first, best.last):
        grown = _layout(sheet, first, last, wanted, accept, wide)
        if grown is not None:
            best = grown
    return best


def is_roman(value: str) -> bool:
    return bool(_ROMAN.match(fold(value)))


def skip_reason(
    layout: Layout, row: int, label_fields: Sequence[Field], *, groups: bool = True
) -> Skip | None:
    """Why `row` is not data, or None when it is."""
    sheet = layout.sheet
    if row in sheet.hidden_rows:
        return Skip.HIDDEN_ROW
    cells = [text(v) for v in sheet.rows[row - 1] if text(v)]
    if len(cells) >= MIN_SUBSET_WORDS and all(_NUMBERING_CELL.match(fold(c) or "-") for c in cells):
        return Skip.COLUMN_NUMBERS
    labels = [text(layout.value(row, f)) for f in (Field.STT, *label_fields) if f in layout.columns]
    labels = [label for label in labels if label]
    for label in labels:
        folded = fold(label)
        if folded in _TOTAL_WORDS or folded.startswith(_TOTAL_STARTS):
            return Skip.TOTAL_ROW
    if not groups:
        return None
    stt = text(layout.value(row, Field.STT))
    if stt and (is_roman(stt) or (len(fold(stt)) == 1 and fold(stt).isalpha())):
        return Skip.GROUP_ROW
    for label in labels:
        words = fold(label).split()
        if len(words) > 1 and _ROMAN.match(words[0]) and re.match(r"^\s*[IVXivx]+\s*[.)\-/]", label):
            return Skip.GROUP_ROW
        if fold(label).startswith(_GROUP_STARTS):
            return Skip.GROUP_ROW
    return None
