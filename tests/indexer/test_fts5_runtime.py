"""FTS5 specifics: a file survives reopening, and the index works from asyncio via threads."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

from services.indexer.backends.fts5 import Fts5Index
from services.indexer.model import Facet, SearchQuery
from tests.indexer.corpus import DOCUMENTS, giao_ban


def test_index_file_survives_reopen_and_reindex(tmp_path: Path) -> None:
    path = tmp_path / "search.db"
    first = Fts5Index(path)
    first.bulk_upsert(DOCUMENTS)
    first.reindex()
    first.close()
    again = Fts5Index(path)
    assert again.count() == len(DOCUMENTS)
    assert {h.entry.link_id for h in again.search(SearchQuery(text="de an")).hits} == {"l-da-30"}
    again.close()


def test_abandoned_generation_is_dropped_at_writer_startup(tmp_path: Path) -> None:
    path = tmp_path / "search.db"
    first = Fts5Index(path)
    first.bulk_upsert(DOCUMENTS)
    first.create_generation()  # the process "dies" before swap
    first.close()
    again = Fts5Index(path)
    assert again.count() == len(DOCUMENTS)
    assert again.drop_abandoned_generations() == 1
    tables = again._conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' "
        "AND (sql LIKE 'CREATE VIRTUAL%' OR name GLOB 'ev_[0-9]*')"
    ).fetchall()
    assert sorted(t[0] for t in tables) == ["ev_1", "ev_fts_1"]
    again.close()


async def test_concurrent_use_from_asyncio_threads(tmp_path: Path) -> None:
    index = Fts5Index(tmp_path / "search.db")
    notices = giao_ban(40)

    async def write(i: int) -> bool:
        return await asyncio.to_thread(index.upsert, notices[i])

    async def read() -> int:
        return (await asyncio.to_thread(index.search, SearchQuery(text="giao ban"))).total

    results = await asyncio.gather(*(write(i) for i in range(40)), *(read() for _ in range(20)))
    assert all(r is True for r in results[:40])
    assert index.count() == 40
    redelivered = await asyncio.gather(*(asyncio.to_thread(index.upsert, replace(n)) for n in notices))
    assert not any(redelivered)
    index.close()


def test_a_file_without_facet_tables_gets_them_on_open(tmp_path: Path) -> None:
    path = tmp_path / "search.db"
    first = Fts5Index(path)
    first.bulk_upsert(DOCUMENTS)
    query = SearchQuery(text="ke hoach", facets=frozenset(Facet))
    before = first.search(query).facets
    first._conn.execute("DROP TABLE ev_fx_1")  # as written before facets had their own tables
    first._conn.execute("DROP TABLE ev_fv_1")
    first.close()
    again = Fts5Index(path)
    assert again.search(query).facets == before
    assert again.upsert(giao_ban(1)[0])
    assert again.search(SearchQuery(facets=frozenset({Facet.UNIT}))).total == len(DOCUMENTS) + 1
    again.close()
