"""The HTTP API's app factory: the scoring read API, evidence search and the Excel export.

`create_app` takes every adapter explicitly (the composition root or a test passes them); the
routes live with their service (services/scoring/api.py). The OpenAPI document is committed as
docs/openapi.json and checked by tests/scoring/test_openapi.py.
"""

from __future__ import annotations

import json
import logging
from typing import Any
from urllib.parse import parse_qsl, urlencode

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from kiemchung.runtime.clock import Clock
from kiemchung.runtime.failures import is_transient
from kiemchung.runtime.settings import Settings
from services.indexer.port import SearchIndex
from services.indexer.timed import timed
from services.scoring.access import KeyRing
from services.scoring.api import CONTEXT_STATE, ApiContext, build_router, error_response
from services.scoring.core.errors import ScoringError
from services.scoring.errors import ScoringServiceError
from services.scoring.service import load_catalogue

API_TITLE = "kiemchung"
# A dependency failed (the database): the client may retry after this many seconds.
RETRY_AFTER_SECONDS = 5
UNAVAILABLE = "unavailable"
log = logging.getLogger(__name__)
API_VERSION = "1"
API_DESCRIPTION = (
    "Scores, rankings, ledger, evidence and the appendix export of the provincial "
    "administrative-reform index (Chỉ số CCHC). Every route needs an X-API-Key; a key's role "
    "(unit, appraiser, province) and scope decide which units it reads."
)


def create_app(
    settings: Settings,
    *,
    sessions: sessionmaker[Session],
    search_index: SearchIndex | None,
    keys: KeyRing,
    clock: Clock,
) -> FastAPI:
    # The interactive docs answer without a key: only where the settings ask for them.
    docs = settings.api_docs
    app = FastAPI(
        title=API_TITLE,
        version=API_VERSION,
        description=API_DESCRIPTION,
        docs_url="/docs" if docs else None,
        redoc_url="/redoc" if docs else None,
        openapi_url="/openapi.json" if docs else None,
    )
    install_key_redaction()
    context = ApiContext(
        sessions=sessions,
        catalogue=load_catalogue(settings.criteria_dir),
        search=timed(search_index) if search_index is not None else None,
        keys=keys,
        clock=clock,
    )
    setattr(app.state, CONTEXT_STATE, context)
    app.include_router(build_router())

    @app.exception_handler(ScoringServiceError)
    async def _refused(request: Request, exc: ScoringServiceError) -> JSONResponse:
        return error_response(request, exc)

    @app.exception_handler(ScoringError)
    async def _not_scoreable(request: Request, exc: ScoringError) -> JSONResponse:
        # The unit's criteria set does not score that year or level (set_not_for_year, …).
        return JSONResponse(status_code=422, content={"reason": exc.reason.value, "detail": str(exc)})

    @app.exception_handler(SQLAlchemyError)
    async def _database_failed(request: Request, exc: SQLAlchemyError) -> Response:
        # A database that is down or restarting is a failing dependency, not a server bug: 503
        # with a reason and when to retry, never a 500 (web pages and the API alike).
        if not is_transient(exc):
            log.error("database error on %s: %s", request.url.path, type(exc).__name__)
            return JSONResponse(status_code=500, content={"reason": "internal_error", "detail": ""})
        log.warning("database unavailable on %s: %s", request.url.path, type(exc).__name__)
        headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
        return JSONResponse(
            status_code=503,
            headers=headers,
            content={"reason": UNAVAILABLE, "detail": "the database is not answering; try again shortly"},
        )

    @app.get("/metrics", include_in_schema=False)
    def prometheus_metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    @app.get("/health", tags=["health"])
    def health() -> dict[str, str]:
        return {"status": "ok", "time": clock().isoformat()}

    return app


def serving_app(settings: Settings, *, clock: Clock) -> FastAPI:
    """What `kiemchung serve` runs: the API and, in the same process with the same keys, the web
    application (kiemchung/web), whose commands go through the scoring handlers."""
    from kiemchung.runtime.db import make_engine, session_factory
    from kiemchung.web.app import build_web_context, embedded_scoring_sink, mount_web
    from services.indexer.configured import build_search_index
    from services.scoring.access import load_keys

    sessions = session_factory(make_engine(settings.resolved_database_url()))
    search = build_search_index(settings)
    keys = load_keys(settings.api_keys_file)
    app = create_app(settings, sessions=sessions, search_index=search, keys=keys, clock=clock)
    catalogue = load_catalogue(settings.criteria_dir)
    commands = embedded_scoring_sink(sessions, catalogue, clock, settings.producer_name)
    mount_web(
        app,
        build_web_context(
            settings,
            sessions=sessions,
            catalogue=catalogue,
            search=search,
            keys=keys,
            clock=clock,
            commands=commands,
        ),
    )
    return app


# Query parameters whose values are never written to a log (a key sent where it does not belong).
SECRET_PARAMS = frozenset({"api_key", "apikey", "key", "x-api-key", "x_api_key", "token", "access_token"})
REDACTED = "[redacted]"
ACCESS_LOGGER = "uvicorn.access"
_PATH_ARG = 2  # uvicorn's access record: (client, method, path with query, http version, status)


def redact_query(path: str) -> str:
    """`path` with the value of every secret-looking query parameter replaced."""
    if "?" not in path:
        return path
    base, _, query = path.partition("?")
    pairs = parse_qsl(query, keep_blank_values=True)
    return base + "?" + urlencode([(k, REDACTED if k.lower() in SECRET_PARAMS else v) for k, v in pairs])


class KeyRedaction(logging.Filter):
    """Rewrites the access log's path so an API key in the query string never reaches a log."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) > _PATH_ARG:
            path = args[_PATH_ARG]
            if isinstance(path, str):
                record.args = (*args[:_PATH_ARG], redact_query(path), *args[_PATH_ARG + 1 :])
        return True


def install_key_redaction() -> None:
    access = logging.getLogger(ACCESS_LOGGER)
    if not any(isinstance(f, KeyRedaction) for f in access.filters):
        access.addFilter(KeyRedaction())


def openapi_text(app: FastAPI) -> str:
    """The committed form of the OpenAPI document (stable key order, UTF-8, trailing newline)."""
    document: dict[str, Any] = app.openapi()
    return json.dumps(document, ensure_ascii=False, indent=2, sort_keys=True) + "\n"
