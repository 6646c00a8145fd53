"""Province-style appendix tables, written the way provinces publish them (issue 13).

A helper module for tests/criteria: a table is a title block, a heading (one or two rows, with
merged cells), a row numbering the columns and the data rows; it is written as .docx (python-docx,
merged cells as Word merges them), .xlsx (openpyxl, merged ranges) or .csv.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import docx
import openpyxl

Row = Sequence[str]


@dataclass(frozen=True)
class Heading:
    """`top` over `sub`: a top cell followed by "" cells is merged across them (when `sub` fills
    them); a top cell with "" under it in `sub` is merged down."""

    top: tuple[str, ...]
    sub: tuple[str, ...] = ()


@dataclass(frozen=True)
class Appendix:
    title: tuple[str, ...]
    heading: Heading
    rows: tuple[Row, ...]
    numbering: bool = True  # a "(1) | (2) | ..." row under the heading
    extra_before: tuple[str, ...] = field(default_factory=tuple)

    @property
    def width(self) -> int:
        return len(self.heading.top)

    def numbering_row(self) -> tuple[str, ...]:
        return tuple(f"({i})" for i in range(1, self.width + 1))

    def grid(self) -> list[tuple[str, ...]]:
        body: list[tuple[str, ...]] = [self.heading.top]
        if self.heading.sub:
            body.append(self.heading.sub)
        if self.numbering:
            body.append(self.numbering_row())
        body += [tuple(row) + ("",) * (self.width - len(row)) for row in self.rows]
        return body


def _merge_spans(top: tuple[str, ...], sub: tuple[str, ...]) -> list[tuple[int, int]]:
    """(first, last) column ranges a top heading cell spans across."""
    spans: list[tuple[int, int]] = []
    j = 0
    while j < len(top):
        end = j
        while end + 1 < len(top) and not top[end + 1] and sub and sub[end + 1]:
            end += 1
        if end > j:
            spans.append((j, end))
        j = end + 1
    return spans


def _add_to_document(document: Any, appendix: Appendix) -> None:
    for line in appendix.title:
        document.add_paragraph(line)
    grid = appendix.grid()
    table = document.add_table(rows=len(grid), cols=appendix.width)
    for row, texts in zip(table.rows, grid, strict=True):
        for cell, text in zip(row.cells, texts, strict=True):
            if text:
                cell.text = text
    heading = appendix.heading
    if heading.sub:
        for first, last in _merge_spans(heading.top, heading.sub):
            table.cell(0, first).merge(table.cell(0, last))
        for j, text in enumerate(heading.top):
            if text and not heading.sub[j]:
                table.cell(0, j).merge(table.cell(1, j))


def write_docx(appendix: Appendix, path: Path) -> Path:
    return write_document([appendix], path)


def write_document(parts: Sequence[Appendix | tuple[str, ...]], path: Path) -> Path:
    """Several tables in one document: an Appendix is its title paragraphs and its table; a tuple
    of texts is a one-row table (a letterhead: "ỦY BAN NHÂN DÂN TỈNH … | CỘNG HÒA …")."""
    document = docx.Document()
    for part in parts:
        if isinstance(part, Appendix):
            _add_to_document(document, part)
        else:
            letterhead = document.add_table(rows=1, cols=len(part))
            for cell, text in zip(letterhead.rows[0].cells, part, strict=True):
                cell.text = text
    document.add_paragraph("Ghi chú: điểm đạt được do Hội đồng thẩm định xác định.")
    document.save(str(path))
    return path


def write_xlsx(appendix: Appendix, path: Path) -> Path:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for line in appendix.title:
        sheet.append([line])
    first = len(appendix.title) + 1
    for row in appendix.grid():
        sheet.append([text if text else None for text in row])
    heading = appendix.heading
    if heading.sub:
        for start, end in _merge_spans(heading.top, heading.sub):
            sheet.merge_cells(start_row=first, start_column=start + 1, end_row=first, end_column=end + 1)
        for j, text in enumerate(heading.top):
            if text and not heading.sub[j]:
                sheet.merge_cells(start_row=first, start_column=j + 1, end_row=first + 1, end_column=j + 1)
    workbook.save(path)
    return path


def write_csv(appendix: Appendix, path: Path, delimiter: str = ",", bom: bool = False) -> Path:
    with path.open("w", encoding="utf-8-sig" if bom else "utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter=delimiter)
        for line in appendix.title:
            writer.writerow([line] + [""] * (appendix.width - 1))
        for row in appendix.grid():
            writer.writerow(row)
    return path
