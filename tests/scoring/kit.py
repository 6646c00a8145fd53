"""A scoring service on a real store, driven by contract events as the bus delivers them."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from types import MappingProxyType
from typing import Any
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from contracts.envelope import Event
from contracts.events import (
    AppraisalRecorded,
    CorrectedPoints,
    DocumentUnlinked,
    EvidenceVerified,
    Published,
    RankingUpdated,
    ResultCorrected,
    ScoreUpdated,
    SelfScoreEntered,
    Submitted,
    SupplementRequested,
    SurveyPoints,
    SurveyResultsImported,
    UnitRegistered,
)
from contracts.report import DocumentFacts, VerificationReport
from contracts.routing import Service
from contracts.vocabulary import Decision, Level, ReasonCode
from criteria.model import Level as CriteriaLevel
from kiemchung.runtime.clock import FrozenClock, SeededIds
from kiemchung.runtime.messaging import EventFactory, Outcome, ServiceRuntime
from services.scoring.cache import LedgerCache
from services.scoring.core.deadlines import VIETNAM_TZ
from services.scoring.core.tree import compile_tree
from services.scoring.handlers import build_handlers
from services.scoring.service import DEMO_SET_ID, CriteriaCatalogue, load_catalogue
from services.scoring.store import rankings, rejections, scores

YEAR = 2025
COUNCIL = "hdtd-tinh"
OTHER_COUNCIL = "hdtd-khoi-2"
EOFFICE = "eoffice.test"
_CATALOGUE: list[CriteriaCatalogue] = []


# The demo set declared for communes: a set scores only its own level (issue 13).
DEMO_COMMUNE_SET_ID = "demo-commune"


def set_for(level: Level) -> str:
    return DEMO_COMMUNE_SET_ID if level is Level.COMMUNE else DEMO_SET_ID


def catalogue() -> CriteriaCatalogue:
    if not _CATALOGUE:
        base = load_catalogue()
        commune = dataclasses.replace(base.sets[DEMO_SET_ID], level=CriteriaLevel.COMMUNE)
        _CATALOGUE.append(
            dataclasses.replace(
                base,
                sets=MappingProxyType({**base.sets, DEMO_COMMUNE_SET_ID: commune}),
                trees=MappingProxyType({**base.trees, DEMO_COMMUNE_SET_ID: compile_tree(commune)}),
            )
        )
    return _CATALOGUE[0]


def vn(month: int, day: int, hour: int = 9, minute: int = 0, year: int = YEAR) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=VIETNAM_TZ)


BEFORE_DEADLINE = vn(11, 20)
APPRAISAL_TIME = vn(12, 20)
SURVEY_TIME = vn(12, 1)
PUBLICATION_TIME = vn(12, 30)
CORRECTION_TIME = vn(2, 5, year=YEAR + 1)


@dataclass
class Scoring:
    """One scoring worker: its handler table, cache and runtime over `sessions`."""

    sessions: sessionmaker[Session]
    seed: int = 1
    cache: LedgerCache = field(default_factory=LedgerCache)
    produced: list[Event] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.clock = FrozenClock(vn(12, 31, 23))
        self.ids = SeededIds(seed=self.seed)
        self.eoffice = EventFactory(EOFFICE, self.clock, SeededIds(seed=self.seed + 1000))
        handlers = build_handlers(
            catalogue(), EventFactory("kiemchung.scoring", self.clock, self.ids), self.clock, self.cache
        )
        self.runtime = ServiceRuntime(Service.SCORING, handlers, self.sessions, self.clock)

    async def send(self, event: Event) -> Outcome:
        outcome = await self.runtime.handle(event)
        self.produced.extend(outcome.produced)
        return outcome

    def rolled_back_self_score(self, unit_id: str, leaf: str, points: str) -> tuple[Event, ...]:
        """Run the handler for a self score, then roll its transaction back, as when the outbox
        write fails after the handler ran; returns what it would have produced."""
        phantom = self.make(
            SelfScoreEntered,
            BEFORE_DEADLINE,
            unit_id=unit_id,
            year=2025,
            criterion_code=leaf,
            points=Decimal(points),
            explanation="KH",
            entered_by="x",
        )
        handler = self.runtime.handlers[SelfScoreEntered]
        with self.sessions() as session:
            transaction = session.begin()
            produced = tuple(handler.apply(phantom, None, session))
            transaction.rollback()
        return produced

    def make(self, model: type[Event], at: datetime, **fields: Any) -> Event:
        event = self.eoffice.make(model, correlation_id=self.eoffice.ids(), **fields)
        return event.model_copy(update={"occurred_at": at})

    # ---- the events a province sends ----------------------------------------------------------

    async def register(
        self,
        unit_id: str,
        name: str,
        *,
        council: str = COUNCIL,
        ranked: bool = True,
        not_applicable: tuple[str, ...] = (),
        level: Level = Level.DEPARTMENT,
    ) -> Outcome:
        return await self.send(
            self.make(
                UnitRegistered,
                BEFORE_DEADLINE,
                unit_id=unit_id,
                name=name,
                level=level,
                council_id=council,
                criteria_set=set_for(level),
                ranked=ranked,
                not_applicable=list(not_applicable),
            )
        )

    async def self_score(
        self,
        unit_id: str,
        leaf: str,
        points: str,
        *,
        at: datetime = BEFORE_DEADLINE,
        explanation: str | None = None,
    ) -> Outcome:
        return await self.send(
            self.make(
                SelfScoreEntered,
                at,
                unit_id=unit_id,
                year=YEAR,
                criterion_code=leaf,
                points=Decimal(points),
                explanation=explanation,
                entered_by=f"{unit_id}.vanthu",
            )
        )

    async def verdict(
        self,
        unit_id: str,
        leaf: str,
        link: UUID,
        *,
        decision: Decision = Decision.ACCEPTED,
        reasons: tuple[ReasonCode, ...] = (),
        at: datetime = BEFORE_DEADLINE,
        linked_at: datetime | None = None,
        number: str = "15/KH-SNV",
        title: str = "Kế hoạch cải cách hành chính năm 2025",
    ) -> Outcome:
        report = VerificationReport(
            file=f"{link}.pdf",
            decision=decision,
            reasons=list(reasons),
            document=DocumentFacts(number=number, issued_on=date(YEAR, 2, 10)),
            elapsed_ms=5,
        )
        return await self.send(
            self.make(
                EvidenceVerified,
                at,
                link_id=link,
                unit_id=unit_id,
                year=YEAR,
                criterion_code=leaf,
                document_id=f"VB-{link.hex[:8]}",
                fetch_url=f"https://eoffice.example.gov.vn/vb/{link.hex[:8]}.pdf",
                title=title,
                issuer=unit_id,
                report=report,
                linked_at=linked_at or at,
            )
        )

    async def unlink(self, unit_id: str, leaf: str, link: UUID, *, at: datetime = BEFORE_DEADLINE) -> Outcome:
        return await self.send(
            self.make(
                DocumentUnlinked,
                at,
                link_id=link,
                unit_id=unit_id,
                year=YEAR,
                criterion_code=leaf,
                unlinked_by=f"{unit_id}.vanthu",
            )
        )

    async def submit(self, unit_id: str, *, at: datetime = BEFORE_DEADLINE) -> Outcome:
        return await self.send(
            self.make(Submitted, at, unit_id=unit_id, year=YEAR, submitted_by=f"{unit_id}.lanhdao")
        )

    async def appraise(
        self, unit_id: str, leaf: str, points: str, *, at: datetime = APPRAISAL_TIME, round: int = 1
    ) -> Outcome:
        return await self.send(
            self.make(
                AppraisalRecorded,
                at,
                unit_id=unit_id,
                year=YEAR,
                criterion_code=leaf,
                points=Decimal(points),
                council_id=COUNCIL,
                appraised_by="hdtd.thanhvien",
                round=round,
            )
        )

    async def supplement(self, unit_id: str, codes: list[str], until: date, *, at: datetime) -> Outcome:
        return await self.send(
            self.make(
                SupplementRequested,
                at,
                unit_id=unit_id,
                year=YEAR,
                criterion_codes=codes,
                until=until,
                council_id=COUNCIL,
                document_number="12/CV-HĐTĐ",
            )
        )

    async def survey(
        self, points: dict[str, str], *, leaf: str = "4.1", at: datetime = SURVEY_TIME
    ) -> Outcome:
        return await self.send(
            self.make(
                SurveyResultsImported,
                at,
                year=YEAR,
                source=f"SIPAS {YEAR}",
                results=[
                    SurveyPoints(unit_id=u, criterion_code=leaf, points=Decimal(p)) for u, p in points.items()
                ],
            )
        )

    async def publish(self, *, at: datetime = PUBLICATION_TIME) -> Outcome:
        return await self.send(
            self.make(Published, at, year=YEAR, level=Level.DEPARTMENT, decision_number="99/QĐ-UBND")
        )

    def correction(
        self,
        unit_id: str,
        *,
        points: dict[str, str] | None = None,
        at: datetime = CORRECTION_TIME,
        year: int = YEAR,
        decision_number: str = "15/QĐ-UBND",
        **attributes: Any,
    ) -> Event:
        return self.make(
            ResultCorrected,
            at,
            unit_id=unit_id,
            year=year,
            decision_number=decision_number,
            reason="Phúc tra kết quả thẩm định",
            points=[CorrectedPoints(criterion_code=c, points=Decimal(p)) for c, p in (points or {}).items()],
            corrected_by="so-noi-vu.cchc",
            **attributes,
        )

    async def correct(self, unit_id: str, **fields: Any) -> Outcome:
        return await self.send(self.correction(unit_id, **fields))

    # ---- what the service holds ----------------------------------------------------------------

    def snapshot(self, unit_id: str) -> dict[str, Any]:
        with self.sessions() as session:
            row = session.execute(
                select(scores.c.snapshot).where(scores.c.unit_id == unit_id, scores.c.year == YEAR)
            ).scalar_one()
        return dict(row)

    def index(self, unit_id: str) -> Decimal:
        return Decimal(self.snapshot(unit_id)["index"])

    def ranking(self) -> dict[str, Any]:
        with self.sessions() as session:
            row = session.execute(
                select(rankings.c.snapshot).where(rankings.c.level == "department", rankings.c.year == YEAR)
            ).scalar_one()
        return dict(row)

    def rejection_reasons(self) -> list[tuple[str, str, str]]:
        with self.sessions() as session:
            rows = session.execute(
                select(rejections.c.unit_id, rejections.c.event_type, rejections.c.reason).order_by(
                    rejections.c.seq
                )
            ).all()
        return [(r.unit_id, r.event_type, r.reason) for r in rows]

    def score_versions(self, unit_id: str) -> list[int]:
        return [e.version for e in self.produced if isinstance(e, ScoreUpdated) and e.unit_id == unit_id]

    def ranking_versions(self) -> list[int]:
        return [e.version for e in self.produced if isinstance(e, RankingUpdated)]
