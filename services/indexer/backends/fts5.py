"""SQLite FTS5 backend: the embedded search index.

Each generation is five tables: `ev_<n>` (one row per link: metadata, version, live flag),
`ev_body_<n>` (the document text, stored once), `ev_fts_<n>` (FTS5, contentless, rowid =
ev.rid) indexing the exact text (NFC), the app-folded text and the filter tokens
(`fts5_query.meta_tokens`), and for facet counts `ev_fx_<n>` (rid → the row's facet values
packed into one integer) with `ev_fv_<n>` (each facet value's number; a unit's latest name is
its bucket label). FTS5's unicode61 tokenizer cannot fold đ → d, so the app folds
(`folding.fold`) and the tokenizer runs with remove_diacritics 0 on both column groups. The
table is contentless, so replacing or removing a row re-derives the old column values from
`ev_<n>` and `ev_body_<n>` for FTS5's 'delete' command.

The rowid is a recency key: (issued_on ordinal << 32) | sequence, undated rows at 0. FTS5
walks a MATCH in rowid order and stops at a LIMIT, so "newest first" costs only the rows
shown, and filters are tokens in the same MATCH: no per-row lookups of the metadata table.

Relevance: matching runs on the folded columns; rows whose exact columns carry the query's
diacritics sort first ("thể" above "thế"). Within that, one of three orders, chosen on the
first page and remembered by its cursor:
- up to `rank_limit` matches without filters: bm25 (title weighted above body), ties by
  link_id;
- up to `rank_limit` matches with filters (unit, level, year, criterion, decision, reason):
  more query words in the title first, then newest (ties: most recently indexed first).
  bm25's IDF reads the whole doclist of every phrase of the MATCH, the filter tokens
  included (a year's token is in half the corpus): 30-45 ms at 100,000 documents even for
  28 matches, while reading and matching the titles of the matches costs a few ms;
- above `rank_limit`: tiers only, newest first. Computing bm25 for every match is what
  makes a broad search slow (tens of thousands of rows at 100,000 documents).
Outside bm25 order (and when sorting by date) Hit.score counts the matched words shown
(title and snippet), title words weighted: bm25 of even one row costs as much as of all.

Threads: writes go through one connection guarded by a lock; a file index searches on a
connection of the calling thread in a read transaction (WAL: a snapshot), holding no lock, so
one slow search never blocks the others or the writer. The blocking methods may be called from
any thread, e.g. via asyncio.to_thread(); do not call them directly on a busy event loop. Every
search has a deadline (limits.SearchLimits), checked by SQLite's progress handler: past it
the search stops with QUERY_TIMEOUT.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from contracts.vocabulary import REGISTER_CODES
from services.indexer.backends.fts5_query import MatchPlan, Tier, match_plan, meta_tokens, with_reason
from services.indexer.cursor import INT, NUMBER, TEXT, Slot, decode_cursor, encode_cursor
from services.indexer.errors import IndexerError, IndexerErrorCode
from services.indexer.facets import buckets
from services.indexer.folding import fold, nfc, tokens
from services.indexer.limits import DEFAULT_LIMITS, SearchLimits
from services.indexer.model import (
    Decision,
    EvidenceEntry,
    Facet,
    FacetBucket,
    Hit,
    SearchQuery,
    SearchResult,
    SortOrder,
)
from services.indexer.port import rebuild_generation
from services.indexer.snippets import body_snippet, title_snippet
from services.indexer.textquery import ParsedText, parse_text

MEMORY = ":memory:"
BUSY_TIMEOUT_S = 30.0
# A bigger page cache keeps FTS5's segment merges and doclist reads in memory (KiB, negative).
CACHE_KIB = -65536
# bm25 weights for (title, body, extra, title_f, body_f, extra_f, meta): ranking uses the
# folded columns (a folded word found in an exact column is also in its folded twin); a title
# hit counts more than a body hit.
BM25_WEIGHTS = (0.0, 0.0, 0.0, 4.0, 1.0, 2.0, 0.0)
# Up to this many matches every row gets a bm25 score (~4 µs each) or, filtered, a title
# score; above it, tiered order.
RANK_LIMIT = 2_000
# Outside bm25 order, Hit.score counts matched words, a title word as much as this many.
TITLE_HIT_WEIGHT = 4.0
BULK_BATCH = 2_000
PREFIX_END = "\U0010ffff"
SEQUENCE_BITS = 32
SEQUENCE_MASK = (1 << SEQUENCE_BITS) - 1
CURSOR_RELEVANCE = "fts5:r"
CURSOR_TIERS = "fts5:t"
CURSOR_TITLE = "fts5:h"
CURSOR_DATE = "fts5:d"
# The key each cursor carries (cursor.decode_cursor refuses any other).
CURSOR_SHAPES: dict[str, tuple[Slot, ...]] = {
    CURSOR_RELEVANCE: (INT, NUMBER, TEXT),
    CURSOR_TIERS: (INT, INT),
    CURSOR_TITLE: (INT, INT, INT),
    CURSOR_DATE: (INT,),
}
# A row's facet values packed into one integer of `ev_fx_<n>`: each value is numbered per facet
# in `ev_fv_<n>` and takes this many bits (60 in all, below SQLite's signed 64-bit limit).
FACET_BITS = ((Facet.UNIT, 24), (Facet.CRITERION, 16), (Facet.DECISION, 4), (Facet.YEAR, 16))
META_CURRENT = "current_generation"
META_NEXT = "next_generation"
META_SEQUENCE = "sequence_"

_ENTRY_COLUMNS = (
    "link_id",
    "version",
    "live",
    "unit_id",
    "unit_name",
    "level",
    "year",
    "criterion_code",
    "decision",
    "reasons",
    "number",
    "number_key",
    "notation",
    "issuer",
    "issued_on",
    "title",
    "signer",
    "link",
    "verified_at",
)
_PLACEHOLDERS = ", ".join("?" * len(_ENTRY_COLUMNS))
_E_COLUMNS = ", ".join("e." + c for c in _ENTRY_COLUMNS)
_RECORD_NAMES = ["rid", *_ENTRY_COLUMNS, "body"]
_FTS_COLUMNS = ("title", "body", "extra", "title_f", "body_f", "extra_f", "meta")
_FTS_NAMES = ", ".join(_FTS_COLUMNS)
_FTS_MARKS = ", ".join("?" * len(_FTS_COLUMNS))


def _ev(gen: int) -> str:
    return f"ev_{gen}"


def _body(gen: int) -> str:
    return f"ev_body_{gen}"


def _fts(gen: int) -> str:
    return f"ev_fts_{gen}"


def _fx(gen: int) -> str:
    return f"ev_fx_{gen}"


def _fv(gen: int) -> str:
    return f"ev_fv_{gen}"


def _facet_shifts() -> dict[Facet, tuple[int, int]]:
    """Each facet's (shift, mask) in the packed key."""
    out: dict[Facet, tuple[int, int]] = {}
    shift = 0
    for facet, bits in FACET_BITS:
        out[facet] = (shift, (1 << bits) - 1)
        shift += bits
    return out


