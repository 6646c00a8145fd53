"""The scoring service's adapter errors (the core's refusals are core/errors.py)."""

from __future__ import annotations

from enum import StrEnum


class AccessReason(StrEnum):
    """Why the HTTP API refused a request; the response body carries the code."""

    MISSING_KEY = "missing_key"
    INVALID_KEY = "invalid_key"
    ROLE_NOT_ALLOWED = "role_not_allowed"
    OUT_OF_SCOPE = "out_of_scope"

    @property
    def status(self) -> int:
        return _UNAUTHENTICATED if self in _WHO_ARE_YOU else _FORBIDDEN


_UNAUTHENTICATED = 401
_FORBIDDEN = 403
_WHO_ARE_YOU = frozenset({AccessReason.MISSING_KEY, AccessReason.INVALID_KEY})


class LookupReason(StrEnum):
    UNKNOWN_UNIT = "unknown_unit"
    UNKNOWN_LEAF = "unknown_leaf"
    NO_RANKING = "no_ranking"
    BAD_QUERY = "bad_query"
    QUERY_TOO_LARGE = "query_too_large"
    INVALID_CURSOR = "invalid_cursor"
    QUERY_TIMEOUT = "query_timeout"
    SEARCH_UNAVAILABLE = "search_unavailable"

    @property
    def status(self) -> int:
        return _LOOKUP_STATUS.get(self, _NOT_FOUND)


_NOT_FOUND = 404
_UNPROCESSABLE = 422
_UNAVAILABLE = 503
_LOOKUP_STATUS = {
    LookupReason.BAD_QUERY: _UNPROCESSABLE,
    LookupReason.QUERY_TOO_LARGE: _UNPROCESSABLE,
    LookupReason.INVALID_CURSOR: _UNPROCESSABLE,
    LookupReason.SEARCH_UNAVAILABLE: _UNAVAILABLE,
    LookupReason.QUERY_TIMEOUT: _UNAVAILABLE,
}


class ScoringServiceError(Exception):
    """Base of the adapters' errors: `reason` is a code, `status` the HTTP status it maps to."""

    reason: AccessReason | LookupReason

    def __init__(self, reason: AccessReason | LookupReason, detail: str = "") -> None:
        super().__init__(f"{reason.value}: {detail}" if detail else reason.value)
        self.reason = reason
        self.detail = detail

    @property
    def status(self) -> int:
        return self.reason.status


class AccessError(ScoringServiceError):
    """A request was refused: no key, an unknown key, or a key outside its role or scope."""


class NotFoundError(ScoringServiceError):
    """The unit, leaf or ranking asked for does not exist (or the query is malformed)."""
