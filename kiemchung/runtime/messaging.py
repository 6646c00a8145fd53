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
still commit. The RabbitMQ consumer stays one message per transaction.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Generic, Protocol, TypeVar

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session, sessionmaker

from contracts.envelope import Event
from contracts.errors import ContractError
from contracts.registry import parse_event, serialise
from contracts.routing import Service, routing_key_of
from kiemchung.runtime.clock import Clock, IdSource
from kiemchung.runtime.db import dead_letters, inbox, outbox

log = logging.getLogger(__name__)

MAX_DETAIL_CHARS = 2000

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
    FAILED = "failed"  # may succeed on retry


@dataclass(frozen=True)
class _Ready:
    """A message whose handler is known and whose `prepare` (if any) has run."""

    event: Event
    handler: AnyHandler
    prepared: Any


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


class ServiceRuntime:
    """Runs one service's handler table with inbox/outbox semantics over any bus."""

    def __init__(
        self,
        service: Service,
        handlers: Mapping[type[Event], AnyHandler],
        sessions: sessionmaker[Session],
        clock: Clock,
        finish: FinishHook | None = None,
    ) -> None:
        self.service = service
        self.handlers = dict(handlers)
        # The batch hook travels with its table (HandlerTable); an explicit one wins.
        self.finish = finish if finish is not None else getattr(handlers, "finish", None)
        self.sessions = sessions
        self.clock = clock
        # The relay after a message and the periodic catch-up must not publish a row twice.
        self._relaying = asyncio.Lock()

    @property
    def consumer(self) -> str:
        return self.service.value

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
        return self._commit_one(ready)

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
        for i, event in enumerate(events):
            prepared = await self._prepare(event)
            if isinstance(prepared, Outcome):
                outcomes[i] = prepared
            else:
                ready.append((i, prepared))
        if len(ready) == 1:
            # Nothing to share: the single-message path, with no `finish`.
            results = [self._commit_one(ready[0][1])]
        elif ready:
            results = self._commit_batch_or_each([r for _, r in ready])
        else:
            results = []
        for (i, _), outcome in zip(ready, results, strict=True):
            outcomes[i] = outcome
        return _complete(outcomes)

    def _commit_batch_or_each(self, batch: Sequence[_Ready]) -> list[Outcome]:
        try:
            return self._commit_batch(batch)
        except Exception:
            log.warning(
                "%s: batch of %d failed; handling its messages one by one",
                self.consumer,
                len(batch),
                exc_info=True,
            )
        # Outside the handler, so a message's own failure is not logged as raised "during" this one.
        return [self._commit_one(r) for r in batch]

    async def _prepare(self, event: Event) -> _Ready | Outcome:
        handler = self.handlers.get(type(event))
        if handler is None:
            return Outcome(Status.IGNORED, event, reason="NOT_CONSUMED", detail=event.type)
        if handler.prepare is None:
            return _Ready(event, handler, None)
        try:
            # Slow I/O is worth skipping for a redelivery; handlers without it check once,
            # inside the transaction, where the answer is authoritative.
            with self.sessions() as session:
                if self._seen(session, event):
                    return Outcome(Status.DUPLICATE, event)
            return _Ready(event, handler, await handler.prepare(event))
        except Exception as exc:  # the bus decides retry or dead-letter
            return self._failed(event, exc)

    def _failed(self, event: Event, exc: Exception) -> Outcome:
        log.exception("%s failed on %s", self.consumer, event.envelope_summary())
        return Outcome(Status.FAILED, event, reason=type(exc).__name__, detail=str(exc)[:MAX_DETAIL_CHARS])

    def _commit_one(self, ready: _Ready) -> Outcome:
        event = ready.event
        try:
            with self.sessions() as session, session.begin():
                if self._seen(session, event):
                    return Outcome(Status.DUPLICATE, event)
                produced = tuple(ready.handler.apply(event, ready.prepared, session))
                now = self.clock()
                session.execute(insert(inbox), [self._inbox_row(event, now)])
                if produced:
                    session.execute(insert(outbox), [self._outbox_row(out, now) for out in produced])
        except Exception as exc:  # any failure rolls back; the bus decides retry or dead-letter
            return self._failed(event, exc)
        return Outcome(Status.PROCESSED, event, produced=produced)

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
                seen.add(key)
                produced = tuple(ready.handler.apply(ready.event, ready.prepared, session))
                inbox_rows.append(self._inbox_row(ready.event, now))
                produced_all.extend(produced)
                last = len(outcomes)
                outcomes.append(Outcome(Status.PROCESSED, ready.event, produced=produced))
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
        """Publish committed outbox rows in order; mark each once the broker confirmed it."""
        async with self._relaying:
            return await self._relay(publisher, batch)

    async def _relay(self, publisher: Publisher, batch: int) -> int:
        sent = 0
        while True:
            with self.sessions() as session:
                rows = session.execute(
                    select(outbox.c.id, outbox.c.routing_key, outbox.c.body, outbox.c.event_id)
                    .where(outbox.c.producer == self.consumer, outbox.c.published_at.is_(None))
                    .order_by(outbox.c.id)
                    .limit(batch)
                ).all()
            if not rows:
                return sent
            for row in rows:
                await publisher.publish(row.routing_key, row.body.encode("utf-8"), row.event_id)
                with self.sessions() as session, session.begin():
                    session.execute(
                        update(outbox).where(outbox.c.id == row.id).values(published_at=self.clock())
                    )
                sent += 1

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
