"""Our computed results beside a province's published ranking table (`kiemchung compare`).

A province publishes, per year, a table such as "STT | Đơn vị | Tổng điểm | Chỉ số | Xếp hạng",
under its title block, with group rows and decimal commas (Thừa Thiên Huế: 97,685). The table is
read as the import reads tables (layout.py, unitmatch.py); each published figure is compared with
ours rounded half up to the decimals the province printed (the index of 97,68549 published as
97,685 agrees), the rank with our rank in the unit's ranking group when the year's rules declare
groups, else in its level. Rows naming no registered unit, units we have no result for, and our
scored units the table leaves out are differences too: the comparison shows whether we reproduce
the published results, not only where the numbers meet.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.scoring.core.scores import display
from services.scoring.display import display_rules
from services.scoring.handlers import load_units
from services.scoring.layout import Field, Layout, find_layouts, skip_reason
from services.scoring.service import CriteriaCatalogue
from services.scoring.store import scores
from services.scoring.tables import CellError, Percent, Sheet, column_letter, number, text
from services.scoring.unitmatch import MatchReason, UnitDirectory
from services.scoring.views import ranking_view

COMPARE_FIELDS = frozenset(
    {Field.STT, Field.UNIT_ID, Field.NAME, Field.TOTAL, Field.INDEX, Field.RANK, Field.NOTE}
)
_ACCEPT = tuple(
    frozenset({unit, figure})
    for unit in (Field.UNIT_ID, Field.NAME)
    for figure in (Field.INDEX, Field.TOTAL, Field.RANK)
)
_FIRST_INTEGER = re.compile(r"\d+")


class CompareReason(StrEnum):
    NO_TABLE = "no_table"
    UNKNOWN_UNIT = "unknown_unit"
    AMBIGUOUS_UNIT = "ambiguous_unit"
    BAD_NUMBER = "bad_number"
    NO_RESULT = "no_result"
    TOTAL_DIFFERS = "total_differs"
    INDEX_DIFFERS = "index_differs"
    RANK_DIFFERS = "rank_differs"
    NOT_PUBLISHED = "not_published"


@dataclass(frozen=True)
class Ours:
    """A unit's computed result for the year: total achieved, index, rank in its level and in its
    ranking group (None when not ranked or no group)."""

    unit_id: str
    name: str
    level: str
    total: Decimal | None
    index: Decimal | None
    rank: int | None
    group_rank: int | None = None


@dataclass(frozen=True)
class PublishedRow:
    sheet: str
    row: int
    unit_id: str
    total: Decimal | None
    index: Decimal | None
    rank: int | None
    columns: Mapping[str, str]


@dataclass(frozen=True)
class Difference:
    sheet: str
    row: int
    column: str
    unit_id: str
    reason: str
    published: str
    ours: str

    def render(self) -> str:
        where = f"{self.sheet}!{self.column}{self.row}" if self.row else self.sheet
        unit = f" {self.unit_id}" if self.unit_id else ""
        return f"{where}:{unit} {self.reason}: published {self.published or '-'}, ours {self.ours or '-'}"


@dataclass(frozen=True)
class Comparison:
    compared: int
    agreeing: int
    differences: tuple[Difference, ...]
    notes: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.differences


def _places(value: Decimal) -> int:
    exponent = value.as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def _shown(value: Decimal | None) -> str:
    return "" if value is None else str(value)


def agrees(published: Decimal, ours: Decimal) -> bool:
    """Ours, rounded half up to the published figure's decimals, is the published figure."""
    return display(ours, _places(published)) == published


def _figure(
    sheet: Sheet, row: int, column: int | None, differences: list[Difference], unit_id: str
) -> Decimal | None:
    if column is None:
        return None
    try:
        found = number(sheet.cell(row, column))
    except CellError as exc:
        differences.append(
            Difference(
                sheet.name, row, column_letter(column), unit_id, CompareReason.BAD_NUMBER, exc.detail, ""
            )
        )
        return None
    return found.value if isinstance(found, Percent) else found


def read_published(
    sheets: Sequence[Sheet], directory: UnitDirectory, differences: list[Difference], notes: list[str]
) -> list[PublishedRow]:
    """Every data row of every sheet holding a results table, its unit matched."""
    rows: list[PublishedRow] = []
    for sheet in sheets:
        layout = find_layouts(sheet, COMPARE_FIELDS, _ACCEPT)
        if layout is None or sheet.hidden:
            notes.append(f"{sheet.name}: no results table (Đơn vị with Tổng điểm, Chỉ số or Xếp hạng)")
            continue
        notes.append(f"{sheet.name}: {layout.describe()}")
        rows.extend(_rows(layout, directory, differences, notes))
    return rows


