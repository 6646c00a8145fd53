"""The web pages (FastAPI + Jinja2). Every page needs a signed-in viewer; roles and scopes are the
API's (services/scoring/access.py). Writes need the session's CSRF token and go through the
scoring handlers (commands.py)."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from datetime import date
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from fastapi.templating import Jinja2Templates
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException

from contracts.events import (
    YEAR_MAX,
    YEAR_MIN,
    AppraisalRecorded,
    CorrectedPoints,
    Published,
    ResultCorrected,
    SupplementRequested,
)
from contracts.vocabulary import Level, ReasonCode
from kiemchung.web.charts import Bar, bar_chart
from kiemchung.web.context import WebContext
from kiemchung.web.documents import MAX_ZOOM, MIN_ZOOM, stored_document
from kiemchung.web.errors import UploadReason
from kiemchung.web.i18n import LANG_COOKIE, Lang, translate
from kiemchung.web.import_texts import import_text
from kiemchung.web.imports import MAX_SHOWN_ROWS, ImportOutcome, run_upload
from kiemchung.web.live import change_stream
from kiemchung.web.pages import highlighted, latest_year, leaf_inputs, supplements, tree_rows
from kiemchung.web.remedies import remedy
from kiemchung.web.session import SESSION_COOKIE, SESSION_SECONDS, Viewer, csrf_matches
from kiemchung.web.uploads import UPLOAD_TTL, PendingUpload, shown_name
from services.evidence_verifier.errors import FetchError
from services.indexer.errors import IndexerError
from services.indexer.model import Decision, Facet, SearchQuery
from services.scoring.access import ApiKey, Role
from services.scoring.core.rules import ProvinceRules, default_rules
from services.scoring.corrections import published_year_changes
from services.scoring.criterion_view import criterion_view, units_without_evidence
from services.scoring.display import display_rules
from services.scoring.errors import AccessError, AccessReason, LookupReason, NotFoundError
from services.scoring.export import MIMETYPE, build_workbook, workbook_bytes
from services.scoring.handlers import current_ledger, load_unit, load_units
from services.scoring.importer import ImportKind, ImportOptions
from services.scoring.service import UnitInfo
from services.scoring.tables import MAX_FILE_BYTES, TableReason
from services.scoring.views import (
    Figure,
    UnitScoreView,
    evidence_view,
    ledger_view,
    ranking_view,
    unit_score_view,
)

WEB_STATE = "kiemchung_web"
PREFIX = "/ui"
TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
SEARCH_PAGE_SIZE = 20
LEDGER_ROWS = 50
MAX_TEXT = 2000
MAX_QUERY = 200
# Units per page of the council table: a whole council (hundreds of units, each with its
# documents and forms) in one page cost seconds to read and render.
COUNCIL_PAGE_UNITS = 100
MAX_PAGE = 10_000
# An upload's request: the table (bounded as the API bounds it) and the form's few short fields.
MULTIPART_SLACK = 64 * 1024
MAX_UPLOAD_REQUEST = MAX_FILE_BYTES + MULTIPART_SLACK
UPLOAD_FIELDS = 8
UPLOAD_FIELD_BYTES = 1024
READ_CHUNK = 1024 * 1024


class SignInRequiredError(Exception):
    """No valid session: the handler redirects to the sign-in page."""


def web_context(request: Request) -> WebContext:
    context: WebContext = getattr(request.app.state, WEB_STATE)
    return context


def language(request: Request) -> Lang:
    wanted = request.query_params.get("lang") or request.cookies.get(LANG_COOKIE) or Lang.VI.value
    return Lang.EN if wanted == Lang.EN.value else Lang.VI


def current_viewer(request: Request, ctx: Annotated[WebContext, Depends(web_context)]) -> Viewer:
    viewer = ctx.codec.viewer(ctx.keys, request.cookies.get(SESSION_COOKIE))
    if viewer is None:
        raise SignInRequiredError
    request.state.key_name = viewer.key.name
    return viewer


Ctx = Annotated[WebContext, Depends(web_context)]
Who = Annotated[Viewer, Depends(current_viewer)]


def render(request: Request, name: str, viewer: Viewer | None, status: int = 200, **values: Any) -> Response:
    lang = language(request)
    values.update(
        request=request,
        viewer=viewer,
        lang=lang.value,
        t=lambda key: translate(lang, key),
        reason_text=lambda code: reason_text(code, lang),
        remedy=lambda code: remedy(code, lang is Lang.EN),
        prefix=PREFIX,
        flash_ok=request.query_params.get("ok"),
        flash_refused=request.query_params.get("refused"),
    )
    response = TEMPLATES.TemplateResponse(request, name, values, status_code=status)
    if request.query_params.get("lang") in (Lang.VI.value, Lang.EN.value):
        response.set_cookie(LANG_COOKIE, lang.value, samesite="lax", httponly=True)
    return response


def reason_text(code: str, lang: Lang) -> str:
    try:
        reason = ReasonCode(code)
    except ValueError:
        return import_text(code, lang is Lang.EN) or code
    return reason.vietnamese if lang is Lang.VI else reason.english


def shown_index(index: Figure, rules: ProvinceRules) -> Decimal:
    """An index at the province's decimals that year (the bar's length and its label agree)."""
    return rules.shown(Decimal(index.exact))


def shown_rules_of(view: UnitScoreView) -> ProvinceRules:
    """The decimals the unit's view was printed with (a published year's, as published)."""
    return dataclasses.replace(default_rules(view.year), decimals=view.decimals)


def readable_units(key: ApiKey, db: Session) -> list[UnitInfo]:
    return [u for u in load_units(db) if key.may_read(u)]


def unit_for(key: ApiKey, db: Session, unit_id: str) -> UnitInfo:
    unit = load_unit(db, unit_id)
    if unit is None:
        if key.role is Role.PROVINCE:
            raise NotFoundError(LookupReason.UNKNOWN_UNIT, unit_id)
        raise AccessError(AccessReason.OUT_OF_SCOPE, f"{key.role.value} key may not read {unit_id}")
    key.require(unit)
    return unit


def safe_back(path: str) -> str:
    """Only our own pages: never an open redirect."""
    return path if path.startswith(f"{PREFIX}/") and "//" not in path and "\\" not in path else f"{PREFIX}/"


def with_params(path: str, **params: str) -> str:
    return f"{path}{'&' if '?' in path else '?'}{urlencode(params)}"


def require_csrf(viewer: Viewer, token: str | None) -> None:
    if not csrf_matches(viewer, token):
        raise AccessError(AccessReason.INVALID_KEY, "the form's CSRF token is missing or stale")


def require_council_write(viewer: Viewer, ctx: WebContext, unit_id: str, csrf: str) -> None:
    """A council's command on a unit: a fresh form, an appraiser key, and the unit in its scope."""
    require_csrf(viewer, csrf)
    viewer.key.require_role(Role.APPRAISER)
    with ctx.sessions() as db:
        unit_for(viewer.key, db, unit_id)


