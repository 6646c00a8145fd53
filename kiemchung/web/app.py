"""Mount the web application on the API's FastAPI app: same process, same keys, same roles."""

from __future__ import annotations

import secrets
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.orm import Session, sessionmaker

from contracts.routing import Service
from kiemchung.runtime.clock import Clock, random_ids
from kiemchung.runtime.messaging import EventFactory
from kiemchung.runtime.settings import Settings
from kiemchung.web.commands import CommandSink, EmbeddedScoringSink
from kiemchung.web.context import WebContext
from kiemchung.web.documents import PageRenderer
from kiemchung.web.routes import PREFIX, WEB_STATE, SignInRequiredError, build_router, render
from kiemchung.web.session import SessionCodec
from kiemchung.web.uploads import UploadStore
from services.evidence_verifier.fetch import FetchPolicy
from services.indexer.port import SearchIndex
from services.scoring.access import KeyRing
from services.scoring.api import error_response
from services.scoring.commands import scoring_runtime
from services.scoring.errors import ScoringServiceError
from services.scoring.service import CriteriaCatalogue

HERE = Path(__file__).parent
# npm ci (make install) fills this from package-lock.json; nothing from it is committed.
NODE_MODULES = HERE / "assets" / "node_modules"
SECRET_BYTES = 32
# Uploaded tables waiting for their commit (private, short-lived: kiemchung/web/uploads.py).
UPLOADS_DIR = "web-uploads"


def session_secret(configured: str | None) -> str:
    """The configured secret, or a fresh one per process (sessions end when it restarts)."""
    return configured or secrets.token_urlsafe(SECRET_BYTES)


def mount_web(app: FastAPI, context: WebContext) -> None:
    setattr(app.state, WEB_STATE, context)
    app.include_router(build_router())
    app.mount(f"{PREFIX}/static", StaticFiles(directory=HERE / "static"), name="web-static")
    htmx = NODE_MODULES / "htmx.org" / "dist"
    if htmx.is_dir():
        app.mount(f"{PREFIX}/vendor/htmx", StaticFiles(directory=htmx), name="web-htmx")

    @app.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse(f"{PREFIX}/", status_code=303)

    @app.exception_handler(SignInRequiredError)
    async def _sign_in(request: Request, exc: SignInRequiredError) -> Response:
        if request.url.path.startswith(f"{PREFIX}/events"):
            return Response(status_code=401)
        return RedirectResponse(f"{PREFIX}/signin", status_code=303)

    @app.exception_handler(ScoringServiceError)
    async def _refused(request: Request, exc: ScoringServiceError) -> Response:
        if not request.url.path.startswith(f"{PREFIX}/"):
            api: JSONResponse = error_response(request, exc)
            return api
        error_response(request, exc)  # logs the refusal like the API does
        return render(
            request, "error.html", None, status=exc.status, reason=exc.reason.value, detail=exc.detail
        )


def fetch_policy(settings: Settings) -> FetchPolicy:
    """The verifier's fetch rules (hosts, file root, size cap): the pages fetch what it fetched."""
    return FetchPolicy(
        allowed_hosts=frozenset(settings.fetch_allowed_hosts),
        http_hosts=frozenset(settings.fetch_http_hosts),
        private_hosts=frozenset(settings.fetch_private_hosts),
        file_base_dir=settings.fetch_file_root,
        extra_ca_pem=tuple(path.read_text(encoding="ascii") for path in settings.fetch_ca_files),
        max_bytes=settings.max_document_bytes,
    )


def build_web_context(
    settings: Settings,
    *,
    sessions: sessionmaker[Session],
    catalogue: CriteriaCatalogue,
    search: SearchIndex | None,
    keys: KeyRing,
    clock: Clock,
    commands: CommandSink | None,
) -> WebContext:
    return WebContext(
        sessions=sessions,
        catalogue=catalogue,
        search=search,
        keys=keys,
        clock=clock,
        codec=SessionCodec(session_secret(settings.web_session_secret)),
        renderer=PageRenderer(fetch_policy(settings), settings.max_pages),
        commands=commands,
        events=EventFactory(f"{settings.producer_name}.web", clock, random_ids),
        uploads=UploadStore(settings.data_dir / UPLOADS_DIR, clock),
        secure_cookies=settings.web_secure_cookies,
    )


def embedded_scoring_sink(
    sessions: sessionmaker[Session], catalogue: CriteriaCatalogue, clock: Clock, producer: str
) -> EmbeddedScoringSink:
    """The scoring service's handler table run in this process for the pages' commands."""
    runtime = scoring_runtime(catalogue, sessions, clock, random_ids, f"{producer}.{Service.SCORING.value}")
    return EmbeddedScoringSink(runtime, sessions)
