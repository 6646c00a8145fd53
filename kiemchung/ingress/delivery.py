"""Where a DocumentLinked goes: through the embedded runtime (verdict at once) or to RabbitMQ."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import aio_pika

from contracts.events import DocumentLinked, EvidenceVerified
from contracts.registry import serialise
from contracts.routing import EXCHANGE, routing_key_of
from contracts.vocabulary import Decision, ReasonCode
from kiemchung.bootstrap import build_embedded
from kiemchung.runtime.clock import Clock, IdSource
from kiemchung.runtime.settings import Settings

JSON_CONTENT_TYPE: Final = "application/json"


@dataclass(frozen=True)
class Verdict:
    decision: Decision
    reasons: tuple[ReasonCode, ...]


@dataclass(frozen=True)
class Published:
    exchange: str
    routing_key: str
    event_id: str


async def verify_embedded(
    event: DocumentLinked, settings: Settings, *, clock: Clock, ids: IdSource
) -> Verdict | None:
    """Run the event through every service in process; None when no verdict came out (dead-lettered)."""
    app = build_embedded(settings, clock=clock, ids=ids)
    try:
        await app.send(event)
        await app.run_until_idle()
        for payload in app.bus.published_of(EvidenceVerified.TYPE):
            verified = EvidenceVerified.model_validate(payload)
            if verified.link_id == event.link_id:
                return Verdict(verified.report.decision, tuple(verified.report.reasons))
        return None
    finally:
        if app.wiring.search is not None:
            app.wiring.search.close()
        app.wiring.engine.dispose()


async def publish_to_rabbit(event: DocumentLinked, broker_url: str) -> Published:
    """Publish persistently and wait for the broker's confirm; an unroutable message is an error."""
    routing_key = routing_key_of(event)
    connection = await aio_pika.connect(broker_url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
        # Same declaration as the workers' (durable topic): idempotent when it already exists.
        exchange = await channel.declare_exchange(EXCHANGE, aio_pika.ExchangeType.TOPIC, durable=True)
        message = aio_pika.Message(
            serialise(event),
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            message_id=str(event.event_id),
            correlation_id=str(event.correlation_id),
            content_type=JSON_CONTENT_TYPE,
        )
        await exchange.publish(message, routing_key=routing_key, mandatory=True)
    return Published(EXCHANGE, routing_key, str(event.event_id))
