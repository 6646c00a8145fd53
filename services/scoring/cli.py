"""`kiemchung replay`, `ledger export`, `export xlsx`, `import`, `correct`, `apikey new` (serve,
openapi: kiemchung/serve.py)."""

from __future__ import annotations

import argparse
import json
import sys
from decimal import Decimal
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from contracts.vocabulary import Level
from kiemchung.runtime.db import make_engine, session_factory
from kiemchung.runtime.settings import get_settings
from services.scoring.replay import export_ledger, replay_file
from services.scoring.service import CriteriaCatalogue, load_catalogue

EXIT_OK = 0
EXIT_REFUSED = 1
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_BAD_INPUT = 2
PUBLISH_PRODUCER = "province.registry"
# The embedded runtime's database file inside KIEMCHUNG_DATA_DIR (settings.resolved_database_url).
STATE_DB = "kiemchung.db"


def _replay(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from services.scoring.replay import IN_MEMORY, ReplayLineError

    catalogue = load_catalogue(Path(args.criteria_dir) if args.criteria_dir else get_settings().criteria_dir)
    url = IN_MEMORY
    if args.into:
        into = Path(args.into)
        state = into / STATE_DB
        if state.exists():
            print(f"{state} exists: replay into an empty directory", file=sys.stderr)
            return EXIT_BAD_INPUT
        into.mkdir(parents=True, exist_ok=True)
        url = f"sqlite:///{state}"
    try:
        report = replay_file(Path(args.ledger), catalogue, url)
    except ReplayLineError as exc:
        print(f"{args.ledger}:{exc.line}: {exc.reason}: {exc.detail}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except OSError as exc:
        print(f"{args.ledger}: {exc.strerror}", file=sys.stderr)
        return EXIT_BAD_INPUT
    if args.json:
        body = {"scores": report.scores, "refused": [asdict(r) for r in report.refused]}
        print(json.dumps(body, ensure_ascii=False, indent=2))
    else:
        for score in report.scores:
            rank = "-" if score["rank"] is None else str(score["rank"])
            flag = "" if score["ranked"] else "  (không xếp hạng)"
            shown = score.get("index_text") or score["index_display"]
            band = f"  {score['band']}" if score.get("band") else ""
            print(
                f"{score['unit_id']:<20} {score['year']} {score['level']:<10} rank {rank:>4}  "
                f"index {shown}{band}{flag}"
            )
    for refused in report.refused:
        where = f"{args.ledger}:{refused.line}"
        print(f"{where}: refused {refused.event_type} {refused.unit_id}: {refused.reason}", file=sys.stderr)
    if args.into:
        print(
            f"state written to {args.into} (KIEMCHUNG_DATA_DIR={args.into} kiemchung serve)", file=sys.stderr
        )
    return EXIT_REFUSED if report.refused else EXIT_OK


def _export(args: argparse.Namespace) -> int:
    url = args.database_url or get_settings().resolved_database_url()
    sessions = session_factory(make_engine(url))
    out = open(args.output, "w", encoding="utf-8") if args.output else sys.stdout  # noqa: SIM115
    try:
        with sessions() as session:
            for line in export_ledger(session):
                out.write(line + "\n")
    finally:
        if out is not sys.stdout:
            out.close()
    return EXIT_OK


def _export_xlsx(args: argparse.Namespace) -> int:
    from services.scoring.export import build_workbook
    from services.scoring.handlers import load_units

    settings = get_settings()
    url = args.database_url or settings.resolved_database_url()
    sessions = session_factory(make_engine(url))
    catalogue = load_catalogue(Path(args.criteria_dir) if args.criteria_dir else settings.criteria_dir)
    with sessions() as session:
        book = build_workbook(session, catalogue, Level(args.level).value, args.year, load_units(session))
        _report_published_changes(session, catalogue, args.year)
    try:
        book.save(args.output)
    except OSError as exc:
        print(f"kiemchung export xlsx: cannot write {args.output}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_FAILED
    print(f"wrote {args.output}: {len(book.sheetnames) - 1} unit sheet(s) and the ranking")
    return EXIT_OK


def _report_published_changes(session: Session, catalogue: CriteriaCatalogue, year: int | None) -> None:
    """What the files now say otherwise about a published year: reported, never applied."""
    from services.scoring.corrections import published_year_changes

    for change in published_year_changes(session, catalogue, year):
        print(change.render(), file=sys.stderr)


def _points(items: list[str]) -> list[tuple[str, str]]:
    out = []
    for item in items:
        code, sep, points = item.partition("=")
        if not sep or not code.strip() or not points.strip():
            raise ValueError(f"{item!r}: expected CODE=POINTS, e.g. 1.2=6.5")
        out.append((code.strip(), points.strip().replace(",", ".")))
    return out


def _refusal(reason: str | None, detail: str | None) -> str:
    """ "reason: detail" once: the stored detail often repeats the reason code."""
    detail = (detail or "").removeprefix(f"{reason}: ")
    return f"{reason}: {detail}" if detail and detail != reason else str(reason)


def _correct(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from contracts.registry import summarise
    from kiemchung.runtime.clock import random_ids, system_clock
    from kiemchung.runtime.db import create_schema
    from kiemchung.runtime.messaging import EventFactory
    from services.scoring.corrections import (
        CORRECTION_PRODUCER,
        CorrectionRequest,
        correction_event,
        submit_correction,
    )

    settings = get_settings()
    try:
        request = CorrectionRequest.model_validate(
            {
                "decision_number": args.decision,
                "reason": args.reason,
                "points": [{"criterion_code": c, "points": p} for c, p in _points(args.points or [])],
                "maximum": args.maximum,
                "not_applicable": None
                if args.not_applicable is None
                else [c for c in args.not_applicable.replace(";", ",").split(",") if c.strip()],
                "ranked": None if args.ranked is None else args.ranked == "yes",
            }
        )
        event = correction_event(
            EventFactory(CORRECTION_PRODUCER, system_clock, random_ids),
            args.unit,
            args.year,
            request,
            args.by,
        )
    except ValidationError as exc:
        print(f"kiemchung correct: bad_input: {summarise(exc)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except ValueError as exc:
        print(f"kiemchung correct: bad_input: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    engine = make_engine(args.database_url or settings.resolved_database_url())
    create_schema(engine)
    catalogue = load_catalogue(Path(args.criteria_dir) if args.criteria_dir else settings.criteria_dir)
    shown: dict[str, str | None] = {"index_text": None, "band": None}
    try:
        sessions = session_factory(engine)
        result = submit_correction(event, sessions, catalogue, system_clock, random_ids)
        if result.accepted and result.index:
            shown = _as_published(sessions, catalogue, args.unit, args.year, Decimal(result.index))
    finally:
        engine.dispose()
    if args.json:
        print(json.dumps({**result.__dict__, **shown}, ensure_ascii=False, indent=2))
    if not result.accepted:
        print(f"{args.unit} {args.year}: refused: {_refusal(result.reason, result.detail)}", file=sys.stderr)
        return EXIT_REFUSED
    if not args.json:
        band = f" ({shown['band']})" if shown["band"] else ""
        index = shown["index_text"] or result.index
        print(f"{args.unit} {args.year}: corrected by {args.decision}: index {index}{band}")
    return EXIT_OK


def _as_published(
    sessions: sessionmaker[Session], catalogue: CriteriaCatalogue, unit_id: str, year: int, index: Decimal
) -> dict[str, str | None]:
    """The index as the province prints that year (a published year: as it was published)."""
    from services.scoring.display import shown_rules
    from services.scoring.handlers import load_unit

    with sessions() as session:
        unit = load_unit(session, unit_id)
        if unit is None:
            return {"index_text": None, "band": None}
        rules = shown_rules(session, catalogue, unit.level, year)
    return {"index_text": rules.text(index), "band": rules.band(index)}


def _publish(args: argparse.Namespace) -> int:
    """The province publishes a level's results for a year (seeds 003/004: "công bố"), as the
    province page's publish form does: after it, the year changes only by a correction."""
    import asyncio
    import uuid

    from pydantic import ValidationError
    from sqlalchemy import func, select

    from contracts.events import Published
    from contracts.registry import summarise
    from kiemchung.runtime.clock import random_ids, system_clock
    from kiemchung.runtime.db import create_schema
    from kiemchung.runtime.messaging import EventFactory
    from services.scoring.commands import scoring_runtime, submit_command
    from services.scoring.handlers import NO_RESULT
    from services.scoring.store import scores

    settings = get_settings()
    try:
        event = EventFactory(PUBLISH_PRODUCER, system_clock, random_ids).make(
            Published,
            correlation_id=uuid.uuid4(),
            year=args.year,
            level=Level(args.level),
            decision_number=args.decision,
        )
    except ValidationError as exc:
        print(f"kiemchung publish: bad_input: {summarise(exc)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    engine = make_engine(args.database_url or settings.resolved_database_url())
    create_schema(engine)
    sessions = session_factory(engine)
    catalogue = load_catalogue(Path(args.criteria_dir) if args.criteria_dir else settings.criteria_dir)
    try:
        runtime = scoring_runtime(catalogue, sessions, system_clock, random_ids)
        answer = asyncio.run(submit_command(runtime, sessions, event))
        with sessions() as session:
            counts = session.execute(
                select(scores.c.index_value == NO_RESULT, func.count())
                .where(scores.c.level == args.level, scores.c.year == args.year)
                .group_by(scores.c.index_value == NO_RESULT)
            ).all()
    finally:
        engine.dispose()
    if not answer.accepted:
        print(f"kiemchung publish: refused: {_refusal(answer.reason, answer.detail)}", file=sys.stderr)
        return EXIT_REFUSED
    no_result = sum(n for empty, n in counts if empty)
    with_result = sum(n for empty, n in counts if not empty)
    print(
        f"{args.level} {args.year}: published by {args.decision}: {with_result} unit(s) with a result, "
        f"{no_result} with no result"
    )
    return EXIT_OK


def _new_key(args: argparse.Namespace) -> int:
    from services.scoring.access import ApiKey, Role, hash_key, key_entry, new_key

    plaintext = new_key()
    try:
        entry = ApiKey(
            name=args.name, sha256=hash_key(plaintext), role=Role(args.role), scope=args.scope or ""
        )
    except ValueError as exc:  # e.g. a unit or appraiser key without --scope
        print(f"kiemchung apikey new: {exc} (give --scope)", file=sys.stderr)
        return EXIT_USAGE
    print(f"key (give it to its holder; it is not stored): {plaintext}", file=sys.stderr)
    print(json.dumps(key_entry(entry), ensure_ascii=False))
    return EXIT_OK


def _import(args: argparse.Namespace) -> int:
    from kiemchung.runtime.clock import random_ids, system_clock
    from kiemchung.runtime.db import create_schema
    from services.scoring.importer import ImportKind, ImportOptions, file_refusal, run_import
    from services.scoring.tables import TableError, read_table

    settings = get_settings()
    path = Path(args.file)
    try:
        sheets = read_table(path)
    except TableError as exc:
        print(file_refusal(exc, path.name).render(), file=sys.stderr)
        return EXIT_REFUSED
    engine = make_engine(args.database_url or settings.resolved_database_url())
    create_schema(engine)
    catalogue = load_catalogue(Path(args.criteria_dir) if args.criteria_dir else settings.criteria_dir)
    options = ImportOptions(
        year=args.year,
        source=args.source or path.name,
        actor=args.by,
        level=args.level or "",
        council_id=args.council or "",
        criteria_set=args.criteria_set or "",
    )
    plan = run_import(
        ImportKind(args.kind),
        sheets,
        path.name,
        session_factory(engine),
        catalogue,
        system_clock,
        random_ids,
        options,
        dry_run=args.dry_run,
    )
    engine.dispose()
    recorded = 0 if plan.refusals or args.dry_run else len(plan.events)
    if args.json:
        print(
            json.dumps(
                {
                    "kind": plan.kind.value,
                    "rows": plan.rows,
                    "events": recorded,
                    "dry_run": args.dry_run,
                    "would_record": len(plan.events),
                    "refused": [r.__dict__ for r in plan.refusals],
                    "notes": [n.__dict__ for n in plan.notes],
                    "planned": [{**p.__dict__, "points": str(p.points)} for p in plan.planned],
                },
                ensure_ascii=False,
                indent=2,
            )
        )
    elif args.dry_run:
        for planned in plan.planned:
            print(planned.render())
    for note in plan.notes:
        print(f"note: {note.render()}", file=sys.stderr)
    for refusal in plan.refusals:
        print(refusal.render(), file=sys.stderr)
    if plan.refusals:
        print(f"{path.name}: {len(plan.refusals)} refusal(s); nothing imported", file=sys.stderr)
        return EXIT_REFUSED
    if args.dry_run:
        if not args.json:
            print(
                f"{path.name}: dry run: {plan.rows} row(s) read, {len(plan.events)} event(s) would be "
                "recorded; nothing written"
            )
        return EXIT_OK
    if not args.json:
        print(f"{path.name}: {plan.rows} row(s) read, {len(plan.events)} event(s) recorded")
    return EXIT_OK


def _compare(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from services.scoring.compare import run_compare
    from services.scoring.tables import TableError, read_table

    settings = get_settings()
    path = Path(args.file)
    try:
        sheets = read_table(path)
    except TableError as exc:
        print(f"{path.name}: {exc.reason.value}: {exc.detail}", file=sys.stderr)
        return EXIT_REFUSED
    catalogue = load_catalogue(Path(args.criteria_dir) if args.criteria_dir else settings.criteria_dir)
    engine = make_engine(args.database_url or settings.resolved_database_url())
    with session_factory(engine)() as session:
        result = run_compare(sheets, session, catalogue, args.year)
    engine.dispose()
    if args.json:
        body = {
            "compared": result.compared,
            "agreeing": result.agreeing,
            "differences": [asdict(d) for d in result.differences],
            "notes": list(result.notes),
        }
        print(json.dumps(body, ensure_ascii=False, indent=2))
    else:
        for difference in result.differences:
            print(difference.render())
        print(
            f"{path.name}: {result.compared} published row(s) compared with {args.year}: "
            f"{result.agreeing} agree, {len(result.differences)} difference(s)"
        )
    for note in result.notes:
        print(f"note: {note}", file=sys.stderr)
    return EXIT_OK if result.ok else EXIT_REFUSED


def _export_units(args: argparse.Namespace) -> int:
    import csv

    from services.scoring.handlers import load_units
    from services.scoring.importer import UNITS_SHEET, units_table

    url = args.database_url or get_settings().resolved_database_url()
    with session_factory(make_engine(url))() as session:
        rows = units_table(load_units(session))
    if args.output.lower().endswith(".csv"):
        with open(args.output, "w", encoding="utf-8", newline="") as handle:
            csv.writer(handle).writerows(rows)
    else:
        from openpyxl import Workbook

        book = Workbook()
        sheet = book.active
        assert sheet is not None
        sheet.title = UNITS_SHEET
        for row in rows:
            sheet.append(row)
        book.save(args.output)
    print(f"wrote {args.output}: {len(rows) - 1} unit(s)")
    return EXIT_OK


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    replay = subparsers.add_parser("replay", help="rebuild every score from a ledger (JSON lines)")
    replay.add_argument("ledger", help="a file written by `kiemchung ledger export`")
    replay.add_argument("--json", action="store_true")
    replay.add_argument("--criteria-dir", help="extra criteria sets (YAML)")
    replay.add_argument(
        "--into", help="write the replayed state here (a KIEMCHUNG_DATA_DIR to serve or export)"
    )
    replay.set_defaults(func=_replay)

    ledger = subparsers.add_parser("ledger", help="the scoring ledger")
    ledger_sub = ledger.add_subparsers(dest="ledger_command", required=True)
    export = ledger_sub.add_parser("export", help="write units and ledger events as JSON lines")
    export.add_argument("-o", "--output")
    export.add_argument("--database-url")
    export.set_defaults(func=_export)

    exports = subparsers.add_parser("export", help="export scores")
    exports_sub = exports.add_subparsers(dest="export_command", required=True)
    xlsx = exports_sub.add_parser("xlsx", help="the appendix workbook: a sheet per unit and the ranking")
    xlsx.add_argument("--year", type=int, required=True)
    xlsx.add_argument("--level", required=True, choices=[level.value for level in Level])
    xlsx.add_argument("-o", "--output", required=True)
    xlsx.add_argument("--database-url")
    xlsx.add_argument("--criteria-dir", help="criteria sets and the province's rules (provinces/*.yaml)")
    xlsx.set_defaults(func=_export_xlsx)

    units = exports_sub.add_parser("units", help="the units table that `import units` reads (.xlsx or .csv)")
    units.add_argument("-o", "--output", required=True)
    units.add_argument("--database-url")
    units.set_defaults(func=_export_units)

    imports = subparsers.add_parser(
        "import", help="load a province's table (units, appraisals, survey results): all rows or none"
    )
    imports.add_argument("kind", choices=["units", "appraisals", "survey"])
    imports.add_argument(
        "file",
        help=".xlsx (a sheet per unit as `export xlsx` writes it, or the province's own table) or "
        ".csv / .txt (UTF-8 or Excel's Unicode text)",
    )
    imports.add_argument("--year", type=int, help="the scored year (else read from each sheet's title)")
    imports.add_argument("--source", help="survey source, e.g. 'SIPAS 2024' (default: the file name)")
    imports.add_argument("--by", default="kiemchung.import", help="who records the appraisals")
    imports.add_argument("--database-url")
    imports.add_argument("--criteria-dir", help="extra criteria sets (YAML)")
    imports.add_argument("--json", action="store_true")
    imports.add_argument(
        "--dry-run",
        action="store_true",
        help="print what would be recorded and every refusal; write nothing (exit 1 on refusal)",
    )
    imports.add_argument(
        "--level", choices=[level.value for level in Level], help="units: when no 'Cấp' column"
    )
    imports.add_argument("--council", help="units: the appraisal council when no 'Hội đồng thẩm định' column")
    imports.add_argument("--criteria-set", help="units: the criteria set when no 'Bộ tiêu chí' column")
    imports.set_defaults(func=_import)

    publish = subparsers.add_parser(
        "publish", help="publish a level's results for a year (after it, only corrections change them)"
    )
    publish.add_argument("--year", type=int, required=True)
    publish.add_argument("--level", required=True, choices=[level.value for level in Level])
    publish.add_argument("--decision", required=True, help="the publishing decision, e.g. 312/QĐ-UBND")
    publish.add_argument("--database-url")
    publish.add_argument("--criteria-dir", help="criteria sets and the province's rules")
    publish.set_defaults(func=_publish)

    correct = subparsers.add_parser(
        "correct", help="correct a published result by the province's decision (ResultCorrected)"
    )
    correct.add_argument("unit", help="the unit id")
    correct.add_argument("--year", type=int, required=True, help="the published year")
    correct.add_argument("--decision", required=True, help="the correcting decision, e.g. 215/QĐ-UBND")
    correct.add_argument("--reason", required=True, help="why (kept in the ledger and shown)")
    correct.add_argument("--points", nargs="*", metavar="CODE=POINTS", help="corrected points per leaf")
    correct.add_argument("--maximum", help="the applicable maximum as corrected (e.g. 84)")
    correct.add_argument("--not-applicable", help="the codes not scored, as corrected ('' for none)")
    correct.add_argument("--ranked", choices=["yes", "no"], help="ranked that year, as corrected")
    correct.add_argument("--by", default="kiemchung.correct", help="who records the correction")
    correct.add_argument("--database-url")
    correct.add_argument("--criteria-dir", help="criteria sets and the province's rules")
    correct.add_argument("--json", action="store_true")
    correct.set_defaults(func=_correct)

    compare = subparsers.add_parser(
        "compare",
        help="compare our index and rank per unit with a province's published ranking table",
    )
    compare.add_argument(
        "file", help="the published table (.xlsx or .csv): Đơn vị, Tổng điểm, Chỉ số, Xếp hạng"
    )
    compare.add_argument("--year", type=int, required=True)
    compare.add_argument("--database-url")
    compare.add_argument("--criteria-dir", help="criteria sets and the province's rules (provinces/*.yaml)")
    compare.add_argument("--json", action="store_true")
    compare.set_defaults(func=_compare)

    apikey = subparsers.add_parser("apikey", help="API keys")
    apikey_sub = apikey.add_subparsers(dest="apikey_command", required=True)
    new = apikey_sub.add_parser("new", help="make a key; prints the key file entry (hash only)")
    new.add_argument("--name", required=True)
    new.add_argument("--role", required=True, choices=["unit", "appraiser", "province"])
    new.add_argument("--scope", help="unit id (unit) or council id (appraiser)")
    new.set_defaults(func=_new_key)
