"""Opaque pagination cursors: the sort key of the last hit, tagged with the sort order."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from services.indexer.errors import IndexerError, IndexerErrorCode


def encode_cursor(tag: str, key: list[Any]) -> str:
    raw = json.dumps([tag, key], separators=(",", ":"), ensure_ascii=False).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, tag: str) -> list[Any]:
    """The key saved by `encode_cursor`; raises INVALID_CURSOR if it is foreign or damaged."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        saved_tag, key = json.loads(raw)
    except (ValueError, binascii.Error, TypeError) as exc:
        raise IndexerError(IndexerErrorCode.INVALID_CURSOR, "cannot decode") from exc
    if saved_tag != tag or not isinstance(key, list):
        raise IndexerError(IndexerErrorCode.INVALID_CURSOR, "cursor belongs to another sort or backend")
    return key
