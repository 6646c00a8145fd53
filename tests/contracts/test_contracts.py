"""Every event version has an example that validates; schemas change only compatibly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from contracts import ContractError, ContractReason, parse_event
from contracts.compatibility import breaking_changes
from contracts.events import ALL_EVENTS, DocumentLinked
from contracts.registry import serialise
from contracts.routing import Service, consumers_of, route_for

ROOT = Path(__file__).resolve().parents[2] / "contracts"
EXAMPLES = sorted((ROOT / "examples").glob("*.json"))
SCHEMAS = sorted((ROOT / "schemas").glob("*.json"))


def test_every_event_version_has_an_example_and_a_schema_snapshot() -> None:
    names = {f"{m.TYPE}.v{m.VERSION}.json" for m in ALL_EVENTS}
    assert {p.name for p in EXAMPLES} == names
    assert {p.name for p in SCHEMAS} == names


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_example_validates_and_round_trips(path: Path) -> None:
    raw = path.read_text(encoding="utf-8")
    event = parse_event(raw)
    assert f"{event.type}.v{event.schema_version}" == path.stem
    assert parse_event(serialise(event)) == event


@pytest.mark.parametrize("path", SCHEMAS, ids=lambda p: p.stem)
def test_schema_changes_do_not_break_consumers(path: Path) -> None:
    committed = json.loads(path.read_text(encoding="utf-8"))
    model = next(m for m in ALL_EVENTS if f"{m.TYPE}.v{m.VERSION}" == path.stem)
    assert breaking_changes(committed, model.model_json_schema()) == []


def test_compatibility_check_catches_a_removed_field_and_a_new_required_one() -> None:
    old = DocumentLinked.model_json_schema()
    new = json.loads(json.dumps(old))
    del new["properties"]["title"]
    new["required"].append("issuer")
    problems = breaking_changes(old, new)
    assert "title: removed" in problems
    assert "issuer: now required" in problems


def test_adding_an_optional_field_is_compatible() -> None:
    old = DocumentLinked.model_json_schema()
    new = json.loads(json.dumps(old))
    new["properties"]["page_count"] = {"type": "integer"}
    assert breaking_changes(old, new) == []


def _example(name: str) -> dict[str, object]:
    data: dict[str, object] = json.loads((ROOT / "examples" / f"{name}.json").read_text(encoding="utf-8"))
    return data


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"{not json", ContractReason.MALFORMED_JSON),
        (b"[1, 2]", ContractReason.NOT_AN_OBJECT),
        (json.dumps({**_example("DocumentLinked.v1"), "type": "Nope"}).encode(), ContractReason.UNKNOWN_TYPE),
        (
            json.dumps({**_example("DocumentLinked.v1"), "schema_version": 9}).encode(),
            ContractReason.UNKNOWN_SCHEMA_VERSION,
        ),
        (
            json.dumps({**_example("DocumentLinked.v1"), "surprise": 1}).encode(),
            ContractReason.INVALID_PAYLOAD,
        ),
        (
            json.dumps({**_example("DocumentLinked.v1"), "criterion_code": "1.a"}).encode(),
            ContractReason.INVALID_PAYLOAD,
        ),
        (
            json.dumps({**_example("DocumentLinked.v1"), "occurred_at": "2024-11-20T09:30:00"}).encode(),
            ContractReason.INVALID_PAYLOAD,
        ),
    ],
    ids=["malformed", "array", "unknown-type", "unknown-version", "extra-field", "bad-code", "naive-time"],
)
def test_bad_messages_are_refused_with_a_reason(raw: bytes, reason: ContractReason) -> None:
    with pytest.raises(ContractError) as caught:
        parse_event(raw)
    assert caught.value.reason is reason


def test_routing_sends_verdicts_to_indexer_and_scoring_and_binds_every_version() -> None:
    assert set(consumers_of("EvidenceVerified")) == {Service.INDEXER, Service.SCORING}
    assert consumers_of("DocumentLinked") == (Service.EVIDENCE_VERIFIER,)
    route = route_for(Service.EVIDENCE_VERIFIER)
    assert route.binding_keys == (
        "DocumentLinked.*",
        "DocumentUnlinked.*",
        "SupplementRequested.*",
        "UnitRegistered.*",
    )
    assert route.dead_letter_queue == "kiemchung.evidence-verifier.dlq"


def test_committed_asyncapi_document_matches_the_workers() -> None:
    from kiemchung.asyncapi import asyncapi_document

    committed = json.loads((ROOT / "asyncapi.json").read_text(encoding="utf-8"))
    assert committed == asyncapi_document(), "contracts/asyncapi.json is stale: run `make asyncapi`"
