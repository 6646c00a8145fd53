"""Bounded retries on the real RabbitMQ: a message that keeps failing is dead-lettered with its
error after exactly `max_delivery_attempts` tries, and the next message is still served."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import aio_pika
import pytest
from faststream.rabbit import RabbitBroker
from sqlalchemy.orm import Session

from contracts.envelope import Event
from contracts.events import UnitRegistered
from contracts.registry import serialise
from contracts.routing import EXCHANGE, Service, route_for, routing_key_of
from contracts.vocabulary import Level
from kiemchung.runtime.bus.rabbit import HEADER_ATTEMPTS, HEADER_REASON, attach_service, declare_topology
from kiemchung.runtime.clock import FrozenClock, SeededIds
from kiemchung.runtime.db import create_schema, make_engine, session_factory
from kiemchung.runtime.messaging import Handler, ServiceRuntime
from kiemchung.runtime.settings import Settings
from tests.servers import fresh_vhost

pytestmark = pytest.mark.rabbitmq
ATTEMPTS = 3
WAIT_STEPS = 600


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

    def apply(event: UnitRegistered, _: None, session: Session) -> Sequence[Event]:
        calls.append(event.unit_id)
        if event.unit_id == "bad":
            raise RuntimeError("cannot store this unit")
        return []

    engine = make_engine(f"sqlite:///{tmp_path / 'state.db'}")
    create_schema(engine)
    clock = FrozenClock(datetime(2024, 5, 1, tzinfo=UTC))
    runtime = ServiceRuntime(
        Service.INDEXER, {UnitRegistered: Handler(apply=apply)}, session_factory(engine), clock
    )
    ids = SeededIds(seed=11)
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
                for event in (_unit("bad", ids), _unit("good", ids)):
                    message = aio_pika.Message(
                        serialise(event), delivery_mode=aio_pika.DeliveryMode.PERSISTENT
                    )
                    await exchange.publish(message, routing_key=routing_key_of(event))
                dlq = await channel.declare_queue(route.dead_letter_queue, passive=True)
                dead = None
                for _ in range(WAIT_STEPS):
                    dead = await dlq.get(fail=False)
                    if dead is not None and "good" in calls:
                        break
                    await asyncio.sleep(0.05)
                assert dead is not None, f"nothing dead-lettered; calls={calls}"
                await dead.ack()
                headers = dead.headers or {}
                assert headers[HEADER_REASON] == "RuntimeError"
                assert int(str(headers[HEADER_ATTEMPTS])) == ATTEMPTS
                assert UnitRegistered.model_validate_json(dead.body).unit_id == "bad"
        finally:
            await broker.stop()
    assert calls.count("bad") == ATTEMPTS
    assert calls.count("good") == 1
