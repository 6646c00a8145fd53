"""Message type → handler for scoring.

Each unit event is checked by the pure core against the unit's current ledger: from the
in-process cache when it is provably current (cache.py), else replayed from the store. An
accepted event is appended to the ledger with the leaf values it changed and yields a
ScoreUpdated (version +1). A refused event is recorded with its reason code and changes nothing
already recorded.

Rankings: each message notes the changed units' entries in the in-process standings of their
(level, year) and, at its end, emits one RankingUpdated per (level, year) whose standings
actually changed (an index, a rank, who is ranked), version +1; a message that changes no
entry emits none. The standings come from the cache when its tag equals the ranking row's
(version, event_id), else they are rebuilt from the score rows. Inside a batch
(`ServiceRuntime.handle_batch`) the changes of all its messages are collected and the table's
`finish` hook emits them once: one RankingUpdated per changed (level, year) per batch, which is
what makes a 10,000-unit level affordable per event.

Concurrency: the unit's row is locked (SELECT … FOR UPDATE on PostgreSQL; SQLite serialises
writers) before its ledger is read, and the ranking row before the unit's score is written, so
two workers never compute the same version twice, standings are read under the lock that
guards every change to them, and versions never go backwards.

Statements are built once at import (SQLAlchemy memoises their cache keys, so each execution
only binds parameters) and run on the session's connection.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Connection,
    CursorResult,
    RowMapping,
    and_,
    bindparam,
    exists,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.orm import Session

from contracts.envelope import Event
from contracts.events import (
    AppraisalRecorded,
    DocumentUnlinked,
    EvidenceVerified,
    Published,
    PublishedSetup,
    RankingUpdated,
    ResultCorrected,
    ScoreUpdated,
    SelfScoreEntered,
    Submitted,
    SupplementRequested,
    SurveyResultsImported,
    UnitRegistered,
)
from contracts.events import RankEntry as ContractRankEntry
from contracts.vocabulary import Level
from kiemchung.runtime.clock import Clock
from kiemchung.runtime.messaging import AnyHandler, EventFactory, Handler, HandlerTable, in_batch
from services.scoring.cache import NO_RANKING, NO_ROWS, LedgerCache, LedgerTag, RankingCache, RankingTag
from services.scoring.core import commands as cmd
from services.scoring.core.errors import ScoringError, ScoringReason
from services.scoring.core.ledger import LeafState, Ledger, apply
from services.scoring.core.published import YearSetup, year_setup
from services.scoring.core.ranking import RankEntry
from services.scoring.core.standings import Standings, standings
from services.scoring.display import freeze_display
from services.scoring.service import (
    CriteriaCatalogue,
    ScoreFigures,
    UnitInfo,
    figures,
    ranking_entries,
    replay,
    to_command,
)
from services.scoring.store import ledger, published_setups, rankings, rejections, scores, units

UnitEvent = (
    SelfScoreEntered
    | EvidenceVerified
    | DocumentUnlinked
    | Submitted
    | AppraisalRecorded
    | SupplementRequested
    | ResultCorrected
)
_ACTOR_FIELDS = (
    "entered_by",
    "linked_by",
    "unlinked_by",
    "submitted_by",
    "appraised_by",
    "corrected_by",
    "council_id",
)

# ---- prebuilt statements ----------------------------------------------------------------------

_LATEST_SEQ = (
    select(func.max(ledger.c.seq))
    .where(ledger.c.unit_id == units.c.unit_id, ledger.c.year == bindparam("year"))
    .correlate(units)
    .scalar_subquery()
)
# The unit (locked), the latest ledger row of its year (the ledger cache's tag) and its score version.
_UNIT_STATE = (
    select(
        units,
        scores.c.version.label("score_version"),
        ledger.c.seq.label("ledger_seq"),
        ledger.c.event_id.label("ledger_event_id"),
    )
    .select_from(
        units.outerjoin(
            scores, and_(scores.c.unit_id == units.c.unit_id, scores.c.year == bindparam("year"))
        ).outerjoin(ledger, ledger.c.seq == _LATEST_SEQ)
    )
    .where(units.c.unit_id == bindparam("unit_id"))
    .with_for_update(of=units)
)
_RANKING_ROW = (
    select(rankings.c.version, rankings.c.event_id)
    .where(rankings.c.level == bindparam("level"), rankings.c.year == bindparam("year"))
    .with_for_update()
)
_LEVEL_SCORES = (
    # The year's own ranked flag (a published year's, as corrected), else the registration's.
    select(
        scores.c.unit_id,
        scores.c.index_value,
        scores.c.ranked.label("year_ranked"),
        units.c.ranked.label("registered"),
    )
    .join(units, units.c.unit_id == scores.c.unit_id)
    .where(scores.c.level == bindparam("level"), scores.c.year == bindparam("year"))
)
_INSERT_LEDGER = insert(ledger)
_INSERT_REJECTION = insert(rejections)
_INSERT_SCORE = insert(scores)
_UPDATE_SCORE = update(scores).where(
    scores.c.unit_id == bindparam("key_unit"), scores.c.year == bindparam("key_year")
)
_INSERT_FROZEN = insert(published_setups)
_INSERT_RANKING = insert(rankings)
_UPDATE_RANKING = update(rankings).where(
    rankings.c.level == bindparam("key_level"), rankings.c.year == bindparam("key_year")
)


# A score row's index when the unit has no result (no points recorded): no index, not 0.
NO_RESULT = ""


def stored_index(value: str) -> Decimal | None:
    return None if value == NO_RESULT else Decimal(value)


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


def frozen_from_row(row: RowMapping) -> YearSetup:
    return YearSetup(
        level=row["level"],
        criteria_set=row["criteria_set"],
        overlays=tuple(row["overlays"]),
        criteria=row["criteria_digest"],
        not_applicable=frozenset(row["not_applicable"]),
        maximum=None if row["maximum"] is None else Decimal(row["maximum"]),
        ranked=bool(row["ranked"]),
        group=row["ranking_group"],
        lock_at=row["lock_at"],
    )


def published_setup(level: str, given: PublishedSetup) -> YearSetup:
    return YearSetup(
        level=level,
        criteria_set=given.criteria_set,
        overlays=tuple(given.overlays),
        criteria=given.criteria_digest,
        not_applicable=frozenset(given.not_applicable),
        maximum=given.maximum,
        ranked=given.ranked,
        group=given.group,
        lock_at=given.lock_at,
    )


def setup_payload(unit_id: str, setup: YearSetup) -> dict[str, Any]:
    """A frozen setup as Published's `setups` carries it (JSON)."""
    return {
        "unit_id": unit_id,
        "criteria_set": setup.criteria_set,
        "overlays": list(setup.overlays),
        "criteria_digest": setup.criteria,
        "not_applicable": sorted(setup.not_applicable),
        "maximum": None if setup.maximum is None else str(setup.maximum),
        "ranked": setup.ranked,
        "group": setup.group,
        "lock_at": setup.lock_at.isoformat(),
    }


