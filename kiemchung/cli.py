"""The `kiemchung` console script: one entry point, sub-commands registered by each package."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from pydantic import ValidationError
from pydantic_settings import SettingsError

from contracts.registry import summarise
from contracts.routing import Service
from kiemchung.runtime.settings import DEFAULT_ENV_FILE, Settings

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


def _cmd_demo(args: argparse.Namespace) -> int:
    from kiemchung.demo import run_demo

    return run_demo(workdir=Path(args.workdir), as_json=args.json, units=args.units)


def _cmd_worker(args: argparse.Namespace) -> int:
    from kiemchung.bootstrap import build_worker_app
    from kiemchung.runtime import logs, tracing
    from kiemchung.runtime.settings import get_settings

    settings = get_settings()
    logs.configure(json_lines=settings.log_json)
    if settings.trace_file is not None:
        tracing.install_file_exporter(str(settings.trace_file))
    app = build_worker_app(Service(args.service), settings)
    asyncio.run(app.run())
    return EXIT_OK


def _cmd_db_upgrade(args: argparse.Namespace) -> int:
    from kiemchung.runtime.migrate import upgrade
    from kiemchung.runtime.settings import get_settings

    url = args.url or get_settings().resolved_database_url()
    upgrade(url)
    print(f"database schema is at head: {url.split('@')[-1]}")
    return EXIT_OK


def _cmd_asyncapi(args: argparse.Namespace) -> int:
    from kiemchung.asyncapi import asyncapi_document

    text = json.dumps(asyncapi_document(), ensure_ascii=False, indent=2, sort_keys=True) + "\n"
    if args.write:
        Path(args.write).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return EXIT_OK


def _cmd_reindex(args: argparse.Namespace) -> int:
    from kiemchung.runtime.db import make_engine, session_factory
    from kiemchung.runtime.settings import get_settings
    from services.indexer.configured import build_search_index
    from services.indexer.handlers import reindex_from_store

    settings = get_settings()
    index = build_search_index(settings)
    sessions = session_factory(make_engine(settings.resolved_database_url()))
    with sessions() as session:
        count = reindex_from_store(session, index)
    index.close()
    print(f"reindexed {count} evidence entries into a new generation, now live")
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    from criteria.cli import register as register_criteria
    from kiemchung.dlq import register as register_dlq
    from kiemchung.ingress.cli import register as register_ingress
    from kiemchung.serve import register as register_serve
    from services.evidence_verifier.cli import register as register_verify
    from services.evidence_verifier.register.cli import register as register_evidence_register
    from services.indexer.cli import register as register_search
    from services.scoring.cli import register as register_scoring

    parser = argparse.ArgumentParser(
        prog="kiemchung",
        description="Verified evidence and live scores for the provincial administrative-reform index.",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="build a demo province in one process and show verdicts and scores")
    demo.add_argument("--json", action="store_true", help="print the result as JSON")
    demo.add_argument("--workdir", default="var/demo", help="where the demo writes its files")
    demo.add_argument("--units", type=int, default=4, choices=range(3, 6), help="units in the demo (3-5)")
    demo.set_defaults(func=_cmd_demo)

    worker = sub.add_parser("worker", help="run one service as a FastStream worker on RabbitMQ")
    worker.add_argument("service", choices=[s.value for s in Service])
    worker.set_defaults(func=_cmd_worker)

    db = sub.add_parser("db", help="database schema")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    upgrade = db_sub.add_parser("upgrade", help="apply Alembic migrations (distributed runtime)")
    upgrade.add_argument("--url", help="SQLAlchemy URL; default from KIEMCHUNG_DATABASE_URL")
    upgrade.set_defaults(func=_cmd_db_upgrade)

    asyncapi = sub.add_parser("asyncapi", help="print the AsyncAPI document of the workers")
    asyncapi.add_argument("--write", help="write it to this file instead")
    asyncapi.set_defaults(func=_cmd_asyncapi)

    reindex = sub.add_parser("reindex", help="rebuild the search index from stored verdicts, no downtime")
    reindex.set_defaults(func=_cmd_reindex)

    register_verify(sub)
    register_search(sub)
    register_criteria(sub)
    register_scoring(sub)
    register_serve(sub)
    register_ingress(sub)
    register_evidence_register(sub)
    register_dlq(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0) if isinstance(exc.code, int) else EXIT_USAGE
    try:
        code: int = args.func(args)
    except OSError as exc:
        # The last guard: a file or directory the command cannot use is a message, not a
        # traceback (commands report their own input errors with reason codes first).
        where = f" {exc.filename}" if exc.filename else ""
        print(f"kiemchung: error:{where}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_FAILED
    except (SettingsError, ValidationError) as exc:
        # A KIEMCHUNG_* variable or env-file line that does not parse: say which, not a traceback.
        if isinstance(exc, ValidationError) and exc.title != Settings.__name__:
            raise
        detail = summarise(exc) if isinstance(exc, ValidationError) else str(exc)
        print(
            f"kiemchung: bad_setting: {detail} (KIEMCHUNG_* environment or {DEFAULT_ENV_FILE})",
            file=sys.stderr,
        )
        return EXIT_USAGE
    return code


if __name__ == "__main__":
    raise SystemExit(main())
