"""The embedded runtime's bus: same routing table, same handlers, one process, no broker."""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

from contracts.routing import Service, consumers_of
from kiemchung.runtime.failures import Backoff
from kiemchung.runtime.messaging import Outcome, ServiceRuntime, Status

log = logging.getLogger(__name__)

# Consecutive messages for one service are handled in one transaction, up to this many.
DEFAULT_MAX_BATCH = 100
KEEP_PUBLISHED = 10_000

Observer = Callable[[Service, Outcome], None]
Sleep = Callable[[float], Awaitable[None]]
# The database did not answer: pause with back-off this many times in a row before `drain`
# gives up for now (messages stay queued, nothing is dead-lettered, the next drain resumes).
DEFAULT_MAX_PAUSES = 12
PAUSE_BACKOFF = Backoff(base_seconds=0.1, cap_seconds=5.0)


class DependencyUnavailableError(RuntimeError):
    """The bus paused `max_pauses` times and its database still does not answer."""


@dataclass
class InProcessBus:
    """A FIFO of (consumer, message) pairs drained in order; each consumer gets its own copy.

    A message that keeps failing is retried `max_attempts` times and then recorded in the
    dead-letter table with its error, so one poison message never blocks the rest. A message
    that met a transient failure (UNAVAILABLE) keeps its place and its attempts: the bus pauses
    (`ready` is False), backs off and tries again once the database answers.

    Consecutive messages for the same service are handled as one batch (`max_batch` at most)
    in one transaction (`ServiceRuntime.handle_batch`); a failing batch falls back to one
    message per transaction, so outcomes, retries and dead letters stay per message.
    """

    runtimes: Mapping[Service, ServiceRuntime]
    max_attempts: int = 3
    max_batch: int = DEFAULT_MAX_BATCH
    observers: list[Observer] = field(default_factory=list)
    # The most recent published messages only (the demo and the embedded link read their verdicts
    # back): a long-running embedded process must not keep every message it ever published.
    published: deque[tuple[str, bytes]] = field(default_factory=lambda: deque(maxlen=KEEP_PUBLISHED))
    sleep: Sleep = asyncio.sleep
    rand: Callable[[], float] = random.random
    max_pauses: int = DEFAULT_MAX_PAUSES
    ready: bool = True
    _queue: deque[tuple[Service, bytes, int]] = field(default_factory=deque)

    async def publish(self, routing_key: str, body: bytes, event_id: str = "") -> None:
        self.published.append((routing_key, body))
        event_type = routing_key.split(".", 1)[0]
        for service in consumers_of(event_type):
            if service in self.runtimes:
                self._queue.append((service, body, 0))

    async def publish_raw_to(self, service: Service, body: bytes) -> None:
        """Deliver bytes to one consumer as the broker would, valid or not (tests, ingress)."""
        self._queue.append((service, body, 0))

    async def drain(self) -> int:
        """Handle queued messages (and parked ones now due) until none is left."""
        handled = 0
        pauses = 0
        await self._redeliver_due()
        while self._queue:
            service, batch = self._next_batch()
            runtime = self.runtimes[service]
            outcomes = await runtime.handle_raw_batch([body for body, _ in batch])
            unavailable: list[tuple[Service, bytes, int]] = []
            for (body, attempts), outcome in zip(batch, outcomes, strict=True):
                for observer in self.observers:
                    observer(service, outcome)
                if outcome.status is Status.UNAVAILABLE:
                    unavailable.append((service, body, attempts))  # not the message's fault
                    continue
                attempts += 1
                handled += 1
                if outcome.status is Status.FAILED and attempts < self.max_attempts:
                    self._queue.append((service, body, attempts))
                elif outcome.status in (Status.FAILED, Status.REJECTED):
                    runtime.record_dead_letter(body, outcome.reason, outcome.detail, attempts)
                    log.warning("dead-lettered for %s: %s %s", service, outcome.reason, outcome.detail)
            if unavailable:
                # Back at the head, in order, so nothing overtakes them.
                self._queue.extendleft(reversed(unavailable))
                pauses += 1
                await self._pause(runtime, pauses)
                continue
            pauses = 0
            self.ready = True
            for rt in self.runtimes.values():
                await rt.relay(self)
        return handled

    async def _pause(self, runtime: ServiceRuntime, pauses: int) -> None:
        self.ready = False
        if pauses > self.max_pauses:
            raise DependencyUnavailableError(
                f"{runtime.consumer}: the database did not answer after {self.max_pauses} pauses; "
                f"{len(self._queue)} messages stay queued"
            )
        await self.sleep(PAUSE_BACKOFF.delay(pauses - 1, self.rand))

    async def _redeliver_due(self) -> None:
        for runtime in self.runtimes.values():
            for outcome in await runtime.redeliver_due():
                for observer in self.observers:
                    observer(runtime.service, outcome)

    def _next_batch(self) -> tuple[Service, list[tuple[bytes, int]]]:
        """The head of the queue and the messages for the same service right behind it."""
        service, body, attempts = self._queue.popleft()
        batch = [(body, attempts)]
        while self._queue and len(batch) < self.max_batch and self._queue[0][0] is service:
            _, body, attempts = self._queue.popleft()
            batch.append((body, attempts))
        return service, batch

    def published_of(self, event_type: str) -> list[dict[str, object]]:
        return [json.loads(body) for key, body in self.published if key.split(".", 1)[0] == event_type]