def frozen_setup(session: Session, unit_id: str, year: int) -> YearSetup | None:
    """The unit-year's setup frozen at publication, or None when the year is not published."""
    row = (
        session.execute(
            select(published_setups).where(
                published_setups.c.unit_id == unit_id, published_setups.c.year == year
            )
        )
        .mappings()
        .first()
    )
    return None if row is None else frozen_from_row(row)


def frozen_setups(session: Session, year: int | None = None) -> dict[tuple[str, int], YearSetup]:
    query = select(published_setups)
    if year is not None:
        query = query.where(published_setups.c.year == year)
    return {
        (row["unit_id"], int(row["year"])): frozen_from_row(row) for row in session.execute(query).mappings()
    }


def current_ledger(session: Session, unit: UnitInfo, year: int, catalogue: CriteriaCatalogue) -> Ledger:
    """The unit's ledger replayed from the store (no cache): the reference for every reader. A
    published year opens with the setup frozen at its publication, not today's files."""
    frozen = frozen_setup(session, unit.unit_id, year)
    return replay(unit, year, catalogue, stored_ledger(session, unit.unit_id, year), frozen)


def _actor(event: Event) -> str:
    for name in _ACTOR_FIELDS:
        value = getattr(event, name, None)
        if value:
            return str(value)
    return event.producer


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
            return link.leaf if link is not None else command.leaf
        case cmd.SurveyResultsImported() if len(command.results) == 1:
            return next(iter(command.results))
        case cmd.SupplementRequested() if len(command.leaves) == 1:
            return command.leaves[0]
        case cmd.ResultCorrected() if len(command.points) == 1:
            return next(iter(command.points))
    return None


