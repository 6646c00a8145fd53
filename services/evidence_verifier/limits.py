"""Resource limits for verifying one document."""

from __future__ import annotations

from dataclasses import dataclass

MEBIBYTE = 1024 * 1024
DEFAULT_MAX_BYTES = 50 * MEBIBYTE
DEFAULT_MAX_PAGES = 500
DEFAULT_TIMEOUT_SECONDS = 60.0
DEFAULT_MEMORY_MB = 1024
DEFAULT_TEXT_CHARS = 200_000  # enough for the search index; whole laws are capped
DEFAULT_WORKERS = 0  # verification worker processes; 0 means one per CPU
# The visual check of changes after signing (visual_check.py): pages a later revision touched are
# rendered, in the signed revision and in the final file, and compared. Low resolution keeps it
# cheap (about a millisecond per text page); text and any covering shape are still many pixels.
DEFAULT_RENDER_DPI = 50.0
DEFAULT_RENDER_PAGES = 400  # renders per document; past it the document needs a person
DEFAULT_REVISION_WALK_OBJECTS = 200_000  # objects inspected to decide which pages changed
# grey levels (0-255): renderings of unchanged content by one engine are identical, so the
# tolerance only absorbs antialiasing where new drawing meets old
DEFAULT_RENDER_CHANGE_TOLERANCE = 24
DEFAULT_RENDER_BLANK_LEVEL = 235  # a signed pixel this light or lighter counts as blank paper

# Work bounds by count, not only by time (a 675 KB file of 5,000 fields naming one signature
# tied a worker for 60 s; 499 pages of 20,000 text objects took 34 s). Past either, the
# document needs a person (RESOURCE_LIMIT).
DEFAULT_MAX_SIGNATURES = 50  # signature fields (each one a CMS validation)
DEFAULT_MAX_PAGE_OBJECTS = 1_000_000  # page objects walked for the scan check, forms included


@dataclass(frozen=True)
class Limits:
    max_bytes: int = DEFAULT_MAX_BYTES
    max_pages: int = DEFAULT_MAX_PAGES
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS
    memory_mb: int = DEFAULT_MEMORY_MB
    text_chars: int = DEFAULT_TEXT_CHARS
    workers: int = DEFAULT_WORKERS
    render_dpi: float = DEFAULT_RENDER_DPI
    render_pages: int = DEFAULT_RENDER_PAGES
    revision_walk_objects: int = DEFAULT_REVISION_WALK_OBJECTS
    render_change_tolerance: int = DEFAULT_RENDER_CHANGE_TOLERANCE
    render_blank_level: int = DEFAULT_RENDER_BLANK_LEVEL
    max_signatures: int = DEFAULT_MAX_SIGNATURES
    max_page_objects: int = DEFAULT_MAX_PAGE_OBJECTS
