"""`kiemchung export xlsx`: the appendix workbook read back cell by cell."""

from __future__ import annotations

import asyncio
import uuid
from decimal import Decimal
from pathlib import Path

from openpyxl import load_workbook

from contracts.vocabulary import Decision, ReasonCode
from kiemchung.cli import main
from kiemchung.runtime.db import create_schema, make_engine, session_factory
from services.scoring.export import HEADER_ROW, HEADINGS, RANKING_SHEET, REGISTER_SHEET
from tests.scoring.kit import Scoring, vn


async def _scores(url: str) -> None:
    engine = make_engine(url)
    create_schema(engine)
    s = Scoring(session_factory(engine))
    await s.register("so-noi-vu", "Sở Nội vụ")
    await s.register("so-tu-phap", "Sở Tư pháp")
    await s.register("ban-dan-toc", "Ban Dân tộc", ranked=False)
    await s.self_score("so-noi-vu", "1.1", "9.5")
    await s.verdict("so-noi-vu", "1.1", uuid.UUID(int=1), number="11/KH-SNV", title="Kế hoạch CCHC năm 2025")
    await s.verdict(
        "so-noi-vu",
        "1.1",
        uuid.UUID(int=2),
        decision=Decision.REJECTED,
        reasons=(ReasonCode.LETTERED_NUMBER,),
        number="15a/KH-SNV",
        title="Kế hoạch kiểm tra",
    )
    await s.self_score("so-noi-vu", "3.2", "10", explanation="Tỷ lệ 62%, BC số 120, mục II.3")
    await s.self_score("so-tu-phap", "3.2", "10", explanation="BC số 7")
    await s.self_score("ban-dan-toc", "3.2", "6", explanation="BC số 9")
    await s.survey({"so-noi-vu": "17.25", "so-tu-phap": "16"})
    await s.submit("so-noi-vu", at=vn(12, 1))
    await s.appraise("so-noi-vu", "1.1", "9", at=vn(12, 20))
    engine.dispose()


def test_export_xlsx_writes_a_sheet_per_unit_in_the_appendix_layout_and_a_ranking(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    asyncio.run(_scores(url))
    out = tmp_path / "chi-so.xlsx"
    code = main(
        ["export", "xlsx", "--year", "2025", "--level", "department", "-o", str(out), "--database-url", url]
    )
    assert code == 0
    book = load_workbook(out)
    assert book.sheetnames == ["Ban Dân tộc", "Sở Nội vụ", "Sở Tư pháp", RANKING_SHEET, REGISTER_SHEET]
    sheet = book["Sở Nội vụ"]
    assert tuple(c.value for c in sheet[HEADER_ROW]) == HEADINGS
    rows = {row[0].value: row for row in sheet.iter_rows(min_row=HEADER_ROW + 1) if row[0].value}
    _, content, maximum, self_points, appraised, _explanation, evidence = (c.value for c in rows["1.1"])
    assert (content, maximum, self_points, appraised) == ("Kế hoạch cải cách hành chính năm", 10, 9.5, 9)
    assert "11/KH-SNV – Kế hoạch CCHC năm 2025: Hợp lệ" in evidence
    assert (
        "15a/KH-SNV – Kế hoạch kiểm tra: Không hợp lệ (Số văn bản có chữ cái kèm theo (ví dụ 15a).)"
        in evidence
    )
    assert rows["1.1"][6].hyperlink is not None
    assert rows["3.2"][5].value == "Tỷ lệ 62%, BC số 120, mục II.3"
    assert rows["1"][2].value == 30
    assert rows["1"][1].font.bold
    assert rows["4.1"][4].value == 17.25  # survey points in the council's column
    by_label = {row[1].value: row for row in sheet.iter_rows(min_row=HEADER_ROW + 1) if row[1].value}
    # 9 (appraised) + 10 (explained) + 17.25 (survey) = 36.25 of 100.
    assert by_label["Tổng điểm"][4].value == 36.25
    assert Decimal(str(by_label["Chỉ số CCHC (%)"][4].value)) == Decimal("36.25")
    ranking = book[RANKING_SHEET]
    table = [
        tuple(c.value for c in row) for row in ranking.iter_rows(min_row=HEADER_ROW + 1, values_only=False)
    ]
    assert [(r[0], r[1]) for r in table] == [(1, "so-noi-vu"), (2, "so-tu-phap"), (None, "ban-dan-toc")]
    assert table[2][4] == "Đánh giá, không xếp hạng"
    assert table[0][3] == 36.25
