"""Evidence documents for the document page: the verifier's stored verdict and the page images.

The PDF is fetched again from the e-office link with the verifier's own fetch policy (hosts,
file root, size cap) and must still have the hash the verifier judged; pages are rendered by
PDFium on the server, so the browser never runs the PDF.
"""

from __future__ import annotations

import io
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import pypdfium2 as pdfium  # type: ignore[import-untyped]
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.evidence_verifier.fetch import FetchPolicy, fetch
from services.evidence_verifier.store import verdicts
from services.indexer.handlers import entry_from_json
from services.indexer.model import EvidenceEntry
from services.indexer.store import entries as index_entries

MIN_ZOOM = 0.5
MAX_ZOOM = 3.0
POINTS_PER_INCH = 72
BASE_DPI = 96  # zoom 1 = the page at screen size
CACHED_DOCUMENTS = 8
MAX_RENDER_PIXELS = 4000 * 4000
# PDFium is not thread-safe; uvicorn runs sync routes on a thread pool.
_PDFIUM = threading.Lock()


@dataclass(frozen=True)
class StoredDocument:
    entry: EvidenceEntry
    sha256: str | None
    report: dict[str, Any]
    fetch_url: str


def stored_document(session: Session, link_id: str) -> StoredDocument | None:
    verdict = session.execute(
        select(verdicts.c.sha256, verdicts.c.report).where(verdicts.c.link_id == link_id)
    ).first()
    entry_json = session.execute(
        select(index_entries.c.entry).where(index_entries.c.link_id == link_id)
    ).scalar_one_or_none()
    if entry_json is None:
        return None
    entry = entry_from_json(entry_json)
    report: dict[str, Any] = dict(verdict.report) if verdict is not None else {}
    return StoredDocument(entry, verdict.sha256 if verdict is not None else None, report, entry.link)


class PageRenderer:
    """Fetches and caches a few documents' bytes; renders one page at a time."""

    def __init__(self, policy: FetchPolicy, max_pages: int) -> None:
        self.policy = policy
        self.max_pages = max_pages
        self._cache: OrderedDict[str, bytes] = OrderedDict()
        self._lock = threading.Lock()

    async def document_bytes(self, doc: StoredDocument) -> bytes:
        cache_key = f"{doc.entry.link_id}:{doc.sha256}"
        with self._lock:
            if cache_key in self._cache:
                self._cache.move_to_end(cache_key)
                return self._cache[cache_key]
        data = await fetch(doc.fetch_url, policy=self.policy, expected_sha256=doc.sha256)
        with self._lock:
            self._cache[cache_key] = data
            while len(self._cache) > CACHED_DOCUMENTS:
                self._cache.popitem(last=False)
        return data

    def page_count(self, data: bytes) -> int:
        with _PDFIUM:
            pdf = pdfium.PdfDocument(data)
            try:
                return min(len(pdf), self.max_pages)
            finally:
                pdf.close()

    def render_png(self, data: bytes, page_number: int, zoom: float) -> bytes | None:
        """PNG of page `page_number` (1-based), or None when there is no such page."""
        zoom = min(max(zoom, MIN_ZOOM), MAX_ZOOM)
        with _PDFIUM:
            pdf = pdfium.PdfDocument(data)
            try:
                if not 1 <= page_number <= min(len(pdf), self.max_pages):
                    return None
                page = pdf[page_number - 1]
                width, height = page.get_size()
                scale = zoom * BASE_DPI / POINTS_PER_INCH
                if width * height * scale * scale > MAX_RENDER_PIXELS:
                    scale = (MAX_RENDER_PIXELS / (width * height)) ** 0.5
                image = page.render(scale=scale).to_pil()
                out = io.BytesIO()
                image.save(out, format="PNG", optimize=False)
                return out.getvalue()
            finally:
                pdf.close()
