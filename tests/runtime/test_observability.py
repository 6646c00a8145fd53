"""Metrics, traces, JSON logs, probes and outbox retention on the embedded runtime."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client import REGISTRY
from sqlalchemy import insert, select

from kiemchung.demo import build_demo
from kiemchung.runtime import logs, outbox, tracing
from kiemchung.runtime.db import create_schema, make_engine, session_factory
from kiemchung.runtime.db import outbox as outbox_table
from kiemchung.runtime.housekeeping import database_check
from kiemchung.runtime.metrics import EXPORTED_NAMES
from kiemchung.runtime.probes import Probes


def _sample(name: str, **labels: str) -> float:
    value = REGISTRY.get_sample_value(name, labels)
    return value or 0.0


@pytest.fixture(scope="module")
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = trace.get_tracer_provider()
    if not (isinstance(provider, TracerProvider) and isinstance(provider.id_generator, tracing.FlowIds)):
        provider = tracing.tracer_provider()
        tracing.install(provider)  # once per process: OpenTelemetry refuses a second provider
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield exporter
    exporter.shutdown()


@pytest.fixture(scope="module")
def demo_run(spans: InMemorySpanExporter, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    before = {
        "linked": _sample(
            "kiemchung_messages_total",
            service="evidence-verifier",
            event_type="DocumentLinked",
            status="processed",
        ),
        "lettered": _sample("kiemchung_verdicts_total", decision="rejected", reason="LETTERED_NUMBER"),
        "link_to_score": _sample("kiemchung_link_to_score_seconds_count"),
        "verify": _sample("kiemchung_verification_stage_seconds_count", stage="fetch_and_verify"),
        "fetch": _sample("kiemchung_verification_stage_seconds_count", stage="fetch"),
        **{
            stage: _sample("kiemchung_verification_stage_seconds_count", stage=stage)
            for stage in ("parse", "signatures", "render_check", "pages")
        },
    }
    spans.clear()
    result = build_demo(tmp_path_factory.mktemp("observed"), unit_count=3, show_progress=False)
    return {"before": before, "result": result, "spans": list(spans.get_finished_spans())}


def test_messages_verdicts_and_link_to_score_are_counted(demo_run: dict[str, Any]) -> None:
    before = demo_run["before"]
    documents = demo_run["result"]["documents"]
    linked = _sample(
        "kiemchung_messages_total",
        service="evidence-verifier",
        event_type="DocumentLinked",
        status="processed",
    )
    assert linked - before["linked"] == len(documents)
    lettered = [d for d in documents if "LETTERED_NUMBER" in d["reasons"]]
    assert lettered, "the demo has a lettered number"
    counted = _sample("kiemchung_verdicts_total", decision="rejected", reason="LETTERED_NUMBER")
    assert counted - before["lettered"] >= len(lettered)
    assert _sample("kiemchung_link_to_score_seconds_count") > before["link_to_score"]
    assert _sample("kiemchung_verification_stage_seconds_count", stage="fetch_and_verify") - before[
        "verify"
    ] == len(documents)
    fetched = _sample("kiemchung_verification_stage_seconds_count", stage="fetch") - before["fetch"]
    assert fetched == len(documents)
    # Stages timed inside the verification child process, sent back with its outcome.
    for stage in ("parse", "signatures", "render_check", "pages"):
        counted = _sample("kiemchung_verification_stage_seconds_count", stage=stage) - before[stage]
        assert 0 < counted <= len(documents), stage
    assert _sample("kiemchung_queue_lag_last_seconds", service="scoring") >= 0


def _by_id(spans: list[ReadableSpan]) -> dict[int, ReadableSpan]:
    return {s.context.span_id: s for s in spans if s.context is not None}


def test_one_trace_runs_from_document_linked_to_score_updated(demo_run: dict[str, Any]) -> None:
    spans: list[ReadableSpan] = demo_run["spans"]
    by_id = _by_id(spans)
    score_publishes = [s for s in spans if s.name == "scoring publish ScoreUpdated"]
    assert score_publishes
    chains = []
    for leaf in score_publishes:
        chain = [leaf.name]
        node: ReadableSpan | None = leaf
        while node is not None and node.parent is not None:
            assert node.context is not None
            assert node.parent.trace_id == node.context.trace_id
            node = by_id.get(node.parent.span_id)
            if node is not None:
                chain.append(node.name)
        chains.append(chain)
    expected = [
        "scoring publish ScoreUpdated",
        "scoring process EvidenceVerified",
        "evidence-verifier publish EvidenceVerified",
        "evidence-verifier process DocumentLinked",
    ]
    assert expected in [c[: len(expected)] for c in chains]
    # The trace id is the flow's correlation id, so every service finds the same trace.
    root = next(s for s in spans if s.name == "evidence-verifier process DocumentLinked")
    assert root.context is not None
    assert root.attributes is not None
    assert root.context.trace_id == tracing.trace_id_of(str(root.attributes["kiemchung.correlation_id"]))


def test_traceparent_header_names_the_publish_span() -> None:
    header = tracing.traceparent(
        "0b6f2d5e-6c1f-4c57-9e39-2b1d4a5a8e01", "5a0d1c9e-7e3b-4f7e-8d2c-1b9a3e4f5d60"
    )
    version, trace_id, span_id, flags = header.split("-")
    assert (version, flags) == ("00", "01")
    assert int(trace_id, 16) == 0x0B6F2D5E6C1F4C579E392B1D4A5A8E01
    assert int(span_id, 16) == tracing.publish_span_id("5a0d1c9e-7e3b-4f7e-8d2c-1b9a3e4f5d60")


def test_json_log_lines_carry_event_and_correlation_ids() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(logs.EventFilter())
    handler.setFormatter(logs.JsonFormatter())
    logger = logging.getLogger("kiemchung.test.jsonlogs")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        with logs.event_context("e-1", "c-1"):
            logger.warning("refused %s", "Tờ trình")
        logger.warning("outside")
    finally:
        logger.removeHandler(handler)
    first, second = (json.loads(line) for line in stream.getvalue().splitlines())
    assert first["message"] == "refused Tờ trình"
    assert (first["event_id"], first["correlation_id"], first["level"]) == ("e-1", "c-1", "WARNING")
    assert "event_id" not in second


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


async def _get(port: int, path: str) -> tuple[int, bytes]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    await writer.drain()
    data = await reader.read()
    writer.close()
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), body


async def test_readiness_fails_while_the_database_is_gone_and_liveness_does_not(tmp_path: Path) -> None:
    good = session_factory(make_engine(f"sqlite:///{tmp_path / 'ok.db'}"))
    # Nothing listens on this port: the database is "gone".
    gone = session_factory(make_engine(f"postgresql+psycopg://nobody@127.0.0.1:{_free_port()}/x"))

    async def broker_up() -> bool:
        return True

    ready = Probes({"broker": broker_up, "database": database_check(good)})
    broken = Probes({"broker": broker_up, "database": database_check(gone)})
    port_ready = await ready.start("127.0.0.1", 0)
    port_broken = await broken.start("127.0.0.1", 0)
    try:
        status, body = await _get(port_ready, "/readyz")
        assert status == 200
        assert json.loads(body)["ready"] is True
        status, body = await _get(port_broken, "/readyz")
        assert status == 503
        assert json.loads(body)["checks"] == {"broker": "ok", "database": "OperationalError"}
        assert (await _get(port_broken, "/healthz"))[0] == 200
        status, body = await _get(port_broken, "/metrics")
        assert status == 200
        assert b"kiemchung_ready 0.0" in body
        assert (await _get(port_broken, "/nope"))[0] == 404
    finally:
        await ready.stop()
        await broken.stop()


def test_every_exported_name_is_registered() -> None:
    registered = set()
    for family in REGISTRY.collect():
        registered.add(family.name + ("_total" if family.type == "counter" else ""))
    missing = {n for n in EXPORTED_NAMES if n not in registered}
    assert missing == set()


def test_outbox_retention_prunes_only_rows_published_before_the_cutoff(tmp_path: Path) -> None:
    sessions = session_factory(make_engine(f"sqlite:///{tmp_path / 'outbox.db'}"))
    create_schema(sessions.kw["bind"])
    now = datetime(2024, 11, 20, tzinfo=UTC)
    rows = [
        ("old-published", now - timedelta(days=10), now - timedelta(days=10)),
        ("new-published", now - timedelta(hours=1), now - timedelta(hours=1)),
        ("old-unpublished", now - timedelta(days=10), None),
    ]
    with sessions() as session, session.begin():
        for event_id, created, published in rows:
            for producer in ("scoring", "indexer"):
                session.execute(
                    insert(outbox_table).values(
                        event_id=f"{producer}-{event_id}",
                        producer=producer,
                        routing_key="ScoreUpdated.v1",
                        body="{}",
                        created_at=created,
                        published_at=published,
                    )
                )
    assert outbox.backlog(sessions, "scoring") == 1
    assert outbox.prune(sessions, "scoring", now - timedelta(days=3), batch=1) == 1
    with sessions() as session:
        left = sorted(session.execute(select(outbox_table.c.event_id)).scalars())
    assert left == [
        "indexer-new-published",
        "indexer-old-published",
        "indexer-old-unpublished",
        "scoring-new-published",
        "scoring-old-unpublished",
    ]
    assert outbox.prune(sessions, "scoring", now - timedelta(days=3)) == 0


async def test_the_embedded_bus_keeps_only_the_most_recent_published_messages() -> None:
    from kiemchung.runtime.bus.inprocess import KEEP_PUBLISHED, InProcessBus

    bus = InProcessBus({})
    for i in range(KEEP_PUBLISHED + 5):
        await bus.publish("ScoreUpdated.v1", str(i).encode())
    assert len(bus.published) == KEEP_PUBLISHED
    assert bus.published[0][1] == b"5"
    assert bus.published[-1][1] == str(KEEP_PUBLISHED + 4).encode()