_FACET_SHIFTS = _facet_shifts()


def _facet_values(entry: EvidenceEntry) -> dict[Facet, str]:
    return {
        Facet.UNIT: entry.unit_id,
        Facet.CRITERION: entry.criterion_code,
        Facet.DECISION: entry.decision.value,
        Facet.YEAR: str(entry.year),
    }


def _extra(entry: EvidenceEntry) -> str:
    """Searchable metadata: number, notation, issuer, signer, unit name."""
    parts = (entry.number, entry.notation, entry.issuer, entry.signer, entry.unit_name)
    return nfc(" ".join(p for p in parts if p))


def _fts_values(entry: EvidenceEntry) -> tuple[str, ...]:
    """The FTS columns of an entry; a pure function of it, so a delete can re-derive them."""
    title, body, extra = nfc(entry.title), nfc(entry.text), _extra(entry)
    meta = meta_tokens(
        entry.unit_id, entry.level, entry.year, entry.criterion_code, entry.decision.value, entry.reasons
    )
    return (title, body, extra, fold(title), fold(body), fold(extra), meta)


def _day_key(issued_on: date | None) -> int:
    return 0 if issued_on is None else issued_on.toordinal()


class Fts5Index:
    """SearchIndex on SQLite FTS5; `path` is a file (WAL) or ":memory:".

    `rank_limit`: up to this many matches a relevance query is ordered by bm25 (by the title
    order when filtered), above it by the cheap tiers (see the module docstring).
    """

    def __init__(
        self,
        path: str | Path = MEMORY,
        rank_limit: int = RANK_LIMIT,
        limits: SearchLimits = DEFAULT_LIMITS,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._lock = threading.RLock()
        self._rank_limit = rank_limit
        self._limits = limits
        self._monotonic = monotonic
        self._path = str(path)
        self._readers = threading.local()
        self._reader_conns: list[sqlite3.Connection] = []
        self._readers_lock = threading.Lock()
        self._conn = sqlite3.connect(
            str(path), check_same_thread=False, isolation_level=None, timeout=BUSY_TIMEOUT_S
        )
        self._conn.execute(f"PRAGMA cache_size={CACHE_KIB}")
        if str(path) != MEMORY:
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
        self._pending: set[int] = set()
        with self._lock, self._tx():
            self._conn.execute(
                "CREATE TABLE IF NOT EXISTS ev_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)"
            )
            if self._meta(META_CURRENT) is None:
                self._set_meta(META_NEXT, "1")
                first = self._new_generation()
                self._set_meta(META_CURRENT, str(first))
            self._add_facet_tables(self._current())

    # -- plumbing ---------------------------------------------------------------------------

    def _tx(self) -> _Transaction:
        return _Transaction(self._conn)

    def _meta(self, key: str) -> str | None:
        row = self._conn.execute("SELECT value FROM ev_meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def _set_meta(self, key: str, value: str) -> None:
        self._conn.execute("INSERT OR REPLACE INTO ev_meta (key, value) VALUES (?, ?)", (key, value))

    def _current(self) -> int:
        value = self._meta(META_CURRENT)
        if value is None:
            raise IndexerError(IndexerErrorCode.UNKNOWN_GENERATION, "no current generation")
        return int(value)

    def _generations(self) -> list[int]:
        rows = self._conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name GLOB 'ev_[0-9]*'"
        ).fetchall()
        return sorted(int(str(r[0])[len("ev_") :]) for r in rows)

    def _new_generation(self) -> int:
        gen = int(self._meta(META_NEXT) or "1")
        self._set_meta(META_NEXT, str(gen + 1))
        self._set_meta(META_SEQUENCE + str(gen), "0")
        ev = _ev(gen)
        self._conn.execute(
            f"""CREATE TABLE {ev} (
                rid INTEGER PRIMARY KEY, link_id TEXT NOT NULL UNIQUE, version INTEGER NOT NULL,
                live INTEGER NOT NULL, unit_id TEXT, unit_name TEXT, level TEXT, year INTEGER,
                criterion_code TEXT, decision TEXT, reasons TEXT, number TEXT, number_key TEXT,
                notation TEXT, issuer TEXT, issued_on TEXT, title TEXT, signer TEXT, link TEXT,
                verified_at TEXT)"""
        )
        # The other filters are FTS tokens; a number prefix is a range on this index.
        self._conn.execute(f"CREATE INDEX {ev}_number_key ON {ev} (number_key) WHERE live = 1")
        self._conn.execute(f"CREATE TABLE {_body(gen)} (rid INTEGER PRIMARY KEY, body TEXT NOT NULL)")
        self._conn.execute(
            f"CREATE VIRTUAL TABLE {_fts(gen)} USING fts5({_FTS_NAMES}, content = '', "
            "tokenize = 'unicode61 remove_diacritics 0')"
        )
        self._create_facet_tables(gen)
        return gen

    def _create_facet_tables(self, gen: int) -> None:
        # Facet counts read one small integer per match from here instead of the wide ev rows
        # (see FACET_BITS); `ev_fv` numbers each facet value and keeps a unit's latest name.
        self._conn.execute(f"CREATE TABLE {_fx(gen)} (rid INTEGER PRIMARY KEY, packed INTEGER NOT NULL)")
        self._conn.execute(
            f"CREATE TABLE {_fv(gen)} (facet TEXT NOT NULL, value TEXT NOT NULL, number INTEGER NOT NULL, "
            "label TEXT, PRIMARY KEY (facet, value)) WITHOUT ROWID"
        )

    def _add_facet_tables(self, gen: int) -> None:
        """A file written before the facet tables existed: create and fill them, once."""
        found = self._conn.execute("SELECT 1 FROM sqlite_master WHERE name = ?", (_fx(gen),)).fetchone()
        if found is not None:
            return
        self._create_facet_tables(gen)
        rows = self._conn.execute(
            f"SELECT rid, unit_id, unit_name, criterion_code, decision, year FROM {_ev(gen)} "
            "WHERE live = 1 ORDER BY rid"
        ).fetchall()
        for rid, unit_id, unit_name, criterion, decision, year in rows:
            values = {
                Facet.UNIT: str(unit_id),
                Facet.CRITERION: str(criterion),
                Facet.DECISION: str(decision),
                Facet.YEAR: str(year),
            }
            packed = self._packed_facets(gen, values, str(unit_name))
            self._conn.execute(f"INSERT INTO {_fx(gen)} (rid, packed) VALUES (?, ?)", (int(rid), packed))

    def _drop_generation(self, gen: int) -> None:
        self._conn.execute(f"DROP TABLE IF EXISTS {_fts(gen)}")
        self._conn.execute(f"DROP TABLE IF EXISTS {_fx(gen)}")
        self._conn.execute(f"DROP TABLE IF EXISTS {_fv(gen)}")
        self._conn.execute(f"DROP TABLE IF EXISTS {_body(gen)}")
        self._conn.execute(f"DROP TABLE IF EXISTS {_ev(gen)}")
        self._conn.execute("DELETE FROM ev_meta WHERE key = ?", (META_SEQUENCE + str(gen),))

    def drop_abandoned_generations(self) -> int:
        """Drop generations left by a reindex that never swapped (the process died).

        Call it from the one writer at startup only: another process's reindex in progress
        looks abandoned from here (e.g. the CLI opening the file must not call it).
        """
        with self._lock, self._tx():
            current = self._current()
            dropped = [g for g in self._generations() if g != current and g not in self._pending]
            for gen in dropped:
                self._drop_generation(gen)
            return len(dropped)

    # -- writing ----------------------------------------------------------------------------

    def _next_rid(self, gen: int, day: int) -> int:
        key = META_SEQUENCE + str(gen)
        sequence = int(self._meta(key) or "0") + 1
        self._set_meta(key, str(sequence))
        return (day << SEQUENCE_BITS) | (sequence & SEQUENCE_MASK)

    def _stored(self, gen: int, rid: int) -> EvidenceEntry:
        row = self._conn.execute(
            f"SELECT e.rid, {_E_COLUMNS}, b.body FROM {_ev(gen)} AS e "
            f"JOIN {_body(gen)} AS b ON b.rid = e.rid WHERE e.rid = ?",
            (rid,),
        ).fetchone()
        return _entry_from(dict(zip(_RECORD_NAMES, row, strict=True)))

    def _unindex(self, gen: int, rid: int) -> None:
        """Remove a live row from the FTS index (contentless: re-derive its column values)."""
        values = _fts_values(self._stored(gen, rid))
        self._conn.execute(
            f"INSERT INTO {_fts(gen)} ({_fts(gen)}, rowid, {_FTS_NAMES}) VALUES ('delete', ?, {_FTS_MARKS})",
            (rid, *values),
        )
        self._conn.execute(f"DELETE FROM {_body(gen)} WHERE rid = ?", (rid,))
        self._conn.execute(f"DELETE FROM {_fx(gen)} WHERE rid = ?", (rid,))

    def _facet_number(self, gen: int, facet: Facet, value: str, label: str | None) -> int:
        """The value's number within its facet, assigned on first sight (never reused)."""
        fv = _fv(gen)
        row = self._conn.execute(
            f"SELECT number, label FROM {fv} WHERE facet = ? AND value = ?", (facet.value, value)
        ).fetchone()
        if row is not None:
            if label is not None and row[1] != label:
                self._conn.execute(
                    f"UPDATE {fv} SET label = ? WHERE facet = ? AND value = ?", (label, facet.value, value)
                )
            return int(row[0])
        (last,) = self._conn.execute(
            f"SELECT coalesce(max(number), 0) FROM {fv} WHERE facet = ?", (facet.value,)
        ).fetchone()
        number = int(last) + 1
        if number > _FACET_SHIFTS[facet][1]:
            raise IndexerError(IndexerErrorCode.INVALID_ENTRY, f"too many distinct {facet.value} values")
        self._conn.execute(
            f"INSERT INTO {fv} (facet, value, number, label) VALUES (?, ?, ?, ?)",
            (facet.value, value, number, label),
        )
        return number

    def _packed_facets(self, gen: int, values: Mapping[Facet, str], unit_name: str) -> int:
        packed = 0
        for facet, value in values.items():
            label = unit_name if facet is Facet.UNIT else None
            packed |= self._facet_number(gen, facet, value, label) << _FACET_SHIFTS[facet][0]
        return packed

    def _write(self, gen: int, entry: EvidenceEntry) -> bool:
        ev = _ev(gen)
        row = self._conn.execute(
            f"SELECT rid, version, live FROM {ev} WHERE link_id = ?", (entry.link_id,)
        ).fetchone()
        if row is not None and int(row[1]) >= entry.version:
            return False
        if row is not None:
            # A new rid, since the recency key may change with issued_on.
            if row[2]:
                self._unindex(gen, int(row[0]))
            self._conn.execute(f"DELETE FROM {ev} WHERE rid = ?", (int(row[0]),))
        rid = self._next_rid(gen, _day_key(entry.issued_on))
        self._conn.execute(
            f"INSERT INTO {ev} (rid, {', '.join(_ENTRY_COLUMNS)}) VALUES (?, {_PLACEHOLDERS})",
            (rid, *_entry_row(entry)),
        )
        self._conn.execute(f"INSERT INTO {_body(gen)} (rid, body) VALUES (?, ?)", (rid, entry.text))
        self._conn.execute(
            f"INSERT INTO {_fts(gen)} (rowid, {_FTS_NAMES}) VALUES (?, {_FTS_MARKS})",
            (rid, *_fts_values(entry)),
        )
        self._conn.execute(
            f"INSERT INTO {_fx(gen)} (rid, packed) VALUES (?, ?)",
            (rid, self._packed_facets(gen, _facet_values(entry), entry.unit_name)),
        )
        return True

    def _tombstone(self, gen: int, link_id: str, version: int) -> bool:
        """Hide `link_id` at `version`; True when a live entry went away."""
        ev = _ev(gen)
        row = self._conn.execute(
            f"SELECT rid, version, live FROM {ev} WHERE link_id = ?", (link_id,)
        ).fetchone()
        if row is None:
            rid = self._next_rid(gen, 0)
            self._conn.execute(
                f"INSERT INTO {ev} (rid, link_id, version, live) VALUES (?, ?, ?, 0)", (rid, link_id, version)
            )
            return False
        rid, stored, live = int(row[0]), int(row[1]), bool(row[2])
        if live and version >= stored:
            self._unindex(gen, rid)
            blanks = ", ".join(f"{c} = NULL" for c in _ENTRY_COLUMNS[3:])
            self._conn.execute(
                f"UPDATE {ev} SET version = ?, live = 0, {blanks} WHERE rid = ?", (version, rid)
            )
            return True
        if not live and version > stored:
            self._conn.execute(f"UPDATE {ev} SET version = ? WHERE rid = ?", (version, rid))
        return False

    def upsert(self, entry: EvidenceEntry) -> bool:
        with self._lock, self._tx():
            applied = self._write(self._current(), entry)
            for gen in self._pending:
                self._write(gen, entry)
            return applied

    def bulk_upsert(self, entries: Iterable[EvidenceEntry], generation: str | None = None) -> int:
        applied = 0
        batch: list[EvidenceEntry] = []
        for entry in entries:
            batch.append(entry)
            if len(batch) >= BULK_BATCH:
                applied += self._write_batch(batch, generation)
                batch = []
        if batch:
            applied += self._write_batch(batch, generation)
        return applied

    def _write_batch(self, batch: list[EvidenceEntry], generation: str | None) -> int:
        with self._lock, self._tx():
            if generation is None:
                targets = [self._current(), *self._pending]
            else:
                targets = [self._pending_generation(generation)]
            applied = 0
            for entry in batch:
                results = [self._write(gen, entry) for gen in targets]
                applied += int(results[0])
            return applied

    def remove(self, link_id: str, version: int) -> bool:
        with self._lock, self._tx():
            removed = self._tombstone(self._current(), link_id, version)
            for gen in self._pending:
                self._tombstone(gen, link_id, version)
            return removed

    def clear(self) -> None:
        with self._lock, self._tx():
            for gen in [self._current(), *self._pending]:
                self._conn.execute(f"DELETE FROM {_ev(gen)}")
                self._conn.execute(f"DELETE FROM {_body(gen)}")
                self._conn.execute(f"DELETE FROM {_fx(gen)}")
                self._conn.execute(f"DELETE FROM {_fv(gen)}")
                self._conn.execute(f"INSERT INTO {_fts(gen)} ({_fts(gen)}) VALUES ('delete-all')")

    # -- generations ------------------------------------------------------------------------

    def _pending_generation(self, generation: str) -> int:
        try:
            gen = int(generation)
        except ValueError:
            gen = -1
        if gen not in self._pending:
            raise IndexerError(IndexerErrorCode.UNKNOWN_GENERATION, generation)
        return gen

    def create_generation(self) -> str:
        with self._lock, self._tx():
            gen = self._new_generation()
            self._pending.add(gen)
            return str(gen)

    def swap(self, generation: str) -> None:
        with self._lock, self._tx():
            gen = self._pending_generation(generation)
            old = self._current()
            self._set_meta(META_CURRENT, str(gen))
            self._pending.discard(gen)
            self._drop_generation(old)

    def abandon_generation(self, generation: str) -> None:
        with self._lock, self._tx():
            gen = self._pending_generation(generation)
            self._pending.discard(gen)
            self._drop_generation(gen)

    def reindex(self, entries: Iterable[EvidenceEntry] | None = None) -> int:
        return rebuild_generation(self, entries, lambda generation: self._copy_into(int(generation)))

    def _copy_into(self, target: int) -> int:
        """Copy the live generation, tombstones included, re-deriving the FTS columns."""
        with self._lock, self._tx():
            source = self._current()
            rows = self._conn.execute(
                f"SELECT e.rid, {_E_COLUMNS}, b.body FROM {_ev(source)} AS e "
                f"LEFT JOIN {_body(source)} AS b ON b.rid = e.rid"
            ).fetchall()
            copied = 0
            for raw in rows:
                record = dict(zip(_RECORD_NAMES, raw, strict=True))
                if record["live"]:
                    copied += int(self._write(target, _entry_from(record)))
                else:
                    self._tombstone(target, str(record["link_id"]), int(record["version"]))
            return copied

    # -- reading ----------------------------------------------------------------------------

    def get(self, link_id: str) -> EvidenceEntry | None:
        with self._lock:
            gen = self._current()
            row = self._conn.execute(
                f"SELECT e.rid, {_E_COLUMNS}, b.body FROM {_ev(gen)} AS e "
                f"JOIN {_body(gen)} AS b ON b.rid = e.rid WHERE e.link_id = ? AND e.live = 1",
                (link_id,),
            ).fetchone()
        if row is None:
            return None
        return _entry_from(dict(zip(_RECORD_NAMES, row, strict=True)))

    def count(self) -> int:
        with self._lock:
            row = self._conn.execute(f"SELECT count(*) FROM {_ev(self._current())} WHERE live = 1").fetchone()
        return int(row[0])

    def search(self, query: SearchQuery) -> SearchResult:
        parsed = parse_text(query.text)
        if self._path == MEMORY:  # one connection is the whole database: share it under the lock
            with self._lock:
                return self._search_on(self._conn, query, parsed)
        conn = self._reader()
        conn.execute("BEGIN")  # one snapshot for the whole search: a swap cannot drop it midway
        try:
            return self._search_on(conn, query, parsed)
        finally:
            conn.execute("COMMIT")

    def _reader(self) -> sqlite3.Connection:
        """This thread's read connection (opened on first use)."""
        conn: sqlite3.Connection | None = getattr(self._readers, "conn", None)
        if conn is None:
            conn = sqlite3.connect(
                self._path, check_same_thread=False, isolation_level=None, timeout=BUSY_TIMEOUT_S
            )
            conn.execute(f"PRAGMA cache_size={CACHE_KIB}")
            conn.execute("PRAGMA query_only=1")
            self._readers.conn = conn
            with self._readers_lock:  # not the writer's lock: a search never waits for a write
                self._reader_conns.append(conn)
        return conn

    def _search_on(self, conn: sqlite3.Connection, query: SearchQuery, parsed: ParsedText) -> SearchResult:
        deadline = self._monotonic() + self._limits.deadline_seconds
        conn.set_progress_handler(
            lambda: int(self._monotonic() > deadline), self._limits.progress_instructions
        )
        try:
            row = conn.execute("SELECT value FROM ev_meta WHERE key = ?", (META_CURRENT,)).fetchone()
            if row is None:
                raise IndexerError(IndexerErrorCode.UNKNOWN_GENERATION, "no current generation")
            return _Search(conn, int(row[0]), query, parsed, self._rank_limit).run()
        except sqlite3.OperationalError as exc:
            if self._monotonic() > deadline:
                raise IndexerError(IndexerErrorCode.QUERY_TIMEOUT, "the search took too long") from exc
            raise
        finally:
            conn.set_progress_handler(None, 0)

    def close(self) -> None:
        with self._lock, self._readers_lock:
            for reader in self._reader_conns:
                reader.close()
            self._reader_conns.clear()
            self._conn.close()


class _Transaction:
    """BEGIN IMMEDIATE … COMMIT/ROLLBACK on an autocommit connection (nests as a no-op)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        self._owner = False

    def __enter__(self) -> None:
        if not self._conn.in_transaction:
            self._conn.execute("BEGIN IMMEDIATE")
            self._owner = True

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if not self._owner:
            return
        if exc_type is None:
            self._conn.execute("COMMIT")
        else:
            self._conn.execute("ROLLBACK")


@dataclass(frozen=True)
class _Row:
    """One hit of a page before its entry is loaded."""

    rid: int
    exact: bool
    score: float | None


class _Search:
    """One query against one generation: total and facets, then the page in the chosen order."""

    def __init__(
        self, conn: sqlite3.Connection, gen: int, query: SearchQuery, parsed: ParsedText, rank_limit: int
    ) -> None:
        self.conn, self.gen, self.query, self.parsed = conn, gen, query, parsed
        self.rank_limit = rank_limit
        self.plan: MatchPlan = match_plan(query, parsed)
        self.fts, self.ev = _fts(gen), _ev(gen)
        self.numbers: tuple[str, str] | None = None
        if query.number_prefix:
            prefix = fold(query.number_prefix.strip())
            self.numbers = (prefix, prefix + PREFIX_END)
        self.offset = (query.page - 1) * query.page_size if query.page is not None else 0
        self.need = query.page_size + 1
        # Every match's rid (ascending) when the total was counted from them: the title order
        # then needs no second MATCH.
        self.matched: list[int] | None = None

    # -- building blocks --------------------------------------------------------------------

    def _number_sql(self, column: str) -> str:
        """Restrict `column` (a rid) to the number-prefix range, or nothing."""
        if self.numbers is None:
            return ""
        return (
            f" AND {column} IN (SELECT rid FROM {self.ev} WHERE live = 1 "
            "AND number_key >= :num_lo AND number_key < :num_hi)"
        )

    def _params(self, **extra: Any) -> dict[str, Any]:
        params: dict[str, Any] = dict(extra)
        if self.numbers is not None:
            params["num_lo"], params["num_hi"] = self.numbers
        return params

    def _newest(self, expression: str | None, after: int | None, limit: int, offset: int) -> list[int]:
        """Rids matching `expression` (all live rows when None), newest first, after a cursor."""
        params = self._params(limit=limit, offset=offset)
        before = ""
        if after is not None:
            params["after"] = after
            before = " AND {rid} < :after"
        if expression is None:
            sql = (
                f"SELECT rid FROM {self.ev} WHERE live = 1"
                + (" AND number_key >= :num_lo AND number_key < :num_hi" if self.numbers else "")
                + before.format(rid="rid")
                + " ORDER BY rid DESC LIMIT :limit OFFSET :offset"
            )
        else:
            params["q"] = expression
            sql = (
                f"SELECT rowid FROM {self.fts} WHERE {self.fts} MATCH :q"
                + self._number_sql("rowid")
                + before.format(rid="rowid")
                + " ORDER BY rowid DESC LIMIT :limit OFFSET :offset"
            )
        return [int(r[0]) for r in self.conn.execute(sql, params)]

    def _count(self, expression: str | None, after: int | None = None) -> int:
        params = self._params()
        before = ""
        if after is not None:
            params["after"] = after
            before = " AND rowid < :after"
        if expression is None:
            sql = f"SELECT count(*) FROM {self.ev} WHERE live = 1" + self._number_sql("rid")
        else:
            params["q"] = expression
            sql = (
                f"SELECT count(*) FROM {self.fts} WHERE {self.fts} MATCH :q"
                + self._number_sql("rowid")
                + before
            )
        return int(self.conn.execute(sql, params).fetchone()[0])

    def _totals(self, tag: str | None) -> tuple[int, dict[Facet, tuple[FacetBucket, ...]]]:
        if not self.query.facets:
            if tag in (None, CURSOR_TITLE) and self.plan.filtered and not self.parsed.empty:
                return self._probe(), {}
            return self._count(self.plan.base), {}
        # One pass over the matches reading a packed integer each (`ev_fx`): grouping the
        # wide metadata rows by four text columns cost 5x more at 100,000 documents.
        fx = _fx(self.gen)
        params = self._params()
        if self.plan.base is None:
            sql = f"SELECT rid, packed FROM {fx} WHERE 1" + self._number_sql("rid")
        else:
            params["q"] = self.plan.base
            sql = (
                f"SELECT fx.rid, fx.packed FROM {self.fts} CROSS JOIN {fx} AS fx "
                f"ON fx.rid = {self.fts}.rowid WHERE {self.fts} MATCH :q"
                + self._number_sql(f"{self.fts}.rowid")
            )
        rows = self.conn.execute(sql, params).fetchall()
        packed = [int(r[1]) for r in rows]
        if len(rows) <= self.rank_limit:
            self.matched = [int(r[0]) for r in rows]
        wanted = sorted(self.query.facets - {Facet.SIGNAL})
        marks = ", ".join("?" * len(wanted))
        values: dict[Facet, dict[int, tuple[str, str | None]]] = {facet: {} for facet in wanted}
        for facet, number, value, label in self.conn.execute(
            f"SELECT facet, number, value, label FROM {_fv(self.gen)} WHERE facet IN ({marks})",
            [f.value for f in wanted],
        ):
            values[Facet(facet)][int(number)] = (str(value), None if label is None else str(label))
        facets: dict[Facet, tuple[FacetBucket, ...]] = {}
        for facet in wanted:
            shift, mask = _FACET_SHIFTS[facet]
            numbered = Counter((p >> shift) & mask for p in packed)
            names = values[facet]
            counts = {names[n][0]: c for n, c in numbered.items()}
            labels = {value: label for value, label in names.values() if label is not None}
            facets[facet] = buckets(counts, labels if facet is Facet.UNIT else None)
        if Facet.SIGNAL in self.query.facets:
            # Multi-valued, so not packed: one count per register code over the same match.
            signals = {
                code.value: self._count(with_reason(self.plan.base, code.value)) for code in REGISTER_CODES
            }
            facets[Facet.SIGNAL] = buckets(signals)
        return len(packed), facets

    def _probe(self) -> int:
        """The total of a filtered text query, keeping its rids when the title order needs them.

        Reads at most `rank_limit` + 1 rids; a broader match counts only the rest beyond them.
        """
        assert self.plan.base is not None
        limit = self.rank_limit + 1
        params = self._params(q=self.plan.base, limit=limit)
        where = f"WHERE {self.fts} MATCH :q" + self._number_sql("rowid")
        rids = [
            int(r[0])
            for r in self.conn.execute(
                f"SELECT rowid FROM {self.fts} {where} ORDER BY rowid LIMIT :limit", params
            )
        ]
        if len(rids) < limit:
            self.matched = rids
            return len(rids)
        params = self._params(q=self.plan.base, last=rids[-1])
        (rest,) = self.conn.execute(
            f"SELECT count(*) FROM {self.fts} {where} AND rowid > :last", params
        ).fetchone()
        return len(rids) + int(rest)

    def _exact(self, rids: Sequence[int]) -> set[int]:
        """Which of the given matching rows carry the query's diacritics (a rowid range scan)."""
        with_exact = self.plan.with_exact()
        if with_exact is None or not rids:
            return set()
        found = self.conn.execute(
            f"SELECT rowid FROM {self.fts} WHERE {self.fts} MATCH ? AND rowid >= ? AND rowid <= ?",
            (with_exact, min(rids), max(rids)),
        )
        return {int(r[0]) for r in found} & set(rids)

    def _exact_all(self) -> set[int]:
        """Every matching row that carries the query's diacritics."""
        with_exact = self.plan.with_exact()
        if with_exact is None:
            return set()
        found = self.conn.execute(
            f"SELECT rowid FROM {self.fts} WHERE {self.fts} MATCH :q" + self._number_sql("rowid"),
            self._params(q=with_exact),
        )
        return {int(r[0]) for r in found}

    # -- orders -----------------------------------------------------------------------------

    def _by_date(self) -> tuple[list[_Row], str | None]:
        after = None
        if self.query.cursor is not None:
            (after,) = decode_cursor(self.query.cursor, CURSOR_DATE, CURSOR_SHAPES[CURSOR_DATE])
        rids = self._newest(self.plan.base, after, self.need, self.offset)
        exact = self._exact(rids[: self.query.page_size])
        rows = [_Row(rid, rid in exact, None) for rid in rids]
        more = len(rows) > self.query.page_size
        rows = rows[: self.query.page_size]
        cursor = encode_cursor(CURSOR_DATE, [rows[-1].rid]) if more and rows else None
        return rows, cursor

    def _by_bm25(self, key: list[Any] | None) -> tuple[list[_Row], str | None]:
        """Every match scored; order exact first, bm25, link_id (the keyset of the cursor)."""
        assert self.plan.base is not None
        weights = ", ".join(str(w) for w in BM25_WEIGHTS)
        scored = self.conn.execute(
            f"SELECT {self.fts}.rowid, bm25({self.fts}, {weights}), e.link_id FROM {self.fts} "
            f"CROSS JOIN {self.ev} AS e ON e.rid = {self.fts}.rowid WHERE {self.fts} MATCH :q"
            + self._number_sql(f"{self.fts}.rowid"),
            self._params(q=self.plan.base),
        ).fetchall()
        exact = self._exact_all()
        ordered = sorted(
            (
                (0 if int(rid) in exact else 1, float(score), str(link), int(rid))
                for rid, score, link in scored
            )
        )
        if key is not None:
            start = (1 - int(key[0]), float(key[1]), str(key[2]))
            ordered = [o for o in ordered if o[:3] > start]
        window = ordered[self.offset : self.offset + self.need]
        rows = [_Row(rid, tier == 0, -score) for tier, score, _, rid in window]
        more = len(rows) > self.query.page_size
        rows = rows[: self.query.page_size]
        last = window[len(rows) - 1] if rows else None
        cursor = None
        if more and last is not None:
            cursor = encode_cursor(CURSOR_RELEVANCE, [1 - last[0], last[1], last[2]])
        return rows, cursor

    def _titled(self) -> list[tuple[int, str]]:
        """(rid, title) of every match."""
        assert self.plan.base is not None
        rids = self.matched
        if rids is None:
            rids = [
                int(r[0])
                for r in self.conn.execute(
                    f"SELECT rowid FROM {self.fts} WHERE {self.fts} MATCH :q" + self._number_sql("rowid"),
                    self._params(q=self.plan.base),
                )
            ]
        # Looked up after the MATCH, not joined to it: interleaving the two cost twice as much.
        found = self.conn.execute(
            f"SELECT rid, title FROM {self.ev} WHERE rid IN (SELECT value FROM json_each(?))",
            (json.dumps(rids),),
        )
        return [(int(rid), str(title)) for rid, title in found]

    def _by_title(self, key: list[Any] | None) -> tuple[list[_Row], str | None]:
        """Filtered queries: exact first, more query words in the title, newest (the keyset).

        bm25's IDF reads the whole doclist of every phrase, filter tokens included (a year's
        token is in half the corpus): 30-45 ms at 100,000 documents even for 28 matches. The
        titles of a few thousand matches are read and matched here in a few milliseconds.
        """
        titled = self._titled()
        exact = self._exact_all()
        words = {word for clause in self.parsed.folded for word in clause}
        ordered = sorted(
            (0 if rid in exact else 1, -len(words.intersection(tokens(fold(title)))), -rid)
            for rid, title in titled
        )
        if key is not None:
            start = (1 - int(key[0]), -int(key[1]), -int(key[2]))
            ordered = [o for o in ordered if o > start]
        window = ordered[self.offset : self.offset + self.need]
        rows = [_Row(-neg_rid, tier == 0, None) for tier, _, neg_rid in window]
        more = len(rows) > self.query.page_size
        rows = rows[: self.query.page_size]
        cursor = None
        if more and rows:
            tier, neg_hits, neg_rid = window[len(rows) - 1]
            cursor = encode_cursor(CURSOR_TITLE, [1 - tier, -neg_hits, -neg_rid])
        return rows, cursor

    def _by_tiers(self, key: list[Any] | None) -> tuple[list[_Row], str | None]:
        """Walk the tiers in order, each newest first; the cursor is (tier, last rid)."""
        tiers = self.plan.tiers()
        start, after = (0, None) if key is None else (int(key[0]), int(key[1]))
        if not 0 <= start < len(tiers):
            raise IndexerError(IndexerErrorCode.INVALID_CURSOR, "no such tier")
        skip = self.offset
        found: list[tuple[int, int]] = []
        for index in range(start, len(tiers)):
            tier: Tier = tiers[index]
            bound = after if index == start else None
            if skip:
                size = self._count(tier.expression, bound)
                if size <= skip:
                    skip -= size
                    continue
            rids = self._newest(tier.expression, bound, self.need - len(found), skip)
            skip = 0
            found += [(index, rid) for rid in rids]
            if len(found) >= self.need:
                break
        more = len(found) > self.query.page_size
        found = found[: self.query.page_size]
        rows = [_Row(rid, tiers[i].exact, None) for i, rid in found]
        cursor = encode_cursor(CURSOR_TIERS, [found[-1][0], found[-1][1]]) if more and found else None
        return rows, cursor

    def _relevance_key(self) -> tuple[str | None, list[Any] | None]:
        """Which relevance order a cursor continues (None: the first page decides)."""
        if self.query.cursor is None:
            return None, None
        for tag in (CURSOR_TIERS, CURSOR_TITLE):
            try:
                return tag, decode_cursor(self.query.cursor, tag, CURSOR_SHAPES[tag])
            except IndexerError:
                continue
        return CURSOR_RELEVANCE, decode_cursor(
            self.query.cursor, CURSOR_RELEVANCE, CURSOR_SHAPES[CURSOR_RELEVANCE]
        )

    # -- entry point ------------------------------------------------------------------------

    def run(self) -> SearchResult:
        by_relevance = self.query.sort is SortOrder.RELEVANCE and not self.parsed.empty
        tag, key = self._relevance_key() if by_relevance else (None, None)
        total, facets = self._totals(tag if by_relevance else CURSOR_DATE)
        if not by_relevance:
            rows, cursor = self._by_date()
        else:
            if tag is None:
                tag = self._relevance_mode(total)
            if tag == CURSOR_RELEVANCE:
                rows, cursor = self._by_bm25(key)
            elif tag == CURSOR_TITLE:
                rows, cursor = self._by_title(key)
            else:
                rows, cursor = self._by_tiers(key)
        return SearchResult(hits=self._hits(rows), total=total, facets=facets, next_cursor=cursor)

    def _relevance_mode(self, total: int) -> str:
        if total > self.rank_limit:
            return CURSOR_TIERS
        return CURSOR_TITLE if self.plan.filtered else CURSOR_RELEVANCE

    def _hits(self, rows: list[_Row]) -> tuple[Hit, ...]:
        if not rows:
            return ()
        rids = [r.rid for r in rows]
        marks = ", ".join("?" * len(rids))
        fetched = self.conn.execute(
            f"SELECT e.rid, {_E_COLUMNS}, b.body FROM {self.ev} AS e "
            f"JOIN {_body(self.gen)} AS b ON b.rid = e.rid WHERE e.rid IN ({marks})",
            rids,
        ).fetchall()
        by_rid = {int(r[0]): _entry_from(dict(zip(_RECORD_NAMES, r, strict=True))) for r in fetched}
        hits = []
        for row in rows:
            entry = by_rid[row.rid]
            title = title_snippet(entry.title, self.parsed)
            snippet = body_snippet(entry.text, self.parsed)
            score = row.score
            if score is None and not self.parsed.empty:
                # bm25 of a few rows costs as much as of all (its IDF reads every doclist).
                score = TITLE_HIT_WEIGHT * len(title.spans) + len(snippet.spans)
            hits.append(
                Hit(
                    entry=entry,
                    title=title,
                    snippet=snippet,
                    score=score,
                    exact=row.exact,
                )
            )
        return tuple(hits)


def _entry_row(entry: EvidenceEntry) -> tuple[Any, ...]:
    return (
        entry.link_id,
        entry.version,
        1,
        entry.unit_id,
        entry.unit_name,
        entry.level,
        entry.year,
        entry.criterion_code,
        entry.decision.value,
        json.dumps(list(entry.reasons)),
        entry.number,
        fold(entry.number) if entry.number else None,
        entry.notation,
        entry.issuer,
        entry.issued_on.isoformat() if entry.issued_on else None,
        nfc(entry.title),
        entry.signer,
        entry.link,
        entry.verified_at.isoformat(),
    )


def _entry_from(record: Mapping[str, Any]) -> EvidenceEntry:
    issued = record["issued_on"]
    return EvidenceEntry(
        link_id=str(record["link_id"]),
        unit_id=str(record["unit_id"]),
        unit_name=str(record["unit_name"]),
        level=str(record["level"]),
        year=int(record["year"]),
        criterion_code=str(record["criterion_code"]),
        decision=Decision(record["decision"]),
        reasons=tuple(json.loads(record["reasons"])),
        number=record["number"],
        notation=record["notation"],
        issuer=record["issuer"],
        issued_on=date.fromisoformat(issued) if issued else None,
        title=str(record["title"]),
        signer=record["signer"],
        link=str(record["link"]),
        text=str(record["body"] or ""),
        verified_at=datetime.fromisoformat(record["verified_at"]),
        version=int(record["version"]),
    )
