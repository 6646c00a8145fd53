"""`kiemchung replay`, `ledger export`, `export xlsx`, `serve`, `openapi` and `apikey new`."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from contracts.vocabulary import Level
from kiemchung.db import make_engine, session_factory
from kiemchung.settings import get_settings
from services.scoring.replay import export_ledger, replay_file
from services.scoring.service import load_catalogue

EXIT_OK = 0
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000


def _replay(args: argparse.Namespace) -> int:
    catalogue = load_catalogue(Path(args.criteria_dir) if args.criteria_dir else get_settings().criteria_dir)
    results = replay_file(Path(args.ledger), catalogue)
    if args.json:
        print(json.dumps(results, ensure_ascii=False, indent=2))
    else:
        for score in results:
            print(f"{score['unit_id']:<20} {score['year']}  v{score['version']:<4} index {score['index']}")
    return EXIT_OK


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
    catalogue = load_catalogue(settings.criteria_dir)
    with sessions() as session:
        book = build_workbook(session, catalogue, Level(args.level).value, args.year, load_units(session))
    book.save(args.output)
    print(f"wrote {args.output}: {len(book.sheetnames) - 1} unit sheet(s) and the ranking")
    return EXIT_OK


def _build_app_from_settings() -> object:
    from kiemchung.api import serving_app
    from kiemchung.clock import system_clock

    return serving_app(get_settings(), clock=system_clock)


def _serve(args: argparse.Namespace) -> int:
    import logging

    import uvicorn

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    if get_settings().api_keys_file is None:
        logging.getLogger("kiemchung.api").warning(
            "KIEMCHUNG_API_KEYS_FILE is not set: every request gets 401"
        )
    uvicorn.run(_build_app_from_settings(), host=args.host, port=args.port)  # type: ignore[arg-type]
    return EXIT_OK


def _openapi(args: argparse.Namespace) -> int:
    from kiemchung.api import openapi_text

    text = openapi_text(_build_app_from_settings())  # type: ignore[arg-type]
    if args.write:
        Path(args.write).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return EXIT_OK


def _new_key(args: argparse.Namespace) -> int:
    from services.scoring.access import ApiKey, Role, hash_key, key_entry, new_key

    plaintext = new_key()
    entry = ApiKey(name=args.name, sha256=hash_key(plaintext), role=Role(args.role), scope=args.scope or "")
    print(f"key (give it to its holder; it is not stored): {plaintext}", file=sys.stderr)
    print(json.dumps(key_entry(entry), ensure_ascii=False))
    return EXIT_OK


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    replay = subparsers.add_parser("replay", help="rebuild every score from a ledger (JSON lines)")
    replay.add_argument("ledger", help="a file written by `kiemchung ledger export`")
    replay.add_argument("--json", action="store_true")
    replay.add_argument("--criteria-dir", help="extra criteria sets (YAML)")
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
    xlsx.set_defaults(func=_export_xlsx)

    serve = subparsers.add_parser("serve", help="run the HTTP API (scores, rankings, evidence, export)")
    serve.add_argument("--host", default=DEFAULT_HOST)
    serve.add_argument("--port", type=int, default=DEFAULT_PORT)
    serve.set_defaults(func=_serve)

    openapi = subparsers.add_parser("openapi", help="print the HTTP API's OpenAPI document")
    openapi.add_argument("--write", help="write it to this file instead")
    openapi.set_defaults(func=_openapi)

    apikey = subparsers.add_parser("apikey", help="API keys")
    apikey_sub = apikey.add_subparsers(dest="apikey_command", required=True)
    new = apikey_sub.add_parser("new", help="make a key; prints the key file entry (hash only)")
    new.add_argument("--name", required=True)
    new.add_argument("--role", required=True, choices=["unit", "appraiser", "province"])
    new.add_argument("--scope", help="unit id (unit) or council id (appraiser)")
    new.set_defaults(func=_new_key)
