"""The indexer's errors: one base class carrying a reason code."""

from __future__ import annotations

from enum import StrEnum


class IndexerErrorCode(StrEnum):
    INVALID_QUERY = "invalid_query"
    QUERY_TOO_LARGE = "query_too_large"
    QUERY_TIMEOUT = "query_timeout"
    INVALID_CURSOR = "invalid_cursor"
    INVALID_ENTRY = "invalid_entry"
    UNKNOWN_GENERATION = "unknown_generation"
    BACKEND_FAILURE = "backend_failure"


class IndexerError(Exception):
    """Raised by the indexer; `code` says why."""

    def __init__(self, code: IndexerErrorCode, detail: str = "") -> None:
        super().__init__(f"{code.value}: {detail}" if detail else code.value)
        self.code = code
        self.detail = detail
