"""`kiemchung criteria check|apply|import|export`."""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from criteria.appendix import SetMeta, import_file, suggested_id
from criteria.errors import CriteriaError, CriteriaLoadError, Issue
from criteria.loader import dump_set, load_any, load_overlay, load_set
from criteria.model import CriteriaSet, FieldTable, Level, Overlay
from criteria.overlay import resolve
from criteria.validation import validate, validate_field_table
from criteria.xlsx import export_xlsx

# A set's id is its file stem: vinhlong-1877-2023-department.
SET_ID = re.compile(r"[a-z0-9][a-z0-9-]{0,99}")
EXIT_OK = 0
EXIT_ERRORS = 1


def _print_issues(issues: tuple[Issue, ...]) -> None:
    for issue in issues:
        print(issue.render())


def _check(args: argparse.Namespace) -> int:
    try:
        doc = load_any(Path(args.file))
        if isinstance(doc, FieldTable):
            return _check_field_table(doc)
        if isinstance(doc, Overlay):
            print(f"overlay {doc.decision} amends {doc.base_decision} ({len(doc.changes)} change(s))")
            return EXIT_OK
        cset: CriteriaSet = doc
        if args.overlay or args.year is not None:
            year = args.year if args.year is not None else cset.years[0]
            cset = resolve(cset, [load_overlay(Path(p)) for p in args.overlay], year)
    except CriteriaLoadError as exc:
        _print_issues(exc.issues)
        return EXIT_ERRORS
    except CriteriaError as exc:
        print(f"error: {exc}")
        return EXIT_ERRORS
    report = validate(cset)
    _print_issues(report.issues)
    decisions = " + ".join(cset.decisions)
    print(
        f"{decisions} ({cset.level.value}, {', '.join(map(str, cset.years))}): "
        f"{len(report.errors)} error(s), {len(report.warnings)} warning(s)"
    )
    return EXIT_OK if report.ok else EXIT_ERRORS


def _check_field_table(table: FieldTable) -> int:
    report = validate_field_table(table)
    _print_issues(report.issues)
    print(
        f"field table {table.decision} ({table.scope.value}: not a level scored here; never scored): "
        f"{len(table.fields)} fields, {len(report.errors)} error(s), {len(report.warnings)} warning(s)"
    )
    return EXIT_OK if report.ok else EXIT_ERRORS


def _apply(args: argparse.Namespace) -> int:
    """Write the set in force for one year: the base with the overlays covering it (seed 000)."""
    try:
        cset = load_set(Path(args.base))
        overlays = [load_overlay(Path(p)) for p in args.overlay]
        year = args.year if args.year is not None else overlays[0].years[0]
        amended = resolve(cset, overlays, year)
    except CriteriaLoadError as exc:
        _print_issues(exc.issues)
        return EXIT_ERRORS
    except CriteriaError as exc:
        print(f"error: {exc}")
        return EXIT_ERRORS
    report = validate(amended)
    _print_issues(report.issues)
    if not report.ok:
        print(f"{len(report.errors)} error(s); nothing written", file=sys.stderr)
        return EXIT_ERRORS
    Path(args.output).write_text(dump_set(amended), encoding="utf-8")
    decisions = " + ".join(amended.decisions)
    print(f"wrote {args.output}: {decisions} for {year}, {len(report.warnings)} warning(s)")
    return EXIT_OK