def build_router() -> APIRouter:
    router = APIRouter(prefix=PREFIX, include_in_schema=False)

    @router.get("/signin", response_class=HTMLResponse)
    def signin_form(request: Request) -> Response:
        return render(request, "signin.html", None, error=False)

    @router.post("/signin", response_class=HTMLResponse)
    def signin(request: Request, ctx: Ctx, key: Annotated[str, Form(max_length=400)] = "") -> Response:
        opened = ctx.codec.open_session(ctx.keys, key)
        if opened is None:
            return render(request, "signin.html", None, status=401, error=True)
        _, cookie = opened
        response = RedirectResponse(f"{PREFIX}/", status_code=303)
        response.set_cookie(
            SESSION_COOKIE,
            cookie,
            max_age=SESSION_SECONDS,
            httponly=True,
            samesite="strict",
            secure=ctx.secure_cookies,
            path="/",
        )
        return response

    @router.post("/signout")
    def signout(viewer: Who, csrf: Annotated[str, Form(max_length=100)] = "") -> Response:
        require_csrf(viewer, csrf)
        response = RedirectResponse(f"{PREFIX}/signin", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    @router.get("/")
    def home(viewer: Who) -> Response:
        match viewer.key.role:
            case Role.UNIT:
                target = f"{PREFIX}/units/{quote(viewer.key.scope)}"
            case Role.APPRAISER:
                target = f"{PREFIX}/council"
            case _:
                target = f"{PREFIX}/province"
        return RedirectResponse(target, status_code=303)

    @router.get("/council", response_class=HTMLResponse)
    def council(
        request: Request,
        viewer: Who,
        ctx: Ctx,
        criterion: str | None = None,
        year: int | None = None,
        page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
    ) -> Response:
        viewer.key.require_role(Role.APPRAISER, Role.PROVINCE)
        with ctx.sessions() as db:
            units = readable_units(viewer.key, db)
            year = year or latest_year(db, ctx.clock().year)
            if not units:
                return render(request, "council.html", viewer, units=[], tree=[], year=year)
            # The set scoring that year (the year's rules file may choose one per level).
            first = units[0]
            set_id = ctx.catalogue.set_id_for(first.level, first.criteria_set, year)
            cset = ctx.catalogue.set_for(set_id, year)
            units = [u for u in units if ctx.catalogue.set_id_for(u.level, u.criteria_set, year) == set_id]
            rows = tree_rows(cset)
            codes = [r.code for r in rows]
            code = criterion if criterion in codes else codes[0]
            node = cset.node(code)
            # The year's amended tree when an overlay covers it; a page never fails on it.
            tree = ctx.catalogue.amended.get((set_id, year)) or ctx.catalogue.tree(set_id)
            leaves = tree.leaves_under.get(code, (code,))
            # A council of hundreds of units is shown a page at a time: only the page's units
            # are read and rendered; the units without evidence are counted over all of them.
            pages = max(1, -(-len(units) // COUNCIL_PAGE_UNITS))
            page = min(page, pages)
            shown = units[(page - 1) * COUNCIL_PAGE_UNITS : page * COUNCIL_PAGE_UNITS]
            view = criterion_view(db, shown, code, year)
            without = units_without_evidence(db, units, code, year)
            inputs = leaf_inputs(db, {u.unit_id for u in shown}, year, leaves)
        position = codes.index(code)
        is_leaf = node is not None and node.is_leaf
        return render(
            request,
            "council.html",
            viewer,
            units=units,
            tree=rows,
            year=year,
            code=code,
            node=node,
            view=view,
            without=without,
            page=page,
            pages=pages,
            inputs=inputs,
            is_leaf=is_leaf,
            step=cset.effective_steps().get(code) if is_leaf else None,
            previous=codes[position - 1] if position > 0 else None,
            following=codes[position + 1] if position + 1 < len(codes) else None,
            may_write=viewer.key.role is Role.APPRAISER and ctx.commands is not None,
            back=str(request.url.path) + "?" + urlencode({"criterion": code, "year": year, "page": page}),
        )

    @router.post("/appraisals")
    async def record_appraisal(
        viewer: Who,
        ctx: Ctx,
        unit_id: Annotated[str, Form(max_length=100)],
        year: Annotated[int, Form()],
        criterion: Annotated[str, Form(max_length=32)],
        points: Annotated[str, Form(max_length=20)],
        csrf: Annotated[str, Form(max_length=100)],
        comment: Annotated[str, Form(max_length=MAX_TEXT)] = "",
        back: Annotated[str, Form(max_length=500)] = f"{PREFIX}/",
    ) -> Response:
        require_council_write(viewer, ctx, unit_id, csrf)
        try:
            event = ctx.events.make(
                AppraisalRecorded,
                correlation_id=uuid.uuid4(),
                unit_id=unit_id,
                year=year,
                criterion_code=criterion,
                points=Decimal(points.strip().replace(",", ".")),
                comment=comment,
                council_id=viewer.key.scope,
                appraised_by=viewer.key.name,
            )
        except (ValidationError, InvalidOperation) as exc:
            return RedirectResponse(with_params(safe_back(back), refused=f"bad_points: {exc}"[:300]), 303)
        return await submit(ctx, event, back)

    @router.post("/supplements")
    async def request_supplement(
        viewer: Who,
        ctx: Ctx,
        unit_id: Annotated[str, Form(max_length=100)],
        year: Annotated[int, Form()],
        criterion: Annotated[str, Form(max_length=32)],
        until: Annotated[date, Form()],
        document_number: Annotated[str, Form(min_length=1, max_length=100)],
        csrf: Annotated[str, Form(max_length=100)],
        back: Annotated[str, Form(max_length=500)] = f"{PREFIX}/",
    ) -> Response:
        require_council_write(viewer, ctx, unit_id, csrf)
        try:
            event = ctx.events.make(
                SupplementRequested,
                correlation_id=uuid.uuid4(),
                unit_id=unit_id,
                year=year,
                criterion_codes=[criterion],
                until=until,
                council_id=viewer.key.scope,
                document_number=document_number,
            )
        except ValidationError as exc:
            return RedirectResponse(with_params(safe_back(back), refused=f"bad_input: {exc}"[:300]), 303)
        return await submit(ctx, event, back)

    @router.post("/publish")
    async def publish(
        viewer: Who,
        ctx: Ctx,
        level: Annotated[Level, Form()],
        year: Annotated[int, Form()],
        decision_number: Annotated[str, Form(min_length=1, max_length=100)],
        csrf: Annotated[str, Form(max_length=100)],
    ) -> Response:
        require_csrf(viewer, csrf)
        viewer.key.require_role(Role.PROVINCE)
        event = ctx.events.make(
            Published, correlation_id=uuid.uuid4(), year=year, level=level, decision_number=decision_number
        )
        return await submit(ctx, event, f"{PREFIX}/province?year={year}")

    @router.post("/corrections")
    async def correct_result(
        viewer: Who,
        ctx: Ctx,
        unit_id: Annotated[str, Form(max_length=100)],
        year: Annotated[int, Form()],
        criterion: Annotated[str, Form(max_length=32)],
        points: Annotated[str, Form(max_length=20)],
        decision_number: Annotated[str, Form(min_length=1, max_length=100)],
        reason: Annotated[str, Form(min_length=1, max_length=2000)],
        csrf: Annotated[str, Form(max_length=100)],
    ) -> Response:
        """A correction of a published result by the province's decision (ResultCorrected)."""
        require_csrf(viewer, csrf)
        viewer.key.require_role(Role.PROVINCE)
        back = f"{PREFIX}/units/{quote(unit_id, safe='')}?year={year}"
        try:
            corrected = CorrectedPoints(
                criterion_code=criterion.strip(), points=Decimal(points.strip().replace(",", "."))
            )
            event = ctx.events.make(
                ResultCorrected,
                correlation_id=uuid.uuid4(),
                unit_id=unit_id,
                year=year,
                decision_number=decision_number,
                reason=reason,
                points=[corrected],
                corrected_by=viewer.key.name,
            )
        except (ValidationError, InvalidOperation) as exc:
            return RedirectResponse(with_params(back, refused=f"bad_input: {exc}"[:300]), 303)
        return await submit(ctx, event, back)

    @router.get("/imports", response_class=HTMLResponse)
    def imports_page(request: Request, viewer: Who, ctx: Ctx, year: int | None = None) -> Response:
        """The province's upload form: a table of units, appraisals or survey results."""
        viewer.key.require_role(Role.PROVINCE)
        with ctx.sessions() as db:
            year = year if year is not None and YEAR_MIN <= year <= YEAR_MAX else None
            year = year or latest_year(db, ctx.clock().year)
        return import_page(request, viewer, ctx, year=year)

    @router.post("/imports", response_class=HTMLResponse)
    async def import_preview(request: Request, viewer: Who, ctx: Ctx) -> Response:
        """A dry run of the uploaded table: what it would record and every refused row; the file
        waits (private, short-lived) for the "Ghi nhận" button."""
        viewer.key.require_role(Role.PROVINCE)
        default_year = ctx.clock().year
        length = request.headers.get("content-length", "")
        if not length.isdigit():
            return import_page(request, viewer, ctx, default_year, 411, UploadReason.LENGTH_REQUIRED)
        if int(length) > MAX_UPLOAD_REQUEST:
            detail = f"> {MAX_FILE_BYTES // (1024 * 1024)} MB"
            return import_page(request, viewer, ctx, default_year, 413, TableReason.FILE_TOO_LARGE, detail)
        try:
            form = await request.form(max_files=1, max_fields=UPLOAD_FIELDS, max_part_size=UPLOAD_FIELD_BYTES)
        except StarletteHTTPException as exc:
            return import_page(
                request, viewer, ctx, default_year, 400, UploadReason.BAD_FORM, str(exc.detail)
            )
        try:
            csrf = form.get("csrf")
            require_csrf(viewer, csrf if isinstance(csrf, str) else None)
            kind_value, year_value, upload = form.get("kind"), form.get("year"), form.get("file")
            year_text = year_value.strip() if isinstance(year_value, str) else ""
            year = int(year_text) if year_text.isdigit() else None
            if year_text and (year is None or not YEAR_MIN <= year <= YEAR_MAX):
                return import_page(
                    request, viewer, ctx, default_year, 422, UploadReason.BAD_YEAR, year_text[:20]
                )
            try:
                kind = ImportKind(kind_value if isinstance(kind_value, str) else "")
            except ValueError:
                detail = str(kind_value)[:40] if isinstance(kind_value, str) else ""
                return import_page(
                    request, viewer, ctx, year or default_year, 422, UploadReason.BAD_KIND, detail
                )
            if not isinstance(upload, UploadFile) or not upload.filename:
                return import_page(
                    request, viewer, ctx, year or default_year, 422, UploadReason.NO_FILE, kind=kind
                )
            data = await bounded_read(upload)
            filename = shown_name(upload.filename)
        finally:
            await form.close()
        if data is None:
            detail = f"> {MAX_FILE_BYTES // (1024 * 1024)} MB"
            return import_page(
                request, viewer, ctx, year or default_year, 413, TableReason.FILE_TOO_LARGE, detail, kind=kind
            )
        options = ImportOptions(year=year, source=filename, actor=viewer.key.name)
        outcome = await run_in_threadpool(
            run_upload, ctx.sessions, ctx.catalogue, ctx.clock, kind, data, filename, options, dry_run=True
        )
        pending = None
        if outcome.ok and outcome.would_record and ctx.commands is not None:
            pending = await run_in_threadpool(
                ctx.uploads.put, data, kind=kind.value, year=year, filename=filename, owner=viewer.key.sha256
            )
        return import_page(
            request,
            viewer,
            ctx,
            year or default_year,
            200 if outcome.ok else 422,
            kind=kind,
            outcome=outcome,
            pending=pending,
            filename=filename,
            size=len(data),
        )

    @router.post("/imports/commit", response_class=HTMLResponse)
    async def import_commit(
        request: Request,
        viewer: Who,
        ctx: Ctx,
        token: Annotated[str, Form(max_length=64)],
        csrf: Annotated[str, Form(max_length=100)] = "",
    ) -> Response:
        """Import the previewed file (the same bytes, by the server's token): all rows or none."""
        require_csrf(viewer, csrf)
        viewer.key.require_role(Role.PROVINCE)
        year = ctx.clock().year
        if ctx.commands is None:
            return import_page(request, viewer, ctx, year, 409, UploadReason.READ_ONLY)
        found = await run_in_threadpool(ctx.uploads.get, token, viewer.key.sha256)
        if found is None:
            return import_page(request, viewer, ctx, year, 410, UploadReason.UPLOAD_EXPIRED)
        pending, data = found
        ctx.uploads.discard(pending.token)
        kind = ImportKind(pending.kind)
        options = ImportOptions(year=pending.year, source=pending.filename, actor=viewer.key.name)
        outcome = await run_in_threadpool(
            run_upload,
            ctx.sessions,
            ctx.catalogue,
            ctx.clock,
            kind,
            data,
            pending.filename,
            options,
            dry_run=False,
        )
        years = sorted({p.year for p in outcome.planned})
        return import_page(
            request,
            viewer,
            ctx,
            pending.year or (years[-1] if years else year),
            200 if outcome.ok else 422,
            kind=kind,
            outcome=outcome,
            filename=pending.filename,
            size=pending.size,
        )

    @router.get("/documents/{link_id}", response_class=HTMLResponse)
    def document(
        request: Request, link_id: str, viewer: Who, ctx: Ctx, page: int = 1, zoom: float = 1.0
    ) -> Response:
        with ctx.sessions() as db:
            doc = stored_document(db, link_id[:36])
            if doc is None:
                raise NotFoundError(LookupReason.UNKNOWN_UNIT, f"document {link_id}")
            unit_for(viewer.key, db, doc.entry.unit_id)
        pages = int(doc.report.get("document", {}).get("pages") or 1)
        page = min(max(page, 1), pages)
        zoom = min(max(zoom, MIN_ZOOM), MAX_ZOOM)
        return render(
            request,
            "document.html",
            viewer,
            doc=doc,
            entry=doc.entry,
            report=doc.report,
            page=page,
            pages=pages,
            zoom=zoom,
            zooms=[0.75, 1.0, 1.5, 2.0],
        )

    @router.get("/documents/{link_id}/pages/{number}.png")
    async def page_image(link_id: str, number: int, viewer: Who, ctx: Ctx, zoom: float = 1.0) -> Response:
        def load() -> Any:
            with ctx.sessions() as db:
                doc = stored_document(db, link_id[:36])
                if doc is not None:
                    unit_for(viewer.key, db, doc.entry.unit_id)
                return doc

        doc = await asyncio.to_thread(load)
        if doc is None:
            raise NotFoundError(LookupReason.UNKNOWN_UNIT, f"document {link_id}")
        try:
            data = await ctx.renderer.document_bytes(doc)
        except FetchError as exc:
            return Response(f"{exc.reason.value}: {exc}", status_code=502, media_type="text/plain")
        image = await asyncio.to_thread(ctx.renderer.render_png, data, number, zoom)
        if image is None:
            return Response("no such page", status_code=404, media_type="text/plain")
        return Response(image, media_type="image/png", headers={"Cache-Control": "private, max-age=300"})

    @router.get("/units/{unit_id}", response_class=HTMLResponse)
    def unit_page(request: Request, unit_id: str, viewer: Who, ctx: Ctx, year: int | None = None) -> Response:
        with ctx.sessions() as db:
            unit = unit_for(viewer.key, db, unit_id)
            year = year or latest_year(db, ctx.clock().year)
            view, _ = unit_score_view(db, unit, year, ctx.catalogue)
            evidence = evidence_view(db, current_ledger(db, unit, year, ctx.catalogue), None)
            history = list(reversed(ledger_view(db, unit_id, year, None)))[:LEDGER_ROWS]
            asked = supplements(db, unit_id, year)
        rules = shown_rules_of(view)
        chart = bar_chart(
            translate(language(request), "component_indices"),
            [
                Bar(f"{c.code} {c.title}", shown_index(c.index, rules), c.index_text)
                if c.index
                else Bar(f"{c.code} {c.title}", None)
                for c in view.components
            ],
        )
        return render(
            request,
            "unit.html",
            viewer,
            unit=unit,
            view=view,
            year=year,
            chart=chart,
            rejected=[e for e in evidence if e.decision != Decision.ACCEPTED.value],
            history=history,
            supplements=asked,
            may_correct=viewer.key.role is Role.PROVINCE and ctx.commands is not None and view.published,
        )

    @router.get("/province", response_class=HTMLResponse)
    def province(request: Request, viewer: Who, ctx: Ctx, year: int | None = None) -> Response:
        viewer.key.require_role(Role.PROVINCE, Role.APPRAISER)
        with ctx.sessions() as db:
            year = year or latest_year(db, ctx.clock().year)
            readable = {u.unit_id: u for u in readable_units(viewer.key, db)}
            # Each level's year as shown: a published one as published (display.py).
            shown = {lv.value: display_rules(db, ctx.catalogue, lv.value, year) for lv in Level}
            tables = [(lv.value, ranking_view(db, lv.value, year, readable, shown[lv.value])) for lv in Level]
            # What the rules files now say otherwise about this published year: never applied,
            # shown so the office sees it (a change needs a correction by decision).
            changed = (
                published_year_changes(db, ctx.catalogue, year) if viewer.key.role is Role.PROVINCE else []
            )
        charts = {
            level: bar_chart(
                f"{translate(language(request), 'index')} {level} {year}",
                [
                    Bar(r.name, shown_index(r.index, shown[level] or default_rules(year)), r.index_text)
                    for r in view.ranked + view.not_ranked
                    if not r.no_result
                ],
            )
            for level, view in tables
            if view is not None
        }
        return render(
            request,
            "province.html",
            viewer,
            year=year,
            tables=[(lv, v) for lv, v in tables if v is not None],
            charts=charts,
            bands={lv: bool(r.bands) for lv, r in shown.items() if r is not None},
            groups={
                lv: {g.id: g.name for g in r.groups if g.level.value == lv}
                for lv, r in shown.items()
                if r is not None
            },
            may_publish=viewer.key.role is Role.PROVINCE and ctx.commands is not None,
            changed=[(readable[c.unit_id].name if c.unit_id in readable else c.unit_id, c) for c in changed],
        )

    @router.get("/exports/{level}/{year}.xlsx")
    def export_xlsx(level: Level, year: int, viewer: Who, ctx: Ctx) -> Response:
        viewer.key.require_role(Role.PROVINCE, Role.APPRAISER)
        with ctx.sessions() as db:
            book = build_workbook(db, ctx.catalogue, level.value, year, readable_units(viewer.key, db))
        return Response(
            workbook_bytes(book),
            media_type=MIMETYPE,
            headers={"Content-Disposition": f'attachment; filename="chi-so-cchc-{level.value}-{year}.xlsx"'},
        )

    @router.get("/search", response_class=HTMLResponse)
    def search(
        request: Request,
        viewer: Who,
        ctx: Ctx,
        q: str = "",
        criterion: str | None = None,
        unit: str | None = None,
        decision: Decision | None = None,
        reason: str | None = None,
        year: int | None = None,
        cursor: str | None = None,
    ) -> Response:
        filters = {
            "q": q[:MAX_QUERY],
            "criterion": criterion,
            "unit": unit,
            "decision": decision,
            "reason": reason,
            "year": year,
        }
        if ctx.search is None:
            return render(request, "search.html", viewer, result=None, unavailable=True, filters=filters)
        with ctx.sessions() as db:
            if unit:
                allowed = frozenset({unit_for(viewer.key, db, unit).unit_id})
            elif viewer.key.role is Role.PROVINCE:
                allowed = frozenset()
            else:
                allowed = frozenset(u.unit_id for u in readable_units(viewer.key, db)) or frozenset({"-"})
        error = ""
        result = None
        try:
            result = ctx.search.search(
                SearchQuery(
                    text=q[:MAX_QUERY],
                    unit_ids=allowed,
                    year=year,
                    criterion=criterion or None,
                    decision=decision,
                    reason=reason or None,
                    facets=frozenset(Facet),
                    page_size=SEARCH_PAGE_SIZE,
                    cursor=cursor or None,
                )
            )
        except IndexerError as exc:
            error = f"{exc.code.value}: {exc.detail}"
        kept = {k: v for k, v in filters.items() if v not in (None, "")}
        return render(
            request,
            "search.html",
            viewer,
            result=result,
            unavailable=False,
            error=error,
            filters=filters,
            highlighted=highlighted,
            facet_link=lambda name, value: f"{PREFIX}/search?" + urlencode({**kept, name: value}),
            next_link=(
                f"{PREFIX}/search?" + urlencode({**kept, "cursor": result.next_cursor})
                if result is not None and result.next_cursor
                else None
            ),
            first_link=f"{PREFIX}/search?" + urlencode(kept) if cursor else None,
        )

    @router.get("/events")
    async def events(request: Request, viewer: Who, ctx: Ctx) -> StreamingResponse:
        return StreamingResponse(
            change_stream(ctx.sessions, request.is_disconnected),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )

    return router


async def submit(ctx: WebContext, event: Any, back: str) -> Response:
    target = safe_back(back)
    if ctx.commands is None:
        return RedirectResponse(with_params(target, refused="read_only: this server records nothing"), 303)
    result = await ctx.commands.submit(event)
    if result.accepted:
        return RedirectResponse(with_params(target, ok=event.type), 303)
    return RedirectResponse(with_params(target, refused=f"{result.reason}: {result.detail}"[:300]), 303)


async def bounded_read(upload: UploadFile) -> bytes | None:
    """The uploaded file's bytes, or None when it holds more than the importer reads."""
    chunks: list[bytes] = []
    size = 0
    while chunk := await upload.read(READ_CHUNK):
        size += len(chunk)
        if size > MAX_FILE_BYTES:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def import_page(
    request: Request,
    viewer: Viewer,
    ctx: WebContext,
    year: int,
    status: int = 200,
    error: StrEnum | None = None,
    detail: str = "",
    *,
    kind: ImportKind = ImportKind.APPRAISALS,
    outcome: ImportOutcome | None = None,
    pending: PendingUpload | None = None,
    filename: str = "",
    size: int = 0,
) -> Response:
    """The import page: the form, then the preview or the result of the file sent."""
    with ctx.sessions() as db:
        names = {u.unit_id: u.name for u in load_units(db)}
    return render(
        request,
        "imports.html",
        viewer,
        status=status,
        year=year,
        kinds=list(ImportKind),
        kind=kind.value,
        error=error.value if error is not None else None,
        detail=detail,
        outcome=outcome,
        pending=pending,
        filename=filename,
        size=size,
        names=names,
        max_mb=MAX_FILE_BYTES // (1024 * 1024),
        max_shown=MAX_SHOWN_ROWS,
        ttl_minutes=int(UPLOAD_TTL.total_seconds()) // 60,
        year_min=YEAR_MIN,
        year_max=YEAR_MAX,
        may_commit=ctx.commands is not None,
        points_text=lambda value: points_text(value, language(request)),
    )


def points_text(value: Decimal, lang: Lang) -> str:
    """Points as the file meant them: a decimal comma in Vietnamese pages."""
    shown = format(value, "f")
    return shown.replace(".", ",") if lang is Lang.VI else shown
