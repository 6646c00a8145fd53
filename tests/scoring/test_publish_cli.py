"""`kiemchung publish`: the province office publishes a level's year from the command line (seeds
003/004: "công bố"), a unit with no data is published as no result, and afterwards the year
changes only by a correction (issue 13)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.scoring.test_province_rules import BAN_DAN_TOC, _criteria_dir, _load_year, _packaged, _run

YEAR = 2023
UNITS = (
    "ban-dan-toc,Ban Dân tộc,sở,hdtd,demo-department,có,\n"
    "so-noi-vu,Sở Nội vụ,sở,hdtd,demo-department,có,\n"
    "so-moi,Sở Mới thành lập,sở,hdtd,demo-department,có,\n"
)


def _common(url: str, criteria: Path) -> tuple[str, ...]:
    return ("--database-url", url, "--criteria-dir", str(criteria))


def test_thanh_hoa_2023_published_from_the_command_line_then_only_corrections_change_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    criteria = _criteria_dir(tmp_path, ("thanhhoa-2023.yaml", _packaged("thanhhoa-2023.yaml")))
    url = f"sqlite:///{tmp_path / 'state.db'}"
    _load_year(tmp_path, url, criteria, YEAR, UNITS, {"Ban Dân tộc": BAN_DAN_TOC}, "ban-dan-toc,4.1,14.32\n")
    capsys.readouterr()

    publish = ("publish", "--year", str(YEAR), "--level", "department", "--decision", "312/QĐ-UBND")
    assert _run(*publish, *_common(url, criteria)) == 0
    out = capsys.readouterr().out
    # Ban Dân tộc has points; Sở Nội vụ and the new department have none: no result, not 0.
    assert "1 unit(s) with a result, 2 with no result" in out

    # After publication the council's workbook changes nothing: every row is refused.
    (tmp_path / "late.csv").write_text("Mã đơn vị,Mã tiêu chí,Điểm\nban-dan-toc,4.1,10\n", encoding="utf-8")
    late = ("import", "survey", str(tmp_path / "late.csv"), "--year", str(YEAR))
    assert _run(*late, *_common(url, criteria)) == 1
    assert "C2: already_published" in capsys.readouterr().err

    correction = ("correct", "ban-dan-toc", "--year", str(YEAR), "--decision", "215/QĐ-UBND")
    assert _run(*correction, "--reason", "Phúc tra", "--points", "1.1=2", *_common(url, criteria)) == 0
    # Publishing the same level-year again changes nothing already published.
    assert _run(*publish, *_common(url, criteria)) == 1
    assert capsys.readouterr().err == "kiemchung publish: refused: already_published\n"
    assert _run(*correction, "--reason", "x", "--points", "1.1=abc", *_common(url, criteria)) == 2
    assert capsys.readouterr().err == (
        "kiemchung correct: bad_input: points.0.points: Input should be a valid decimal\n"
    )


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("--year", "1999", "--level", "department", "--decision", "1/QĐ"), "bad_input"),
        (("--year", "2023", "--level", "department", "--decision", "x" * 101), "bad_input"),
    ],
)
def test_publish_refuses_bad_input_with_a_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: tuple[str, ...], expected: str
) -> None:
    criteria = _criteria_dir(tmp_path)
    assert _run("publish", *args, *_common(f"sqlite:///{tmp_path / 's.db'}", criteria)) == 2
    assert expected in capsys.readouterr().err