def _rows(
    layout: Layout, directory: UnitDirectory, differences: list[Difference], notes: list[str]
) -> Iterable[PublishedRow]:
    sheet = layout.sheet
    for row in layout.data_rows():
        skipped = skip_reason(layout, row, (Field.NAME, Field.UNIT_ID))
        if skipped is not None:
            notes.append(f"{sheet.name} row {row}: {skipped.value}")
            continue
        unit_id, name = text(layout.value(row, Field.UNIT_ID)), text(layout.value(row, Field.NAME))
        if not unit_id and not name:
            continue
        match = directory.find(unit_id=unit_id, name=name)
        letter = layout.letter(Field.UNIT_ID) if unit_id else layout.letter(Field.NAME)
        if match.unit is None:
            reason = (
                CompareReason.AMBIGUOUS_UNIT
                if match.reason is MatchReason.AMBIGUOUS_UNIT
                else CompareReason.UNKNOWN_UNIT
            )
            differences.append(Difference(sheet.name, row, letter, "", reason, name or unit_id, match.detail))
            continue
        found = match.unit.unit_id
        rank_text = text(layout.value(row, Field.RANK))
        rank_match = _FIRST_INTEGER.search(rank_text)
        yield PublishedRow(
            sheet.name,
            row,
            found,
            _figure(sheet, row, layout.columns.get(Field.TOTAL), differences, found),
            _figure(sheet, row, layout.columns.get(Field.INDEX), differences, found),
            int(rank_match.group()) if rank_match else None,
            {key.value: layout.letter(key) for key in (Field.TOTAL, Field.INDEX, Field.RANK)},
        )


def compare(published: Sequence[PublishedRow], ours: Mapping[str, Ours]) -> tuple[int, list[Difference]]:
    """(rows agreeing, differences) of the published rows against our results; ours not in the
    table are listed for the levels the table covers."""
    differences: list[Difference] = []
    agreeing = 0
    seen: set[str] = set()
    for row in published:
        seen.add(row.unit_id)
        mine = ours.get(row.unit_id)
        found: list[Difference] = []
        if mine is None or mine.index is None:
            found.append(
                Difference(
                    row.sheet, row.row, "", row.unit_id, CompareReason.NO_RESULT, _shown(row.index), ""
                )
            )
        else:
            checks = (
                (CompareReason.TOTAL_DIFFERS, row.total, mine.total, "total"),
                (CompareReason.INDEX_DIFFERS, row.index, mine.index, "index"),
            )
            for reason, theirs, value, key in checks:
                if theirs is None or value is None:
                    continue
                if not agrees(theirs, value):
                    shown = display(value, _places(theirs))
                    found.append(
                        Difference(
                            row.sheet, row.row, row.columns[key], row.unit_id, reason, str(theirs), str(shown)
                        )
                    )
            rank = mine.group_rank if mine.group_rank is not None else mine.rank
            if row.rank is not None and row.rank != rank:
                found.append(
                    Difference(
                        row.sheet,
                        row.row,
                        row.columns["rank"],
                        row.unit_id,
                        CompareReason.RANK_DIFFERS,
                        str(row.rank),
                        "" if rank is None else str(rank),
                    )
                )
        differences.extend(found)
        agreeing += not found
    levels = {ours[r.unit_id].level for r in published if r.unit_id in ours}
    for unit_id, mine in sorted(ours.items()):
        if unit_id not in seen and mine.level in levels and mine.index is not None:
            differences.append(
                Difference("", 0, "", unit_id, CompareReason.NOT_PUBLISHED, "", str(mine.index))
            )
    return agreeing, differences


def our_results(session: Session, catalogue: CriteriaCatalogue, year: int) -> dict[str, Ours]:
    """Every registered unit's stored result for `year`, with its rank (and group rank)."""
    units = {u.unit_id: u for u in load_units(session)}
    found: dict[str, Ours] = {}
    for row in session.execute(
        select(scores.c.unit_id, scores.c.level, scores.c.snapshot).where(scores.c.year == year)
    ):
        unit = units.get(row.unit_id)
        if unit is None:
            continue
        snapshot = row.snapshot
        has = bool(snapshot.get("has_result", True))
        found[row.unit_id] = Ours(
            row.unit_id,
            unit.name,
            row.level,
            Decimal(snapshot["achieved"]) if has else None,
            Decimal(snapshot["index"]) if has else None,
            None,
        )
    for level in sorted({o.level for o in found.values()}):
        # A published year's groups as published (display.py), else the year's file.
        view = ranking_view(session, level, year, units, display_rules(session, catalogue, level, year))
        if view is None:
            continue
        for entry in view.ranked:
            if entry.unit_id in found and not entry.no_result:
                found[entry.unit_id] = replace(
                    found[entry.unit_id], rank=entry.rank, group_rank=entry.group_rank
                )
    return found


def run_compare(
    sheets: Sequence[Sheet], session: Session, catalogue: CriteriaCatalogue, year: int
) -> Comparison:
    notes: list[str] = []
    differences: list[Difference] = []
    directory = UnitDirectory.of(load_units(session))
    published = read_published(sheets, directory, differences, notes)
    if not published and not differences:
        name = sheets[0].name if sheets else ""
        differences.append(Difference(name, 0, "", "", CompareReason.NO_TABLE, "no results table", ""))
        return Comparison(0, 0, tuple(differences), tuple(notes))
    agreeing, found = compare(published, our_results(session, catalogue, year))
    return Comparison(len(published), agreeing, (*differences, *found), tuple(notes))
