"""The same handlers with OpenSearch chosen by settings: a linked document becomes searchable,
and `reindex` swaps a rebuilt generation in behind the alias. Runs against the osmem-server
stand-in started here, and against a real cluster when OPENSEARCH_URL is set."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from osmem_server import OsmemServer
from sqlalchemy.orm import Session

from contracts.events import DocumentLinked, UnitRegistered
from contracts.vocabulary import Level
from kiemchung.bootstrap import build_embedded
from kiemchung.runtime.clock import FrozenClock, SeededIds
from kiemchung.runtime.settings import SearchBackend, Settings
from services.indexer.handlers import reindex_from_store
from services.indexer.model import SearchQuery
from tests.corpus import Corpus

OCCURRED = datetime(2024, 11, 20, 2, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def opensearch_url() -> Iterator[str]:
    real = os.environ.get("OPENSEARCH_URL")
    if real:
        yield real
        return
    server = OsmemServer.start(japanese=False, addr="127.0.0.1:0")
    try:
        yield server.url
    finally:
        server.close()


def test_linked_document_is_searchable_on_opensearch_and_survives_reindex(
    corpus: Corpus, opensearch_url: str, tmp_path: Path
) -> None:
    settings = Settings(
        data_dir=tmp_path,
        search_backend=SearchBackend.OPENSEARCH,
        opensearch_url=opensearch_url,
        opensearch_index=f"kiemchung-test-{uuid.uuid4().hex[:10]}",
        opensearch_refresh=True,
        trust_dirs=[corpus.trust_dir],
        fetch_file_root=corpus.directory,
    )
    clock = FrozenClock(OCCURRED)
    ids = SeededIds(seed=5)
    app = build_embedded(settings, clock=clock, ids=ids)

    def envelope() -> dict[str, Any]:
        return {
            "event_id": ids(),
            "occurred_at": OCCURRED,
            "correlation_id": ids(),
            "producer": "eoffice.test",
        }

    link_id = uuid.uuid4()
    events = [
        UnitRegistered(
            **envelope(),
            unit_id="so-noi-vu",
            name="Sở Nội vụ",
            level=Level.DEPARTMENT,
            council_id="hdtd-tinh",
            criteria_set="demo-department",
        ),
        DocumentLinked(
            **envelope(),
            link_id=link_id,
            unit_id="so-noi-vu",
            year=2024,
            criterion_code="1.1",
            document_id="VB-1",
            fetch_url=corpus.good.resolve().as_uri(),
            number="21/KH-SNV",
            title="Kế hoạch cải cách hành chính năm 2024",
            linked_by="vanthu",
        ),
    ]

    async def run() -> None:
        await app.send(*events)
        await app.run_until_idle()

    asyncio.run(run())
    search = app.wiring.search
    assert search is not None
    query = SearchQuery(text="ke hoach cai cach", criterion="1", year=2024)
    before = search.search(query)
    assert [h.entry.link_id for h in before.hits] == [str(link_id)]
    assert before.hits[0].entry.decision.value == "accepted"
    with Session(app.wiring.engine) as session:
        assert reindex_from_store(session, search) == 1
    after = search.search(query)
    assert [h.entry.number for h in after.hits] == ["21/KH-SNV"]
    search.close()
