"""The scoring service's HTTP routes (FastAPI). The app factory is kiemchung/api.py.

Every route needs an API key (header X-API-Key) and cuts what it returns to the key's scope
(access.py). Refusals are 401/403 with a reason code body, and are logged.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse, Response
from fastapi.security import APIKeyHeader
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from contracts.events import YEAR_MAX, YEAR_MIN
from contracts.vocabulary import Level
from kiemchung.runtime.clock import Clock, random_ids
from kiemchung.runtime.messaging import EventFactory
from services.indexer.errors import IndexerError, IndexerErrorCode
from services.indexer.limits import MAX_CURSOR_CHARS, MAX_NUMBER_PREFIX_CHARS, MAX_PAGE, MAX_QUERY_CHARS
from services.indexer.model import MAX_PAGE_SIZE, Decision, Facet, SearchQuery, SortOrder
from services.indexer.port import SearchIndex
from services.scoring.access import ApiKey, KeyRing, Role
from services.scoring.corrections import (
    CorrectionRequest,
    correction_event,
    published_year_changes,
    submit_correction,
)
from services.scoring.criterion_view import CriterionAcrossUnitsView, criterion_view
from services.scoring.display import display_rules
from services.scoring.errors import (
    AccessError,
    AccessReason,
    LookupReason,
    NotFoundError,
    ScoringServiceError,
)
from services.scoring.export import MIMETYPE, build_workbook, workbook_bytes
from services.scoring.handlers import current_ledger, load_unit, load_units
from services.scoring.importer import ImportKind, ImportOptions, file_refusal, run_import
from services.scoring.service import CriteriaCatalogue, UnitInfo
from services.scoring.tables import MAX_FILE_BYTES, TableError, TableReason, read_table_bytes
from services.scoring.views import (
    EvidenceView,
    LedgerEntryView,
    RankingView,
    ReasonView,
    RejectionView,
    UnitScoreView,
    UnitView,
    evidence_view,
    ledger_view,
    ranking_view,
    reason_view,
    rejection_view,
    unit_score_view,
    unit_view,
)

log = logging.getLogger("kiemchung.api")

API_KEY_HEADER = "X-API-Key"
DEFAULT_SEARCH_PAGE = 20


@dataclass(frozen=True)
class ApiContext:
    sessions: sessionmaker[Session]
    catalogue: CriteriaCatalogue
    search: SearchIndex | None
    keys: KeyRing
    clock: Clock


class ErrorBody(BaseModel):
    """Body of every refusal and lookup failure."""

    model_config = ConfigDict(frozen=True)
    reason: str
    detail: str = ""


REFUSALS: dict[int | str, dict[str, object]] = {
    401: {"model": ErrorBody, "description": "missing_key or invalid_key"},
    403: {"model": ErrorBody, "description": "role_not_allowed or out_of_scope"},
}
NOT_FOUND: dict[int | str, dict[str, object]] = {404: {"model": ErrorBody, "description": "unknown_unit"}}


def error_response(request: Request, exc: ScoringServiceError) -> JSONResponse:
    if isinstance(exc, AccessError):
        who = getattr(request.state, "key_name", None) or "-"
        log.warning(
            "refused %s %s: %s (%s) key=%s",
            request.method,
            request.url.path,
            exc.reason.value,
            exc.detail,
            who,
        )
    body = ErrorBody(reason=exc.reason.value, detail=exc.detail)
    return JSONResponse(status_code=exc.status, content=body.model_dump())


class SearchHitView(BaseModel):
    model_config = ConfigDict(frozen=True)
    link_id: str
    unit_id: str
    unit_name: str
    level: str
    year: int
    criterion_code: str
    decision: str
    reasons: list[ReasonView]
    number: str | None
    issuer: str | None
    issued_on: date | None
    title: str
    signer: str | None
    link: str
    verified_at: datetime
    title_marked: str
    snippet_marked: str
    exact: bool


class SearchResponse(BaseModel):
    model_config = ConfigDict(frozen=True)
    total: int
    hits: list[SearchHitView]
    next_cursor: str | None
    signals: dict[str, int] | None = Field(
        default=None,
        description="With signals=true: how many matches carry each check of the evidence register",
    )


MAX_SOURCE_CHARS = 200


class TableFormat(StrEnum):
    XLSX = "xlsx"
    CSV = "csv"


class RefusalView(BaseModel):
    model_config = ConfigDict(frozen=True)
    sheet: str
    row: int
    column: str
    reason: str
    detail: str


class NoteView(BaseModel):
    model_config = ConfigDict(frozen=True)
    sheet: str
    row: int
    what: str
    detail: str


class PlannedView(BaseModel):
    model_config = ConfigDict(frozen=True)
    sheet: str
    row: int
    column: str
    unit_id: str
    year: int
    code: str
    points: str
    recorded: bool


class ImportResultView(BaseModel):
    """What an import did: rows read and events recorded, or every refused row (then nothing).
    A dry run records nothing and lists what it would record (`planned`); `notes` says which
    sheets and rows were read and which were skipped as not data (totals, group rows...)."""

    model_config = ConfigDict(frozen=True)
    kind: str
    rows: int
    events: int
    refused: list[RefusalView]
    dry_run: bool = False
    would_record: int = 0
    notes: list[NoteView] = []
    planned: list[PlannedView] = []


def _import_upload(
    ctx: ApiContext, kind: ImportKind, data: bytes, name: str, options: ImportOptions, dry_run: bool
) -> ImportResultView:
    try:
        sheets = read_table_bytes(data, name)
    except TableError as exc:
        refusal = file_refusal(exc, name)
        return ImportResultView(
            kind=kind.value, rows=0, events=0, refused=[RefusalView(**refusal.__dict__)], dry_run=dry_run
        )
    plan = run_import(
        kind, sheets, name, ctx.sessions, ctx.catalogue, ctx.clock, random_ids, options, dry_run=dry_run
    )
    return ImportResultView(
        kind=kind.value,
        rows=plan.rows,
        events=0 if plan.refusals or dry_run else len(plan.events),
        refused=[RefusalView(**r.__dict__) for r in plan.refusals],
        dry_run=dry_run,
        would_record=len(plan.events),
        notes=[NoteView(**n.__dict__) for n in plan.notes],
        planned=[PlannedView(**{**p.__dict__, "points": str(p.points)}) for p in plan.planned],
    )


class CorrectionResultView(BaseModel):
    """The ledger's answer to a correction: accepted with the new score version and exact index,
    or refused with its reason code (not_published, points_out_of_range, …)."""

    model_config = ConfigDict(frozen=True)
    accepted: bool
    event_id: str
    reason: str = ""
    detail: str = ""
    version: int | None = None
    index: str | None = None


class PublishedChangeView(BaseModel):
    model_config = ConfigDict(frozen=True)
    unit_id: str
    year: int
    reason: str
    fields: list[str]


API_PRODUCER = "kiemchung.api"
CONTEXT_STATE = "scoring_api"
_header = APIKeyHeader(name=API_KEY_HEADER, auto_error=False, description="An API key (role and scope)")


def api_context(request: Request) -> ApiContext:
    context: ApiContext = getattr(request.app.state, CONTEXT_STATE)
    return context


def principal(
    request: Request,
    context: Annotated[ApiContext, Depends(api_context)],
    presented: Annotated[str | None, Depends(_header)],
) -> ApiKey:
    key = context.keys.identify(presented)
    request.state.key_name = key.name
    return key


def db_session(context: Annotated[ApiContext, Depends(api_context)]) -> Iterator[Session]:
    with context.sessions() as session:
        yield session


Ctx = Annotated[ApiContext, Depends(api_context)]
# The contracts' year bounds, in the path and in the query: anything else is a 422.
YearPath = Annotated[int, Path(ge=YEAR_MIN, le=YEAR_MAX)]
YearQuery = Annotated[int | None, Query(ge=YEAR_MIN, le=YEAR_MAX)]
# Search errors with their own reason code; any other is bad_query.
_SEARCH_REASONS = {
    IndexerErrorCode.QUERY_TOO_LARGE: LookupReason.QUERY_TOO_LARGE,
    IndexerErrorCode.QUERY_TIMEOUT: LookupReason.QUERY_TIMEOUT,
    IndexerErrorCode.INVALID_CURSOR: LookupReason.INVALID_CURSOR,
}
Key = Annotated[ApiKey, Depends(principal)]
Db = Annotated[Session, Depends(db_session)]


def build_router() -> APIRouter:
    """The routes; `create_app` puts the ApiContext on `app.state` under CONTEXT_STATE."""
    router = APIRouter(responses=REFUSALS)

    def readable(key: ApiKey, db: Session) -> list[UnitInfo]:
        return [u for u in load_units(db) if key.may_read(u)]

    def unit_for(key: ApiKey, db: Session, unit_id: str) -> UnitInfo:
        unit = load_unit(db, unit_id)
        if unit is None:
            # Only a key that could read the unit learns that it does not exist.
            if key.role is Role.PROVINCE or (key.role is Role.UNIT and key.scope == unit_id):
                raise NotFoundError(LookupReason.UNKNOWN_UNIT, unit_id)
            raise AccessError(AccessReason.OUT_OF_SCOPE, f"{key.role.value} key may not read {unit_id}")
        key.require(unit)
        return unit

    @router.get("/units", response_model=list[UnitView], tags=["units"])
    def list_units(
        key: Key, db: Db, level: Level | None = None, council_id: str | None = None
    ) -> list[UnitView]:
        """The units this key may read, optionally of one level or council."""
        return [
            unit_view(u)
            for u in readable(key, db)
            if (level is None or u.level == level.value)
            and (council_id is None or u.council_id == council_id)
        ]

    @router.get("/units/{unit_id}", response_model=UnitView, tags=["units"], responses=NOT_FOUND)
    def get_unit(unit_id: str, key: Key, db: Db) -> UnitView:
        return unit_view(unit_for(key, db, unit_id))

    @router.get(
        "/units/{unit_id}/scores/{year}", response_model=UnitScoreView, tags=["scores"], responses=NOT_FOUND
    )
    def unit_scores(unit_id: str, year: YearPath, key: Key, db: Db, ctx: Ctx) -> UnitScoreView:
        """The unit's criteria tree with sums, leaf inputs, component indices and the index."""
        view, _ = unit_score_view(db, unit_for(key, db, unit_id), year, ctx.catalogue)
        return view

    @router.get(
        "/criteria/{code}/units/{year}",
        response_model=CriterionAcrossUnitsView,
        tags=["evidence"],
    )
    def criterion_across_units(
        code: str, year: YearPath, key: Key, db: Db, level: Level | None = None
    ) -> CriterionAcrossUnitsView:
        """The appraiser's view of criterion X (its whole subtree) across the units the key may
        read: each unit's self-assessed points, its evidence with verdicts, and the units with
        no evidence for X."""
        units = [u for u in readable(key, db) if level is None or u.level == level.value]
        return criterion_view(db, units, code, year)

    @router.get(
        "/units/{unit_id}/ledger/{year}",
        response_model=list[LedgerEntryView],
        tags=["ledger"],
        responses=NOT_FOUND,
    )
    def unit_ledger(
        unit_id: str, year: YearPath, key: Key, db: Db, leaf: str | None = None
    ) -> list[LedgerEntryView]:
        """Every accepted command in order: who, when, which leaf, its values before and after."""
        unit_for(key, db, unit_id)
        return ledger_view(db, unit_id, year, leaf)

    @router.get(
        "/units/{unit_id}/evidence/{year}",
        response_model=list[EvidenceView],
        tags=["evidence"],
        responses=NOT_FOUND,
    )
    def unit_evidence(
        unit_id: str, year: YearPath, key: Key, db: Db, ctx: Ctx, leaf: str | None = None
    ) -> list[EvidenceView]:
        """Documents linked per leaf, with the verifier's verdict and its reasons."""
        unit = unit_for(key, db, unit_id)
        state = current_ledger(db, unit, year, ctx.catalogue)
        return evidence_view(db, state, leaf)

    @router.get("/rejections", response_model=list[RejectionView], tags=["ledger"])
    def list_rejections(
        key: Key, db: Db, year: YearQuery = None, unit_id: str | None = None
    ) -> list[RejectionView]:
        """Commands the scoring rules refused, with their reason codes (cut to the key's units)."""
        if unit_id is not None:
            unit_for(key, db, unit_id)
            return rejection_view(db, [unit_id], year)
        if key.role is Role.PROVINCE:
            return rejection_view(db, None, year)
        return rejection_view(db, [u.unit_id for u in readable(key, db)], year)

    @router.get(
        "/rankings/{level}/{year}",
        response_model=RankingView,
        tags=["scores"],
        responses={404: {"model": ErrorBody, "description": "no_ranking"}},
    )
    def ranking(level: Level, year: YearPath, key: Key, db: Db, ctx: Ctx) -> RankingView:
        """Ranked and not-ranked units apart; rank numbers are province-wide, rows cut to the key."""
        readable_units = {u.unit_id: u for u in readable(key, db)}
        rules = display_rules(db, ctx.catalogue, level.value, year)  # a published year: as published
        view = ranking_view(db, level.value, year, readable_units, rules)
        if view is None:
            raise NotFoundError(LookupReason.NO_RANKING, f"{level.value} {year}")
        return view

    @router.get(
        "/exports/{level}/{year}.xlsx",
        tags=["export"],
        response_class=Response,
        responses={200: {"content": {MIMETYPE: {}}, "description": "The appendix workbook"}},
    )
    def export_xlsx(level: Level, year: YearPath, key: Key, db: Db, ctx: Ctx) -> Response:
        """The appendix workbook: a sheet per unit and the ranking (province, appraisers)."""
        key.require_role(Role.PROVINCE, Role.APPRAISER)
        book = build_workbook(db, ctx.catalogue, level.value, year, readable(key, db))
        filename = f"chi-so-cchc-{level.value}-{year}.xlsx"
        return Response(
            workbook_bytes(book),
            media_type=MIMETYPE,
            headers={"Content-Disposition": f'attachment; filename="{filename}"'},
        )

    @router.post(
        "/imports/{kind}",
        response_model=ImportResultView,
        tags=["import"],
        responses={
            413: {"model": ErrorBody, "description": "file_too_large"},
            422: {"model": ImportResultView, "description": "refused rows; nothing was imported"},
        },
    )
    async def import_table(
        kind: ImportKind,
        request: Request,
        key: Key,
        ctx: Ctx,
        format: TableFormat,
        year: Annotated[int | None, Query(ge=YEAR_MIN, le=YEAR_MAX)] = None,
        source: Annotated[str | None, Query(min_length=1, max_length=MAX_SOURCE_CHARS)] = None,
        dry_run: bool = False,
    ) -> JSONResponse:
        """Load a province table (the body: .xlsx, a sheet per unit or the province's own table,
        or .csv), as `kiemchung import` does: all rows or none, every refused row listed
        (province keys). `dry_run=true` checks the file and records nothing."""
        key.require_role(Role.PROVINCE)
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > MAX_FILE_BYTES:
                body = ErrorBody(
                    reason=TableReason.FILE_TOO_LARGE.value, detail=f"more than {MAX_FILE_BYTES} bytes"
                )
                return JSONResponse(status_code=413, content=body.model_dump())
            chunks.append(chunk)
        name = f"upload.{format.value}"
        options = ImportOptions(year=year, source=source or name, actor=key.name)
        result = await run_in_threadpool(_import_upload, ctx, kind, b"".join(chunks), name, options, dry_run)
        return JSONResponse(status_code=422 if result.refused else 200, content=result.model_dump())

    @router.post(
        "/units/{unit_id}/corrections/{year}",
        response_model=CorrectionResultView,
        tags=["scores"],
        responses={
            **NOT_FOUND,
            422: {"model": CorrectionResultView, "description": "refused: not_published, bad points, …"},
        },
    )
    def correct_result(
        unit_id: str, year: YearPath, body: CorrectionRequest, key: Key, db: Db, ctx: Ctx
    ) -> JSONResponse:
        """Correct a published result by the province's decision (ResultCorrected): corrected
        points per leaf and/or the unit-year's maximum, exemptions, ranked flag (province keys).
        Refused unless the unit-year is published; every other change to it stays refused."""
        key.require_role(Role.PROVINCE)
        unit = unit_for(key, db, unit_id)
        db.close()  # the correction runs in its own transaction
        try:
            event = correction_event(
                EventFactory(API_PRODUCER, ctx.clock, random_ids), unit.unit_id, year, body, key.name
            )
        except ValidationError as exc:
            result = CorrectionResultView(
                accepted=False, event_id="", reason="bad_input", detail=str(exc)[:500]
            )
            return JSONResponse(status_code=422, content=result.model_dump())
        outcome = submit_correction(event, ctx.sessions, ctx.catalogue, ctx.clock, random_ids)
        result = CorrectionResultView(**outcome.__dict__)
        if not outcome.accepted:
            log.warning("correction %s of %s %s refused: %s", event.event_id, unit_id, year, outcome.reason)
        return JSONResponse(status_code=200 if outcome.accepted else 422, content=result.model_dump())

    @router.get("/published/changes", response_model=list[PublishedChangeView], tags=["scores"])
    def published_changes_report(
        key: Key, db: Db, ctx: Ctx, year: YearQuery = None
    ) -> list[PublishedChangeView]:
        """Published unit-years whose rules files or registration now say something else: never
        applied (the published setup stands), listed with reason published_year_changed."""
        key.require_role(Role.PROVINCE)
        return [
            PublishedChangeView(unit_id=c.unit_id, year=c.year, reason=c.reason, fields=list(c.fields))
            for c in published_year_changes(db, ctx.catalogue, year)
        ]

    @router.get(
        "/evidence/search",
        response_model=SearchResponse,
        tags=["evidence"],
        responses={422: {"model": ErrorBody}, 503: {"model": ErrorBody}},
    )
    def search(
        key: Key,
        db: Db,
        ctx: Ctx,
        q: Annotated[str, Query(max_length=MAX_QUERY_CHARS)] = "",
        number: Annotated[str | None, Query(max_length=MAX_NUMBER_PREFIX_CHARS)] = None,
        unit_id: str | None = None,
        level: Level | None = None,
        year: YearQuery = None,
        criterion: str | None = None,
        decision: Decision | None = None,
        reason: str | None = None,
        sort: SortOrder = SortOrder.RELEVANCE,
        page_size: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = DEFAULT_SEARCH_PAGE,
        cursor: Annotated[str | None, Query(max_length=MAX_CURSOR_CHARS)] = None,
        page: Annotated[int | None, Query(ge=1, le=MAX_PAGE)] = None,
        signals: bool = False,
    ) -> SearchResponse:
        """Full-text search of evidence (folded Vietnamese), cut to the units the key may read.
        `signals=true` also counts the evidence register's checks over every match (a facet)."""
        if ctx.search is None:
            raise NotFoundError(LookupReason.SEARCH_UNAVAILABLE, "no search index configured")
        if unit_id is not None:
            allowed = frozenset({unit_for(key, db, unit_id).unit_id})
        elif key.role is Role.PROVINCE:
            allowed = frozenset()
        else:
            allowed = frozenset(u.unit_id for u in readable(key, db))
            if not allowed:  # an empty filter would mean "every unit"
                return SearchResponse(total=0, hits=[], next_cursor=None)
        try:
            query = SearchQuery(
                text=q,
                number_prefix=number,
                unit_ids=allowed,
                level=level.value if level else None,
                year=year,
                criterion=criterion,
                decision=decision,
                reason=reason,
                sort=sort,
                page_size=page_size,
                cursor=cursor,
                page=page,
                facets=frozenset({Facet.SIGNAL}) if signals else frozenset(),
            )
            result = ctx.search.search(query)
        except IndexerError as exc:
            reason = _SEARCH_REASONS.get(exc.code, LookupReason.BAD_QUERY)
            raise NotFoundError(reason, f"{exc.code.value}: {exc.detail}") from exc
        hits = [
            SearchHitView(
                link_id=h.entry.link_id,
                unit_id=h.entry.unit_id,
                unit_name=h.entry.unit_name,
                level=h.entry.level,
                year=h.entry.year,
                criterion_code=h.entry.criterion_code,
                decision=h.entry.decision.value,
                reasons=[reason_view(r) for r in h.entry.reasons],
                number=h.entry.number,
                issuer=h.entry.issuer,
                issued_on=h.entry.issued_on,
                title=h.entry.title,
                signer=h.entry.signer,
                link=h.entry.link,
                verified_at=h.entry.verified_at,
                title_marked=h.title.marked(),
                snippet_marked=h.snippet.marked(),
                exact=h.exact,
            )
            for h in result.hits
            # Defence in depth: never return a hit outside the key's units.
            if (key.role is Role.PROVINCE and not allowed) or h.entry.unit_id in allowed
        ]
        counted = result.facet_counts(Facet.SIGNAL) if signals else None
        return SearchResponse(total=result.total, hits=hits, next_cursor=result.next_cursor, signals=counted)

    return router
