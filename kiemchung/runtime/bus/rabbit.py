"""The distributed runtime's bus: each service a FastStream worker on RabbitMQ.

Durable quorum queues, persistent messages, publisher confirms (FastStream's channel default).
A message is acked only after its transaction committed (kiemchung.runtime.messaging). Failures are
retried with back-off up to `max_delivery_attempts`; then, or at once for a message that can
never be valid, it is published to the service's dead-letter queue with the error in its headers
and acked. The quorum queue's own `x-delivery-limit` dead-letters a message that crashes the
worker itself, so nothing loops forever.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from faststream import FastStream
from faststream.middlewares import AckPolicy
from faststream.rabbit import ExchangeType, RabbitBroker, RabbitExchange, RabbitQueue
from faststream.rabbit.annotations import RabbitMessage
from faststream.rabbit.schemas.queue import QueueType
from faststream.specification import AsyncAPI

from contracts.routing import (
    DEAD_LETTER_EXCHANGE,
    PRODUCES,
    Route,
    Service,
    route_for,
)
from kiemchung.runtime.messaging import Outcome, ServiceRuntime, Status
from kiemchung.runtime.settings import Settings

log = logging.getLogger(__name__)

DELIVERY_COUNT_HEADER = "x-delivery-count"
# Headroom over our own attempt count before RabbitMQ dead-letters by itself (worker crashes).
BROKER_DELIVERY_LIMIT_HEADROOM = 2
RELAY_INTERVAL_SECONDS = 2.0
HEADER_REASON = "x-kiemchung-reason"
HEADER_DETAIL = "x-kiemchung-detail"
HEADER_ATTEMPTS = "x-kiemchung-attempts"
HEADER_CONSUMER = "x-kiemchung-consumer"
MAX_HEADER_DETAIL_CHARS = 4000


def events_exchange(route: Route) -> RabbitExchange:
    return RabbitExchange(route.exchange, type=ExchangeType.TOPIC, durable=True)


def dead_letter_exchange() -> RabbitExchange:
    return RabbitExchange(DEAD_LETTER_EXCHANGE, type=ExchangeType.DIRECT, durable=True)


def service_queue(route: Route, max_attempts: int) -> RabbitQueue:
    return RabbitQueue(
        route.queue,
        queue_type=QueueType.QUORUM,
        durable=True,
        routing_key=route.binding_keys[0],
        arguments={
            "x-delivery-limit": max_attempts + BROKER_DELIVERY_LIMIT_HEADROOM,
            "x-dead-letter-exchange": DEAD_LETTER_EXCHANGE,
            "x-dead-letter-routing-key": route.dead_letter_queue,
        },
    )


def dead_letter_queue(route: Route) -> RabbitQueue:
    return RabbitQueue(
        route.dead_letter_queue,
        queue_type=QueueType.QUORUM,
        durable=True,
        routing_key=route.dead_letter_queue,
    )


class RabbitPublisher:
    """Publishes outbox rows persistently to the events exchange; awaits the broker's confirm."""

    def __init__(self, broker: RabbitBroker, exchange: RabbitExchange) -> None:
        self.broker = broker
        self.exchange = exchange

    async def publish(self, routing_key: str, body: bytes, event_id: str) -> None:
        await self.broker.publish(
            body,
            exchange=self.exchange,
            routing_key=routing_key,
            persist=True,
            mandatory=False,
            message_id=event_id,
            content_type="application/json",
        )


def _raw_decoder(message: Any) -> bytes:
    # Keep the raw bytes: contract parsing (and its reason codes) is ours, not the framework's.
    body: bytes = message.body
    return body


