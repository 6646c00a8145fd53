"""`kiemchung register ISSUER --year Y`: an issuer's numbers for a year, with gaps and anomalies.
Without ISSUER: the issuers of the year and how many anomalies each has."""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

from sqlalchemy import inspect, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from kiemchung.runtime.db import make_engine, session_factory
from kiemchung.runtime.settings import get_settings
from services.evidence_verifier.register.store import register_entries
from services.evidence_verifier.register.views import (
    display_name,
    issuer_year,
    issuers_matching,
    render,
    to_json,
)

EXIT_OK, EXIT_NOT_FOUND, EXIT_USAGE, EXIT_UNAVAILABLE = 0, 1, 2, 3
SQLITE_PREFIX = "sqlite:///"
YEAR_MIN, YEAR_MAX = 2000, 2100


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "register", help="the province-wide evidence register: an issuer's numbers, gaps and anomalies"
    )
    parser.add_argument(
        "issuer", nargs="?", help='the issuing body, e.g. "Sở Nội vụ" (part of its name will do)'
    )
    parser.add_argument(
        "--year", type=int, required=True, help="the numbering year (the documents' issue year)"
    )
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.add_argument("--db", help="SQLAlchemy URL of the state database; default from the settings")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if not YEAR_MIN <= args.year <= YEAR_MAX:
        print(f"kiemchung register: --year must be between {YEAR_MIN} and {YEAR_MAX}", file=sys.stderr)
        return EXIT_USAGE
    url = args.db or get_settings().resolved_database_url()
    if url.startswith(SQLITE_PREFIX) and not Path(url.removeprefix(SQLITE_PREFIX)).is_file():
        print(f"kiemchung register: no database at {url.removeprefix(SQLITE_PREFIX)}", file=sys.stderr)
        return EXIT_UNAVAILABLE
    engine = make_engine(url)
    try:
        if not inspect(engine).has_table(register_entries.name):
            print(
                "kiemchung register: this database has no evidence register (kiemchung db upgrade)",
                file=sys.stderr,
            )
            return EXIT_UNAVAILABLE
        with session_factory(engine)() as session:
            return _run(session, args)
    except SQLAlchemyError as exc:  # unreachable server, permissions: a message, not a traceback
        print(f"kiemchung register: cannot read the register: {type(exc).__name__}", file=sys.stderr)
        return EXIT_UNAVAILABLE
    finally:
        engine.dispose()


def _run(session: Session, args: argparse.Namespace) -> int:
    t = register_entries
    live = (t.c.removed.is_(False), t.c.number_year == args.year, t.c.issuer.is_not(None))
    if not args.issuer:
        found_rows = session.execute(select(t.c.issuer, t.c.findings, t.c.organisations).where(*live)).all()
        links = Counter(r.issuer for r in found_rows)
        flagged = Counter(r.issuer for r in found_rows if r.findings)
        names = {i: display_name([dict(r._mapping) for r in found_rows if r.issuer == i], i) for i in links}
        summary = [{"issuer": names[i], "links": links[i], "flagged": flagged[i]} for i in sorted(links)]
        if args.json:
            print(json.dumps(summary, ensure_ascii=False, indent=2))
        else:
            for s in summary:
                print(f"{s['links']:>6} links {s['flagged']:>5} flagged  {s['issuer']}")
        return EXIT_OK
    issuers = session.execute(select(t.c.issuer).where(*live).distinct()).scalars().all()
    found = issuers_matching([i for i in issuers if i], args.issuer)
    if len(found) != 1:
        what = "no issuer" if not found else f"{len(found)} issuers ({'; '.join(found[:10])})"
        print(f"kiemchung register: {what} match {args.issuer!r} in {args.year}", file=sys.stderr)
        return EXIT_NOT_FOUND
    rows = session.execute(select(t).where(*live, t.c.issuer == found[0])).mappings().all()
    view = issuer_year(found[0], args.year, [dict(r) for r in rows])
    print(json.dumps(to_json(view), ensure_ascii=False, indent=2) if args.json else render(view))
    return EXIT_OK
