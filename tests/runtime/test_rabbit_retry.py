"""Bounded retries on the real RabbitMQ: a message that keeps failing is dead-lettered with its
error after exactly `max_delivery_attempts` tries, and the next message is still served.

Deliveries are batched: a message may first be applied inside a batch that another message's
failure rolls back, then alone (`ServiceRuntime.handle_batch`). Each try therefore applies it
alone exactly once, and at most once more inside a rolled-back batch.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import aio_pika
import pytest
from faststream.rabbit import RabbitBroker
from sqlalchemy import select
from sqlalchemy.orm import Session

from contracts.envelope import Event
from contracts.events import UnitRegistered
from contracts.registry import serialise
from contracts.routing import EXCHANGE, Service, route_for, routing_key_of
from contracts.vocabulary import Level
from kiemchung.runtime.bus.rabbit import (
    HEADER_ATTEMPTS,
    HEADER_REASON,
    PREFETCH_BATCHES,
    attach_service,
    declare_topology,
)
from kiemchung.runtime.clock import FrozenClock, SeededIds
from kiemchung.runtime.db import create_schema, inbox, make_engine, session_factory
from kiemchung.runtime.messaging import Handler, ServiceRuntime, in_batch
from kiemchung.runtime.settings import Settings
from tests.servers import fresh_vhost

pytestmark = pytest.mark.rabbitmq
ATTEMPTS = 3
# Generous: a loaded CI machine may take long; the wait ends as soon as the condition holds.
WAIT_SECONDS = 120.0
POLL_SECONDS = 0.05


def _unit(unit_id: str, ids: SeededIds) -> UnitRegistered:
    return UnitRegistered(
        event_id=ids(),
        occurred_at=datetime(2024, 5, 1, tzinfo=UTC),
        correlation_id=ids(),
        producer="test",
        unit_id=unit_id,
        name=unit_id,
        level=Level.COMMUNE,
        council_id="hdtd",
        criteria_set="demo-department",
    )


async def test_a_message_that_keeps_failing_is_dead_lettered_after_bounded_tries(tmp_path: Path) -> None:
    calls: list[str] = []
    alone: list[str] = []  # applications outside a batch: exactly one per try

    def apply(event: UnitRegistered, _: None, session: Session) -> Sequence[Event]:
        calls.append(event.unit_id)
        if not in_batch(session):
            alone.append(event.unit_id)
        if event.unit_id == "bad":
            raise RuntimeError("cannot store this unit")
        return []

    engine = make_engine(f"sqlite:///{tmp_path / 'state.db'}")
    create_schema(engine)
    sessions = session_factory(engine)

    def committed() -> dict[str, int]:
        """Unit id -> inbox rows: what was processed and committed, per message."""
        names = {str(bad.event_id): "bad", str(good.event_id): "good"}
        with sessions() as session:
            rows = session.execute(select(inbox.c.event_id).where(inbox.c.consumer == runtime.consumer))
            seen = [names.get(event_id, event_id) for event_id in rows.scalars()]
        return {name: seen.count(name) for name in set(seen)}

    clock = FrozenClock(datetime(2024, 5, 1, tzinfo=UTC))
    runtime = ServiceRuntime(Service.INDEXER, {UnitRegistered: Handler(apply=apply)}, sessions, clock)
    ids = SeededIds(seed=11)
    bad, good = _unit("bad", ids), _unit("good", ids)
    with fresh_vhost() as url:
        settings = Settings(broker_url=url, max_delivery_attempts=ATTEMPTS, retry_backoff_seconds=0.05)
        broker = RabbitBroker(url)
        attach_service(broker, runtime, settings)
        await broker.start()
        route = route_for(Service.INDEXER)
        try:
            await declare_topology(broker, route, ATTEMPTS)
            connection = await aio_pika.connect_robust(url)
            async with connection:
                channel = await connection.channel()
                exchange = await channel.get_exchange(EXCHANGE)
                for event in (bad, good):
                    message = aio_pika.Message(
                        serialise(event), delivery_mode=aio_pika.DeliveryMode.PERSISTENT
                    )
                    await exchange.publish(message, routing_key=routing_key_of(event))
                dlq = await channel.declare_queue(route.dead_letter_queue, passive=True)
                # Keep the dead letter once taken: a later get would not see it again (it is
                # unacked on this channel) and must not overwrite it while "good" is still on its way.
                dead = None
                deadline = time.monotonic() + WAIT_SECONDS
                while time.monotonic() < deadline and (dead is None or "good" not in committed()):
                    if dead is None:
                        dead = await dlq.get(fail=False)
                    await asyncio.sleep(POLL_SECONDS)
                assert dead is not None, f"nothing dead-lettered; calls={calls}"
                assert "good" in committed(), f"good never committed; calls={calls}"
                await dead.ack()
                headers = dead.headers or {}
                assert headers[HEADER_REASON] == "RuntimeError"
                assert int(str(headers[HEADER_ATTEMPTS])) == ATTEMPTS
                assert UnitRegistered.model_validate_json(dead.body).unit_id == "bad"
        finally:
            await broker.stop()
    # Exactly ATTEMPTS tries of the bad one; the good one committed once and never dead-lettered.
    assert alone.count("bad") == ATTEMPTS, calls
    assert ATTEMPTS <= calls.count("bad") <= 2 * ATTEMPTS, calls
    assert committed() == {"good": 1}
    assert 1 <= calls.count("good") <= 2, calls


class _CancelledOnce:
    """Stands in for the relay's publisher: its first publish is cancelled, as aiormq cancels a
    channel operation's future; later ones are recorded (not sent: nothing consumes them here)."""

    def __init__(self) -> None:
        self.cancelled = False
        self.published: list[str] = []

    async def publish(self, routing_key: str, body: bytes, event_id: str) -> None:
        if not self.cancelled:
            self.cancelled = True
            raise asyncio.CancelledError
        self.published.append(event_id)