def _event_leaf(event: Event) -> str | None:
    code = getattr(event, "criterion_code", None)
    return str(code) if code else None


@dataclass
class _LevelWork:
    """One (level, year) a message (or batch) touches: the ranking row's tag when locked, the
    standings before and after its changes, and the message that last changed them (the
    RankingUpdated's correlation)."""

    tag: RankingTag
    before: Standings
    after: Standings
    cause: Event

    def change(self, after: Standings, cause: Event) -> None:
        if after is not self.after:
            self.after = after
            self.cause = cause


# The rankings one message (or batch) touches, keyed by (level, year): each locked and loaded
# once, written once at the end (a publication of 500 units yields one RankingUpdated, not 500).
RankingWork = dict[tuple[str, int], _LevelWork]
# Where a batch's RankingWork lives until `finish_batch`: on its session, so it dies with it.
_BATCH_WORK = "kiemchung.scoring.ranking_work"


class ScoringHandlers:
    """The handler table's state: the catalogue, the event factory, the clock and the caches."""

    def __init__(
        self,
        catalogue: CriteriaCatalogue,
        events: EventFactory,
        clock: Clock,
        cache: LedgerCache,
        rankings: RankingCache | None = None,
    ) -> None:
        self.catalogue = catalogue
        self.events = events
        self.clock = clock
        self.cache = cache
        self.rankings = rankings if rankings is not None else RankingCache()
        # The contract entries last emitted per (level, year), reused when unchanged (content
        # checked entry by entry, so this is never stale, only sometimes unused).
        self._emitted: dict[tuple[str, int], dict[str, ContractRankEntry]] = {}
        # The setups of the Published being handled, by unit (one event's, rebuilt per event).
        self._given: tuple[str, dict[str, YearSetup]] | None = None

    # ---- reading --------------------------------------------------------------------------

    def _ledger_at(self, session: Session, unit: UnitInfo, year: int, tag: LedgerTag) -> Ledger:
        cached = self.cache.get(unit, year, tag)
        if cached is not None:
            return cached
        return current_ledger(session, unit, year, self.catalogue)

    def _standings(
        self, conn: Connection, work: RankingWork, level: str, year: int, cause: Event
    ) -> _LevelWork:
        """Lock the (level, year) ranking row and return its standings, cached when current."""
        key = (level, year)
        known = work.get(key)
        if known is not None:
            return known
        row = conn.execute(_RANKING_ROW, {"level": level, "year": year}).first()
        tag = NO_RANKING if row is None else RankingTag(int(row.version), str(row.event_id))
        table = self.rankings.get(level, year, tag)
        if table is None:
            rows = conn.execute(_LEVEL_SCORES, {"level": level, "year": year})
            table = standings(
                RankEntry(
                    r.unit_id,
                    stored_index(r.index_value),
                    self._year_ranked(r.unit_id, r.year_ranked, r.registered, year),
                )
                for r in rows
            )
        work[key] = _LevelWork(tag, table, table, cause)
        return work[key]

    def _ranked(self, unit_id: str, registered: bool, year: int) -> bool:
        """The year's rules file may rank a unit otherwise than its registration (seed 003)."""
        return self.catalogue.ranked_for(unit_id, registered, year)

    def _year_ranked(self, unit_id: str, year_ranked: bool | None, registered: bool, year: int) -> bool:
        """The unit-year's own flag (its ledger's: rules file, correction), else the registration
        as the year's rules file overrides it."""
        if year_ranked is not None:
            return bool(year_ranked)
        return self._ranked(unit_id, bool(registered), year)

    # ---- writing --------------------------------------------------------------------------

    def reject(
        self, session: Session, unit_id: str, year: int, event: Event, reason: ScoringReason, detail: str
    ) -> None:
        session.connection().execute(
            _INSERT_REJECTION,
            {
                "unit_id": unit_id,
                "year": year,
                "event_id": str(event.event_id),
                "event_type": event.type,
                "actor": _actor(event),
                "criterion_code": _event_leaf(event),
                "reason": reason.value,
                "detail": detail,
                "occurred_at": event.occurred_at,
                "recorded_at": self.clock(),
            },
        )

    def for_unit(
        self, session: Session, unit_id: str, year: int, event: Event, work: RankingWork
    ) -> list[Event]:
        """Score one unit's event; its ranking change is noted in `work` (see `finish`)."""
        conn = session.connection()
        # One statement: the unit (row-locked), its latest ledger row and its score version.
        state = conn.execute(_UNIT_STATE, {"unit_id": unit_id, "year": year}).mappings().first()
        if state is None:
            self.reject(
                session,
                unit_id,
                year,
                event,
                ScoringReason.UNKNOWN_UNIT,
                f"unit {unit_id!r} is not registered",
            )
            return []
        unit = _unit_from_row(state)
        command = to_command(event, unit_id)
        if command is None:
            return []
        seq = state["ledger_seq"]
        tag = NO_ROWS if seq is None else LedgerTag(int(seq), str(state["ledger_event_id"]))
        given = self._given_setup(event, unit_id)
        try:
            if given is None:
                before = self._ledger_at(session, unit, year, tag)
            else:  # a replayed publication: the setup it was published with, not today's files
                before = replay(unit, year, self.catalogue, stored_ledger(session, unit_id, year), given)
            after = apply(before, command, event.occurred_at)
        except ScoringError as exc:
            self.reject(session, unit_id, year, event, exc.reason, str(exc))
            return []
        except KeyError as exc:
            self.reject(session, unit_id, year, event, ScoringReason.UNKNOWN_CRITERIA_SET, str(exc))
            return []
        if isinstance(command, cmd.Published):
            self._freeze(conn, unit, year, after, event, given)
        numbers = figures(after)
        # Lock the ranking row before writing the score: a concurrent writer of the same level
        # waits here, so the standings read under this lock are the ones the score changes. The
        # ledger's level is the unit's, or a published year's as frozen.
        level = self._standings(conn, work, after.level.value, year, event)
        version = int(state["score_version"] or 0) + 1
        result: CursorResult[Any] = conn.execute(
            _INSERT_LEDGER,
            {
                "unit_id": unit_id,
                "year": year,
                "event_id": str(event.event_id),
                "event_type": event.type,
                "actor": _actor(event),
                "criterion_code": command_leaf(command, before),
                "changes": leaf_changes(before, after),
                "score_version": version,
                "payload": event.model_dump(mode="json"),
                "occurred_at": event.occurred_at,
                "recorded_at": self.clock(),
            },
        )
        inserted = result.inserted_primary_key[0] if result.inserted_primary_key else None
        if inserted is not None:
            # If this transaction rolls back, no row carries this tag: the next lookup misses.
            self.cache.put(unit, year, LedgerTag(int(inserted), str(event.event_id)), after)
        score = self._publish_score(conn, unit, year, after, numbers, version, event)
        index = numbers.index if numbers.has_result else None
        level.change(level.after.with_entry(RankEntry(unit_id, index, after.ranked)), event)
        return [score]

    def _given_setup(self, event: Event, unit_id: str) -> YearSetup | None:
        """The unit's setup a replayed Published carries (`ledger export` writes it), if any."""
        if not isinstance(event, Published) or not event.setups:
            return None
        key = str(event.event_id)
        if self._given is None or self._given[0] != key:
            self._given = (key, {s.unit_id: published_setup(event.level.value, s) for s in event.setups})
        return self._given[1].get(unit_id)

    def _freeze(
        self,
        conn: Connection,
        unit: UnitInfo,
        year: int,
        published: Ledger,
        event: Event,
        given: YearSetup | None = None,
    ) -> None:
        """Keep the unit-year's setup as published: later replays use it, not today's files."""
        set_id = self.catalogue.set_id_for(unit.level, unit.criteria_set, year)  # the year's choice
        setup = given or year_setup(
            published,
            set_id,
            self.catalogue.overlays_for(set_id, year),
            self.catalogue.group_of(unit.unit_id, year),
        )
        conn.execute(
            _INSERT_FROZEN,
            {
                "unit_id": unit.unit_id,
                "year": year,
                "level": setup.level,
                "criteria_set": setup.criteria_set,
                "overlays": list(setup.overlays),
                "criteria_digest": setup.criteria,
                "not_applicable": sorted(setup.not_applicable),
                "maximum": None if setup.maximum is None else str(setup.maximum),
                "ranked": setup.ranked,
                "ranking_group": setup.group,
                "lock_at": setup.lock_at,
                "decision_number": str(getattr(event, "decision_number", "")),
                "event_id": str(event.event_id),
                "published_at": event.occurred_at,
            },
        )

    def _publish_score(
        self,
        conn: Connection,
        unit: UnitInfo,
        year: int,
        state: Ledger,
        numbers: ScoreFigures,
        version: int,
        cause: Event,
    ) -> ScoreUpdated:
        score = self.events.make(
            ScoreUpdated,
            correlation_id=cause.correlation_id,
            unit_id=unit.unit_id,
            year=year,
            level=Level(state.level.value),
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
            has_result=numbers.has_result,
        )
        row = {
            "level": state.level.value,
            "ranked": state.ranked,
            "version": version,
            "index_value": str(numbers.index) if numbers.has_result else NO_RESULT,
            "snapshot": score.model_dump(mode="json"),
            "updated_at": self.clock(),
        }
        if version == 1:
            conn.execute(_INSERT_SCORE, {"unit_id": unit.unit_id, "year": year, **row})
        else:
            conn.execute(_UPDATE_SCORE, {"key_unit": unit.unit_id, "key_year": year, **row})
        return score

    def _work(self, session: Session) -> RankingWork:
        """A message's own ranking work, or inside a batch the batch's (see `finish_batch`)."""
        if not in_batch(session):
            return {}
        work: RankingWork = session.info.setdefault(_BATCH_WORK, {})
        return work

    def _end_message(self, session: Session, work: RankingWork) -> list[Event]:
        # Inside a batch the rankings are emitted once, by `finish_batch`.
        return [] if in_batch(session) else self.finish(session, work)

    def finish_batch(self, session: Session) -> Sequence[Event]:
        """The table's batch hook: one RankingUpdated per (level, year) the batch changed."""
        work: RankingWork = session.info.pop(_BATCH_WORK, {})
        return self.finish(session, work)

    def finish(self, session: Session, work: RankingWork) -> list[Event]:
        """One RankingUpdated per (level, year) whose standings changed; none for the others."""
        out: list[Event] = []
        for (level, year), item in sorted(work.items()):
            if item.after is item.before:
                # Unchanged: the standings still match the stored row (a miss is now warm).
                self.rankings.put(level, year, item.tag, item.after)
                continue
            ranking = self._publish_ranking(session.connection(), level, year, item)
            self.rankings.put(level, year, RankingTag(ranking.version, str(ranking.event_id)), item.after)
            out.append(ranking)
        return out

    def _publish_ranking(self, conn: Connection, level: str, year: int, item: _LevelWork) -> RankingUpdated:
        entries, apart = ranking_entries(item.after.ranking(), self._emitted.get((level, year)))
        self._emitted[(level, year)] = {e.unit_id: e for e in (*entries, *apart)}
        version = (item.tag.version or 0) + 1
        ranking = self.events.make(
            RankingUpdated,
            correlation_id=item.cause.correlation_id,
            year=year,
            level=Level(level),
            version=version,
            entries=entries,
            not_ranked=apart,
        )
        row = {
            "version": version,
            "event_id": str(ranking.event_id),
            "snapshot": ranking.model_dump(mode="json"),
            "updated_at": self.clock(),
        }
        if item.tag.version is None:
            conn.execute(_INSERT_RANKING, {"level": level, "year": year, **row})
        else:
            conn.execute(_UPDATE_RANKING, {"key_level": level, "key_year": year, **row})
        return ranking

    # ---- the handler functions --------------------------------------------------------------

    def on_unit_event(self, event: UnitEvent, _: None, session: Session) -> Sequence[Event]:
        work = self._work(session)
        out = self.for_unit(session, event.unit_id, event.year, event, work)
        return out + self._end_message(session, work)

    def on_survey(self, event: SurveyResultsImported, _: None, session: Session) -> Sequence[Event]:
        work = self._work(session)
        out: list[Event] = []
        for unit_id in sorted({r.unit_id for r in event.results}):
            out.extend(self.for_unit(session, unit_id, event.year, event, work))
        return out + self._end_message(session, work)

    def on_published(self, event: Published, _: None, session: Session) -> Sequence[Event]:
        unit_ids = session.execute(
            select(units.c.unit_id).where(units.c.level == event.level.value).order_by(units.c.unit_id)
        ).scalars()
        work = self._work(session)
        out: list[Event] = []
        for unit_id in list(unit_ids):
            out.extend(self.for_unit(session, unit_id, event.year, event, work))
        # How the level's year is shown is kept as published too (display.py).
        freeze_display(session.connection(), self.catalogue, event.level.value, event.year, event)
        return out + self._end_message(session, work)

    def on_unit(self, event: UnitRegistered, _: None, session: Session) -> Sequence[Event]:
        values = {
            "name": event.name,
            "level": event.level.value,
            "council_id": event.council_id,
            "criteria_set": event.criteria_set,
            "ranked": event.ranked,
            "not_applicable": sorted(event.not_applicable),
        }
        conn = session.connection()
        old = load_unit(session, event.unit_id, lock=True)
        work = self._work(session)
        if old is not None and (old.level, old.ranked) != (event.level.value, event.ranked):
            # The unit moves between levels or in or out of the ranking: its entry changes in
            # every year it has a score, except the published ones (their setup is frozen; only
            # a ResultCorrected changes them). Standings are read before the unit row changes.
            open_years = and_(
                scores.c.unit_id == event.unit_id,
                ~exists().where(
                    published_setups.c.unit_id == scores.c.unit_id,
                    published_setups.c.year == scores.c.year,
                ),
            )
            placed = conn.execute(
                select(scores.c.year, scores.c.level, scores.c.index_value)
                .where(open_years)
                .order_by(scores.c.year)
            ).all()
            for row in placed:
                was = self._standings(conn, work, row.level, row.year, event)
                was.change(was.after.without(event.unit_id), event)
                now = self._standings(conn, work, event.level.value, row.year, event)
                ranked = self._ranked(event.unit_id, event.ranked, row.year)
                entry = RankEntry(event.unit_id, stored_index(row.index_value), ranked)
                now.change(now.after.with_entry(entry), event)
            for row in placed:  # each year's flag: the year's rules file may override the registration
                conn.execute(
                    update(scores)
                    .where(scores.c.unit_id == event.unit_id, scores.c.year == row.year)
                    .values(
                        level=event.level.value, ranked=self._ranked(event.unit_id, event.ranked, row.year)
                    )
                )
        if old is not None:
            conn.execute(update(units).where(units.c.unit_id == event.unit_id).values(**values))
        else:
            conn.execute(insert(units).values(unit_id=event.unit_id, **values))
        # Cached ledgers are tagged with the unit's registration too; forgetting is just tidy.
        self.cache.forget_unit(event.unit_id)
        return self._end_message(session, work)

    def table(self) -> HandlerTable:
        unit_handler: AnyHandler = Handler(apply=self.on_unit_event)
        handlers: dict[type[Event], AnyHandler] = {
            UnitRegistered: Handler(apply=self.on_unit),
            SelfScoreEntered: unit_handler,
            EvidenceVerified: unit_handler,
            DocumentUnlinked: unit_handler,
            Submitted: unit_handler,
            AppraisalRecorded: unit_handler,
            SupplementRequested: unit_handler,
            ResultCorrected: unit_handler,
            SurveyResultsImported: Handler(apply=self.on_survey),
            Published: Handler(apply=self.on_published),
        }
        return HandlerTable(handlers, finish=self.finish_batch)


def build_handlers(
    catalogue: CriteriaCatalogue,
    events: EventFactory,
    clock: Clock,
    cache: LedgerCache | None = None,
    rankings: RankingCache | None = None,
) -> HandlerTable:
    """The scoring handler table with its batch hook; pass the caches to observe them (tests,
    bench), else default ones."""
    return ScoringHandlers(
        catalogue, events, clock, cache if cache is not None else LedgerCache(), rankings
    ).table()
