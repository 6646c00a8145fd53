"""The distributed runtime's bus: each service a FastStream worker on RabbitMQ.

Durable quorum queues, persistent messages, publisher confirms (FastStream's channel default).
Deliveries are taken in batches (`BatchConsumer`): up to `batch_size` messages (the channel's
prefetch is a small multiple of it) are applied in one transaction and acked after the commit
(kiemchung.runtime.messaging), one RankingUpdated per level per batch as on the embedded bus.

Failures:
- a message's own failure is retried after a back-off: it is re-published with our own
  attempts header incremented (`x-kiemchung-attempts`) and the original acked; after
  `max_delivery_attempts`, or at once for a message that can never be valid, it goes to the
  service's dead-letter queue with the error in its headers;
- a transient failure (database unreachable, deadlock, timeout) spends no attempt: the consumer
  holds its messages, stops taking new ones (the prefetch window is full), marks itself not
  ready, backs off with jitter while probing the database, and resumes when it answers;
- a worker crash or a broker restart returns in-flight messages to the queue without touching
  our attempts header; the quorum queue's own `x-delivery-limit` stays as a last guard against
  a message that kills the worker process itself, set far above our attempts.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from faststream import FastStream
from faststream.middlewares import AckPolicy
from faststream.rabbit import Channel, ExchangeType, RabbitBroker, RabbitExchange, RabbitQueue
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
from kiemchung.runtime.failures import Backoff, is_transient
from kiemchung.runtime.messaging import Outcome, ServiceRuntime, Status
from kiemchung.runtime.settings import Settings
from kiemchung.runtime.tracing import CORRELATION_HEADER, TRACEPARENT_HEADER, traceparent

log = logging.getLogger(__name__)

# The broker's own count: a last guard against a message that crashes the worker process
# (RabbitMQ 4's default). Worker kills and broker restarts raise it, so it is not our attempts.
CRASH_LOOP_DELIVERY_LIMIT = 20
RELAY_INTERVAL_SECONDS = 2.0
REDELIVER_INTERVAL_SECONDS = 5.0
# Deliveries in flight per consumer: one batch being applied and one arriving meanwhile.
PREFETCH_BATCHES = 2
HEADER_REASON = "x-kiemchung-reason"
HEADER_DETAIL = "x-kiemchung-detail"
HEADER_ATTEMPTS = "x-kiemchung-attempts"
HEADER_CONSUMER = "x-kiemchung-consumer"
MAX_HEADER_DETAIL_CHARS = 4000
# Pausing on a dependency outage: probe the database with these delays (full jitter).
PAUSE_BACKOFF = Backoff(base_seconds=0.25, cap_seconds=10.0)
BROKER_CONNECT_TIMEOUT_SECONDS = 10.0

Sleep = Callable[[float], Awaitable[None]]


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
            "x-delivery-limit": max(CRASH_LOOP_DELIVERY_LIMIT, max_attempts + 1),
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
            headers=trace_headers(body, event_id),
        )


def trace_headers(body: bytes, event_id: str) -> dict[str, Any]:
    """`traceparent` and the correlation id of an outgoing event (kiemchung.runtime.tracing)."""
    try:
        correlation_id = str(json.loads(body)["correlation_id"])
        return {
            TRACEPARENT_HEADER: traceparent(correlation_id, event_id),
            CORRELATION_HEADER: correlation_id,
        }
    except (ValueError, KeyError, TypeError):  # our own outbox rows always parse; be safe anyway
        return {}


def batch_size_for(service: Service, settings: Settings) -> int:
    # The verifier's messages each cost a verification: a small window leaves the rest of the
    # queue to the other replicas (competing consumers).
    return settings.verify_batch_size if service is Service.EVIDENCE_VERIFIER else settings.batch_size


def attempts_of(message: RabbitMessage) -> int:
    """How many times this message's own handling failed before (our header, not the broker's)."""
    headers = message.raw_message.headers or {}
    try:
        return max(0, int(str(headers.get(HEADER_ATTEMPTS, 0) or 0)))
    except ValueError:
        return 0


class Readiness:
    """Ready unless a dependency is down; mirrored to a file for a Kubernetes exec probe."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self.ready = False
        self.reason = "starting"

    def set(self, ready: bool, reason: str = "") -> None:
        if ready == self.ready:
            return
        self.ready, self.reason = ready, reason
        log.log(logging.INFO if ready else logging.WARNING, "ready=%s %s", ready, reason)
        if self.path is None:
            return
        if ready:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.path.write_text("ready\n", encoding="utf-8")
        else:
            self.path.unlink(missing_ok=True)


