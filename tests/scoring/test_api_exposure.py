"""What the API shows without a key, what it logs, and who may read its files (issue 10, "Also")."""

from __future__ import annotations

import logging
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from kiemchung.api import create_app
from kiemchung.runtime.db import create_schema, make_engine, session_factory
from kiemchung.runtime.settings import Settings
from services.indexer.configured import build_search_index
from tests.scoring.test_api import keyring

DOC_ROUTES = ("/docs", "/redoc", "/openapi.json")
SECRET = "k-secret-0123456789"
NOW = datetime(2025, 12, 1, tzinfo=UTC)


def _client(settings: Settings, tmp_path: Path) -> TestClient:
    engine = make_engine(f"sqlite:///{tmp_path / 'state.db'}")
    create_schema(engine)
    app = create_app(
        settings, sessions=session_factory(engine), search_index=None, keys=keyring(), clock=lambda: NOW
    )
    return TestClient(app)


@pytest.mark.parametrize("route", DOC_ROUTES)
def test_docs_are_off_by_default(route: str, tmp_path: Path) -> None:
    assert _client(Settings(), tmp_path).get(route).status_code == 404


@pytest.mark.parametrize("route", DOC_ROUTES)
def test_docs_are_served_when_the_setting_asks(route: str, tmp_path: Path) -> None:
    assert _client(Settings(api_docs=True), tmp_path).get(route).status_code == 200


def test_a_key_in_the_query_string_never_reaches_the_access_log(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    _client(Settings(), tmp_path)  # installs the redaction
    caplog.set_level(logging.INFO, logger="uvicorn.access")
    # uvicorn's own access-log call (uvicorn/protocols/http/h11_impl.py)
    logging.getLogger("uvicorn.access").info(
        '%s - "%s %s HTTP/%s" %d',
        "127.0.0.1:5000",
        "GET",
        f"/units?x=1&api_key={SECRET}&key={SECRET}",
        "1.1",
        401,
    )
    assert SECRET not in caplog.text
    assert "x=1" in caplog.text


def test_data_dir_is_private_and_database_files_are_0600(tmp_path: Path) -> None:
    data = tmp_path / "var"
    settings = Settings(data_dir=data)
    engine = make_engine(settings.resolved_database_url())
    create_schema(engine)
    engine.dispose()
    build_search_index(settings).close()
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    for name in ("kiemchung.db", "search.db"):
        assert stat.S_IMODE((data / name).stat().st_mode) == 0o600, name


@pytest.mark.parametrize(
    "route", ["/units", "/units/so-noi-vu/scores/2025", "/rankings/department/2025", "/published/changes"]
)
def test_a_database_that_does_not_answer_is_503_with_a_reason_not_500(route: str) -> None:
    # A real connection to a port where no PostgreSQL listens (refused at once): the failing
    # dependency is reported as such, with when to retry, and no traceback reaches the client.
    from tests.scoring.test_api import KEYS

    engine = make_engine("postgresql+psycopg://postgres@127.0.0.1:1/kiemchung")
    app = create_app(
        Settings(), sessions=session_factory(engine), search_index=None, keys=keyring(), clock=lambda: NOW
    )
    client = TestClient(app, raise_server_exceptions=False)
    response = client.get(route, headers={"X-API-Key": KEYS["province"][0]})
    assert response.status_code == 503
    assert response.json()["reason"] == "unavailable"
    assert response.headers["Retry-After"] == "5"
