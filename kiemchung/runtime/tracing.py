"""OpenTelemetry traces across the message flow: one trace per correlation_id.

No trace context is stored with an event: it is derived from the envelope. The trace id is the
correlation_id (the event_id that started the flow); a service handling event E opens a span whose
parent is E's "publish" span, whose span id is derived from E's event_id; for every event it
produces it records that event's publish span, with the derived id, as a child. So
DocumentLinked → EvidenceVerified → ScoreUpdated is one tree across processes, including events
relayed later from the outbox by a catch-up loop. The same ids go into the RabbitMQ message
headers (`traceparent`, W3C) for tools that read them.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterator
from contextvars import ContextVar
from uuid import UUID

from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.id_generator import RandomIdGenerator
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags

TRACER_NAME = "kiemchung"
TRACEPARENT_HEADER = "traceparent"
CORRELATION_HEADER = "x-correlation-id"
_SPAN_ID_BYTES = 8

_forced_trace_id: ContextVar[int | None] = ContextVar("kiemchung_forced_trace_id", default=None)
_forced_span_id: ContextVar[int | None] = ContextVar("kiemchung_forced_span_id", default=None)


class FlowIds(RandomIdGenerator):
    """Random ids, except where the flow decides them (a root's trace id, a publish span's id)."""

    def generate_trace_id(self) -> int:
        forced = _forced_trace_id.get()
        return forced if forced is not None else super().generate_trace_id()

    def generate_span_id(self) -> int:
        forced = _forced_span_id.get()
        return forced if forced is not None else super().generate_span_id()


def trace_id_of(correlation_id: UUID | str) -> int:
    return UUID(str(correlation_id)).int or 1


def publish_span_id(event_id: UUID | str) -> int:
    digest = hashlib.sha256(str(event_id).encode("ascii")).digest()
    return int.from_bytes(digest[:_SPAN_ID_BYTES], "big") or 1


def traceparent(correlation_id: UUID | str, event_id: UUID | str) -> str:
    """The W3C traceparent of an event's publish span (what the consumer's span hangs under)."""
    return f"00-{trace_id_of(correlation_id):032x}-{publish_span_id(event_id):016x}-01"


def tracer_provider() -> TracerProvider:
    """A provider whose ids follow the flow; the caller adds span processors (exporters)."""
    return TracerProvider(id_generator=FlowIds())


def install(provider: TracerProvider) -> None:
    trace.set_tracer_provider(provider)


def _tracer() -> trace.Tracer:
    return trace.get_tracer(TRACER_NAME)


def _is_flow_provider() -> bool:
    provider = trace.get_tracer_provider()
    return isinstance(provider, TracerProvider) and isinstance(provider.id_generator, FlowIds)


@contextlib.contextmanager
def consume_span(service: str, event_type: str, event_id: UUID, correlation_id: UUID) -> Iterator[trace.Span]:
    """The span of one service handling one event, in the event's flow trace."""
    attributes = {
        "messaging.system": "kiemchung",
        "messaging.operation": "process",
        "messaging.destination.name": event_type,
        "messaging.message.id": str(event_id),
        "kiemchung.service": service,
        "kiemchung.correlation_id": str(correlation_id),
    }
    name = f"{service} process {event_type}"
    if event_id == correlation_id:
        # The flow starts here: a root span whose trace id is the correlation id.
        token = _forced_trace_id.set(trace_id_of(correlation_id))
        try:
            span = _tracer().start_span(
                name, context=trace.set_span_in_context(trace.INVALID_SPAN), attributes=attributes
            )
        finally:
            _forced_trace_id.reset(token)
    else:
        parent = SpanContext(
            trace_id=trace_id_of(correlation_id),
            span_id=publish_span_id(event_id),
            is_remote=True,
            trace_flags=TraceFlags(TraceFlags.SAMPLED),
        )
        span = _tracer().start_span(
            name, context=trace.set_span_in_context(NonRecordingSpan(parent)), attributes=attributes
        )
    with trace.use_span(span, end_on_exit=True):
        yield span


def record_publish(service: str, event_type: str, event_id: UUID, correlation_id: UUID) -> None:
    """A publish span for an event this service produced, under the current span, id from the event."""
    if not _is_flow_provider():
        return  # without our id generator the ids would not match the consumers' parents
    token = _forced_span_id.set(publish_span_id(event_id))
    try:
        span = _tracer().start_span(
            f"{service} publish {event_type}",
            attributes={
                "messaging.system": "kiemchung",
                "messaging.operation": "publish",
                "messaging.destination.name": event_type,
                "messaging.message.id": str(event_id),
                "kiemchung.correlation_id": str(correlation_id),
            },
        )
    finally:
        _forced_span_id.reset(token)
    span.end()


def install_file_exporter(path: str) -> TracerProvider:
    """Spans as JSON lines appended to `path` (one process per file, or append-only lines).

    For a cluster, point an OpenTelemetry collector's filelog receiver at it, or replace this
    with an OTLP exporter; the ids and parents are the same either way.
    """
    from opentelemetry.sdk.trace.export import ConsoleSpanExporter, SimpleSpanProcessor

    out = open(path, "a", encoding="utf-8")  # noqa: SIM115 - lives as long as the process
    exporter = ConsoleSpanExporter(out=out, formatter=lambda span: span.to_json(indent=None) + "\n")
    provider = tracer_provider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    install(provider)
    return provider
