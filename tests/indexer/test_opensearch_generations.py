"""A reindex that dies before its swap leaves an index behind; the restarted writer drops it."""

from __future__ import annotations

from opensearchpy import OpenSearch
from osmem_server import OsmemServer

from services.indexer.backends.opensearch import OpenSearchIndex
from tests.indexer.corpus import DOCUMENTS


def test_restarted_writer_drops_the_generation_of_a_crashed_reindex(osmem: OsmemServer) -> None:
    clone = osmem.clone()
    client = OpenSearch(hosts=[clone.url])
    try:
        crashed = OpenSearchIndex(client, alias="kc-crash", refresh=True)
        crashed.bulk_upsert(DOCUMENTS)
        left_behind = crashed.create_generation()  # the process "dies" before swap
        restarted = OpenSearchIndex(client, alias="kc-crash", refresh=True)
        assert restarted.drop_abandoned_generations() == 1
        assert not client.indices.exists(index=left_behind)
        assert restarted.count() == len(DOCUMENTS)
        assert restarted.drop_abandoned_generations() == 0
    finally:
        client.close()
        clone.close()