def attach_service(broker: RabbitBroker, runtime: ServiceRuntime, settings: Settings) -> RabbitPublisher:
    route = route_for(runtime.service)
    exchange = events_exchange(route)
    queue = service_queue(route, settings.max_delivery_attempts)
    publisher = RabbitPublisher(broker, exchange)
    for produced in PRODUCES[runtime.service]:
        # Registered for the AsyncAPI document: what this worker emits, with its schema.
        broker.publisher(
            exchange=exchange,
            routing_key=produced.routing_key(),
            schema=produced,
            title=f"{runtime.service.value}:{produced.routing_key()}",
            persist=True,
        )

    async def dead_letter(raw: bytes, outcome: Outcome, attempts: int) -> None:
        await broker.publish(
            raw,
            exchange=dead_letter_exchange(),
            routing_key=route.dead_letter_queue,
            persist=True,
            headers={
                HEADER_REASON: outcome.reason,
                HEADER_DETAIL: outcome.detail[:MAX_HEADER_DETAIL_CHARS],
                HEADER_ATTEMPTS: attempts,
                HEADER_CONSUMER: runtime.consumer,
            },
        )
        log.warning("dead-lettered on %s: %s %s", route.queue, outcome.reason, outcome.detail[:200])

    @broker.subscriber(
        queue,
        exchange,
        ack_policy=AckPolicy.MANUAL,
        decoder=_raw_decoder,
        title=f"{runtime.service.value}:consume",
        description=f"{runtime.service.value} consumes {', '.join(route.binding_keys)}",
    )
    async def consume(body: bytes, message: RabbitMessage) -> None:
        headers = message.raw_message.headers or {}
        previous = int(str(headers.get(DELIVERY_COUNT_HEADER, 0) or 0))
        attempts = previous + 1
        outcome = await runtime.handle_raw(body)
        if outcome.status is Status.FAILED and attempts < settings.max_delivery_attempts:
            await asyncio.sleep(settings.retry_backoff_seconds * attempts)
            await message.nack(requeue=True)
            return
        if outcome.status in (Status.FAILED, Status.REJECTED):
            await dead_letter(body, outcome, attempts)
        await message.ack()
        if outcome.status is Status.PROCESSED and outcome.produced:
            await runtime.relay(publisher)

    return publisher


def build_worker(runtime: ServiceRuntime, settings: Settings) -> FastStream:
    broker = RabbitBroker(settings.broker_url, logger=log)
    publisher = attach_service(broker, runtime, settings)
    app = FastStream(broker, logger=log)
    route = route_for(runtime.service)
    relay_task: list[asyncio.Task[None]] = []

    @app.after_startup
    async def declare_and_relay() -> None:
        await declare_topology(broker, route, settings.max_delivery_attempts)
        relay_task.append(asyncio.create_task(_relay_forever(runtime, publisher)))

    @app.on_shutdown
    async def stop_relay() -> None:
        for task in relay_task:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    return app


async def declare_topology(broker: RabbitBroker, route: Route, max_attempts: int) -> None:
    await broker.declare_exchange(dead_letter_exchange())
    dlq = await broker.declare_queue(dead_letter_queue(route))
    await dlq.bind(DEAD_LETTER_EXCHANGE, routing_key=route.dead_letter_queue)
    exchange = await broker.declare_exchange(events_exchange(route))
    queue = await broker.declare_queue(service_queue(route, max_attempts))
    for key in route.binding_keys:
        await queue.bind(exchange, routing_key=key)


async def _relay_forever(runtime: ServiceRuntime, publisher: RabbitPublisher) -> None:
    """Catch up outbox rows left unpublished by a crash between commit and publish."""
    while True:
        try:
            await runtime.relay(publisher)
        except Exception:
            log.exception("outbox relay failed; will retry")
        await asyncio.sleep(RELAY_INTERVAL_SECONDS)


def asyncapi_for(brokers: dict[Service, RabbitBroker]) -> AsyncAPI:
    return AsyncAPI(
        *brokers.values(),
        title="kiemchung",
        version="1",
        description=(
            "Events between the e-office system, kiemchung's services and the provincial scoring software."
        ),
        schema_version="3.0.0",
    )
