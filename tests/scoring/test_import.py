"""`kiemchung import units|appraisals|survey`: a province's own tables in, all rows or none.

Rules and where they come from:
- the appendix workbook (Phụ lục: bảng điểm tự đánh giá và thẩm định, seed 003 III.1.c) is the
  interface: export → import → export gives the same workbook;
- the council's column is the achieved score (seed 003 III.1.c): appraisals import as
  AppraisalRecorded, survey leaves (seed 003: criterion 8.1, SIPAS, imported) as survey results;
- survey results are published with 4 decimals (SIPAS tables, e.g. 17.2534) and kept exact;
- a file with any refused row changes nothing, and every refused row is named.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from kiemchung.cli import main
from kiemchung.runtime.db import make_engine, session_factory
from services.scoring.export import HEADER_ROW
from services.scoring.importer import APPRAISED_COLUMN
from services.scoring.store import ledger, scores
from services.scoring.tables import MAX_COLUMNS, MAX_ROWS

YEAR = "2025"
UNITS_CSV = (
    "Mã đơn vị,Tên đơn vị,Cấp,Hội đồng thẩm định,Bộ tiêu chí,Xếp hạng,Không áp dụng\n"
    "so-noi-vu,Sở Nội vụ,sở,hdtd,demo-department,có,\n"
    "so-tu-phap,Sở Tư pháp,department,hdtd,demo-department,có,3.2\n"
    "ban-dan-toc,Ban Dân tộc,sở,hdtd,demo-department,không,\n"
)
SURVEY_CSV = 'Mã đơn vị,Mã tiêu chí,Điểm\nso-noi-vu,4.1,"17,2534"\nso-tu-phap,4.1,16.5\nban-dan-toc,4.1,15\n'
APPRAISALS: dict[str, dict[str, float]] = {
    "Sở Nội vụ": {"1.1": 9.5, "1.2": 8, "2.2.1": 7.25, "3.2": 10},
    "Sở Tư pháp": {"1.1": 10, "1.3.1": 6, "2.1.1": 8},
    "Ban Dân tộc": {"1.1": 5},
}


def _run(*args: str) -> int:
    return main(list(args))


def _url(tmp: Path, name: str) -> str:
    return f"sqlite:///{tmp / name}"


def _write(path: Path, content: str) -> Path:
    path.write_text(content, encoding="utf-8")
    return path


def _cells(path: Path) -> dict[str, list[list[Any]]]:
    book = load_workbook(path)
    return {ws.title: [[c.value for c in row] for row in ws.iter_rows()] for ws in book.worksheets}


def _count(url: str, table: Any) -> int:
    engine = make_engine(url)
    with session_factory(engine)() as session:
        count = int(session.execute(select(func.count()).select_from(table)).scalar_one())
    engine.dispose()
    return count


def _fill_appraisals(source: Path, target: Path, values: dict[str, dict[str, float]]) -> None:
    """The council types its points into the exported workbook's "Điểm thẩm định" column."""
    book = load_workbook(source)
    for title, points in values.items():
        sheet = book[title]
        column = APPRAISED_COLUMN
        for row in sheet.iter_rows(min_row=HEADER_ROW + 1):
            code = row[0].value
            if code in points:
                sheet.cell(row=row[0].row, column=column, value=points[code])
    book.save(target)


def _export(url: str, out: Path) -> None:
    assert (
        _run("export", "xlsx", "--year", YEAR, "--level", "department", "-o", str(out), "--database-url", url)
        == 0
    )


def _province(tmp: Path, url: str) -> Path:
    """A province office's year loaded from its tables alone; returns the exported workbook."""
    assert _run("import", "units", str(_write(tmp / "units.csv", UNITS_CSV)), "--database-url", url) == 0
    survey = _write(tmp / "sipas.csv", SURVEY_CSV)
    assert _run("import", "survey", str(survey), "--year", YEAR, "--database-url", url) == 0
    blank = tmp / "blank.xlsx"
    _export(url, blank)
    filled = tmp / "filled.xlsx"
    _fill_appraisals(blank, filled, APPRAISALS)
    assert _run("import", "appraisals", str(filled), "--database-url", url) == 0
    out = tmp / "published.xlsx"
    _export(url, out)
    return out


