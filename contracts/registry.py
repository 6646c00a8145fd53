"""Parse raw bytes into the right event model, or say exactly why not."""

from __future__ import annotations

import json
from typing import Any

from pydantic import ValidationError

from contracts.envelope import Event
from contracts.errors import ContractError, ContractReason
from contracts.events import ALL_EVENTS

EVENT_MODELS: dict[tuple[str, int], type[Event]] = {(m.TYPE, m.VERSION): m for m in ALL_EVENTS}
KNOWN_TYPES: frozenset[str] = frozenset(t for t, _ in EVENT_MODELS)
# The largest message any producer of ours writes is a province's survey import (20,000 units x a
# few survey leaves, ~80 bytes each); a bigger one is refused before JSON parsing allocates it.
MAX_EVENT_BYTES = 16 * 1024 * 1024


def parse_event(raw: bytes | str) -> Event:
    size = len(raw.encode("utf-8")) if isinstance(raw, str) and len(raw) * 4 > MAX_EVENT_BYTES else len(raw)
    if size > MAX_EVENT_BYTES:
        raise ContractError(ContractReason.MESSAGE_TOO_LARGE, f"{size} bytes > {MAX_EVENT_BYTES}")
    try:
        data: Any = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ContractError(ContractReason.MALFORMED_JSON, str(exc)) from exc
    return parse_event_dict(data)


def parse_event_dict(data: Any) -> Event:
    if not isinstance(data, dict):
        raise ContractError(
            ContractReason.NOT_AN_OBJECT, f"expected a JSON object, got {type(data).__name__}"
        )
    event_type = data.get("type")
    version = data.get("schema_version")
    if event_type not in KNOWN_TYPES:
        raise ContractError(ContractReason.UNKNOWN_TYPE, f"unknown event type {event_type!r}")
    model = EVENT_MODELS.get((str(event_type), version)) if isinstance(version, int) else None
    if model is None:
        raise ContractError(
            ContractReason.UNKNOWN_SCHEMA_VERSION, f"{event_type} has no schema_version {version!r}"
        )
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ContractError(ContractReason.INVALID_PAYLOAD, summarise(exc)) from exc


def summarise(exc: ValidationError) -> str:
    """A validation error in one line a person can act on (field path: what is wrong)."""
    parts = [f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()[:10]]
    return "; ".join(parts)


def serialise(event: Event) -> bytes:
    return event.model_dump_json().encode("utf-8")
