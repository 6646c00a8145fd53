"""Benchmark of `kiemchung import` on SQLite: a province's units table, its survey table, and the
appendix workbook of appraisals, each imported in one transaction.

Run: .venv/bin/python bench/imports.py [--units N]

Prints wall time and peak Python memory (tracemalloc) per stage: reading the file, planning
(every row checked against the scoring core), and committing through the scoring handlers.
"""

from __future__ import annotations

import argparse
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from openpyxl import load_workbook

from kiemchung.runtime.clock import random_ids, system_clock
from kiemchung.runtime.db import create_schema, make_engine, session_factory
from services.scoring.export import HEADER_ROW, build_workbook
from services.scoring.handlers import load_units
from services.scoring.importer import APPRAISED_COLUMN, ImportKind, ImportOptions, plan_import, run_import
from services.scoring.service import load_catalogue
from services.scoring.tables import read_table

YEAR = 2025
DEFAULT_UNITS = 200
APPRAISED = {"1.1": 9.5, "1.2": 8, "1.3.1": 6, "1.3.2": 5, "2.1.1": 8, "2.1.2": 6, "2.2.1": 10, "3.2": 10}
T = TypeVar("T")


def measured(label: str, fn: Callable[[], T]) -> T:
    tracemalloc.start()
    start = time.perf_counter()
    result = fn()
    elapsed = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"{label:<48} {elapsed * 1000:9.1f} ms   peak {peak / 1e6:7.1f} MB")
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--units", type=int, default=DEFAULT_UNITS)
    n = parser.parse_args().units
    catalogue = load_catalogue()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        engine = make_engine(f"sqlite:///{work / 'state.db'}")
        create_schema(engine)
        sessions = session_factory(engine)
        units_csv = work / "units.csv"
        lines = ["Mã đơn vị,Tên đơn vị,Cấp,Hội đồng thẩm định,Bộ tiêu chí,Xếp hạng,Không áp dụng"]
        lines += [f"u{i:05d},Đơn vị {i:05d},sở,hdtd,demo-department,có," for i in range(n)]
        units_csv.write_text("\n".join(lines) + "\n", encoding="utf-8")
        survey_csv = work / "survey.csv"
        rows = ["Mã đơn vị,Mã tiêu chí,Điểm"] + [
            f"u{i:05d},4.1,{10 + (i % 1000) / 100:.4f}" for i in range(n)
        ]
        survey_csv.write_text("\n".join(rows) + "\n", encoding="utf-8")
        print(f"{n} units; machine shared with other engineers (numbers are noisy)")
        for kind, path, options in (
            (ImportKind.UNITS, units_csv, ImportOptions()),
            (ImportKind.SURVEY, survey_csv, ImportOptions(year=YEAR)),
        ):
            sheets = measured(f"read {path.name} ({n} rows)", lambda p=path: read_table(p))  # type: ignore[misc]
            plan = measured(
                f"import {kind.value}: plan + commit",
                lambda k=kind, s=sheets, o=options: run_import(  # type: ignore[misc]
                    k, s, "bench", sessions, catalogue, system_clock, random_ids, o
                ),
            )
            assert plan.ok, plan.refusals[:3]
        with sessions() as session:
            book = build_workbook(session, catalogue, "department", YEAR, load_units(session))
        for title in book.sheetnames:
            sheet = book[title]
            if sheet.cell(row=HEADER_ROW, column=1).value != "STT":
                continue
            for row in sheet.iter_rows(min_row=HEADER_ROW + 1):
                if row[0].value in APPRAISED:
                    sheet.cell(row=row[0].row, column=APPRAISED_COLUMN, value=APPRAISED[row[0].value])
        workbook = work / "appraisals.xlsx"
        book.save(workbook)
        del book
        leaves = n * len(APPRAISED)
        sheets = measured(f"read appraisals.xlsx ({n} sheets, read-only)", lambda: read_table(workbook))
        with sessions() as session:
            plan = measured(
                f"plan appraisals ({leaves} leaf rows)",
                lambda: plan_import(
                    ImportKind.APPRAISALS, sheets, "bench", session, catalogue, system_clock, random_ids
                ),
            )
        assert plan.ok, plan.refusals[:3]
        assert len(plan.events) == leaves
        done = measured(
            f"import appraisals: plan + commit ({leaves} events)",
            lambda: run_import(
                ImportKind.APPRAISALS, sheets, "bench", sessions, catalogue, system_clock, random_ids
            ),
        )
        assert done.ok
        sheet_count = len(load_workbook(workbook, read_only=True).sheetnames)
        print(f"workbook size {workbook.stat().st_size / 1e6:.1f} MB, {sheet_count} sheets")
        engine.dispose()


if __name__ == "__main__":
    main()
