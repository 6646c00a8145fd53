"""Schemathesis against the committed docs/openapi.json on the running API (in-process ASGI):
whatever a province key sends, the API never answers 5xx (issue 10, "Beyond the list").

Bounded: a few examples per operation, no deadline, so `make test` stays fast."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings

from tests.scoring.test_api import client, header

__all__ = ["client"]

OPENAPI = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"
EXAMPLES_PER_OPERATION = 8
SERVER_ERROR = 500


schema = schemathesis.openapi.from_dict(json.loads(OPENAPI.read_text(encoding="utf-8")))


@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_no_request_makes_the_api_fail(case: Any, client: TestClient) -> None:
    # Sent through the suite's own client (httpx): Schemathesis generates, the ASGI app answers.
    sent = case.as_transport_kwargs(base_url=str(client.base_url), headers=header("province"))
    response = client.request(
        sent["method"],
        sent["url"],
        params=sent.get("params"),
        headers=sent.get("headers"),
        content=sent.get("data"),
        json=sent.get("json"),
    )
    assert response.status_code < SERVER_ERROR, (sent, response.text)
