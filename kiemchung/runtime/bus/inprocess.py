"""The embedded runtime's bus: same routing table, same handlers, one process, no broker."""

from __future__ import annotations

import json
import logging
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from contracts.routing import Service, consumers_of
from kiemchung.runtime.messaging import Outcome, ServiceRuntime, Status

log = logging.getLogger(__name__)

# Consecutive messages for one service are handled in one transaction, up to this many.
DEFAULT_MAX_BATCH = 100

Observer = Callable[[Service, Outcome], None]


@dataclass
class InProcessBus:
    """A FIFO of (consumer, message) pairs drained in order; each consumer gets its own copy.

    A message that keeps failing is retried `max_attempts` times and then recorded in the
    dead-letter table with its error, so one poison message never blocks the rest.

    Consecutive messages for the same service are handled as one batch (`max_batch` at most)
    in one transaction (`ServiceRuntime.handle_batch`); a failing batch falls back to one
    message per transaction, so outcomes, retries and dead letters stay per message.
    """

    runtimes: Mapping[Service, ServiceRuntime]
    max_attempts: int = 3
    max_batch: int = DEFAULT_MAX_BATCH
    observers: list[Observer] = field(default_factory=list)
    published: list[tuple[str, bytes]] = field(default_factory=list)
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
        handled = 0
        while self._queue:
            service, batch = self._next_batch()
            runtime = self.runtimes[service]
            outcomes = await runtime.handle_raw_batch([body for body, _ in batch])
            for (body, attempts), outcome in zip(batch, outcomes, strict=True):
                attempts += 1
                handled += 1
                for observer in self.observers:
                    observer(service, outcome)
                if outcome.status is Status.FAILED and attempts < self.max_attempts:
                    self._queue.append((service, body, attempts))
                elif outcome.status in (Status.FAILED, Status.REJECTED):
                    runtime.record_dead_letter(body, outcome.reason, outcome.detail, attempts)
                    log.warning("dead-lettered for %s: %s %s", service, outcome.reason, outcome.detail)
            for rt in self.runtimes.values():
                await rt.relay(self)
        return handled

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