@dataclass
class _Delivery:
    body: bytes
    message: RabbitMessage
    done: asyncio.Future[None]
    settled: bool = False  # acked, dead-lettered or handed to a retry


@dataclass
class BatchConsumer:
    """Collects deliveries into batches, applies them, acks, retries or dead-letters each."""

    runtime: ServiceRuntime
    broker: RabbitBroker
    route: Route
    publisher: RabbitPublisher
    max_attempts: int
    retry_backoff_seconds: float
    batch_size: int
    readiness: Readiness
    sleep: Sleep = asyncio.sleep
    rand: Callable[[], float] = random.random
    _waiting: asyncio.Queue[_Delivery] = field(default_factory=asyncio.Queue)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)
    _runner: asyncio.Task[None] | None = None
    paused: bool = False

    async def deliver(self, body: bytes, message: RabbitMessage) -> None:
        """The FastStream handler: queue the delivery and wait until its batch is settled."""
        if self._runner is None or self._runner.done():
            self._runner = asyncio.create_task(self.run())
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        await self._waiting.put(_Delivery(body, message, done))
        await done

    async def run(self) -> None:
        while True:
            batch = [await self._waiting.get()]
            while len(batch) < self.batch_size and not self._waiting.empty():
                batch.append(self._waiting.get_nowait())
            try:
                await self._settle(batch)
            except BaseException as exc:
                # Never leave a delivery unacked on a live channel: it would sit there, neither
                # handled nor redelivered, as long as the worker lives. Back to the queue.
                unsettled = [d for d in batch if not d.settled]
                log.warning(
                    "%s: batch of %d interrupted (%r); %d back to the queue",
                    self.runtime.consumer,
                    len(batch),
                    exc,
                    len(unsettled),
                    exc_info=not isinstance(exc, asyncio.CancelledError) and not is_transient(exc),
                )
                for delivery in unsettled:
                    await _nack(delivery.message)
                if not isinstance(exc, Exception) and not _stray_cancel(exc):
                    # This runner is being cancelled (shutdown): what it had taken but not
                    # started goes back too, or it would stay unacked while the channel lives.
                    await self._release_waiting()
                    raise
            finally:
                for delivery in batch:
                    if not delivery.done.done():
                        delivery.done.set_result(None)

    async def _release_waiting(self) -> None:
        while not self._waiting.empty():
            delivery = self._waiting.get_nowait()
            await _nack(delivery.message)
            if not delivery.done.done():
                delivery.done.set_result(None)

    async def _settle(self, batch: list[_Delivery]) -> None:
        outcomes = await self._handle_until_available(batch)
        produced = False
        for delivery, outcome in zip(batch, outcomes, strict=True):
            produced = produced or bool(outcome.produced)
            if outcome.status is Status.FAILED and attempts_of(delivery.message) + 1 < self.max_attempts:
                delivery.settled = True
                self._spawn(self._retry_later(delivery, outcome))
                continue
            if outcome.status in (Status.FAILED, Status.REJECTED):
                await self._dead_letter(delivery, outcome)
            await _ack(delivery.message)
            delivery.settled = True
        if produced:
            try:
                await self.runtime.relay(self.publisher)
            except Exception as exc:  # the periodic relay catches up
                log.warning("%s: relay after a batch failed: %s", self.runtime.consumer, exc)

    async def _handle_until_available(self, batch: list[_Delivery]) -> list[Outcome]:
        """Handle the batch; messages that met a transient failure are held (unacked, so the
        prefetch window stays full and no new ones arrive) and handled again after the
        dependency answers. Their attempts are not touched."""
        outcomes = await self.runtime.handle_raw_batch([d.body for d in batch])
        pauses = 0
        while True:
            waiting = [i for i, o in enumerate(outcomes) if o.status is Status.UNAVAILABLE]
            if not waiting:
                self.paused = False
                self.readiness.set(True)
                return outcomes
            self.paused = True
            self.readiness.set(False, f"{outcomes[waiting[0]].reason}: {outcomes[waiting[0]].detail[:200]}")
            pauses = await self._wait_for_database(pauses)
            again = await self.runtime.handle_raw_batch([batch[i].body for i in waiting])
            for i, outcome in zip(waiting, again, strict=True):
                outcomes[i] = outcome

    async def _wait_for_database(self, pauses: int) -> int:
        while True:
            await self.sleep(PAUSE_BACKOFF.delay(pauses, self.rand))
            pauses += 1
            try:
                await self.runtime.probe_async()
                return pauses
            except Exception as exc:
                if not is_transient(exc):
                    raise
                log.info("%s: database still unavailable (%s)", self.runtime.consumer, type(exc).__name__)

    async def _retry_later(self, delivery: _Delivery, outcome: Outcome) -> None:
        attempts = attempts_of(delivery.message) + 1
        await self.sleep(self.retry_backoff_seconds * attempts)
        raw = delivery.message.raw_message
        headers = {**(raw.headers or {}), HEADER_ATTEMPTS: attempts, HEADER_REASON: outcome.reason}
        try:
            # Back on our own queue with the count raised; then the original is acked. A crash in
            # between leaves two copies: the inbox makes the second a duplicate.
            await self.broker.publish(
                delivery.body,
                queue=self.route.queue,
                persist=True,
                headers=headers,
                message_id=raw.message_id,
                content_type=raw.content_type,
            )
        except Exception as exc:
            log.warning(
                "%s: could not re-queue a failed message (%s); the broker will redeliver it",
                self.runtime.consumer,
                exc,
            )
            await _nack(delivery.message)
            return
        await _ack(delivery.message)

    async def _dead_letter(self, delivery: _Delivery, outcome: Outcome) -> None:
        attempts = attempts_of(delivery.message) + (1 if outcome.status is Status.FAILED else 0)
        await self.broker.publish(
            delivery.body,
            exchange=dead_letter_exchange(),
            routing_key=self.route.dead_letter_queue,
            persist=True,
            message_id=delivery.message.raw_message.message_id,
            headers={
                HEADER_REASON: outcome.reason,
                HEADER_DETAIL: outcome.detail[:MAX_HEADER_DETAIL_CHARS],
                HEADER_ATTEMPTS: attempts,
                HEADER_CONSUMER: self.runtime.consumer,
            },
        )
        self.runtime.dead_lettered(outcome)
        log.warning("dead-lettered on %s: %s %s", self.route.queue, outcome.reason, outcome.detail[:200])

    def _spawn(self, coro: Awaitable[None]) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close(self) -> None:
        runner, self._runner = self._runner, None
        for task in [*self._tasks, *([runner] if runner else [])]:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