def test_export_import_export_gives_the_same_workbook(tmp_path: Path) -> None:
    first_url = _url(tmp_path, "a.db")
    first = _province(tmp_path, first_url)
    units = tmp_path / "units.xlsx"
    assert _run("export", "units", "-o", str(units), "--database-url", first_url) == 0

    second_url = _url(tmp_path, "b.db")
    assert _run("import", "units", str(units), "--database-url", second_url) == 0
    assert _run("import", "appraisals", str(first), "--database-url", second_url) == 0
    assert _run("import", "survey", str(first), "--database-url", second_url) == 0
    second = tmp_path / "again.xlsx"
    _export(second_url, second)

    assert _cells(second) == _cells(first)
    sheet = _cells(first)["Sở Nội vụ"]
    by_code = {row[0]: row for row in sheet if row[0]}
    assert by_code["4.1"][4] == pytest.approx(17.2534)  # four survey decimals kept
    assert by_code["1.1"][4] == 9.5


def test_importing_the_published_workbook_again_records_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = _url(tmp_path, "a.db")
    published = _province(tmp_path, url)
    before = _count(url, ledger)
    capsys.readouterr()
    assert _run("import", "appraisals", str(published), "--database-url", url, "--json") == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["events"], report["refused"]) == (0, [])
    assert report["rows"] == sum(len(v) for v in APPRAISALS.values())
    assert _count(url, ledger) == before


def test_survey_points_with_four_decimals_are_exact_in_the_score(tmp_path: Path) -> None:
    url = _url(tmp_path, "a.db")
    assert _run("import", "units", str(_write(tmp_path / "u.csv", UNITS_CSV)), "--database-url", url) == 0
    assert (
        _run(
            "import",
            "survey",
            str(_write(tmp_path / "s.csv", SURVEY_CSV)),
            "--year",
            YEAR,
            "--database-url",
            url,
        )
        == 0
    )
    engine = make_engine(url)
    with session_factory(engine)() as session:
        snapshot = session.execute(
            select(scores.c.snapshot).where(scores.c.unit_id == "so-noi-vu")
        ).scalar_one()
    engine.dispose()
    assert snapshot["survey"] == "17.2534"


