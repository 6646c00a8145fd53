"""`criteria import` reads appendix tables as provinces publish them (issue 13, "Criteria data").

The Cà Mau QĐ 1880/QĐ-UBND (2013) fragment in ../shared is rendered into the tables a province
would publish (.docx with a two-row merged heading, Roman fields and scoring alternatives in the
rows below each sub-criterion; .xlsx with absolute codes and the scoring rule continued in the
rows below; .csv with a BOM and semicolons) and must give exactly the committed template's codes,
titles and maxima. A small complete set in seed 003's wording (Vĩnh Long QĐ 1877/QĐ-UBND) must
import as a scorable set with its decision, issuer, date and level read from the title block.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest

from criteria.appendix import SetMeta, format_points, import_file, parse_points, read_title_block
from criteria.errors import CriteriaReason, Severity
from criteria.loader import data_path, dump_set, load_document_text, load_packaged_set, load_set
from criteria.model import CriteriaSet, Level, Node, Source
from criteria.validation import validate
from services.scoring.core.errors import ScoringError, ScoringReason
from services.scoring.core.tree import compile_tree
from tests.criteria.appendix_tables import (
    Appendix,
    Heading,
    write_csv,
    write_document,
    write_docx,
    write_xlsx,
)
from tests.criteria.test_xlsx_cli import run

CA_MAU_SOURCE = Path("criteria-sources") / "partial" / "camau-1880-2013-field1.tsv"
CA_MAU_SET = "camau-1880-2013-department.yaml"
CA_MAU_TITLE = (
    "ỦY BAN NHÂN DÂN TỈNH CÀ MAU",
    "PHỤ LỤC",
    "XÁC ĐỊNH CHỈ SỐ CẢI CÁCH HÀNH CHÍNH",
    "(Kèm theo Quyết định số 1880/QĐ-UBND năm 2013 của Ủy ban nhân dân tỉnh Cà Mau)",
)
# The fragment's own columns (its `# level:` comment), the assessment columns merged over three.
CA_MAU_HEADING = Heading(
    (
        "STT", "Lĩnh vực/Tiêu chí/Tiêu chí thành phần", "Điểm tối đa", "Điểm đánh giá", "", "",
        "Điểm đạt được", "Chỉ số", "Ghi chú",
    ),
    ("", "", "", "Điều tra XHH", "Tự đánh giá", "SNV đánh giá", "", "", ""),
)  # fmt: skip
RULE_HEADING = Heading(
    ("STT", "Nội dung", "Điểm", "", "", "Cách tính điểm", "Tài liệu kiểm chứng"),
    ("", "", "Tối đa", "Tự đánh giá", "Thẩm định", "", ""),
)
CA_MAU_META = SetMeta(level=Level.DEPARTMENT, years=(2013,))


def _fragment(shared_dir: Path) -> list[dict[str, str]]:
    source = shared_dir / CA_MAU_SOURCE
    if not source.is_file():
        pytest.skip(f"{source} is absent")
    lines = [line for line in source.read_text(encoding="utf-8").splitlines() if not line.startswith("#")]
    return list(csv.DictReader(lines, delimiter="\t"))


def _options(note: str) -> list[tuple[str, str]]:
    """ "Ban hành kịp thời: 1; Ban hành không kịp thời: 0,5" -> [(text, points), ...]"""
    out = []
    for option in note.split("; "):
        text, _, points = option.rpartition(": ")
        out.append((text, points))
    return out


def _relative(code: str) -> str:
    """STT as Cà Mau prints it: field "1" is "I", criterion "1.1" is "1" under it, "1.1.1" is "1.1"."""
    parts = code.split(".")
    return "I" if len(parts) == 1 else ".".join(parts[1:])


def _max(row: dict[str, str]) -> str:
    return format_points(Decimal(row["max_points"]))


def _option_rows(rows: list[dict[str, str]]) -> tuple[tuple[str, ...], ...]:
    """Relative STT; each sub-criterion's alternatives in the rows below it with their points
    (dashes under 1.1, unnumbered elsewhere)."""
    out: list[tuple[str, ...]] = []
    for row in rows:
        out.append((_relative(row["code"]), row["title"], _max(row)))
        if row["kind"] == "subcriterion":
            mark = "-" if row["code"].startswith("1.1.") else ""
            out += [(mark, text, points) for text, points in _options(row["scoring_note"])]
    return tuple(out)


def _rule_rows(rows: list[dict[str, str]], relative: bool) -> tuple[tuple[str, ...], ...]:
    """A "Cách tính điểm" column whose text continues in the rows below (one alternative per row)."""
    out: list[tuple[str, ...]] = []
    for row in rows:
        code = _relative(row["code"]) if relative else ("I" if "." not in row["code"] else row["code"])
        alternatives = (
            [f"{t}: {p}" for t, p in _options(row["scoring_note"])] if row["kind"] == "subcriterion" else []
        )
        first = alternatives[0] if alternatives else ""
        out.append((code, row["title"], _max(row), "", "", first, ""))
        out += [("", "", "", "", "", more, "") for more in alternatives[1:]]
    return tuple(out)


def _docx(rows: list[dict[str, str]], path: Path) -> Path:
    return write_docx(Appendix(CA_MAU_TITLE, CA_MAU_HEADING, _option_rows(rows)), path / "camau.docx")


def _xlsx(rows: list[dict[str, str]], path: Path) -> Path:
    return write_xlsx(
        Appendix(CA_MAU_TITLE, RULE_HEADING, _rule_rows(rows, relative=False)), path / "camau.xlsx"
    )


def _csv(rows: list[dict[str, str]], path: Path) -> Path:
    appendix = Appendix(CA_MAU_TITLE, RULE_HEADING, _rule_rows(rows, relative=True))
    return write_csv(appendix, path / "camau.csv", delimiter=";", bom=True)


RENDERERS: dict[str, Callable[[list[dict[str, str]], Path], Path]] = {
    "docx": _docx,
    "xlsx": _xlsx,
    "csv": _csv,
}


def _node(cset: CriteriaSet, code: str) -> Node:
    node = cset.node(code)
    assert node is not None, code
    return node


def _shape(cset: CriteriaSet) -> list[tuple[str, str, Decimal | None]]:
    return [(n.code, n.title, n.maximum) for n in cset.walk()]


@pytest.mark.parametrize("layout", sorted(RENDERERS))
def test_ca_mau_fragment_as_published_gives_the_committed_template(
    layout: str, shared_dir: Path, tmp_path: Path
) -> None:
    rows = _fragment(shared_dir)
    path = RENDERERS[layout](rows, tmp_path)
    committed = load_packaged_set(CA_MAU_SET)

    result = import_file(path, CA_MAU_META, template=True)

    assert result.report.ok, [i.render() for i in result.report.errors]
    assert _shape(result.cset) == _shape(committed)
    assert _shape(result.cset) == [(r["code"], r["title"], Decimal(r["max_points"])) for r in rows]
    notes = {n.code: n.note for n in result.cset.walk()}
    assert {r["code"]: notes[r["code"]] for r in rows if r["kind"] == "subcriterion"} == {
        r["code"]: r["scoring_note"] for r in rows if r["kind"] == "subcriterion"
    }
    # Read from the title block, as the committed transcription states them.
    assert (result.cset.decision, result.cset.issuer) == (committed.decision, committed.issuer)
    # Field 1 is 20 points but its parts add to 10, and the fields to 20 of 100: a template.
    assert _node(result.cset, "1").template
    assert result.cset.is_template
    assert "1 (20): its parts miss 10 points" in result.cset.note
    written = load_document_text(dump_set(result.cset))
    assert isinstance(written, CriteriaSet)
    assert validate(written).ok
    with pytest.raises(ScoringError) as caught:
        compile_tree(written)
    assert caught.value.reason is ScoringReason.INCOMPLETE_CRITERIA


def test_ca_mau_fragment_without_template_is_refused_with_rows(shared_dir: Path, tmp_path: Path) -> None:
    path = _docx(_fragment(shared_dir), tmp_path)
    result = import_file(path, CA_MAU_META)
    reasons = {(i.reason, i.path, i.row) for i in result.report.errors}
    # Row 4 of the Word table: heading (2 rows), column numbers, then field I.
    assert (CriteriaReason.PARENT_SUM_MISMATCH, "1", 4) in reasons
    assert CriteriaReason.INCOMPLETE_SET in {i.reason for i in result.report.errors}
    # In a workbook the row is the sheet's: 4 title rows, a two-row heading, the column numbers.
    in_sheet = import_file(_xlsx(_fragment(shared_dir), tmp_path), CA_MAU_META)
    assert (CriteriaReason.PARENT_SUM_MISMATCH, "1", 8, "C (Điểm Tối đa)") in {
        (i.reason, i.path, i.row, i.column) for i in in_sheet.report.errors
    }
    out = tmp_path / "camau.yaml"
    argv = ["criteria", "import", str(path), "-o", str(out), "--level", "department", "--year", "2013"]
    assert run(argv) == 1
    assert not out.exists()
    assert run([*argv, "--template"]) == 0
    assert load_set(out).is_template


# ---------------------------------------------------------------- seed 003: a complete set

VINH_LONG_TITLE = (
    "ỦY BAN NHÂN DÂN TỈNH VĨNH LONG",
    "PHỤ LỤC I",
    "CHỈ SỐ CẢI CÁCH HÀNH CHÍNH CỦA CÁC SỞ, BAN, NGÀNH TỈNH",
    "(Kèm theo Quyết định số 1877/QĐ-UBND ngày 11/8/2023 của Ủy ban nhân dân tỉnh Vĩnh Long)",
)
VINH_LONG_HEADING = Heading(
    (
        "STT",
        "Lĩnh vực/Tiêu chí/Tiêu chí thành phần",
        "Điểm tối đa",
        "Điểm tự đánh giá",
        "Điểm đạt được",
        "Ghi chú",
    )
)
# Field titles and the 8.1 SIPAS criterion from seed 003 (III.1.a, III.1.c); points hand-made for
# a small set that adds up, with the seed's 66 self-assessed / 34 survey split.
VINH_LONG_ROWS: tuple[tuple[str, ...], ...] = (
    ("I", "Công tác chỉ đạo, điều hành cải cách hành chính", "36"),
    ("1", "Kế hoạch cải cách hành chính năm", "16"),
    ("a)", "Ban hành kế hoạch CCHC năm", "6"),
    ("-", "Ban hành đúng thời hạn", "6"),
    ("-", "Ban hành chậm", "3"),
    ("-", "Không ban hành", "0"),
    ("b)", "Mức độ hoàn thành kế hoạch CCHC năm", "10"),
    ("", "Hoàn thành 100% kế hoạch: 10 điểm; dưới 100%: điểm tính theo tỷ lệ hoàn thành", ""),
    ("2", "Báo cáo cải cách hành chính định kỳ", "20"),
    ("II", "Cải cách thủ tục hành chính", "30"),
    ("1", "Công khai thủ tục hành chính", "15,5"),
    ("2", "Tỷ lệ hồ sơ giải quyết đúng hạn", "14,5"),
    ("III", "Tác động của CCHC đến người dân, tổ chức và phát triển kinh tế xã hội", "34"),
    ("1", "Kết quả chỉ số hài lòng (SIPAS)", "34", "", "", "Điều tra xã hội học"),
    ("", "Tổng cộng", "100"),
)


def _vinh_long(tmp_path: Path, rows: tuple[tuple[str, ...], ...] = VINH_LONG_ROWS) -> Path:
    return write_docx(Appendix(VINH_LONG_TITLE, VINH_LONG_HEADING, rows), tmp_path / "phuluc1.docx")


def test_seed_003_wording_imports_as_a_complete_scorable_set(tmp_path: Path) -> None:
    result = import_file(_vinh_long(tmp_path), SetMeta(years=(2023,)))
    assert result.report.ok, [i.render() for i in result.report.issues]
    cset = result.cset
    assert (cset.issuer, cset.decision, cset.decision_date, cset.level) == (
        "UBND tỉnh Vĩnh Long",
        "1877/QĐ-UBND",
        "2023-08-11",
        Level.DEPARTMENT,
    )
    assert cset.title == "CHỈ SỐ CẢI CÁCH HÀNH CHÍNH CỦA CÁC SỞ, BAN, NGÀNH TỈNH (PHỤ LỤC I)"
    assert [n.code for n in cset.walk()] == [
        "1",
        "1.1",
        "1.1.1",
        "1.1.2",
        "1.2",
        "2",
        "2.1",
        "2.2",
        "3",
        "3.1",
    ]
    assert not cset.is_template
    assert result.incomplete == ()
    assert _node(cset, "2.1").maximum == Decimal("15.5")
    rule = _node(cset, "1.1.1")
    assert rule.is_leaf
    assert rule.note == "Ban hành đúng thời hạn: 6; Ban hành chậm: 3; Không ban hành: 0"
    assert "tỷ lệ hoàn thành" in _node(cset, "1.1.2").note
    sources = cset.effective_sources()
    survey = sum(
        (leaf.maximum or Decimal(0) for leaf in cset.leaves() if sources[leaf.code] is Source.SURVEY),
        Decimal(0),
    )
    assert survey == Decimal(34)  # seed 003: 34 of 100 from the survey
    tree = compile_tree(cset)
    assert set(tree.leaves) == {"1.1.1", "1.1.2", "1.2", "2.1", "2.2", "3.1"}


def test_import_command_names_the_file_from_the_title_block(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = _vinh_long(tmp_path)
    out_dir = tmp_path / "sets"
    out_dir.mkdir()
    assert run(["criteria", "import", str(source), "-o", str(out_dir), "--year", "2023"]) == 0
    written = out_dir / "vinhlong-1877-2023-department.yaml"
    assert "complete set" in capsys.readouterr().out
    assert run(["criteria", "check", str(written)]) == 0
    assert load_set(written).decision == "1877/QĐ-UBND"


def test_the_command_line_fills_what_the_table_does_not_state(tmp_path: Path) -> None:
    untitled = write_docx(Appendix((), VINH_LONG_HEADING, VINH_LONG_ROWS), tmp_path / "untitled.docx")
    refused = import_file(untitled, SetMeta())
    missing = {(i.reason, i.message.split(":")[-1].strip()) for i in refused.report.errors}
    assert {
        (CriteriaReason.BAD_LEVEL, "give --level"),
        (CriteriaReason.MISSING_KEY, "give --year"),
        (CriteriaReason.MISSING_KEY, "give --issuer"),
        (CriteriaReason.MISSING_KEY, "give --decision"),
    } <= missing
    given = SetMeta(
        issuer="UBND tỉnh Vĩnh Long", decision="1877/QĐ-UBND", level=Level.DISTRICT, years=(2023,)
    )
    accepted = import_file(untitled, given)
    assert accepted.report.ok
    assert accepted.cset.level is Level.DISTRICT


def test_a_survey_field_makes_its_leaves_survey_and_the_split_is_checked(tmp_path: Path) -> None:
    rows = (
        ("I", "Công tác chỉ đạo, điều hành cải cách hành chính", "79"),
        ("1", "Kế hoạch cải cách hành chính năm", "79"),
        ("II", "Điều tra xã hội học", "21"),
        ("1", "Khảo sát sự hài lòng của người dân, tổ chức", "11"),
        ("2", "Mức độ hài lòng về thủ tục hành chính", "10"),
        ("", "Tổng điểm", "100"),
    )
    result = import_file(_vinh_long(tmp_path, rows), SetMeta(years=(2023,)))
    assert result.report.ok, [i.render() for i in result.report.issues]
    sources = result.cset.effective_sources()
    assert {code for code, src in sources.items() if src is Source.SURVEY} == {"2", "2.1", "2.2"}


def test_the_demo_set_still_round_trips_through_our_own_layout(tmp_path: Path) -> None:
    from criteria.xlsx import export_xlsx

    demo = load_set(data_path("demo.yaml"))
    export_xlsx(demo, tmp_path / "demo.xlsx")
    result = import_file(tmp_path / "demo.xlsx")
    assert result.report.ok
    assert _shape(result.cset) == _shape(demo)
    assert not [i for i in result.report.issues if i.severity is Severity.WARNING]


@pytest.mark.parametrize(
    ("cell", "maximum", "interpreted"),
    [
        ("2", Decimal(2), False),
        ("0,5", Decimal("0.5"), False),
        ("0.25", Decimal("0.25"), False),
        ("2 điểm", Decimal(2), False),
        ("1,5đ", Decimal("1.5"), False),
        ("Tối đa: 2 điểm", Decimal(2), False),
        ("0,5/1", Decimal(1), True),
        ("0 - 2", Decimal(2), True),
        ("từ 0 đến 2", Decimal(2), True),
        ("", None, False),
        ("-", None, False),
    ],
)
def test_points_as_provinces_write_them(cell: str, maximum: Decimal | None, interpreted: bool) -> None:
    points = parse_points(cell)
    assert (points.value, points.interpreted, points.bad) == (maximum, interpreted, False)


@pytest.mark.parametrize("cell", ["mười", "-1", "0,5 điểm/văn bản", "x"])
def test_points_that_are_not_a_maximum_are_bad(cell: str) -> None:
    assert parse_points(cell).bad


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        (VINH_LONG_TITLE, {"decision": "1877/QĐ-UBND", "decision_date": "2023-08-11",
                           "issuer": "UBND tỉnh Vĩnh Long", "level": "department",
                           "title": "CHỈ SỐ CẢI CÁCH HÀNH CHÍNH CỦA CÁC SỞ, BAN, NGÀNH TỈNH (PHỤ LỤC I)"}),
        (("PHỤ LỤC II", "CHỈ SỐ CCHC CỦA UBND CÁC HUYỆN, THỊ XÃ, THÀNH PHỐ",
          "(Ban hành kèm theo Quyết định số 3463/QĐ-UBND",
          "ngày 25 tháng 11 năm 2022 của UBND tỉnh Quảng Ninh)"),
         {"decision": "3463/QĐ-UBND", "decision_date": "2022-11-25", "issuer": "UBND tỉnh Quảng Ninh",
          "level": "district", "title": "CHỈ SỐ CCHC CỦA UBND CÁC HUYỆN, THỊ XÃ, THÀNH PHỐ (PHỤ LỤC II)"}),
        (("Phụ lục III: Chỉ số CCHC của UBND các xã, phường, thị trấn",
          "(Kèm theo QĐ số 947/QĐ-UBND ngày 26/5/2023 của Ủy ban nhân dân tỉnh Thái Bình)"),
         {"decision": "947/QĐ-UBND", "decision_date": "2023-05-26", "issuer": "UBND tỉnh Thái Bình",
          "level": "commune", "title": "Phụ lục III: Chỉ số CCHC của UBND các xã, phường, thị trấn"}),
    ],
)  # fmt: skip
def test_the_title_block_states_decision_date_issuer_and_level(
    lines: tuple[str, ...], expected: dict[str, str]
) -> None:
    assert read_title_block("\n".join(lines)) == expected


DECISION_LINE = "(Kèm theo Quyết định số 1877/QĐ-UBND ngày 11/8/2023 của Ủy ban nhân dân tỉnh Vĩnh Long)"
DISTRICT_ROWS: tuple[tuple[str, ...], ...] = (
    ("I", "Công tác chỉ đạo, điều hành cải cách hành chính", "66"),
    ("1", "Kế hoạch cải cách hành chính năm", "66"),
    ("II", "Tác động của CCHC đến người dân, tổ chức và phát triển kinh tế xã hội", "34"),
    ("1", "Kết quả chỉ số hài lòng (SIPAS)", "34", "", "", "Điều tra xã hội học"),
    ("", "Tổng cộng", "100"),
)


def _seed_003_document(tmp_path: Path) -> Path:
    """Seed 003 as one Word file: the letterhead, the decision's title (naming all three
    levels), Phụ lục I split over two tables at a page break (heading repeated), Phụ lục II."""
    split = 9  # field II starts the second page
    first = Appendix(
        ("QUYẾT ĐỊNH", "Về Chỉ số cải cách hành chính của các sở, ban, ngành tỉnh; UBND cấp huyện, cấp xã",
         "PHỤ LỤC I", "CHỈ SỐ CẢI CÁCH HÀNH CHÍNH CỦA CÁC SỞ, BAN, NGÀNH TỈNH", DECISION_LINE),
        VINH_LONG_HEADING, VINH_LONG_ROWS[:split],
    )  # fmt: skip
    continued = Appendix((), VINH_LONG_HEADING, VINH_LONG_ROWS[split:], numbering=False)
    second = Appendix(
        ("PHỤ LỤC II", "CHỈ SỐ CẢI CÁCH HÀNH CHÍNH CỦA UBND CÁC HUYỆN, THỊ XÃ, THÀNH PHỐ", DECISION_LINE),
        VINH_LONG_HEADING, DISTRICT_ROWS,
    )  # fmt: skip
    letterhead = ("ỦY BAN NHÂN DÂN TỈNH VĨNH LONG", "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM")
    return write_document([letterhead, first, continued, second], tmp_path / "qd1877.docx")


def test_a_document_with_several_appendices_needs_a_choice(tmp_path: Path) -> None:
    path = _seed_003_document(tmp_path)
    refused = import_file(path, SetMeta(years=(2023,)))
    assert [i.reason for i in refused.report.errors] == [CriteriaReason.MULTIPLE_APPENDICES]
    assert "1: PHỤ LỤC I (rows 2-" in refused.report.errors[0].message
    assert "2: PHỤ LỤC II" in refused.report.errors[0].message
    missing = import_file(path, SetMeta(years=(2023,)), appendix=3)
    assert [i.reason for i in missing.report.errors] == [CriteriaReason.NO_SUCH_APPENDIX]


def test_each_appendix_of_a_document_is_its_own_set_with_its_own_level(tmp_path: Path) -> None:
    path = _seed_003_document(tmp_path)
    department = import_file(path, SetMeta(years=(2023,)), appendix=1)
    assert department.report.ok, [i.render() for i in department.report.issues]
    # Both tables of Phụ lục I, the repeated heading skipped: the same set as in one table.
    assert _shape(department.cset) == _shape(import_file(_vinh_long(tmp_path), SetMeta(years=(2023,))).cset)
    assert department.cset.level is Level.DEPARTMENT
    district = import_file(path, SetMeta(years=(2023,)), appendix=2)
    assert district.report.ok, [i.render() for i in district.report.issues]
    assert district.cset.level is Level.DISTRICT
    assert (district.cset.decision, district.cset.issuer) == ("1877/QĐ-UBND", "UBND tỉnh Vĩnh Long")
    assert [n.code for n in district.cset.walk()] == ["1", "1.1", "2", "2.1"]


def test_a_workbook_sheet_is_chosen_by_name(tmp_path: Path) -> None:
    import openpyxl

    path = write_xlsx(Appendix(VINH_LONG_TITLE, VINH_LONG_HEADING, VINH_LONG_ROWS), tmp_path / "pl.xlsx")
    book = openpyxl.load_workbook(path)
    book.active.title = "Phụ lục I"
    cover = book.create_sheet("Bìa", 0)
    cover.append(["Quyết định 1877/QĐ-UBND"])
    book.save(path)
    assert import_file(path, SetMeta(years=(2023,))).report.reasons() >= {("", CriteriaReason.NO_HEADER)}
    chosen = import_file(path, SetMeta(years=(2023,)), sheet="Phụ lục I")
    assert chosen.report.ok, [i.render() for i in chosen.report.issues]
    unknown = import_file(path, SetMeta(years=(2023,)), sheet="Phụ lục IV")
    assert [i.reason for i in unknown.report.errors] == [CriteriaReason.XLSX_NO_ROWS]


def test_an_exported_template_set_comes_back_a_template(tmp_path: Path) -> None:
    from criteria.xlsx import export_xlsx

    committed = load_packaged_set(CA_MAU_SET)
    export_xlsx(committed, tmp_path / "camau.xlsx")
    again = import_file(tmp_path / "camau.xlsx")
    assert again.report.ok, [i.render() for i in again.report.errors]
    assert _shape(again.cset) == _shape(committed)
    assert [n.code for n in again.cset.walk() if n.template] == ["1", "1.3"]
    assert again.cset.note == committed.note


def test_the_command_never_replaces_a_set_without_force(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = _vinh_long(tmp_path)
    out = tmp_path / "set.yaml"
    out.write_text("kept: true\n", encoding="utf-8")
    argv = ["criteria", "import", str(source), "-o", str(out), "--year", "2023"]
    assert run(argv) == 1
    assert "exists; nothing written" in capsys.readouterr().err
    assert out.read_text(encoding="utf-8") == "kept: true\n"
    assert run([*argv, "--force"]) == 0
    assert load_set(out).decision == "1877/QĐ-UBND"
    assert (
        run(["criteria", "import", str(source), "-o", str(tmp_path), "--id", "../evil", "--year", "2023"])
        == 1
    )
    assert not (tmp_path.parent / "evil.yaml").exists()


@pytest.mark.parametrize(
    "heading",
    [
        ("TT", "Tiêu chí đánh giá", "Điểm chuẩn", "Hướng dẫn chấm điểm"),
        ("Số TT", "Nội dung", "Thang điểm", "Cách tính điểm"),
        ("STT", "Lĩnh vực/Tiêu chí/Tiêu chí thành phần", "Điểm tối đa", "Thang điểm"),
        ("Mã số", "Tên tiêu chí", "Điểm tối đa (điểm)", "Phương pháp chấm điểm"),
    ],
)
def test_heading_wordings_provinces_use(heading: tuple[str, str, str, str], tmp_path: Path) -> None:
    rows = (
        ("", "Lĩnh vực I: Công tác chỉ đạo, điều hành cải cách hành chính", "60", ""),
        ("1", "Kế hoạch cải cách hành chính năm", "60", "Ban hành đúng hạn: 60; chậm: 30"),
        ("", "Lĩnh vực II: Kết quả chỉ số hài lòng (SIPAS)", "40", "Điều tra xã hội học"),
        ("", "Tổng cộng", "100", ""),
    )
    path = write_docx(Appendix(VINH_LONG_TITLE, Heading(heading), rows), tmp_path / "h.docx")
    result = import_file(path, SetMeta(years=(2023,)))
    assert result.report.ok, [i.render() for i in result.report.issues]
    assert [(n.code, n.title, n.maximum) for n in result.cset.walk()] == [
        ("1", "Công tác chỉ đạo, điều hành cải cách hành chính", Decimal(60)),
        ("1.1", "Kế hoạch cải cách hành chính năm", Decimal(60)),
        ("2", "Kết quả chỉ số hài lòng (SIPAS)", Decimal(40)),
    ]
    assert _node(result.cset, "1.1").note == "Ban hành đúng hạn: 60; chậm: 30"
    assert result.cset.effective_sources()["2"] is Source.SURVEY