def _import(args: argparse.Namespace) -> int:
    """An appendix table (.xlsx, .csv, .docx) as published to a set (README, "Importing an
    appendix"); nothing is written when there is an error."""
    meta = SetMeta(
        issuer=args.issuer or "",
        decision=args.decision or "",
        decision_date=args.decision_date or "",
        level=Level(args.level) if args.level else None,
        years=tuple(args.year or ()),
        total_basis=args.total_basis or "",
    )
    result = import_file(
        Path(args.file), meta, template=args.template, appendix=args.appendix, sheet=args.sheet
    )
    _print_issues(result.report.issues)
    if not result.report.ok:
        print(f"{len(result.report.errors)} error(s); nothing written", file=sys.stderr)
        return EXIT_ERRORS
    cset = result.cset
    output = Path(args.output)
    if args.id is not None and not SET_ID.fullmatch(args.id):
        print(f"error: --id {args.id!r}: lowercase letters, digits and '-' only", file=sys.stderr)
        return EXIT_ERRORS
    if output.is_dir():
        output = output / f"{args.id or suggested_id(cset)}.yaml"
    elif args.id:
        print("error: --id names the file only when -o is a directory", file=sys.stderr)
        return EXIT_ERRORS
    if output.exists() and not args.force:
        print(f"error: {output} exists; nothing written (give --force to replace it)", file=sys.stderr)
        return EXIT_ERRORS
    try:
        output.write_text(dump_set(cset), encoding="utf-8")
    except OSError as exc:
        print(f"error: cannot write {output}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_ERRORS
    leaves = sum(1 for _ in cset.leaves())
    kind = "TEMPLATE (not scorable): " + "; ".join(result.incomplete) if cset.is_template else "complete set"
    print(f"wrote {output}: {kind}; {leaves} leaves, {len(result.report.warnings)} warning(s)")
    return EXIT_OK


def _export(args: argparse.Namespace) -> int:
    try:
        cset = load_set(Path(args.file))
    except CriteriaLoadError as exc:
        _print_issues(exc.issues)
        return EXIT_ERRORS
    export_xlsx(cset, Path(args.output))
    print(f"wrote {args.output}")
    return EXIT_OK


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("criteria", help="criteria sets: check, apply, import, export")
    commands = parser.add_subparsers(dest="criteria_command", required=True)

    check = commands.add_parser("check", help="validate a criteria set (YAML); exit 1 on errors")
    check.add_argument("file")
    check.add_argument("--overlay", action="append", default=[], help="overlay YAML to apply (repeatable)")
    check.add_argument("--year", type=int, help="resolve overlays for this year")
    check.set_defaults(func=_check)

    amend = commands.add_parser("apply", help="write a base set amended by overlays for one year")
    amend.add_argument("base")
    amend.add_argument("overlay", nargs="+", help="overlay YAML files, applied in order")
    amend.add_argument("--year", type=int, help="year to resolve (default: first overlay's first year)")
    amend.add_argument("-o", "--output", required=True)
    amend.set_defaults(func=_apply)

    imp = commands.add_parser(
        "import",
        help="import a criteria appendix table (.xlsx, .csv, .docx) as provinces publish it into YAML",
    )
    imp.add_argument("file")
    imp.add_argument(
        "-o", "--output", required=True, help="YAML file, or a directory (the file is then <id>.yaml)"
    )
    imp.add_argument(
        "--id", help="set id (file stem) when -o is a directory; default like vinhlong-1877-2023-department"
    )
    imp.add_argument("--issuer", help="e.g. 'UBND tỉnh Vĩnh Long' (when the title block does not say)")
    imp.add_argument("--decision", help="e.g. 1877/QĐ-UBND (when the title block does not say)")
    imp.add_argument("--decision-date", help="YYYY-MM-DD")
    imp.add_argument("--level", choices=[lv.value for lv in Level])
    imp.add_argument("--year", type=int, action="append", help="a year the set scores (repeatable)")
    imp.add_argument("--total-basis", help="where the decision fixes a total other than 100")
    imp.add_argument(
        "--appendix",
        type=int,
        help="which appendix when the file holds several (Phụ lục I, II, III): 1, 2, 3",
    )
    imp.add_argument("--sheet", help="the workbook sheet to read (default 'Tiêu chí', else the first)")
    imp.add_argument("--force", action="store_true", help="replace the output file when it exists")
    imp.add_argument(
        "--template",
        action="store_true",
        help="a table that cannot be proven complete (a fragment) is written as a template set",
    )
    imp.set_defaults(func=_import)

    exp = commands.add_parser("export", help="export a criteria set (YAML) to xlsx")
    exp.add_argument("file")
    exp.add_argument("-o", "--output", required=True)
    exp.set_defaults(func=_export)
