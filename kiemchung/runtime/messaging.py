"""Delivery rules shared by every service, whatever the bus.

One message is processed as: parse the contract → skip if its event_id is in the inbox →
`prepare` (slow I/O, outside any transaction) → `apply` in one transaction that also records
the inbox row and writes outgoing events to the outbox → commit → relay the outbox. The bus acks
only after this returns, so a crash anywhere before the commit means redelivery, and redelivery
after the commit changes nothing.

Batches (`handle_batch`, used by the in-process bus): N messages in ONE transaction, each still
checked against the inbox (and against the batch itself) and applied in order, then the handler
table's optional `finish(session)` hook runs once before the commit, so a handler can emit once
per batch what it would otherwise emit per message (scoring: one RankingUpdated per level and
year). If the batch fails anywhere, it is rolled back and its messages are handled one by one,
so only the failing one gets a FAILED outcome (and its retry/dead-letter path) and the others
still commit. Both buses batch the same way.

Failures come in two kinds (kiemchung.runtime.failures): a message's own failure (FAILED, REJECTED) is
the bus's to retry a bounded number of times and dead-letter; a transient failure of a
dependency (UNAVAILABLE: database or broker unreachable, deadlock, timeout) is not the message's
fault, so the bus pauses and retries it without spending an attempt. A batch that fails
transiently is not split into single messages: they would fail the same way.

A handler's `prepare` may return a `Deferral` (the document's source is down): the message is
parked in the deferred table, not in the inbox, and handled again on a back-off schedule
(`redeliver_due`) until it succeeds or its deferral expires, when the deferral's `fallback` is
applied instead. Parked messages are visible to readers (pending verdicts).
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Generic, Protocol, TypeVar

from sqlalchemy import delete, insert, select, text, update
from sqlalchemy.orm import Session, sessionmaker

from contracts.envelope import Event
from contracts.errors import ContractError
from contracts.registry import parse_event, serialise
from contracts.routing import Service, routing_key_of
from kiemchung.runtime.clock import Clock, IdSource
from kiemchung.runtime.db import dead_letters, deferred, inbox, outbox
from kiemchung.runtime.failures import Backoff, is_transient

log = logging.getLogger(__name__)

MAX_DETAIL_CHARS = 2000
# Parked messages: first retry after about a quarter of a minute, then up to every 15 minutes.
DEFER_BACKOFF = Backoff(base_seconds=15.0, cap_seconds=900.0, floor_seconds=5.0)
DEFAULT_MAX_DEFER = timedelta(days=3)
# A replica that claimed parked messages and died releases them after this long.
DEFER_CLAIM_LEASE = timedelta(minutes=5)
DEFAULT_REDELIVER_BATCH = 50

E = TypeVar("E", bound=Event)
P = TypeVar("P")
EventT = TypeVar("EventT", bound=Event)


class EventFactory:
    """Stamps outgoing events with an id, a time and the producer, from injected sources."""

    def __init__(self, producer: str, clock: Clock, ids: IdSource) -> None:
        self.producer = producer
        self.clock = clock
        self.ids = ids

    def make(self, model: type[EventT], *, correlation_id: Any, **fields: Any) -> EventT:
        return model(
            event_id=self.ids(),
            occurred_at=self.clock(),
            correlation_id=correlation_id,
            producer=self.producer,
            **fields,
        )


@dataclass(frozen=True)
class Handler(Generic[E, P]):
    """`prepare` does slow I/O before the transaction; `apply` writes state and returns events."""

    apply: Callable[[E, P, Session], Sequence[Event]]
    prepare: Callable[[E], Awaitable[P]] | None = None


AnyHandler = Handler[Any, Any]
FinishHook = Callable[[Session], Sequence[Event]]

# Marks a session whose transaction holds a batch (see `in_batch`).
_BATCH_KEY = "kiemchung.runtime.messaging.batch"


class HandlerTable(dict[type[Event], AnyHandler]):
    """A handler table with an optional batch hook.

    `finish(session)` is called once per batch, after every message's `apply` and before the
    commit, inside the same transaction; the events it returns go to the outbox after the
    messages' own. It is never called for a message handled alone, so `apply` must emit
    everything itself unless `in_batch(session)` says a `finish` will follow.
    """

    def __init__(self, handlers: Mapping[type[Event], AnyHandler], finish: FinishHook | None = None) -> None:
        super().__init__(handlers)
        self.finish = finish


def in_batch(session: Session) -> bool:
    """True while `handle_batch` applies messages: the table's `finish` hook will run before commit."""
    return bool(session.info.get(_BATCH_KEY, False))


