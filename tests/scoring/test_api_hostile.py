"""Hostile requests to the HTTP API answer a clear 4xx, never a 500 (issue 10, items 2-4)."""

from __future__ import annotations

import base64
import json

import pytest
from fastapi.testclient import TestClient

from services.indexer.limits import MAX_PAGE, MAX_QUERY_PHRASES
from tests.scoring.test_api import client, header

__all__ = ["client"]

BAD_YEARS = ("0", "-1", "1999", "2101", "10000", str(2**63), str(2**64 + 1))
YEAR_ROUTES = (
    "/units/so-noi-vu/scores/{year}",
    "/criteria/1/units/{year}",
    "/units/so-noi-vu/ledger/{year}",
    "/units/so-noi-vu/evidence/{year}",
    "/rankings/department/{year}",
    "/exports/department/{year}.xlsx",
    "/rejections?year={year}",
    "/evidence/search?year={year}",
)


@pytest.mark.parametrize("route", YEAR_ROUTES)
@pytest.mark.parametrize("year", BAD_YEARS)
def test_year_out_of_the_contracts_bounds_is_422(client: TestClient, route: str, year: str) -> None:
    response = client.get(route.format(year=year), headers=header("province"))
    assert response.status_code == 422, response.text


@pytest.mark.parametrize("page", ["9223372036854775807", str(MAX_PAGE + 1), "0", "-3"])
def test_search_page_out_of_bounds_is_422(client: TestClient, page: str) -> None:
    response = client.get(f"/evidence/search?q=ke+hoach&page={page}", headers=header("province"))
    assert response.status_code == 422, response.text


def _forged(key: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(key).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    [
        _forged(["fts5:d", [1, 2, 3]]),
        _forged(["fts5:d", []]),
        _forged(["fts5:t", [-7, 0]]),
        _forged(["fts5:r", ["a", "b", "c"]]),
        _forged(["fts5:d", ["1e400"]]),
        _forged(["fts5:d", [2**80]]),
        _forged([1, 2, 3]),
        _forged({"a": 1}),
        "%%%",
    ],
)
@pytest.mark.parametrize("sort", ["date", "relevance"])
def test_forged_cursor_is_422_invalid_cursor(client: TestClient, cursor: str, sort: str) -> None:
    response = client.get(
        "/evidence/search",
        params={"q": "ke hoach", "sort": sort, "cursor": cursor},
        headers=header("province"),
    )
    assert response.status_code == 422, response.text
    assert response.json()["reason"] in {"invalid_cursor", "bad_query"}


def test_many_phrases_are_422_query_too_large(client: TestClient) -> None:
    q = " ".join(f'"ke{i} hoach"' for i in range(MAX_QUERY_PHRASES + 1))
    response = client.get("/evidence/search", params={"q": q}, headers=header("province"))
    assert response.status_code == 422
    assert response.json()["reason"] == "query_too_large"


def test_very_long_query_is_422(client: TestClient) -> None:
    response = client.get("/evidence/search", params={"q": "a " * 5000}, headers=header("province"))
    assert response.status_code == 422
