"""Delivery rules shared by every service, whatever the bus.

One message is processed as: parse the contract → skip if its event_id is in the inbox →
`prepare` (slow I/O, outside any transaction) → `apply` in one transaction that also records
the inbox row and writes outgoing events to the outbox → commit → relay the outbox. The bus acks
only after this returns, so a crash anywhere before the commit means redelivery, and redelivery
after the commit changes nothing.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Generic, Protocol, TypeVar

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session, sessionmaker

from contracts.envelope import Event
from contracts.errors import ContractError
from contracts.registry import parse_event, serialise
from contracts.routing import Service, routing_key_of
from kiemchung.clock import Clock, IdSource
from kiemchung.db import dead_letters, inbox, outbox

log = logging.getLogger(__name__)

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


class Status(StrEnum):
    PROCESSED = "processed"
    DUPLICATE = "duplicate"
    IGNORED = "ignored"
    REJECTED = "rejected"  # the message can never succeed: dead-letter now
    FAILED = "failed"  # may succeed on retry


@dataclass(frozen=True)
class Outcome:
    status: Status
    event: Event | None = None
    reason: str = ""
    detail: str = ""
    produced: tuple[Event, ...] = field(default_factory=tuple)


class Publisher(Protocol):
    async def publish(self, routing_key: str, body: bytes, event_id: str) -> None: ...


class ServiceRuntime:
    """Runs one service's handler table with inbox/outbox semantics over any bus."""

    def __init__(
        self,
        service: Service,
        handlers: Mapping[type[Event], AnyHandler],
        sessions: sessionmaker[Session],
        clock: Clock,
    ) -> None:
        self.service = service
        self.handlers = dict(handlers)
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
        handler = self.handlers.get(type(event))
        if handler is None:
            return Outcome(Status.IGNORED, event, reason="NOT_CONSUMED", detail=event.type)
        try:
            if handler.prepare is not None:
                # Slow I/O is worth skipping for a redelivery; handlers without it check once,
                # inside the transaction, where the answer is authoritative.
                with self.sessions() as session:
                    if self._seen(session, event):
                        return Outcome(Status.DUPLICATE, event)
                prepared = await handler.prepare(event)
            else:
                prepared = None
            with self.sessions() as session, session.begin():
                if self._seen(session, event):
                    return Outcome(Status.DUPLICATE, event)
                produced = tuple(handler.apply(event, prepared, session))
                now = self.clock()
                session.execute(
                    insert(inbox).values(
                        consumer=self.consumer,
                        event_id=str(event.event_id),
                        event_type=event.type,
                        processed_at=now,
                    )
                )
                if produced:
                    session.execute(
                        insert(outbox),
                        [
                            {
                                "event_id": str(out.event_id),
                                "producer": self.consumer,
                                "routing_key": routing_key_of(out),
                                "body": serialise(out).decode("utf-8"),
                                "created_at": now,
                            }
                            for out in produced
                        ],
                    )
        except Exception as exc:  # any failure rolls back; the bus decides retry or dead-letter
            log.exception("%s failed on %s", self.consumer, event.envelope_summary())
            return Outcome(Status.FAILED, event, reason=type(exc).__name__, detail=str(exc)[:2000])
        return Outcome(Status.PROCESSED, event, produced=produced)

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