class Status(StrEnum):
    PROCESSED = "processed"
    DUPLICATE = "duplicate"
    IGNORED = "ignored"
    REJECTED = "rejected"  # the message can never succeed: dead-letter now
    FAILED = "failed"  # the message's own failure; may succeed on retry
    UNAVAILABLE = "unavailable"  # a dependency failed, not the message: pause, retry, no attempt spent
    DEFERRED = "deferred"  # parked until its source answers (see `Deferral`)


@dataclass(frozen=True)
class Deferral:
    """What `prepare` returns when the message cannot be handled yet for a reason outside it
    (the e-office system holding the document is down). `fallback` is what `apply` receives
    if the deferral expires (the verifier's FETCH_FAILED verdict)."""

    reason: str
    detail: str
    fallback: Any


@dataclass(frozen=True)
class _Ready:
    """A message whose handler is known and whose `prepare` (if any) has run."""

    event: Event
    handler: AnyHandler
    prepared: Any
    # Set when the message comes from the deferred table: since when it has been parked.
    parked_since: datetime | None = None


@dataclass(frozen=True)
class Outcome:
    status: Status
    event: Event | None = None
    reason: str = ""
    detail: str = ""
    produced: tuple[Event, ...] = field(default_factory=tuple)


class Publisher(Protocol):
    async def publish(self, routing_key: str, body: bytes, event_id: str) -> None: ...


def _complete(outcomes: Sequence[Outcome | None]) -> list[Outcome]:
    done = [o for o in outcomes if o is not None]
    if len(done) != len(outcomes):
        raise AssertionError("every message of a batch gets an outcome")
    return done


def _in_memory_sqlite(sessions: sessionmaker[Session]) -> bool:
    bind = sessions.kw.get("bind")
    url = getattr(bind, "url", None)
    return url is not None and url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:")


R = TypeVar("R")


