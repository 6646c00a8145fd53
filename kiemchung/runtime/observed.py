"""A ServiceRuntime that counts, times and traces what it handles (metrics.py, tracing.py).

It changes no delivery rule: every decision is the base class's; this only watches outcomes.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from opentelemetry import trace
from opentelemetry.trace import Status as SpanStatus
from opentelemetry.trace import StatusCode

from contracts.envelope import Event
from contracts.events import EvidenceVerified, ScoreUpdated
from contracts.registry import KNOWN_TYPES
from contracts.routing import Service
from kiemchung.runtime import logs, metrics, tracing
from kiemchung.runtime.messaging import AnyHandler, Outcome, ServiceRuntime, Status

UNPARSED = "unparsed"  # the event_type label of bytes that are not a valid event
MS_PER_SECOND = 1000
NO_REASON = "NONE"  # the reason label of a verdict that lists none


def _timed(prepare: Callable[[Any], Awaitable[Any]]) -> Callable[[Any], Awaitable[Any]]:
    async def timed(event: Any) -> Any:
        started = time.perf_counter()
        try:
            return await prepare(event)
        finally:
            metrics.VERIFICATION_SECONDS.labels("fetch_and_verify").observe(time.perf_counter() - started)

    return timed


class ObservedRuntime(ServiceRuntime):
    def __init__(self, service: Service, handlers: Mapping[type[Event], AnyHandler], *args: Any, **kw: Any):
        super().__init__(service, handlers, *args, **kw)
        if service is Service.EVIDENCE_VERIFIER:
            for event_type, handler in self.handlers.items():
                if handler.prepare is not None:
                    self.handlers[event_type] = replace(handler, prepare=_timed(handler.prepare))

    async def handle_raw(self, raw: bytes) -> Outcome:
        outcome = await super().handle_raw(raw)
        if outcome.event is None:
            metrics.MESSAGES.labels(self.consumer, UNPARSED, outcome.status.value).inc()
        return outcome

    async def handle_raw_batch(self, raws: Sequence[bytes]) -> list[Outcome]:
        outcomes = await super().handle_raw_batch(raws)
        for outcome in outcomes:
            if outcome.event is None:
                metrics.MESSAGES.labels(self.consumer, UNPARSED, outcome.status.value).inc()
        return outcomes

    async def handle(self, event: Event) -> Outcome:
        started = time.perf_counter()
        self._lag(event)
        flow = (self.consumer, event.type, event.event_id, event.correlation_id)
        with logs.event_context(event.event_id, event.correlation_id), tracing.consume_span(*flow) as span:
            outcome = await super().handle(event)
            self._record(event, outcome, span, time.perf_counter() - started)
        return outcome

    async def handle_batch(self, events: Sequence[Event]) -> list[Outcome]:
        started = time.perf_counter()
        for event in events:
            self._lag(event)
        outcomes = await super().handle_batch(events)
        # One transaction served them all: each message gets its share of the time.
        share = (time.perf_counter() - started) / max(len(events), 1)
        for event, outcome in zip(events, outcomes, strict=True):
            with tracing.consume_span(
                self.consumer, event.type, event.event_id, event.correlation_id
            ) as span:
                self._record(event, outcome, span, share)
        return outcomes

    def record_dead_letter(self, raw: bytes, reason: str, detail: str, attempts: int) -> None:
        super().record_dead_letter(raw, reason, detail, attempts)
        metrics.DEAD_LETTERED.labels(self.consumer, _type_of(raw), reason).inc()

    def dead_lettered(self, outcome: Outcome) -> None:
        """The RabbitMQ bus dead-letters to a queue, not the table: it reports here."""
        event_type = outcome.event.type if outcome.event is not None else UNPARSED
        metrics.DEAD_LETTERED.labels(self.consumer, event_type, outcome.reason).inc()

    def _lag(self, event: Event) -> None:
        lag = max((self.clock() - event.occurred_at).total_seconds(), 0.0)
        metrics.QUEUE_LAG_SECONDS.labels(self.consumer, event.type).observe(lag)
        metrics.QUEUE_LAG_LAST.labels(self.consumer).set(lag)

    def _record(self, event: Event, outcome: Outcome, span: trace.Span, seconds: float) -> None:
        metrics.MESSAGES.labels(self.consumer, event.type, outcome.status.value).inc()
        metrics.HANDLE_SECONDS.labels(self.consumer, event.type).observe(seconds)
        span.set_attribute("kiemchung.outcome", outcome.status.value)
        if outcome.status in (Status.FAILED, Status.REJECTED):
            span.set_status(SpanStatus(StatusCode.ERROR, f"{outcome.reason}: {outcome.detail[:200]}"))
        for produced in outcome.produced:
            tracing.record_publish(self.consumer, produced.type, produced.event_id, produced.correlation_id)
            if isinstance(produced, EvidenceVerified):
                report = produced.report
                metrics.VERIFICATION_SECONDS.labels("verify").observe(report.elapsed_ms / MS_PER_SECOND)
                for reason in [str(r) for r in report.reasons] or [NO_REASON]:
                    metrics.VERDICTS.labels(report.decision.value, reason).inc()
            elif (
                isinstance(produced, ScoreUpdated) and isinstance(event, EvidenceVerified) and event.linked_at
            ):
                since_link = (self.clock() - event.linked_at).total_seconds()
                metrics.LINK_TO_SCORE_SECONDS.observe(max(since_link, 0.0))


def _type_of(raw: bytes) -> str:
    """The event type of raw bytes for a label: a known type or "unparsed", so labels stay bounded."""
    try:
        value = json.loads(raw)
    except ValueError:
        return UNPARSED
    kind = value.get("type") if isinstance(value, dict) else None
    return kind if isinstance(kind, str) and kind in KNOWN_TYPES else UNPARSED