def _stray_cancel(exc: BaseException) -> bool:
    """A CancelledError raised by an awaited operation (aiormq cancels a channel's pending
    futures when the channel closes, a relay's publish among them) while nobody cancelled the
    runner itself. Ending the runner on it would strand the deliveries it already holds: no new
    delivery arrives to restart it while they fill the prefetch window."""
    task = asyncio.current_task()
    return isinstance(exc, asyncio.CancelledError) and task is not None and task.cancelling() == 0


async def _ack(message: RabbitMessage) -> None:
    try:
        await message.ack()
    except Exception as exc:  # the channel died (broker restart): the broker redelivers; inbox dedupes
        log.warning("ack lost (%s); the message will come again and be a duplicate", exc)


async def _nack(message: RabbitMessage) -> None:
    with contextlib.suppress(Exception):
        await message.nack(requeue=True)


def _raw_decoder(message: Any) -> bytes:
    # Keep the raw bytes: contract parsing (and its reason codes) is ours, not the framework's.
    body: bytes = message.body
    return body


def attach_service(
    broker: RabbitBroker,
    runtime: ServiceRuntime,
    settings: Settings,
    *,
    readiness: Readiness | None = None,
    sleep: Sleep = asyncio.sleep,
    rand: Callable[[], float] = random.random,
) -> BatchConsumer:
    route = route_for(runtime.service)
    exchange = events_exchange(route)
    queue = service_queue(route, settings.max_delivery_attempts)
    publisher = RabbitPublisher(broker, exchange)
    size = batch_size_for(runtime.service, settings)
    consumer = BatchConsumer(
        runtime,
        broker,
        route,
        publisher,
        max_attempts=settings.max_delivery_attempts,
        retry_backoff_seconds=settings.retry_backoff_seconds,
        batch_size=size,
        readiness=readiness or Readiness(),
        sleep=sleep,
        rand=rand,
    )
    for produced in PRODUCES[runtime.service]:
        # Registered for the AsyncAPI document: what this worker emits, with its schema.
        broker.publisher(
            exchange=exchange,
            routing_key=produced.routing_key(),
            schema=produced,
            title=f"{runtime.service.value}:{produced.routing_key()}",
            persist=True,
        )

    @broker.subscriber(
        queue,
        exchange,
        ack_policy=AckPolicy.MANUAL,
        decoder=_raw_decoder,
        channel=Channel(prefetch_count=size * PREFETCH_BATCHES),
        title=f"{runtime.service.value}:consume",
        description=f"{runtime.service.value} consumes {', '.join(route.binding_keys)}",
    )
    async def consume(body: bytes, message: RabbitMessage) -> None:
        await consumer.deliver(body, message)

    return consumer


