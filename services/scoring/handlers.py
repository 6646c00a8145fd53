"""Message type → handler for scoring.

Each unit event is checked by the pure core against the unit's current ledger: from the
in-process cache when it is provably current (cache.py), else replayed from the store. An
accepted event is appended to the ledger with the leaf values it changed and yields a
ScoreUpdated (version +1) and a RankingUpdated for the unit's level and year. A refused event is
recorded with its reason code and changes nothing already recorded.

Concurrency: the unit's row is locked (SELECT … FOR UPDATE on PostgreSQL; SQLite serialises
writers) before its ledger is read, and the ranking row before the level's scores are read, so
two workers never compute the same version twice and versions never go backwards.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import CursorResult, RowMapping, insert, select, update
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
from services.scoring.cache import NO_ROWS, LedgerCache, LedgerTag
from services.scoring.core import commands as cmd
from services.scoring.core.errors import ScoringError, ScoringReason
from services.scoring.core.ledger import LeafState, Ledger, apply
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
    SelfScoreEntered
    | EvidenceVerified
    | DocumentUnlinked
    | Submitted
    | AppraisalRecorded
    | SupplementRequested
)
_ACTOR_FIELDS = ("entered_by", "linked_by", "unlinked_by", "submitted_by", "appraised_by", "council_id")


def _unit_from_row(row: RowMapping) -> UnitInfo:
    return UnitInfo(
        unit_id=row["unit_id"],
        name=row["name"],
        level=row["level"],
        council_id=row["council_id"],
        criteria_set=row["criteria_set"],
        ranked=row["ranked"],
        not_applicable=frozenset(row["not_applicable"]),
    )


def load_unit(session: Session, unit_id: str, *, lock: bool = False) -> UnitInfo | None:
    query = select(units).where(units.c.unit_id == unit_id)
    if lock:
        query = query.with_for_update()
    row = session.execute(query).mappings().first()
    return None if row is None else _unit_from_row(row)


def load_units(session: Session) -> list[UnitInfo]:
    rows = session.execute(select(units).order_by(units.c.unit_id)).mappings().all()
    return [_unit_from_row(r) for r in rows]


def stored_ledger(session: Session, unit_id: str, year: int) -> list[dict[str, Any]]:
    rows = session.execute(
        select(ledger.c.payload)
        .where(ledger.c.unit_id == unit_id, ledger.c.year == year)
        .order_by(ledger.c.seq)
    ).scalars()
    return list(rows)


def latest_tag(session: Session, unit_id: str, year: int) -> LedgerTag:
    row = session.execute(
        select(ledger.c.seq, ledger.c.event_id)
        .where(ledger.c.unit_id == unit_id, ledger.c.year == year)
        .order_by(ledger.c.seq.desc())
        .limit(1)
    ).first()
    return NO_ROWS if row is None else LedgerTag(int(row.seq), str(row.event_id))


def current_ledger(session: Session, unit: UnitInfo, year: int, catalogue: CriteriaCatalogue) -> Ledger:
    """The unit's ledger replayed from the store (no cache): the reference for every reader."""
    return replay(unit, year, catalogue, stored_ledger(session, unit.unit_id, year))


def _actor(event: Event) -> str:
    for name in _ACTOR_FIELDS:
        value = getattr(event, name, None)
        if value:
            return str(value)
    return event.producer


def utc(moment: datetime) -> datetime:
    """Times are stored in UTC: SQLite keeps no offset, so every reader assumes UTC (`as_utc`)."""
    return moment.astimezone(UTC)


def as_utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def leaf_values(state: LeafState) -> dict[str, Any]:
    """A leaf's values as the ledger history shows them (exact decimals as strings)."""
    return {
        "self_assessed": _text(state.self_points),
        "explanation": state.explanation,
        "accepted_links": state.accepted_links,
        "appraised": _text(state.appraised),
        "appraisal_round": state.appraisal_round,
        "appraisal_comment": state.appraisal_comment,
        "survey": _text(state.survey_points),
    }


def leaf_changes(before: Ledger, after: Ledger) -> list[dict[str, Any]]:
    # The core copies the leaf table on write and replaces only changed entries: identity is enough.
    changed = sorted(code for code, state in after.leaves.items() if before.leaves.get(code) is not state)
    return [
        {"code": code, "before": leaf_values(before.leaf(code)), "after": leaf_values(after.leaf(code))}
        for code in changed
    ]


