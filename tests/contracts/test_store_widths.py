"""Every string a consumer stores in a bounded column is bounded as tightly in the contract, so a
message too long for a store is refused at the door (INVALID_PAYLOAD, dead-lettered at once) on
both runtimes, instead of being stored by SQLite and failing PostgreSQL with a data error."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import String

from contracts import ContractError, ContractReason, parse_event
from contracts.events import ALL_EVENTS
from contracts.registry import MAX_EVENT_BYTES
from kiemchung.schema import load_all_tables

EXAMPLES = Path(__file__).resolve().parents[2] / "contracts" / "examples"
# Columns that store a field under another name: the ledger's actor is whoever acted.
ALIASES = {"actor": ("linked_by", "unlinked_by", "entered_by", "submitted_by", "appraised_by", "council_id")}
# Columns that do not store the event's field of that name, or cut it where they write it.
NOT_FROM_THE_FIELD = {
    "producer": "the outbox's producer is the writing service's own name, not the event's",
    "number": "register/facts.py cuts it to MAX_NUMBER_CHARS",
    "notation": "register/facts.py cuts it to MAX_NUMBER_CHARS",
    "issuer": "register/facts.py folds and cuts it to MAX_NAME_CHARS",
    "sha256": "its pattern allows exactly 64 hex digits",
    "reason": "rejections.reason holds a reason code of ours, not ResultCorrected's reason text",
}


def _string_fields(schema: dict[str, Any]) -> dict[str, int | None]:
    """Top-level and nested string properties with their maxLength (None: unbounded)."""
    out: dict[str, int | None] = {}
    defs = schema.get("$defs", {})
    for part in [schema, *defs.values()]:
        for name, prop in part.get("properties", {}).items():
            options = prop.get("anyOf", [prop])
            strings = [o for o in options if o.get("type") == "string" and "format" not in o]
            if any(o.get("type") == "number" for o in options):
                continue  # a Decimal: its text is bounded by its digits
            if strings:
                bound = strings[0].get("maxLength")
                previous = out.get(name, 0)
                out[name] = None if bound is None or previous is None else max(bound, previous)
    return out


def _stored_widths() -> dict[str, int]:
    widths: dict[str, int] = {}
    for table in load_all_tables().tables.values():
        for column in table.columns:
            if isinstance(column.type, String) and column.type.length is not None:
                width = column.type.length
                widths[column.name] = min(width, widths.get(column.name, width))
    return widths


@pytest.mark.parametrize("model", ALL_EVENTS, ids=lambda m: f"{m.TYPE}.v{m.VERSION}")
def test_contract_strings_fit_the_columns_that_store_them(model: Any) -> None:
    fields = _string_fields(model.model_json_schema())
    too_wide = []
    for column, width in _stored_widths().items():
        if column in NOT_FROM_THE_FIELD:
            continue
        for name in ALIASES.get(column, (column,)):
            if name in fields and (fields[name] is None or fields[name] > width):  # type: ignore[operator]
                too_wide.append(f"{name}: contract {fields[name]} > column {column} {width}")
    assert too_wide == []


@pytest.mark.parametrize(
    ("example", "field"),
    [
        ("DocumentLinked.v1", "document_id"),
        ("DocumentLinked.v1", "linked_by"),
        ("DocumentLinked.v1", "criterion_code"),
        ("EvidenceVerified.v1", "document_id"),
        ("UnitRegistered.v1", "name"),
        ("UnitRegistered.v1", "council_id"),
        ("AppraisalRecorded.v1", "appraised_by"),
    ],
)
def test_a_field_longer_than_its_store_is_refused_as_invalid_payload(example: str, field: str) -> None:
    data = json.loads((EXAMPLES / f"{example}.json").read_text(encoding="utf-8"))
    data[field] = "1." * 200 + "1" if field == "criterion_code" else "x" * 301
    with pytest.raises(ContractError) as caught:
        parse_event(json.dumps(data))
    assert caught.value.reason is ContractReason.INVALID_PAYLOAD


def test_a_supplement_request_naming_a_code_that_is_not_one_is_refused() -> None:
    data = json.loads((EXAMPLES / "SupplementRequested.v1.json").read_text(encoding="utf-8"))
    for bad in ("1." * 40 + "1", "1.a", ""):
        with pytest.raises(ContractError) as caught:
            parse_event(json.dumps({**data, "criterion_codes": ["1.1", bad]}))
        assert caught.value.reason is ContractReason.INVALID_PAYLOAD
    assert parse_event(json.dumps(data)).type == "SupplementRequested"


def test_a_message_over_the_size_bound_is_refused_before_it_is_parsed() -> None:
    data = json.loads((EXAMPLES / "SurveyResultsImported.v1.json").read_text(encoding="utf-8"))
    raw = json.dumps({**data, "source": "S" * MAX_EVENT_BYTES}).encode()
    with pytest.raises(ContractError) as caught:
        parse_event(raw)
    assert caught.value.reason is ContractReason.MESSAGE_TOO_LARGE
    with pytest.raises(ContractError) as caught:
        parse_event(raw.decode())
    assert caught.value.reason is ContractReason.MESSAGE_TOO_LARGE
