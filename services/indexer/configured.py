"""The search index the settings name: SQLite FTS5 (embedded) or OpenSearch (distributed)."""

from __future__ import annotations

from kiemchung.runtime.private_files import private_file
from kiemchung.runtime.settings import SearchBackend, Settings
from services.indexer.limits import SearchLimits
from services.indexer.port import SearchIndex


def build_search_index(settings: Settings) -> SearchIndex:
    limits = SearchLimits(deadline_seconds=settings.search_deadline_seconds)
    if settings.search_backend is SearchBackend.OPENSEARCH:
        from opensearchpy import OpenSearch

        from services.indexer.backends.opensearch import OpenSearchIndex

        if not settings.opensearch_url:
            raise ValueError("KIEMCHUNG_OPENSEARCH_URL is required with the opensearch search backend")
        return OpenSearchIndex(
            OpenSearch(settings.opensearch_url),
            alias=settings.opensearch_index,
            refresh=settings.opensearch_refresh,
            limits=limits,
        )
    from services.indexer.backends.fts5 import Fts5Index

    path = settings.resolved_search_path()
    private_file(path)
    return Fts5Index(path, limits=limits)
