"""Opaque pagination cursors: the sort key of the last hit, tagged with the sort order.

A cursor comes back from the client, so it is hostile input: `decode_cursor` checks its length,
its tag and the type of every element of the key against the shape its backend expects, and
refuses anything else with INVALID_CURSOR (never an IndexError or a ValueError deeper down).
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from services.indexer.errors import IndexerError, IndexerErrorCode
from services.indexer.limits import MAX_CURSOR_CHARS

# One element of a key: the types it may have (bool is never accepted as int).
Slot = tuple[type, ...]
# SQLite integers are signed 64-bit; a larger number would overflow in the query.
INT_BOUND = 1 << 63
INT: Slot = (int,)
NUMBER: Slot = (int, float)
TEXT: Slot = (str,)


def encode_cursor(tag: str, key: list[Any]) -> str:
    raw = json.dumps([tag, key], separators=(",", ":"), ensure_ascii=False).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _fits(value: object, slot: Slot) -> bool:
    if value is None:
        return type(None) in slot
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return int in slot and -INT_BOUND <= value < INT_BOUND
    if isinstance(value, float):
        return float in slot and value == value and abs(value) != float("inf")
    return isinstance(value, str) and str in slot


def decode_cursor(cursor: str, tag: str, shape: tuple[Slot, ...]) -> list[Any]:
    """The key saved by `encode_cursor`; raises INVALID_CURSOR if it is foreign, damaged or
    not of `shape` (one slot of allowed types per element)."""
    if len(cursor) > MAX_CURSOR_CHARS:
        raise IndexerError(IndexerErrorCode.INVALID_CURSOR, "too long")
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        saved_tag, key = json.loads(raw)
    except (ValueError, binascii.Error, TypeError) as exc:
        raise IndexerError(IndexerErrorCode.INVALID_CURSOR, "cannot decode") from exc
    if saved_tag != tag or not isinstance(key, list):
        raise IndexerError(IndexerErrorCode.INVALID_CURSOR, "cursor belongs to another sort or backend")
    if len(key) != len(shape) or not all(_fits(v, s) for v, s in zip(key, shape, strict=True)):
        raise IndexerError(IndexerErrorCode.INVALID_CURSOR, "cursor key has the wrong shape")
    return key
