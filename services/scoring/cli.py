"""`kiemchung replay` and `kiemchung ledger export`."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from kiemchung.db import make_engine, session_factory
from kiemchung.settings import get_settings
from services.scoring.replay import export_ledger, replay_file
from services.scoring.service import load_catalogue

EXIT_OK = 0


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
