"""Correcting a published result over HTTP (issue 13): province keys only, 4xx with a reason code
for anything refused, and the unit view shows the history."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from kiemchung.api import create_app
from kiemchung.runtime.db import create_schema, make_engine, session_factory
from kiemchung.runtime.settings import Settings
from tests.scoring.kit import Scoring, vn
from tests.scoring.test_api import header, keyring

URL = "/units/{unit}/corrections/{year}"
BODY = {
    "decision_number": "215/QĐ-UBND",
    "reason": "Phúc tra",
    "points": [{"criterion_code": "1.2", "points": "4"}],
}


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    engine = make_engine(f"sqlite:///{tmp_path / 'state.db'}")
    create_schema(engine)
    sessions = session_factory(engine)

    async def province() -> None:
        s = Scoring(sessions)
        await s.register("so-noi-vu", "Sở Nội vụ")
        await s.register("so-tu-phap", "Sở Tư pháp")
        await s.self_score("so-noi-vu", "1.2", "8", explanation="BC số 1")
        await s.self_score("so-tu-phap", "1.2", "6", explanation="BC số 2")
        await s.publish()

    asyncio.run(province())
    app = create_app(
        Settings(), sessions=sessions, search_index=None, keys=keyring(), clock=lambda: vn(2, 5, year=2026)
    )
    with TestClient(app) as test_client:
        yield test_client
    engine.dispose()


def test_a_province_key_corrects_a_published_result_and_the_unit_view_shows_it(client: TestClient) -> None:
    answer = client.post(URL.format(unit="so-noi-vu", year=2025), json=BODY, headers=header("province"))
    assert answer.status_code == 200, answer.text
    assert answer.json()["accepted"] is True
    assert answer.json()["index"] == "4"
    view = client.get("/units/so-noi-vu/scores/2025", headers=header("province")).json()
    assert [
        (c["decision_number"], c["index_before"]["display"], c["index_after"]["display"])
        for c in view["corrections"]
    ] == [("215/QĐ-UBND", "8.00", "4.00")]
    ranking = client.get("/rankings/department/2025", headers=header("province")).json()
    assert [r["unit_id"] for r in ranking["ranked"]] == ["so-tu-phap", "so-noi-vu"]
    assert client.get("/published/changes", headers=header("province")).json() == []


@pytest.mark.parametrize(
    ("unit", "year", "body", "status", "reason"),
    [
        ("so-noi-vu", 2026, BODY, 422, "not_published"),
        (
            "so-noi-vu",
            2025,
            {**BODY, "points": [{"criterion_code": "1.2", "points": "9"}]},
            422,
            "points_out_of_range",
        ),
        (
            "so-noi-vu",
            2025,
            {**BODY, "points": [{"criterion_code": "9.9", "points": "1"}]},
            422,
            "unknown_leaf",
        ),
        ("so-noi-vu", 2025, {"decision_number": "1/QĐ", "reason": "x"}, 422, "empty_command"),
        ("so-khong-co", 2025, BODY, 404, "unknown_unit"),
    ],
    ids=["unpublished-year", "over-max", "unknown-leaf", "no-change", "unknown-unit"],
)
def test_a_refused_correction_answers_4xx_with_its_reason(
    client: TestClient, unit: str, year: int, body: dict[str, object], status: int, reason: str
) -> None:
    answer = client.post(URL.format(unit=unit, year=year), json=body, headers=header("province"))
    assert (answer.status_code, answer.json()["reason"]) == (status, reason)


def test_only_province_keys_correct_and_bad_bodies_are_4xx(client: TestClient) -> None:
    path = URL.format(unit="so-noi-vu", year=2025)
    for role in ("unit", "appraiser"):
        answer = client.post(path, json=BODY, headers=header(role))
        assert (answer.status_code, answer.json()["reason"]) == (403, "role_not_allowed")
    assert client.post(path, json=BODY).status_code == 401
    for body in ({**BODY, "decision_number": ""}, {**BODY, "points": "x"}, {**BODY, "maximum": -1}, [1]):
        assert client.post(path, json=body, headers=header("province")).status_code == 422
    view = client.get("/units/so-noi-vu/scores/2025", headers=header("province")).json()
    assert view["corrections"] == []