def command_leaf(command: cmd.Command, before: Ledger) -> str | None:
    match command:
        case cmd.SelfScoreEntered() | cmd.EvidenceVerdict() | cmd.AppraisalRecorded():
            return command.leaf
        case cmd.EvidenceUnlinked():
            link = before.links.get(command.link_id)
            return link.leaf if link is not None else None
        case cmd.SurveyResultsImported() if len(command.results) == 1:
            return next(iter(command.results))
        case cmd.SupplementRequested() if len(command.leaves) == 1:
            return command.leaves[0]
    return None


def _event_leaf(event: Event) -> str | None:
    code = getattr(event, "criterion_code", None)
    return str(code) if code else None


class ScoringHandlers:
    """The handler table's state: the catalogue, the event factory, the clock and the cache."""

    def __init__(
        self, catalogue: CriteriaCatalogue, events: EventFactory, clock: Clock, cache: LedgerCache
    ) -> None:
        self.catalogue = catalogue
        self.events = events
        self.clock = clock
        self.cache = cache

    # ---- reading --------------------------------------------------------------------------

    def ledger_for(self, session: Session, unit: UnitInfo, year: int) -> tuple[Ledger, LedgerTag]:
        tag = latest_tag(session, unit.unit_id, year)
        cached = self.cache.get(unit, year, tag)
        if cached is not None:
            return cached, tag
        return current_ledger(session, unit, year, self.catalogue), tag

    # ---- writing --------------------------------------------------------------------------

    def reject(
        self, session: Session, unit_id: str, year: int, event: Event, reason: ScoringReason, detail: str
    ) -> None:
        session.execute(
            insert(rejections).values(
                unit_id=unit_id,
                year=year,
                event_id=str(event.event_id),
                event_type=event.type,
                actor=_actor(event),
                criterion_code=_event_leaf(event),
                reason=reason.value,
                detail=detail,
                occurred_at=utc(event.occurred_at),
                recorded_at=utc(self.clock()),
            )
        )

    def for_unit(self, session: Session, unit_id: str, year: int, event: Event) -> list[Event]:
        unit = load_unit(session, unit_id, lock=True)
        if unit is None:
            self.reject(
                session,
                unit_id,
                year,
                event,
                ScoringReason.UNKNOWN_UNIT,
                f"unit {unit_id!r} is not registered",
            )
            return []
        command = to_command(event, unit_id)
        if command is None:
            return []
        try:
            before, _ = self.ledger_for(session, unit, year)
            after = apply(before, command, event.occurred_at)
        except ScoringError as exc:
            self.reject(session, unit_id, year, event, exc.reason, str(exc))
            return []
        except KeyError as exc:
            self.reject(session, unit_id, year, event, ScoringReason.UNKNOWN_CRITERIA_SET, str(exc))
            return []
        version = self._next_score_version(session, unit_id, year)
        result: CursorResult[Any] = session.execute(  # type: ignore[assignment]
            insert(ledger).values(
                unit_id=unit_id,
                year=year,
                event_id=str(event.event_id),
                event_type=event.type,
                actor=_actor(event),
                criterion_code=command_leaf(command, before),
                changes=leaf_changes(before, after),
                score_version=version,
                payload=event.model_dump(mode="json"),
                occurred_at=utc(event.occurred_at),
                recorded_at=utc(self.clock()),
            )
        )
        seq = result.inserted_primary_key[0] if result.inserted_primary_key else None
        if seq is not None:
            # If this transaction rolls back, no row carries this tag: the next lookup misses.
            self.cache.put(unit, year, LedgerTag(int(seq), str(event.event_id)), after)
        return self._publish_score(session, unit, year, after, version, event)

    def _next_score_version(self, session: Session, unit_id: str, year: int) -> int:
        previous = session.execute(
            select(scores.c.version).where(scores.c.unit_id == unit_id, scores.c.year == year)
        ).scalar_one_or_none()
        return (previous or 0) + 1

    def _publish_score(
        self, session: Session, unit: UnitInfo, year: int, state: Ledger, version: int, cause: Event
    ) -> list[Event]:
        numbers = figures(state)
        score = self.events.make(
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
            "updated_at": utc(self.clock()),
        }
        if version == 1:
            session.execute(insert(scores).values(unit_id=unit.unit_id, year=year, **row))
        else:
            session.execute(
                update(scores).where(scores.c.unit_id == unit.unit_id, scores.c.year == year).values(**row)
            )
        return [score, self._publish_ranking(session, unit.level, year, cause)]

    def _publish_ranking(self, session: Session, level: str, year: int, cause: Event) -> RankingUpdated:
        # Lock the ranking row first, then read the scores: a concurrent writer of the same level
        # waits here and then sees this transaction's committed score.
        previous = session.execute(
            select(rankings.c.version)
            .where(rankings.c.level == level, rankings.c.year == year)
            .with_for_update()
        ).scalar_one_or_none()
        rows = session.execute(
            select(scores.c.unit_id, scores.c.index_value, units.c.ranked)
            .join(units, units.c.unit_id == scores.c.unit_id)
            .where(scores.c.level == level, scores.c.year == year)
        ).all()
        entries, apart = competition_ranking([(r.unit_id, Decimal(r.index_value), r.ranked) for r in rows])
        version = (previous or 0) + 1
        ranking = self.events.make(
            RankingUpdated,
            correlation_id=cause.correlation_id,
            year=year,
            level=Level(level),
            version=version,
            entries=entries,
            not_ranked=apart,
        )
        row = {
            "version": version,
            "snapshot": ranking.model_dump(mode="json"),
            "updated_at": utc(self.clock()),
        }
        if previous is None:
            session.execute(insert(rankings).values(level=level, year=year, **row))
        else:
            session.execute(
                update(rankings).where(rankings.c.level == level, rankings.c.year == year).values(**row)
            )
        return ranking

    # ---- the handler functions --------------------------------------------------------------

    def on_unit_event(self, event: UnitEvent, _: None, session: Session) -> Sequence[Event]:
        return self.for_unit(session, event.unit_id, event.year, event)

    def on_survey(self, event: SurveyResultsImported, _: None, session: Session) -> Sequence[Event]:
        out: list[Event] = []
        for unit_id in sorted({r.unit_id for r in event.results}):
            out.extend(self.for_unit(session, unit_id, event.year, event))
        return out

    def on_published(self, event: Published, _: None, session: Session) -> Sequence[Event]:
        unit_ids = session.execute(
            select(units.c.unit_id).where(units.c.level == event.level.value).order_by(units.c.unit_id)
        ).scalars()
        out: list[Event] = []
        for unit_id in list(unit_ids):
            out.extend(self.for_unit(session, unit_id, event.year, event))
        return out

    def on_unit(self, event: UnitRegistered, _: None, session: Session) -> Sequence[Event]:
        values = {
            "name": event.name,
            "level": event.level.value,
            "council_id": event.council_id,
            "criteria_set": event.criteria_set,
            "ranked": event.ranked,
            "not_applicable": sorted(event.not_applicable),
        }
        exists = load_unit(session, event.unit_id, lock=True) is not None
        if exists:
            session.execute(update(units).where(units.c.unit_id == event.unit_id).values(**values))
        else:
            session.execute(insert(units).values(unit_id=event.unit_id, **values))
        # Cached ledgers are tagged with the unit's registration too; forgetting is just tidy.
        self.cache.forget_unit(event.unit_id)
        return []

    def table(self) -> Mapping[type[Event], AnyHandler]:
        unit_handler: AnyHandler = Handler(apply=self.on_unit_event)
        return {
            UnitRegistered: Handler(apply=self.on_unit),
            SelfScoreEntered: unit_handler,
            EvidenceVerified: unit_handler,
            DocumentUnlinked: unit_handler,
            Submitted: unit_handler,
            AppraisalRecorded: unit_handler,
            SupplementRequested: unit_handler,
            SurveyResultsImported: Handler(apply=self.on_survey),
            Published: Handler(apply=self.on_published),
        }


def build_handlers(
    catalogue: CriteriaCatalogue, events: EventFactory, clock: Clock, cache: LedgerCache | None = None
) -> Mapping[type[Event], AnyHandler]:
    """The scoring handler table; pass `cache` to observe it (tests), else a default-sized one."""
    return ScoringHandlers(catalogue, events, clock, cache if cache is not None else LedgerCache()).table()