def build_worker(runtime: ServiceRuntime, settings: Settings) -> FastStream:
    broker = RabbitBroker(settings.broker_url, logger=log)
    readiness = Readiness(settings.ready_file)
    consumer = attach_service(broker, runtime, settings, readiness=readiness)
    app = FastStream(broker, logger=log)
    route = route_for(runtime.service)
    tasks: list[asyncio.Task[None]] = []

    @app.on_startup
    async def broker_answers() -> None:
        # A worker started while the broker is down (a restart during an outage) waits for it
        # instead of exiting: the broker's own connect fails fast at startup.
        await wait_for_broker(settings.broker_url)

    @app.after_startup
    async def declare_and_relay() -> None:
        await declare_topology(broker, route, settings.max_delivery_attempts)
        if not consumer.paused:  # it may have met a database outage before startup finished
            readiness.set(True)
        tasks.append(asyncio.create_task(_relay_forever(runtime, consumer.publisher)))
        tasks.append(asyncio.create_task(_redeliver_forever(runtime, consumer.publisher)))

    @app.on_shutdown
    async def stop_tasks() -> None:
        readiness.set(False, "stopping")
        await consumer.close()
        for task in tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    return app


async def wait_for_broker(
    url: str, sleep: Sleep = asyncio.sleep, rand: Callable[[], float] = random.random
) -> None:
    import aio_pika

    attempt = 0
    while True:
        try:
            connection = await aio_pika.connect(url, timeout=BROKER_CONNECT_TIMEOUT_SECONDS)
        except Exception as exc:
            if not is_transient(exc):
                raise
            log.warning("broker not answering yet (%s); waiting", exc)
            await sleep(PAUSE_BACKOFF.delay(attempt, rand))
            attempt += 1
            continue
        await connection.close()
        return


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
        except Exception as exc:
            log.warning("outbox relay failed; will retry: %s", exc, exc_info=not is_transient(exc))
        await asyncio.sleep(RELAY_INTERVAL_SECONDS)


async def _redeliver_forever(runtime: ServiceRuntime, publisher: RabbitPublisher) -> None:
    """Handle parked messages (documents whose e-office was down) when their time comes."""
    while True:
        try:
            outcomes = await runtime.redeliver_due()
            if any(o.produced for o in outcomes):
                await runtime.relay(publisher)
        except Exception as exc:
            log.warning(
                "redelivery of parked messages failed; will retry: %s", exc, exc_info=not is_transient(exc)
            )
        await asyncio.sleep(REDELIVER_INTERVAL_SECONDS)


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
