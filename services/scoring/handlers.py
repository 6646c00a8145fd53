"""Message type → handler for scoring.

Each unit event is checked by the pure core against the unit's ledger replayed from the store;
an accepted event is appended to the ledger and yields a ScoreUpdated (version +1) and a
RankingUpdated for the unit's level and year. A refused event is recorded with its reason code
and changes nothing already recorded.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from contracts.envelope import Event
from contracts.events import (
    AppraisalRecorded,
    DocumentUnlinked,
    EvidenceVerified,
    Published,
    RankingUpdated,
    ScoreUpdated,
    SelfScoreEntered,
    Submitted,
    SupplementRequested,
    SurveyResultsImported,
    UnitRegistered,
)
from contracts.vocabulary import Level
from kiemchung.clock import Clock
from kiemchung.messaging import AnyHandler, EventFactory, Handler
from services.scoring.core.errors import ScoringError
from services.scoring.core.ledger import Ledger, apply
from services.scoring.service import (
    CriteriaCatalogue,
    UnitInfo,
    competition_ranking,
    figures,
    replay,
    to_command,
)
from services.scoring.store import ledger, rankings, rejections, scores, units

UnitEvent = (
    SelfScoreEntered | EvidenceVerified | DocumentUnlinked | Submitted | AppraisalRecorded | SupplementRequested
)


def load_unit(session: Session, unit_id: str) -> UnitInfo | None:
    row = session.execute(select(units).where(units.c.unit_id == unit_id)).mappings().first()
    if row is None:
        return None
    return UnitInfo(
        unit_id=row["unit_id"],
        name=row["name"],
        level=row["level"],
        council_id=row["council_id"],
        criteria_set=row["criteria_set"],
        ranked=row["ranked"],
        not_applicable=frozenset(row["not_applicable"]),
    )


def stored_ledger(session: Session, unit_id: str, year: int) -> list[dict[str, Any]]:
    rows = session.execute(
        select(ledger.c.payload)
        .where(ledger.c.unit_id == unit_id, ledger.c.year == year)
        .order_by(ledger.c.seq)
    ).scalars()
    return list(rows)


def current_ledger(session: Session, unit: UnitInfo, year: int, catalogue: CriteriaCatalogue) -> Ledger:
    return replay(unit, year, catalogue, stored_ledger(session, unit.unit_id, year))


def _actor(event: Event) -> str:
    for name in ("entered_by", "linked_by", "unlinked_by", "submitted_by", "appraised_by"):
        value = getattr(event, name, None)
        if value:
            return str(value)
    return event.producer


def build_handlers(catalogue: CriteriaCatalogue, events: EventFactory, clock: Clock) -> Mapping[type[Event], AnyHandler]:
    def reject(session: Session, unit_id: str, year: int, event: Event, reason: str, detail: str) -> None:
        session.execute(
            insert(rejections).values(
                unit_id=unit_id,
                year=year,
                event_id=str(event.event_id),
                event_type=event.type,
                reason=reason,
                detail=detail,
                recorded_at=clock(),
            )
        )

    def publish_score(session: Session, unit: UnitInfo, year: int, state: Ledger, cause: Event) -> list[Event]:
        numbers = figures(state)
        previous = session.execute(
            select(scores.c.version).where(scores.c.unit_id == unit.unit_id, scores.c.year == year)
        ).scalar_one_or_none()
        version = (previous or 0) + 1
        score = events.make(
            ScoreUpdated,
            correlation_id=cause.correlation_id,
            unit_id=unit.unit_id,
            year=year,
            level=Level(unit.level),
            version=version,
            maximum=numbers.maximum,
            self_assessed=numbers.self_assessed,
            verified=numbers.verified,
            appraised=numbers.appraised,
            survey=numbers.survey,
            achieved=numbers.achieved,
            index=numbers.index,
            projected_index=numbers.projected_index,
            components=list(numbers.components),
        )
        row = {
            "level": unit.level,
            "version": version,
            "index_value": str(numbers.index),
            "snapshot": score.model_dump(mode="json"),
            "updated_at": clock(),
        }
        if previous is None:
            session.execute(insert(scores).values(unit_id=unit.unit_id, year=year, **row))
        else:
            session.execute(
                update(scores).where(scores.c.unit_id == unit.unit_id, scores.c.year == year).values(**row)
            )
        return [score, publish_ranking(session, unit.level, year, cause)]

    def publish_ranking(session: Session, level: str, year: int, cause: Event) -> RankingUpdated:
        rows = session.execute(
            select(scores.c.unit_id, scores.c.index_value, units.c.ranked)
            .join(units, units.c.unit_id == scores.c.unit_id)
            .where(scores.c.level == level, scores.c.year == year)
        ).all()
        entries, apart = competition_ranking([(r.unit_id, Decimal(r.index_value), r.ranked) for r in rows])
        previous = session.execute(
            select(rankings.c.version).where(rankings.c.level == level, rankings.c.year == year)
        ).scalar_one_or_none()
        version = (previous or 0) + 1
        ranking = events.make(
            RankingUpdated,
            correlation_id=cause.correlation_id,
            year=year,
            level=Level(level),
            version=version,
            entries=entries,
            not_ranked=apart,
        )
        row = {"version": version, "snapshot": ranking.model_dump(mode="json"), "updated_at": clock()}
        if previous is None:
            session.execute(insert(rankings).values(level=level, year=year, **row))
        else:
            session.execute(
                update(rankings).where(rankings.c.level == level, rankings.c.year == year).values(**row)
            )
        return ranking

    def record(session: Session, unit_id: str, year: int, event: Event, at: datetime) -> None:
        session.execute(
            insert(ledger).values(
                unit_id=unit_id,
                year=year,
                event_id=str(event.event_id),
                event_type=event.type,
                actor=_actor(event),
                payload=event.model_dump(mode="json"),
                recorded_at=at,
            )
        )

    def for_unit(session: Session, unit_id: str, year: int, event: Event) -> list[Event]:
        unit = load_unit(session, unit_id)
        if unit is None:
            reject(session, unit_id, year, event, "UNKNOWN_UNIT", f"unit {unit_id!r} is not registered")
            return []
        try:
            state = current_ledger(session, unit, year, catalogue)
            command = to_command(event, unit_id)
            if command is None:
                return []
            state = apply(state, command, event.occurred_at)
        except ScoringError as exc:
            reject(session, unit_id, year, event, exc.reason.value, str(exc))
            return []
        except KeyError as exc:
            reject(session, unit_id, year, event, "UNKNOWN_CRITERIA_SET", str(exc))
            return []
        record(session, unit_id, year, event, clock())
        return publish_score(session, unit, year, state, event)

    def on_unit_event(event: UnitEvent, _: None, session: Session) -> Sequence[Event]:
        return for_unit(session, event.unit_id, event.year, event)

    def on_survey(event: SurveyResultsImported, _: None, session: Session) -> Sequence[Event]:
        out: list[Event] = []
        for unit_id in sorted({r.unit_id for r in event.results}):
            out.extend(for_unit(session, unit_id, event.year, event))
        return out

    def on_published(event: Published, _: None, session: Session) -> Sequence[Event]:
        unit_ids = session.execute(
            select(units.c.unit_id).where(units.c.level == event.level.value).order_by(units.c.unit_id)
        ).scalars()
        out: list[Event] = []
        for unit_id in unit_ids:
            out.extend(for_unit(session, unit_id, event.year, event))
        return out

    def on_unit(event: UnitRegistered, _: None, session: Session) -> Sequence[Event]:
        values = {
            "name": event.name,
            "level": event.level.value,
            "council_id": event.council_id,
            "criteria_set": event.criteria_set,
            "ranked": event.ranked,
            "not_applicable": sorted(event.not_applicable),
        }
        exists = session.execute(
            select(func.count()).select_from(units).where(units.c.unit_id == event.unit_id)
        ).scalar_one()
        if exists:
            session.execute(update(units).where(units.c.unit_id == event.unit_id).values(**values))
        else:
            session.execute(insert(units).values(unit_id=event.unit_id, **values))
        return []

    unit_handler: AnyHandler = Handler(apply=on_unit_event)
    return {
        UnitRegistered: Handler(apply=on_unit),
        SelfScoreEntered: unit_handler,
        EvidenceVerified: unit_handler,
        DocumentUnlinked: unit_handler,
        Submitted: unit_handler,
        AppraisalRecorded: unit_handler,
        SupplementRequested: unit_handler,
        SurveyResultsImported: Handler(apply=on_survey),
        Published: Handler(apply=on_published),
    }
