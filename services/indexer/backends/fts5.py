"""SQLite FTS5 backend: the embedded search index.

Each generation is two tables: `ev_<n>` (one row per link: metadata, version, live flag) and
`ev_fts_<n>` (FTS5, rowid = ev.rid) with the exact text (NFC) and the app-folded text in
separate columns. FTS5's unicode61 tokenizer cannot fold đ → d, so the app folds
(`folding.fold`) and the tokenizer runs with remove_diacritics 0 on both column groups.

Matching runs on the folded columns; a second MATCH on the exact columns marks hits whose words
carry the query's diacritics, and those sort first ("thể" above "thế").

Threads: one connection per instance, opened with check_same_thread=False and guarded by a
lock, so the blocking methods may be called from any thread, e.g. via asyncio.to_thread()
inside the asyncio app. Calls are short; do not call them directly on a busy event loop.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Any

from services.indexer.cursor import decode_cursor, encode_cursor
from services.indexer.errors import IndexerError, IndexerErrorCode
from services.indexer.facets import buckets
from services.indexer.folding import fold, nfc
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
from services.indexer.snippets import body_snippet, title_snippet
from services.indexer.textquery import ParsedText, any_diacritics, parse_text

MEMORY = ":memory:"
BUSY_TIMEOUT_S = 30.0
# bm25 weights for (title, body, extra, title_f, body_f, extra_f): ranking uses the folded
# columns (the MATCH runs there); a title hit counts more than a body hit.
BM25_WEIGHTS = (0.0, 0.0, 0.0, 4.0, 1.0, 2.0)
BULK_BATCH = 500
PREFIX_END = "\U0010ffff"
# Criterion codes are digits and dots; "/" is the character after "." so [c + ".", c + "/")
# is exactly the set of codes below c.
SUBTREE_LOW = "."
SUBTREE_HIGH = "/"
CURSOR_RELEVANCE = "fts5:r"
CURSOR_DATE = "fts5:d"
META_CURRENT = "current_generation"
META_NEXT = "next_generation"

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
_FTS_COLUMNS = ("title", "body", "extra", "title_f", "body_f", "extra_f")
_EXACT_COLUMNS = "{title body extra}"
_FOLDED_COLUMNS = "{title_f body_f extra_f}"


def _ev(gen: int) -> str:
    return f"ev_{gen}"


def _fts(gen: int) -> str:
    return f"ev_fts_{gen}"


def _extra(entry: EvidenceEntry) -> str:
    """Searchable metadata: number, notation, issuer, signer, unit name."""
    parts = (entry.number, entry.notation, entry.issuer, entry.signer, entry.unit_name)
    return nfc(" ".join(p for p in parts if p))


def _match_expression(columns: str, clauses: tuple[tuple[str, ...], ...]) -> str:
    # Tokens are letters and digits only, so quoting them cannot break the FTS5 syntax.
    quoted = ['"' + " ".join(clause) + '"' for clause in clauses]
    return f"{columns} : (" + " AND ".join(quoted) + ")"


class Fts5Index:
    """SearchIndex on SQLite FTS5; `path` is a file (WAL) or ":memory:"."""

    def __init__(self, path: str | Path = MEMORY) -> None:
        self._lock = threading.RLock()
        self._conn = sqlite3.connect(
            str(path), check_same_thread=False, isolation_level=None, timeout=BUSY_TIMEOUT_S
        )
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
        ev, fts = _ev(gen), _fts(gen)
        self._conn.execute(
            f"""CREATE TABLE {ev} (
                rid INTEGER PRIMARY KEY, link_id TEXT NOT NULL UNIQUE, version INTEGER NOT NULL,
                live INTEGER NOT NULL, unit_id TEXT, unit_name TEXT, level TEXT, year INTEGER,
                criterion_code TEXT, decision TEXT, reasons TEXT, number TEXT, number_key TEXT,
                notation TEXT, issuer TEXT, issued_on TEXT, title TEXT, signer TEXT, link TEXT,
                verified_at TEXT)"""
        )
        for column in ("unit_id", "year", "criterion_code", "decision", "number_key", "issued_on"):
            self._conn.execute(f"CREATE INDEX {ev}_{column} ON {ev} ({column}) WHERE live = 1")
        self._conn.execute(
            f"CREATE VIRTUAL TABLE {fts} USING fts5({', '.join(_FTS_COLUMNS)}, "
            "tokenize = 'unicode61 remove_diacritics 0')"
        )
        return gen

    def _drop_generation(self, gen: int) -> None:
        self._conn.execute(f"DROP TABLE IF EXISTS {_fts(gen)}")
        self._conn.execute(f"DROP TABLE IF EXISTS {_ev(gen)}")

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

    def _write(self, gen: int, entry: EvidenceEntry) -> bool:
        ev, fts = _ev(gen), _fts(gen)
        row = self._conn.execute(
            f"SELECT rid, version FROM {ev} WHERE link_id = ?", (entry.link_id,)
        ).fetchone()
        if row is not None and int(row[1]) >= entry.version:
            return False
        values = _entry_row(entry)
        if row is None:
            cur = self._conn.execute(
                f"INSERT INTO {ev} ({', '.join(_ENTRY_COLUMNS)}) VALUES ({_PLACEHOLDERS})",
                values,
            )
            rid = cur.lastrowid
        else:
            rid = int(row[0])
            assignments = ", ".join(f"{c} = ?" for c in _ENTRY_COLUMNS)
            self._conn.execute(f"UPDATE {ev} SET {assignments} WHERE rid = ?", (*values, rid))
            self._conn.execute(f"DELETE FROM {fts} WHERE rowid = ?", (rid,))
        title, body, extra = nfc(entry.title), nfc(entry.text), _extra(entry)
        self._conn.execute(
            f"INSERT INTO {fts} (rowid, {', '.join(_FTS_COLUMNS)}) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (rid, title, body, extra, fold(title), fold(body), fold(extra)),
        )
        return True

    def _tombstone(self, gen: int, link_id: str, version: int) -> bool:
        """Hide `link_id` at `version`; True when a live entry went away."""
        ev, fts = _ev(gen), _fts(gen)
        row = self._conn.execute(
            f"SELECT rid, version, live FROM {ev} WHERE link_id = ?", (link_id,)
        ).fetchone()
        if row is None:
            self._conn.execute(
                f"INSERT INTO {ev} (link_id, version, live) VALUES (?, ?, 0)", (link_id, version)
            )
            return False
        rid, stored, live = int(row[0]), int(row[1]), bool(row[2])
        if live and version >= stored:
            blanks = ", ".join(f"{c} = NULL" for c in _ENTRY_COLUMNS[3:])
            self._conn.execute(
                f"UPDATE {ev} SET version = ?, live = 0, {blanks} WHERE rid = ?", (version, rid)
            )
            self._conn.execute(f"DELETE FROM {fts} WHERE rowid = ?", (rid,))
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
                self._conn.execute(f"DELETE FROM {_fts(gen)}")

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
        generation = self.create_generation()
        try:
            if entries is None:
                loaded = self._copy_into(int(generation))
            else:
                loaded = self.bulk_upsert(entries, generation=generation)
            self.swap(generation)
        except BaseException:
            self.abandon_generation(generation)
            raise
        return loaded

    def _copy_into(self, target: int) -> int:
        """Copy the live generation, tombstones included, re-deriving the folded columns."""
        with self._lock, self._tx():
            source = self._current()
            rows = self._conn.execute(
                f"SELECT e.rid, {_E_COLUMNS}, f.body FROM {_ev(source)} AS e "
                f"LEFT JOIN {_fts(source)} AS f ON f.rowid = e.rid"
            ).fetchall()
            names = ["rid", *_ENTRY_COLUMNS, "body"]
            copied = 0
            for raw in rows:
                record = dict(zip(names, raw, strict=True))
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
                f"SELECT e.rid, {_E_COLUMNS}, f.body FROM {_ev(gen)} AS e "
                f"JOIN {_fts(gen)} AS f ON f.rowid = e.rid WHERE e.link_id = ? AND e.live = 1",
                (link_id,),
            ).fetchone()
        if row is None:
            return None
        return _entry_from(dict(zip(["rid", *_ENTRY_COLUMNS, "body"], row, strict=True)))

    def count(self) -> int:
        with self._lock:
            row = self._conn.execute(f"SELECT count(*) FROM {_ev(self._current())} WHERE live = 1").fetchone()
        return int(row[0])

    def search(self, query: SearchQuery) -> SearchResult:
        parsed = parse_text(query.text)
        with self._lock:
            gen = self._current()
            plan = _Plan(gen, query, parsed)
            rows = self._conn.execute(plan.page_sql(), plan.params).fetchall()
            has_more = len(rows) > query.page_size
            rows = rows[: query.page_size]
            total, facets = self._totals(plan, query, rows)
            hits = self._hits(gen, rows, parsed, plan)
        next_cursor = plan.cursor_after(rows[-1]) if has_more and rows else None
        return SearchResult(hits=hits, total=total, facets=facets, next_cursor=next_cursor)

    def _totals(
        self, plan: _Plan, query: SearchQuery, rows: list[Any]
    ) -> tuple[int, dict[Facet, tuple[FacetBucket, ...]]]:
        if not query.facets:
            row = self._conn.execute(f"SELECT count(*) {plan.from_where()}", plan.params).fetchone()
            return int(row[0]), {}
        grouped = self._conn.execute(
            "SELECT e.criterion_code, e.decision, e.unit_id, max(e.unit_name), e.year, count(*) "
            f"{plan.from_where()} "
            "GROUP BY e.criterion_code, e.decision, e.unit_id, e.year",
            plan.params,
        ).fetchall()
        counts: dict[Facet, Counter[str]] = {facet: Counter() for facet in Facet}
        names: dict[str, str] = {}
        total = 0
        for criterion, decision, unit_id, unit_name, year, n in grouped:
            total += int(n)
            counts[Facet.CRITERION][str(criterion)] += int(n)
            counts[Facet.DECISION][str(decision)] += int(n)
            counts[Facet.UNIT][str(unit_id)] += int(n)
            counts[Facet.YEAR][str(year)] += int(n)
            names[str(unit_id)] = str(unit_name)
        facets = {
            facet: buckets(counts[facet], names if facet is Facet.UNIT else None) for facet in query.facets
        }
        return total, facets

    def _hits(self, gen: int, rows: list[Any], parsed: ParsedText, plan: _Plan) -> tuple[Hit, ...]:
        if not rows:
            return ()
        rids = [int(r[0]) for r in rows]
        marks = ", ".join("?" * len(rids))
        fetched = self._conn.execute(
            f"SELECT e.rid, {_E_COLUMNS}, f.body FROM {_ev(gen)} AS e "
            f"JOIN {_fts(gen)} AS f ON f.rowid = e.rid WHERE e.rid IN ({marks})",
            rids,
        ).fetchall()
        by_rid = {
            int(r[0]): _entry_from(dict(zip(["rid", *_ENTRY_COLUMNS, "body"], r, strict=True)))
            for r in fetched
        }
        hits = []
        for row in rows:
            entry = by_rid[int(row[0])]
            score = None if row[3] is None else -float(row[3])
            hits.append(
                Hit(
                    entry=entry,
                    title=title_snippet(entry.title, parsed),
                    snippet=body_snippet(entry.text, parsed),
                    score=score,
                    exact=bool(row[2]),
                )
            )
        return tuple(hits)

    def close(self) -> None:
        with self._lock:
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


class _Plan:
    """The SQL for one query: a base selection (rid, link_id, exact, score, date key) and a page."""

    def __init__(self, gen: int, query: SearchQuery, parsed: ParsedText) -> None:
        self.gen = gen
        self.query = query
        self.parsed = parsed
        self.params: dict[str, Any] = {}
        self.by_relevance = query.sort is SortOrder.RELEVANCE and not parsed.empty
        self._filters = self._filter_sql()

    def _filter_sql(self) -> str:
        q, p = self.query, self.params
        clauses = ["e.live = 1"]
        if q.unit_ids:
            names = []
            for i, unit in enumerate(sorted(q.unit_ids)):
                p[f"unit{i}"] = unit
                names.append(f":unit{i}")
            clauses.append(f"e.unit_id IN ({', '.join(names)})")
        if q.level is not None:
            p["level"] = q.level
            clauses.append("e.level = :level")
        if q.year is not None:
            p["year"] = q.year
            clauses.append("e.year = :year")
        if q.decision is not None:
            p["decision"] = q.decision.value
            clauses.append("e.decision = :decision")
        if q.criterion is not None:
            p["crit"], p["crit_lo"], p["crit_hi"] = (
                q.criterion,
                q.criterion + SUBTREE_LOW,
                q.criterion + SUBTREE_HIGH,
            )
            clauses.append(
                "(e.criterion_code = :crit OR (e.criterion_code >= :crit_lo AND e.criterion_code < :crit_hi))"
            )
        if q.reason is not None:
            p["reason"] = q.reason
            clauses.append("EXISTS (SELECT 1 FROM json_each(e.reasons) WHERE json_each.value = :reason)")
        if q.number_prefix:
            prefix = fold(q.number_prefix.strip())
            p["num_lo"], p["num_hi"] = prefix, prefix + PREFIX_END
            clauses.append("e.number_key >= :num_lo AND e.number_key < :num_hi")
        return " AND ".join(clauses)

    def from_where(self) -> str:
        """FROM … WHERE … selecting the matching live rows as `e` (and the FTS table)."""
        ev = _ev(self.gen)
        if self.parsed.empty:
            return f"FROM {ev} AS e WHERE {self._filters}"
        fts = _fts(self.gen)
        self.params["folded_q"] = _match_expression(_FOLDED_COLUMNS, self.parsed.folded)
        return (
            f"FROM {fts} JOIN {ev} AS e ON e.rid = {fts}.rowid "
            f"WHERE {fts} MATCH :folded_q AND {self._filters}"
        )

    def base_sql(self) -> str:
        """The ranked selection: rid, link_id, exact (0/1), score (bm25, lower is better), date key."""
        from_where = self.from_where()
        if self.parsed.empty:
            return (
                "SELECT e.rid AS rid, e.link_id AS link_id, 0 AS exact, NULL AS score, "
                f"coalesce(e.issued_on, '') AS d {from_where}"
            )
        fts = _fts(self.gen)
        exact = "0"
        if any_diacritics(self.parsed):
            self.params["exact_q"] = _match_expression(_EXACT_COLUMNS, self.parsed.exact)
            exact = f"(e.rid IN (SELECT rowid FROM {fts} WHERE {fts} MATCH :exact_q))"
        weights = ", ".join(str(w) for w in BM25_WEIGHTS)
        return (
            f"SELECT e.rid AS rid, e.link_id AS link_id, {exact} AS exact, bm25({fts}, {weights}) AS score, "
            f"coalesce(e.issued_on, '') AS d {from_where}"
        )

    def page_sql(self) -> str:
        base = self.base_sql()
        q, p = self.query, self.params
        keyset = ""
        if self.by_relevance:
            order = "exact DESC, score ASC, link_id ASC"
            if q.cursor is not None:
                exact, score, link_id = decode_cursor(q.cursor, CURSOR_RELEVANCE)
                p["c_exact"], p["c_score"], p["c_link"] = int(exact), float(score), str(link_id)
                keyset = (
                    "WHERE exact < :c_exact OR (exact = :c_exact AND "
                    "(score > :c_score OR (score = :c_score AND link_id > :c_link)))"
                )
        else:
            order = "d DESC, link_id ASC"
            if q.cursor is not None:
                day, link_id = decode_cursor(q.cursor, CURSOR_DATE)
                p["c_day"], p["c_link"] = str(day), str(link_id)
                keyset = "WHERE d < :c_day OR (d = :c_day AND link_id > :c_link)"
        p["limit"] = q.page_size + 1
        p["offset"] = (q.page - 1) * q.page_size if q.page is not None else 0
        return (
            f"SELECT rid, link_id, exact, score, d FROM ({base}) {keyset} "
            f"ORDER BY {order} LIMIT :limit OFFSET :offset"
        )

    def cursor_after(self, row: Any) -> str:
        if self.by_relevance:
            return encode_cursor(CURSOR_RELEVANCE, [int(row[2]), float(row[3]), str(row[1])])
        return encode_cursor(CURSOR_DATE, [str(row[4]), str(row[1])])


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