SMALL_BATCH = 2
# No more than the consumer's prefetch window: all are delivered at once.
STRANDED = SMALL_BATCH * PREFETCH_BATCHES


async def test_a_cancelled_relay_after_a_batch_leaves_no_delivery_unhandled(tmp_path: Path) -> None:
    """Every message the consumer holds is still handled after a broker operation was cancelled
    under it (before: its runner ended and the deliveries it held stayed unacked for good)."""
    ids = SeededIds(seed=12)

    def apply(event: UnitRegistered, _: None, session: Session) -> Sequence[Event]:
        return [event.model_copy(update={"event_id": ids()})]  # something for the relay to send

    engine = make_engine(f"sqlite:///{tmp_path / 'state.db'}")
    create_schema(engine)
    sessions = session_factory(engine)
    clock = FrozenClock(datetime(2024, 5, 1, tzinfo=UTC))
    runtime = ServiceRuntime(Service.INDEXER, {UnitRegistered: Handler(apply=apply)}, sessions, clock)
    events = [_unit(f"don-vi-{i}", ids) for i in range(STRANDED)]

    def committed() -> int:
        with sessions() as session:
            rows = session.execute(select(inbox.c.event_id).where(inbox.c.consumer == runtime.consumer))
            return len(set(rows.scalars()) & {str(e.event_id) for e in events})

    with fresh_vhost() as url:
        settings = Settings(broker_url=url, batch_size=SMALL_BATCH, max_delivery_attempts=ATTEMPTS)
        broker = RabbitBroker(url)
        route = route_for(Service.INDEXER)
        consumer = attach_service(broker, runtime, settings)
        publisher = _CancelledOnce()
        consumer.publisher = publisher  # type: ignore[assignment]
        await broker.connect()
        try:
            await declare_topology(broker, route, ATTEMPTS)
            connection = await aio_pika.connect_robust(url)
            async with connection:
                channel = await connection.channel()
                exchange = await channel.get_exchange(EXCHANGE)
                # Queued before the consumer starts: it takes them all at once (prefetch), so no
                # later delivery would come along to restart a runner that ended.
                for event in events:
                    message = aio_pika.Message(
                        serialise(event), delivery_mode=aio_pika.DeliveryMode.PERSISTENT
                    )
                    await exchange.publish(message, routing_key=routing_key_of(event))
            await broker.start()
            deadline = time.monotonic() + WAIT_SECONDS
            while time.monotonic() < deadline:
                if committed() == STRANDED:
                    break
                await asyncio.sleep(POLL_SECONDS)
            assert publisher.cancelled
            assert committed() == STRANDED
        finally:
            await broker.stop()
