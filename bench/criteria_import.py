"""Benchmark of `kiemchung criteria import` on a large appendix table as provinces publish it.

Run: .venv/bin/python bench/criteria_import.py [--fields 8] [--criteria 12] [--parts 10] [--options 3]

Builds one appendix (title block, two-row merged heading, Roman fields, relative Arabic STT,
each sub-criterion followed by its scoring alternatives, a total row) as .docx, .xlsx and .csv,
then prints the best of three wall times and the peak Python memory (tracemalloc, a separate run;
lxml's own C allocations are not seen) of reading each file into a grid and of turning the grid
into a validated set. The defaults give ~4,000 table rows, beyond any real appendix (seed 003's
largest has 8 fields, 34 criteria, 99 sub-criteria) and under the 10,000-row limit.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import TypeVar

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from criteria.appendix import SetMeta, format_points, import_grid
from criteria.model import Level
from criteria.tables import read_table
from tests.criteria.appendix_tables import Appendix, Heading, write_csv, write_docx, write_xlsx

T = TypeVar("T")
ROMAN = ("I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII")
HEADING = Heading(
    ("STT", "Lĩnh vực/Tiêu chí/Tiêu chí thành phần", "Điểm tối đa", "Điểm đánh giá", "", "Ghi chú"),
    ("", "", "", "Tự đánh giá", "Thẩm định", ""),
)
TITLE = (
    "PHỤ LỤC I",
    "CHỈ SỐ CẢI CÁCH HÀNH CHÍNH CỦA CÁC SỞ, BAN, NGÀNH TỈNH",
    "(Kèm theo Quyết định số 1877/QĐ-UBND ngày 11/8/2023 của Ủy ban nhân dân tỉnh Vĩnh Long)",
)
PART_POINTS = Decimal("0.5")
REPEAT = 3


def timed(label: str, fn: Callable[[], T]) -> T:
    start = time.perf_counter()
    result = fn()
    print(f"{label:<44} {(time.perf_counter() - start) * 1000:9.1f} ms")
    return result


def measured(label: str, fn: Callable[[], T]) -> T:
    """Best of REPEAT wall times, then peak Python memory in one more run (tracemalloc slows the
    run it watches several times over, so it never times one)."""
    best = float("inf")
    for _ in range(REPEAT):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    tracemalloc.start()
    result = fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"{label:<44} {best * 1000:9.1f} ms   peak {peak / 1e6:7.1f} MB")
    return result


def appendix(fields: int, criteria: int, parts: int, options: int) -> Appendix:
    rows: list[tuple[str, ...]] = []
    criterion = PART_POINTS * parts
    for f in range(fields):
        rows.append((ROMAN[f], f"Lĩnh vực {f + 1}: cải cách hành chính", format_points(criterion * criteria)))
        for c in range(1, criteria + 1):
            rows.append((str(c), f"Tiêu chí {c} của lĩnh vực {f + 1}", format_points(criterion)))
            for p in range(1, parts + 1):
                rows.append((f"{c}.{p}", f"Tiêu chí thành phần {c}.{p}", format_points(PART_POINTS)))
                for o in range(options):
                    points = PART_POINTS * (options - 1 - o) / (options - 1) if options > 1 else PART_POINTS
                    rows.append(("-", f"Mức {o + 1}", format_points(points.quantize(Decimal("0.01")))))
    total = criterion * criteria * fields
    rows.append(("", "Tổng cộng", format_points(total)))
    return Appendix(TITLE, HEADING, tuple(rows))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--fields", type=int, default=8)
    parser.add_argument("--criteria", type=int, default=12)
    parser.add_argument("--parts", type=int, default=10)
    parser.add_argument("--options", type=int, default=3)
    args = parser.parse_args()
    table = appendix(args.fields, args.criteria, args.parts, args.options)
    # The hand-made maxima do not add up to 100: the total row says what they add up to.
    meta = SetMeta(years=(2023,), level=Level.DEPARTMENT, total_basis="benchmark table")
    print(f"appendix: {len(table.rows)} data rows")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        files = {
            "docx": timed(
                "write .docx (python-docx, test helper)", lambda: write_docx(table, work / "pl.docx")
            ),
            "xlsx": timed("write .xlsx (openpyxl, test helper)", lambda: write_xlsx(table, work / "pl.xlsx")),
            "csv": timed("write .csv (test helper)", lambda: write_csv(table, work / "pl.csv")),
        }
        for kind, path in files.items():
            print(f"{kind}: {path.stat().st_size / 1e6:.2f} MB")
            grid = measured(f"read {kind} into a grid", lambda path=path: read_table(path))  # type: ignore[misc]
            result = measured(f"parse + validate ({kind})", lambda grid=grid: import_grid(grid, meta))  # type: ignore[misc]
            leaves = sum(1 for _ in result.cset.leaves())
            print(f"  -> {leaves} leaves, {len(result.report.errors)} error(s), ok={result.report.ok}")


if __name__ == "__main__":
    main()
