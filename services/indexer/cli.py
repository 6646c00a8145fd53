"""`kiemchung search …`: evidence search from the command line (embedded FTS5 index)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, TextIO

from services.indexer.backends.fts5 import Fts5Index
from services.indexer.errors import IndexerError
from services.indexer.model import MAX_PAGE_SIZE, Decision, Hit, SearchQuery, SortOrder
from services.indexer.port import SearchIndex

DEFAULT_LIMIT = 20
EXIT_OK = 0
EXIT_BAD_QUERY = 2
EXIT_NO_INDEX = 3
MISSING = "—"


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("search", help="search linked evidence (tài liệu kiểm chứng)")
    parser.add_argument("query", metavar="QUERY", help='words (diacritics optional); "quotes" for a phrase')
    parser.add_argument("--criterion", help="criterion subtree, e.g. 1.1")
    parser.add_argument("--unit", action="append", default=[], help="unit id (repeatable)")
    parser.add_argument("--year", type=int)
    parser.add_argument("--decision", choices=[d.value for d in Decision])
    parser.add_argument("--number", help="document number prefix, e.g. 15/KH")
    parser.add_argument("--sort", choices=[s.value for s in SortOrder], default=SortOrder.RELEVANCE.value)
    parser.add_argument("--limit", type=int, default=DEFAULT_LIMIT, help=f"at most {MAX_PAGE_SIZE}")
    parser.add_argument("--json", action="store_true", help="one JSON object per hit")
    parser.add_argument("--db", type=Path, help="the SQLite file holding the index (default: from settings)")
    parser.set_defaults(func=run_search)


def run_search(args: argparse.Namespace, out: TextIO | None = None) -> int:
    stream = out or sys.stdout
    try:
        query = SearchQuery(
            text=args.query,
            criterion=args.criterion,
            unit_ids=frozenset(args.unit),
            year=args.year,
            decision=Decision(args.decision) if args.decision else None,
            number_prefix=args.number,
            sort=SortOrder(args.sort),
            page_size=args.limit,
        )
    except IndexerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_QUERY
    missing = _missing_index(args.db)
    if missing is not None:
        # Searching an index that was never built would answer "nothing found": say why instead.
        print(
            f"error: no search index at {missing} (run `kiemchung demo`, or set KIEMCHUNG_DATA_DIR)",
            file=sys.stderr,
        )
        return EXIT_NO_INDEX
    index = Fts5Index(args.db) if args.db else _configured_index()
    try:
        result = index.search(query)
    finally:
        index.close()
    for hit in result.hits:
        if args.json:
            print(json.dumps(hit_json(hit), ensure_ascii=False), file=stream)
        else:
            print(hit_text(hit), file=stream)
    if not args.json:
        print(f"({len(result.hits)} / {result.total})", file=stream)
    return EXIT_OK


def _missing_index(path: Path | None) -> Path | None:
    """The SQLite index file the search would open, when it does not exist (None otherwise)."""
    from kiemchung.runtime.settings import SearchBackend, get_settings

    if path is None:
        settings = get_settings()
        if settings.search_backend is not SearchBackend.SQLITE:
            return None
        path = settings.resolved_search_path()
    return None if path.is_file() else path


def _configured_index() -> SearchIndex:
    from kiemchung.runtime.settings import get_settings
    from services.indexer.configured import build_search_index

    return build_search_index(get_settings())


def hit_text(hit: Hit) -> str:
    e = hit.entry
    issued = e.issued_on.isoformat() if e.issued_on else MISSING
    head = f"{e.number or MISSING}  {issued}  {e.criterion_code}  {e.decision.value}  {e.unit_name}"
    return f"{head}\n  {hit.title.marked()}\n  {hit.snippet.marked()}\n  {e.link}"


def hit_json(hit: Hit) -> dict[str, Any]:
    e = hit.entry
    return {
        "link_id": e.link_id,
        "unit_id": e.unit_id,
        "unit_name": e.unit_name,
        "year": e.year,
        "criterion": e.criterion_code,
        "decision": e.decision.value,
        "reasons": list(e.reasons),
        "number": e.number,
        "issued_on": e.issued_on.isoformat() if e.issued_on else None,
        "title": e.title,
        "link": e.link,
        "score": hit.score,
        "exact": hit.exact,
        "title_highlighted": hit.title.marked(),
        "snippet": hit.snippet.marked(),
    }
