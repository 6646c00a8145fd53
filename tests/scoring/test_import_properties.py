"""Whatever a province's sheet holds, planning an import ends in events or reason codes: never an
exception (the files the checker and the provinces will bring are ones we do not see)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from kiemchung.cli import main
from kiemchung.runtime.db import make_engine, session_factory
from services.scoring.core.errors import ScoringReason
from services.scoring.importer import ImportKind, ImportOptions, ImportReason, NoteKind, plan_import
from services.scoring.layout import Field, Skip, find_layouts
from services.scoring.service import load_catalogue
from services.scoring.tables import CellReason, NoCachedValue, Percent, TableReason, make_sheet

WORDS = [
    "STT",
    "TT",
    "Mã đơn vị",
    "Mã ĐV",
    "Tên đơn vị",
    "Cơ quan, đơn vị",
    "Đơn vị",
    "Mã tiêu chí",
    "Tiêu chí",
    "Điểm",
    "Điểm thẩm định",
    "Điểm HĐTĐ\nthẩm định",
    "Điểm đạt được",
    "Điểm điều tra XHH",
    "Điểm khảo sát",
    "Tổng cộng",
    "Tổng số",
    "I. Khối sở, ban, ngành",
    "II",
    "Ghi chú",
    "Đơn vị: Sở Nội vụ",
    "NĂM 2025",
    "ngày 15 tháng 01 năm 2026",
    "Sở Nội vụ",
    "SO TU PHAP",
    "Ban Dân tộc",
    "so-noi-vu",
    "1.1",
    "1.10",
    "2.2.1",
    "4.1",
    "a)",
    "17,2534",
    "8,5",
    "97,685%",
    "(1)",
    "=SUM(C1:C9)",
    "M· ®¬n vÞ",
    "",
]
CELLS = st.one_of(
    st.none(),
    st.sampled_from(WORDS),
    st.text(max_size=12),
    st.integers(min_value=-5, max_value=5000),
    st.floats(allow_nan=True, allow_infinity=True),
    st.decimals(allow_nan=False, allow_infinity=False, places=3, min_value=-100, max_value=100),
    st.just(date(2025, 5, 8)),
    st.just(datetime(2025, 1, 1, tzinfo=UTC)),
    st.builds(
        Percent, st.decimals(allow_nan=False, allow_infinity=False, places=2, min_value=0, max_value=100)
    ),
    st.builds(NoCachedValue, st.sampled_from(["SUM(C1:C3)", ""])),
)
NAMES = st.sampled_from(
    ["Sở Nội vụ", "SO TU PHAP", "so-noi-vu", "Sở Y tế", "Tổng cộng", "I. Khối sở", "", "1. Sở Tư pháp"]
)
CODES = st.sampled_from(["1.1", "1.2.", "2.2.1", "4.1", "1", "9.9", "a)", "II", 1.1, "", None])
POINTS = st.one_of(
    st.sampled_from(["8,5", "17,2534", "6", "tám", "", "1.234,5", "20", "97,685%"]),
    st.decimals(allow_nan=False, allow_infinity=False, places=2, min_value=0, max_value=25),
    st.floats(min_value=0, max_value=25),
    CELLS,
)
TEMPLATES = [
    (("STT", "Tên đơn vị", "Mã tiêu chí", "Điểm"), (st.integers(1, 9), NAMES, CODES, POINTS)),
    (("TT", "Cơ quan, đơn vị", "Điểm điều tra XHH", "Ghi chú"), (st.integers(1, 9), NAMES, POINTS, CELLS)),
    (("Đơn vị", "1.1", "TC 2.2.1", "Tổng điểm"), (NAMES, POINTS, POINTS, POINTS)),
    (("STT", "Nội dung", "Điểm tối đa", "Điểm HĐTĐ thẩm định"), (CODES, CELLS, POINTS, POINTS)),
    (
        ("Mã đơn vị", "Tên đơn vị", "Cấp", "Hội đồng thẩm định", "Bộ tiêu chí"),
        (NAMES, NAMES, CELLS, CELLS, CELLS),
    ),
]


@st.composite
def grids(draw: st.DrawFn) -> tuple[tuple[object, ...], ...]:
    """A province-like table (title rows, a heading from the synonyms, rows of good and bad
    values) or plain noise."""
    if draw(st.booleans()):
        return draw(st.lists(st.lists(CELLS, max_size=7).map(tuple), max_size=14).map(tuple))
    heading, columns = draw(st.sampled_from(TEMPLATES))
    titles = draw(st.lists(st.tuples(st.sampled_from(WORDS)), max_size=4))
    rows = draw(st.lists(st.tuples(*columns), min_size=1, max_size=8))
    return (*titles, heading, *rows)


GRIDS = grids()
KNOWN = {
    *(r.value for r in ImportReason),
    *(r.value for r in CellReason),
    *(r.value for r in TableReason),
    *(r.value for r in ScoringReason),
}


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Session]:
    tmp: Path = tmp_path_factory.mktemp("props")
    url = f"sqlite:///{tmp / 'k.db'}"
    units = tmp / "units.csv"
    units.write_text(
        "Mã đơn vị,Tên đơn vị,Cấp,Hội đồng thẩm định,Bộ tiêu chí\n"
        "so-noi-vu,Sở Nội vụ,sở,hdtd,demo-department\nso-tu-phap,Sở Tư pháp,sở,hdtd,demo-department\n",
        encoding="utf-8",
    )
    assert main(["import", "units", str(units), "--database-url", url]) == 0
    engine = make_engine(url)
    with session_factory(engine)() as opened:
        yield opened
    engine.dispose()


CATALOGUE = load_catalogue()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    grid=GRIDS,
    kind=st.sampled_from(list(ImportKind)),
    hidden=st.frozensets(st.integers(1, 14), max_size=3),
    merges=st.lists(
        st.tuples(st.integers(1, 6), st.integers(1, 5), st.integers(0, 2), st.integers(0, 2)), max_size=3
    ),
    year=st.sampled_from([None, 2025]),
)
def test_any_sheet_plans_to_events_or_reason_codes(
    session: Session,
    grid: tuple[tuple[object, ...], ...],
    kind: ImportKind,
    hidden: frozenset[int],
    merges: list[tuple[int, int, int, int]],
    year: int | None,
) -> None:
    ranges = [(r, c, r + dr, c + dc) for r, c, dr, dc in merges]
    sheet = make_sheet("Bảng", grid, hidden_rows=hidden, merged=ranges)  # type: ignore[arg-type]
    plan = plan_import(
        kind,
        (sheet,),
        "bang.xlsx",
        session,
        CATALOGUE,
        lambda: datetime(2026, 1, 10, tzinfo=UTC),
        uuid.uuid4,
        ImportOptions(year=year),
    )
    event(f"planned={bool(plan.planned)} refused={bool(plan.refusals)}")
    assert {r.reason for r in plan.refusals} <= KNOWN, plan.refusals
    assert plan.ok or not plan.events or plan.refusals
    kinds = {n.what for n in plan.notes}
    assert kinds <= {*(k.value for k in NoteKind), *(s.value for s in Skip)}
    for planned in plan.planned:
        assert isinstance(planned.points, Decimal)
    session.rollback()


def test_a_data_row_that_merely_looks_like_a_heading_is_not_taken_for_one() -> None:
    """Our own ranking sheet (Hạng, Mã đơn vị, Tên đơn vị, Chỉ số CCHC): a row such as
    (2, "u1", "Đơn vị 1", 10.39) is not a wide table's heading with a criterion "10.39"."""
    sheet = make_sheet(
        "Xếp hạng",
        (
            ("XẾP HẠNG CHỈ SỐ CẢI CÁCH HÀNH CHÍNH NĂM 2025",),
            ("Hạng", "Mã đơn vị", "Tên đơn vị", "Chỉ số CCHC (%)", "Ghi chú"),
            (1, "u2", "Đơn vị 2", 11),
            (2, "u1", "Đơn vị 1", 10.39),
        ),
    )
    wanted = frozenset(Field)
    assert find_layouts(sheet, wanted, (frozenset({Field.NAME, Field.APPRAISED}),), wide=True) is None
