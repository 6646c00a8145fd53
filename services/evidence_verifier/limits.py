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


@dataclass(frozen=True)
class Limits:
    max_bytes: int = DEFAULT_MAX_BYTES
    max_pages: int = DEFAULT_MAX_PAGES
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS
    memory_mb: int = DEFAULT_MEMORY_MB
    text_chars: int = DEFAULT_TEXT_CHARS
    workers: int = DEFAULT_WORKERS