class ServiceRuntime:
    """Runs one service's handler table with inbox/outbox semantics over any bus."""

    def __init__(
        self,
        service: Service,
        handlers: Mapping[type[Event], AnyHandler],
        sessions: sessionmaker[Session],
        clock: Clock,
        finish: FinishHook | None = None,
        *,
        max_defer: timedelta = DEFAULT_MAX_DEFER,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self.service = service
        self.handlers = dict(handlers)
        # The batch hook travels with its table (HandlerTable); an explicit one wins.
        self.finish = finish if finish is not None else getattr(handlers, "finish", None)
        self.sessions = sessions
        self.clock = clock
        self.max_defer = max_defer
        self.rand = rand
        # The relay after a message and the periodic catch-up must not publish a row twice.
        self._relaying = asyncio.Lock()
        self._relay_again = False
        # Blocking database work runs in a thread so the event loop keeps serving (heartbeats,
        # confirms, other deliveries); an in-memory SQLite database lives in one thread only.
        self._offload = not _in_memory_sqlite(sessions)

    @property
    def consumer(self) -> str:
        return self.service.value

    def _seen_alone(self, event: Event) -> bool:
        with self.sessions() as session:
            return self._seen(session, event)

    def _seen(self, session: Session, event: Event) -> bool:
        row = session.execute(
            select(inbox.c.event_id).where(
                inbox.c.consumer == self.consumer, inbox.c.event_id == str(event.event_id)
            )
        ).first()
        return row is not None

    async def handle_raw(self, raw: bytes) -> Outcome:
        try:
            event = parse_event(raw)
        except ContractError as exc:
            return Outcome(Status.REJECTED, reason=exc.reason.value, detail=exc.detail)
        return await self.handle(event)

    async def handle(self, event: Event) -> Outcome:
        ready = await self._prepare(event)
        if isinstance(ready, Outcome):
            return ready
        return await self._blocking(self._commit_one, ready)

    async def _blocking(self, fn: Callable[..., R], *args: Any) -> R:
        if self._offload:
            return await asyncio.to_thread(fn, *args)
        return fn(*args)

    def probe(self) -> None:
        """Raises when the database does not answer (readiness, resuming after an outage)."""
        with self.sessions() as session:
            session.execute(text("SELECT 1"))

    async def probe_async(self) -> None:
        await self._blocking(self.probe)

    async def handle_raw_batch(self, raws: Sequence[bytes]) -> list[Outcome]:
        """`handle_raw` for many messages: the valid ones go through `handle_batch` together."""
        outcomes: list[Outcome | None] = [None] * len(raws)
        events: list[tuple[int, Event]] = []
        for i, raw in enumerate(raws):
            try:
                events.append((i, parse_event(raw)))
            except ContractError as exc:
                outcomes[i] = Outcome(Status.REJECTED, reason=exc.reason.value, detail=exc.detail)
        for (i, _), outcome in zip(events, await self.handle_batch([e for _, e in events]), strict=True):
            outcomes[i] = outcome
        return _complete(outcomes)

    async def handle_batch(self, events: Sequence[Event]) -> list[Outcome]:
        """Handle `events` in order in one transaction; one outcome per event, in order.

        Each event is deduplicated (inbox, and earlier copies in the batch) and applied in order;
        the table's `finish` hook runs once before the commit and its events are attached to the
        last processed message's outcome. On any failure the batch is rolled back and its
        messages are handled one by one (the same as `handle`, without preparing again).
        """
        outcomes: list[Outcome | None] = [None] * len(events)
        ready: list[tuple[int, _Ready]] = []
        # Prepared together: the verifier's fetches and verifications overlap (its pool bounds them).
        preparations = await asyncio.gather(*(self._prepare(event) for event in events))
        for i, prepared in enumerate(preparations):
            if isinstance(prepared, Outcome):
                outcomes[i] = prepared
            else:
                ready.append((i, prepared))
        if len(ready) == 1:
            # Nothing to share: the single-message path, with no `finish`.
            results = [await self._blocking(self._commit_one, ready[0][1])]
        elif ready:
            results = await self._blocking(self._commit_batch_or_each, [r for _, r in ready])
        else:
            results = []
        for (i, _), outcome in zip(ready, results, strict=True):
            outcomes[i] = outcome
        return _complete(outcomes)

    def _commit_batch_or_each(self, batch: Sequence[_Ready]) -> list[Outcome]:
        try:
            return self._commit_batch(batch)
        except Exception as exc:
            if is_transient(exc):
                # The database is the problem, not a message: one by one would fail the same way.
                return [self._failed(r.event, exc) for r in batch]
            log.warning(
                "%s: batch of %d failed; handling its messages one by one",
                self.consumer,
                len(batch),
                exc_info=True,
            )
        # Outside the handler, so a message's own failure is not logged as raised "during" this one.
        return [self._commit_one(r) for r in batch]

    async def _prepare(self, event: Event, parked_since: datetime | None = None) -> _Ready | Outcome:
        handler = self.handlers.get(type(event))
        if handler is None:
            return Outcome(Status.IGNORED, event, reason="NOT_CONSUMED", detail=event.type)
        if handler.prepare is None:
            return _Ready(event, handler, None, parked_since)
        try:
            # Slow I/O is worth skipping for a redelivery; handlers without it check once,
            # inside the transaction, where the answer is authoritative.
            if await self._blocking(self._seen_alone, event):
                return Outcome(Status.DUPLICATE, event)
            return _Ready(event, handler, await handler.prepare(event), parked_since)
        except Exception as exc:  # the bus decides retry or dead-letter
            return self._failed(event, exc)

    def _failed(self, event: Event, exc: Exception) -> Outcome:
        detail = str(exc)[:MAX_DETAIL_CHARS]
        if is_transient(exc):
            log.warning("%s: dependency unavailable on %s: %s", self.consumer, event.envelope_summary(), exc)
            return Outcome(Status.UNAVAILABLE, event, reason=type(exc).__name__, detail=detail)
        log.exception("%s failed on %s", self.consumer, event.envelope_summary())
        return Outcome(Status.FAILED, event, reason=type(exc).__name__, detail=detail)

    def _apply(self, ready: _Ready, session: Session, now: datetime) -> Outcome:
        """Apply one ready message in `session`'s transaction (inbox/outbox rows are the caller's),
        or park it when its `prepare` deferred it."""
        event, prepared = ready.event, ready.prepared
        if isinstance(prepared, Deferral):
            since = ready.parked_since or now
            if now - since < self.max_defer:
                self._park(session, event, prepared, now)
                return Outcome(Status.DEFERRED, event, reason=prepared.reason, detail=prepared.detail)
            log.warning("%s: deferral of %s expired", self.consumer, event.envelope_summary())
            prepared = prepared.fallback
        if ready.parked_since is not None:
            self._unpark(session, event)
        produced = tuple(ready.handler.apply(event, prepared, session))
        return Outcome(Status.PROCESSED, event, produced=produced)

    def _park(self, session: Session, event: Event, deferral: Deferral, now: datetime) -> None:
        key = (deferred.c.consumer == self.consumer) & (deferred.c.event_id == str(event.event_id))
        row = session.execute(select(deferred.c.attempts).where(key)).first()
        attempts = (row.attempts if row is not None else 0) + 1
        due = now + timedelta(seconds=DEFER_BACKOFF.delay(attempts - 1, self.rand))
        values = {"reason": deferral.reason[:64], "detail": deferral.detail[:MAX_DETAIL_CHARS]}
        if row is not None:
            session.execute(update(deferred).where(key).values(attempts=attempts, due_at=due, **values))
            return
        session.execute(
            insert(deferred).values(
                consumer=self.consumer,
                event_id=str(event.event_id),
                event_type=event.type,
                body=serialise(event).decode("utf-8"),
                attempts=attempts,
                parked_at=now,
                due_at=due,
                **values,
            )
        )

    def _unpark(self, session: Session, event: Event) -> None:
        session.execute(
            delete(deferred).where(
                deferred.c.consumer == self.consumer, deferred.c.event_id == str(event.event_id)
            )
        )

    def _commit_one(self, ready: _Ready) -> Outcome:
        event = ready.event
        try:
            with self.sessions() as session, session.begin():
                if self._seen(session, event):
                    if ready.parked_since is not None:
                        self._unpark(session, event)
                    return Outcome(Status.DUPLICATE, event)
                now = self.clock()
                outcome = self._apply(ready, session, now)
                if outcome.status is Status.DEFERRED:
                    return outcome
                session.execute(insert(inbox), [self._inbox_row(event, now)])
                if outcome.produced:
                    session.execute(insert(outbox), [self._outbox_row(out, now) for out in outcome.produced])
        except Exception as exc:  # any failure rolls back; the bus decides retry or dead-letter
            return self._failed(event, exc)
        return outcome

    def _commit_batch(self, batch: Sequence[_Ready]) -> list[Outcome]:
        """One transaction for the whole batch; raises (after rolling back) on any failure."""
        with self.sessions() as session, session.begin():
            session.info[_BATCH_KEY] = True
            seen = self._seen_of(session, [r.event for r in batch])
            now = self.clock()
            outcomes: list[Outcome] = []
            inbox_rows: list[dict[str, Any]] = []
            produced_all: list[Event] = []
            last = -1
            for ready in batch:
                key = str(ready.event.event_id)
                if key in seen:
                    outcomes.append(Outcome(Status.DUPLICATE, ready.event))
                    continue
                outcome = self._apply(ready, session, now)
                outcomes.append(outcome)
                if outcome.status is Status.DEFERRED:
                    continue
                seen.add(key)
                inbox_rows.append(self._inbox_row(ready.event, now))
                produced_all.extend(outcome.produced)
                last = len(outcomes) - 1
            if self.finish is not None and inbox_rows:
                tail = tuple(self.finish(session))
                if tail:
                    produced_all.extend(tail)
                    done = outcomes[last]
                    outcomes[last] = Outcome(done.status, done.event, produced=(*done.produced, *tail))
            if inbox_rows:
                session.execute(insert(inbox), inbox_rows)
            if produced_all:
                # One statement, rows in order: the relay publishes by id.
                session.execute(insert(outbox), [self._outbox_row(out, now) for out in produced_all])
        return outcomes

    def _seen_of(self, session: Session, events: Sequence[Event]) -> set[str]:
        rows = session.execute(
            select(inbox.c.event_id).where(
                inbox.c.consumer == self.consumer,
                inbox.c.event_id.in_(sorted({str(e.event_id) for e in events})),
            )
        ).scalars()
        return set(rows)

    def _inbox_row(self, event: Event, now: datetime) -> dict[str, Any]:
        return {
            "consumer": self.consumer,
            "event_id": str(event.event_id),
            "event_type": event.type,
            "processed_at": now,
        }

    def _outbox_row(self, out: Event, now: datetime) -> dict[str, Any]:
        return {
            "event_id": str(out.event_id),
            "producer": self.consumer,
            "routing_key": routing_key_of(out),
            "body": serialise(out).decode("utf-8"),
            "created_at": now,
        }

    async def relay(self, publisher: Publisher, batch: int = 500) -> int:
        """Publish committed outbox rows in order, in batches whose confirms are awaited together;
        a batch's rows are marked sent in one statement once the broker confirmed them.

        One relay runs at a time; a relay asked for while one runs does not queue behind it (a
        burst asked for hundreds): the running one goes round once more instead.
        """
        if self._relaying.locked():
            self._relay_again = True
            return 0
        sent = 0
        async with self._relaying:
            while True:
                self._relay_again = False
                sent += await self._relay(publisher, batch)
                if not self._relay_again:
                    return sent

    def _unsent(self, batch: int) -> list[Any]:
        with self.sessions() as session:
            return list(
                session.execute(
                    select(outbox.c.id, outbox.c.routing_key, outbox.c.body, outbox.c.event_id)
                    .where(outbox.c.producer == self.consumer, outbox.c.published_at.is_(None))
                    .order_by(outbox.c.id)
                    .limit(batch)
                ).all()
            )

    def _mark_sent(self, ids: Sequence[int]) -> None:
        with self.sessions() as session, session.begin():
            session.execute(update(outbox).where(outbox.c.id.in_(ids)).values(published_at=self.clock()))

    async def _relay(self, publisher: Publisher, batch: int) -> int:
        sent = 0
        while True:
            rows = await self._blocking(self._unsent, batch)
            if not rows:
                return sent
            results = await asyncio.gather(
                *(publisher.publish(r.routing_key, r.body.encode("utf-8"), r.event_id) for r in rows),
                return_exceptions=True,
            )
            confirmed = [
                r.id for r, res in zip(rows, results, strict=True) if not isinstance(res, BaseException)
            ]
            if confirmed:
                # A crash between the confirm and this update re-publishes them: consumers'
                # inboxes make that a duplicate.
                await self._blocking(self._mark_sent, confirmed)
                sent += len(confirmed)
            for res in results:
                if isinstance(res, BaseException):
                    raise res

    async def redeliver_due(self, limit: int = DEFAULT_REDELIVER_BATCH) -> list[Outcome]:
        """Handle again the parked messages whose time has come (see `Deferral`)."""
        try:
            claimed = await self._blocking(self._claim_due, limit)
        except Exception as exc:
            if not is_transient(exc):
                raise
            log.warning("%s: cannot read parked messages now: %s", self.consumer, exc)
            return []
        outcomes: list[Outcome] = []
        for body, parked_at in claimed:
            try:
                event = parse_event(body.encode("utf-8"))
            except ContractError:  # parked after parsing; unreadable now means a contract change
                log.exception("%s: parked message no longer parses", self.consumer)
                continue
            ready = await self._prepare(event, parked_since=parked_at)
            if isinstance(ready, Outcome):
                if ready.status is Status.DUPLICATE:
                    await self._blocking(self._unpark_alone, event)
                outcomes.append(ready)
                continue
            outcomes.append(await self._blocking(self._commit_one, ready))
        return outcomes

    def _claim_due(self, limit: int) -> list[tuple[str, datetime]]:
        """Move due rows' next time one lease ahead, so another replica does not take them too."""
        now = self.clock()
        with self.sessions() as session, session.begin():
            due = session.execute(
                select(deferred.c.event_id, deferred.c.body, deferred.c.parked_at)
                .where(deferred.c.consumer == self.consumer, deferred.c.due_at <= now)
                .order_by(deferred.c.due_at)
                .limit(limit)
            ).all()
            claimed: list[tuple[str, datetime]] = []
            for row in due:
                taken = (
                    session.connection()
                    .execute(
                        update(deferred)
                        .where(
                            deferred.c.consumer == self.consumer,
                            deferred.c.event_id == row.event_id,
                            deferred.c.due_at <= now,
                        )
                        .values(due_at=now + DEFER_CLAIM_LEASE)
                    )
                    .rowcount
                )
                if taken:
                    claimed.append((row.body, row.parked_at))
        return claimed

    def _unpark_alone(self, event: Event) -> None:
        with self.sessions() as session, session.begin():
            self._unpark(session, event)

    def dead_lettered(self, outcome: Outcome) -> None:
        """A bus that dead-letters to a queue (not `record_dead_letter`) reports it here (metrics)."""

    def record_dead_letter(self, raw: bytes, reason: str, detail: str, attempts: int) -> None:
        with self.sessions() as session, session.begin():
            session.execute(
                insert(dead_letters).values(
                    consumer=self.consumer,
                    reason=reason,
                    detail=detail,
                    attempts=attempts,
                    body=raw.decode("utf-8", errors="replace"),
                    created_at=self.clock(),
                )
            )