def test_a_workbook_with_refused_rows_changes_nothing_and_names_each_row(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = _url(tmp_path, "a.db")
    published = _province(tmp_path, url)
    before = (_count(url, ledger), _cells(published))
    book = load_workbook(published)
    sheet = book["Sở Tư pháp"]
    column = APPRAISED_COLUMN
    rows = {row[0].value: row[0].row for row in sheet.iter_rows(min_row=HEADER_ROW + 1) if row[0].value}
    sheet.cell(row=rows["1.1"], column=column, value=9)  # a valid change, refused with the rest
    sheet.cell(row=rows["1.2"], column=column, value="tám")  # not a number
    sheet.cell(row=rows["2.1.2"], column=column, value=7)  # over the maximum of 6
    sheet.cell(row=rows["2.2.2"], column=column, value=1.1)  # off the 0.25 step
    sheet.cell(row=rows["3.2"], column=column, value=5)  # not applicable to Sở Tư pháp
    sheet.cell(row=rows["3.1.1"], column=1, value="3.1.9")  # no such criterion
    bad = tmp_path / "bad.xlsx"
    book.save(bad)
    capsys.readouterr()
    assert _run("import", "appraisals", str(bad), "--database-url", url, "--json") == 1
    refused = {
        (r["sheet"], r["row"], r["column"], r["reason"])
        for r in json.loads(capsys.readouterr().out)["refused"]
    }
    letter = chr(ord("A") + column - 1)
    assert refused == {
        ("Sở Tư pháp", rows["1.2"], letter, "bad_number"),
        ("Sở Tư pháp", rows["2.1.2"], letter, "points_out_of_range"),
        ("Sở Tư pháp", rows["2.2.2"], letter, "points_off_step"),
        ("Sở Tư pháp", rows["3.2"], letter, "leaf_not_applicable"),
        ("Sở Tư pháp", rows["3.1.1"], "A", "unknown_criterion"),
    }
    again = tmp_path / "again.xlsx"
    _export(url, again)
    assert (_count(url, ledger), _cells(again)) == before


def test_units_table_refusals_name_row_column_and_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = _url(tmp_path, "a.db")
    table = _write(
        tmp_path / "units.csv",
        UNITS_CSV
        + "so-noi-vu,Sở Nội vụ (bản sao),sở,hdtd,demo-department,có,\n"
        + "ubnd-x,UBND huyện X,tỉnh,hdtd,demo-department,có,\n"
        + "so-y-te,Sở Y tế,sở,hdtd,khong-co,có,\n"
        + "so-gd,Sở Giáo dục,sở,,demo-department,có,\n"
        + "so-ct,Sở Công Thương,sở,hdtd,demo-department,có lẽ,9.9\n",
    )
    capsys.readouterr()
    assert _run("import", "units", str(table), "--database-url", url, "--json") == 1
    refused = {(r["row"], r["column"], r["reason"]) for r in json.loads(capsys.readouterr().out)["refused"]}
    assert refused == {
        (5, "A", "duplicate_row"),
        (6, "C", "bad_level"),
        (7, "E", "unknown_criteria_set"),
        (8, "D", "missing_value"),
        (9, "F", "bad_flag"),
        (9, "G", "unknown_criterion"),
    }
    assert _count(url, ledger) == 0
    assert _run("export", "units", "-o", str(tmp_path / "u.csv"), "--database-url", url) == 0
    assert (tmp_path / "u.csv").read_text(encoding="utf-8").count("\n") == 1  # the heading only


def test_survey_rows_for_unknown_units_or_non_survey_leaves_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = _url(tmp_path, "a.db")
    assert _run("import", "units", str(_write(tmp_path / "u.csv", UNITS_CSV)), "--database-url", url) == 0
    survey = _write(
        tmp_path / "s.csv",
        "Mã đơn vị;Mã tiêu chí;Điểm\nso-noi-vu;4.1;17,25\nso-khac;4.1;12\n"
        "so-tu-phap;1.1;3\nban-dan-toc;4.1;25\n",
    )
    capsys.readouterr()
    assert _run("import", "survey", str(survey), "--year", YEAR, "--database-url", url, "--json") == 1
    refused = {(r["row"], r["column"], r["reason"]) for r in json.loads(capsys.readouterr().out)["refused"]}
    assert refused == {(3, "A", "unknown_unit"), (4, "B", "not_survey_leaf"), (5, "C", "points_out_of_range")}
    assert _count(url, scores) == 0


def test_files_beyond_the_bounds_or_not_tables_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = _url(tmp_path, "a.db")
    long = _write(tmp_path / "long.csv", "Mã đơn vị,Mã tiêu chí,Điểm\n" + "x,4.1,1\n" * MAX_ROWS)
    assert _run("import", "survey", str(long), "--year", YEAR, "--database-url", url) == 1
    assert "too_many_rows" in capsys.readouterr().err
    wide = Workbook()
    sheet = wide.active
    assert sheet is not None
    sheet.append(list(range(MAX_COLUMNS + 1)))
    wide.save(tmp_path / "wide.xlsx")
    assert _run("import", "units", str(tmp_path / "wide.xlsx"), "--database-url", url) == 1
    assert "too_many_columns" in capsys.readouterr().err
    _write(tmp_path / "fake.xlsx", "not a zip")
    assert _run("import", "units", str(tmp_path / "fake.xlsx"), "--database-url", url) == 1
    assert "unreadable_file" in capsys.readouterr().err
    assert _run("import", "units", str(_write(tmp_path / "u.pdf", UNITS_CSV)), "--database-url", url) == 1
    assert "unknown_format" in capsys.readouterr().err


# ---- replay (the ledger alone rebuilds what the imports recorded) ---------------------------------


def _appraisal_line(points: str, event: int) -> str:
    return json.dumps(
        {
            "event_id": f"00000000-0000-4000-8000-{event:012d}",
            "type": "AppraisalRecorded",
            "schema_version": 1,
            "occurred_at": "2026-01-10T09:30:00+07:00",
            "correlation_id": "6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f",
            "producer": "council.hdtd",
            "unit_id": "so-noi-vu",
            "year": 2025,
            "criterion_code": "1.1",
            "points": points,
            "round": 1,
            "council_id": "hdtd",
            "appraised_by": "le.van.c",
        },
        ensure_ascii=False,
    )


def test_replay_reports_refused_lines_ranks_and_writes_a_state_to_serve_and_export(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = _url(tmp_path, "a.db")
    published = _province(tmp_path, url)
    log = tmp_path / "ledger.jsonl"
    assert _run("ledger", "export", "-o", str(log), "--database-url", url) == 0
    lines = log.read_text(encoding="utf-8").splitlines()
    lines.append(_appraisal_line("11", 901))  # over the maximum of 10: refused
    log.write_text("\n".join(lines) + "\n", encoding="utf-8")
    capsys.readouterr()
    into = tmp_path / "replayed"
    assert _run("replay", str(log), "--json", "--into", str(into)) == 1
    out = capsys.readouterr()
    report = json.loads(out.out)
    assert [(r["line"], r["reason"], r["unit_id"]) for r in report["refused"]] == [
        (len(lines), "points_out_of_range", "so-noi-vu")
    ]
    assert f"ledger.jsonl:{len(lines)}: refused AppraisalRecorded so-noi-vu: points_out_of_range" in out.err
    by_unit = {s["unit_id"]: s for s in report["scores"]}
    # Sở Nội vụ: 9.5 + 8 + 7.25 + 10 + 17.2534 = 52.0034 -> 52.00; Sở Tư pháp: (10+6+8+16.5)/90.
    assert by_unit["so-noi-vu"]["index"] == "52.0034"
    assert by_unit["so-noi-vu"]["index_display"] == "52.00"
    assert [
        (u, by_unit[u]["rank"], by_unit[u]["ranked"]) for u in ("so-noi-vu", "so-tu-phap", "ban-dan-toc")
    ] == [
        ("so-noi-vu", 1, True),
        ("so-tu-phap", 2, True),
        ("ban-dan-toc", None, False),
    ]
    again = tmp_path / "from-replay.xlsx"
    _export(f"sqlite:///{into / 'kiemchung.db'}", again)
    assert _cells(again) == _cells(published)
    assert _run("replay", str(log), "--into", str(into)) == 2  # never over an existing state


def test_replay_names_the_malformed_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log = _write(tmp_path / "ledger.jsonl", _appraisal_line("1", 1) + "\n\n{not json\n")
    assert _run("replay", str(log)) == 2
    assert "ledger.jsonl:3: MALFORMED_JSON" in capsys.readouterr().err


# ---- the same over HTTP, for the province ----------------------------------------------------------


def test_http_import_is_for_province_keys_and_lists_refusals(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from kiemchung.api import create_app
    from kiemchung.runtime.db import create_schema
    from kiemchung.runtime.settings import Settings
    from services.scoring.access import ApiKey, KeyRing, Role, hash_key
    from services.scoring.tables import MAX_FILE_BYTES
    from tests.scoring.kit import vn

    engine = make_engine(_url(tmp_path, "a.db"))
    create_schema(engine)
    keys = KeyRing.of(
        [
            ApiKey("tỉnh", hash_key("k-province"), Role.PROVINCE, ""),
            ApiKey("hội đồng", hash_key("k-council"), Role.APPRAISER, "hdtd"),
        ]
    )
    app = create_app(
        Settings(),
        sessions=session_factory(engine),
        search_index=None,
        keys=keys,
        clock=lambda: vn(12, 1, year=2026),
    )
    province = {"X-API-Key": "k-province"}
    with TestClient(app) as client:
        refused = client.post(
            "/imports/units?format=csv", content=UNITS_CSV.encode(), headers={"X-API-Key": "k-council"}
        )
        assert (refused.status_code, refused.json()["reason"]) == (403, "role_not_allowed")
        bad = client.post(
            "/imports/units?format=csv",
            content=(UNITS_CSV + "x,X,tỉnh,h,demo-department,,\n").encode(),
            headers=province,
        )
        assert bad.status_code == 422
        assert [(r["row"], r["column"], r["reason"]) for r in bad.json()["refused"]] == [
            (5, "C", "bad_level")
        ]
        assert client.get("/units", headers=province).json() == []
        good = client.post("/imports/units?format=csv", content=UNITS_CSV.encode(), headers=province)
        assert (good.status_code, good.json()["events"]) == (200, 3)
        survey = client.post(
            f"/imports/survey?format=csv&year={YEAR}", content=SURVEY_CSV.encode(), headers=province
        )
        assert (survey.status_code, survey.json()["rows"]) == (200, 3)
        score = client.get(f"/units/so-noi-vu/scores/{YEAR}", headers=province).json()
        assert score["survey"]["exact"] == "17.2534"
        big = client.post("/imports/units?format=csv", content=b"x" * (MAX_FILE_BYTES + 1), headers=province)
        assert (big.status_code, big.json()["reason"]) == (413, "file_too_large")
        junk = client.post("/imports/units?format=xlsx", content=b"not a zip", headers=province)
        assert (junk.status_code, junk.json()["refused"][0]["reason"]) == (422, "unreadable_file")
    engine.dispose()
