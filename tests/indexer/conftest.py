"""Backends for the search contract: FTS5, osmem-server (started here), real OpenSearch."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from opensearchpy import OpenSearch
from osmem_server import OsmemServer

from services.indexer.backends.fts5 import Fts5Index
from services.indexer.backends.opensearch import OpenSearchIndex
from services.indexer.port import SearchIndex

OPENSEARCH_URL = os.environ.get("OPENSEARCH_URL")
LOOPBACK_ANY_PORT = "127.0.0.1:0"


@pytest.fixture(scope="session")
def osmem() -> Iterator[OsmemServer]:
    """One osmem-server for the session on a free loopback port; each test takes a clone."""
    server = OsmemServer.start(japanese=False, addr=LOOPBACK_ANY_PORT)
    yield server
    server.close()


@pytest.fixture(
    params=[
        "fts5",
        "osmem",
        pytest.param(
            "opensearch",
            marks=pytest.mark.skipif(not OPENSEARCH_URL, reason="OPENSEARCH_URL not set"),
        ),
    ]
)
def index(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SearchIndex]:
    if request.param == "fts5":
        fts = Fts5Index(tmp_path_factory.mktemp("fts5") / "search.db")
        yield fts
        fts.close()
        return
    if request.param == "osmem":
        server: OsmemServer = request.getfixturevalue("osmem")
        clone = server.clone()
        client = OpenSearch(hosts=[clone.url])
        yield OpenSearchIndex(client, refresh=True)
        client.close()
        clone.close()
        return
    client = OpenSearch(hosts=[OPENSEARCH_URL])
    alias = f"kiemchung-test-{uuid.uuid4().hex[:12]}"
    yield OpenSearchIndex(client, alias=alias, refresh=True)
    client.indices.delete(index=f"{alias}-g*")
    client.close()
