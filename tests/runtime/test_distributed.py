"""The three services as FastStream workers on the real RabbitMQ and PostgreSQL.

A fresh vhost and database per run; the workers are real subprocesses (`kiemchung worker …`);
the claim check is an HTTP URL served on loopback, allowlisted for the run.
"""

from __future__ import annotations

import asyncio
import functools
import http.server
import json
import os
import socket
import subprocess
import sys
import threading
import urllib.request
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import aio_pika
import pytest
import sqlalchemy as sa

from contracts.envelope import Event
from contracts.events import (
    CorrectedPoints,
    DocumentLinked,
    Published,
    ResultCorrected,
    SelfScoreEntered,
    Submitted,
    UnitRegistered,
)
from contracts.registry import serialise
from contracts.routing import EXCHANGE, routing_key_of
from contracts.vocabulary import Level
from kiemchung.runtime.migrate import upgrade
from tests.corpus import Corpus
from tests.servers import fresh_database, fresh_vhost

pytestmark = [pytest.mark.rabbitmq, pytest.mark.postgres]

WAIT_SECONDS = 90.0
SERVICES = ("evidence-verifier", "indexer", "scoring")
UNIT = "so-noi-vu"
YEAR = 2024
# Before the department deadline of 2024 (15/12), so nothing is locked.
OCCURRED = datetime(2024, 11, 20, 2, 0, tzinfo=UTC)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        return


@pytest.fixture(scope="module")
def http_base(corpus: Corpus) -> Iterator[str]:
    handler = functools.partial(_QuietHandler, directory=str(corpus.directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()


@dataclass
class Cluster:
    amqp_url: str
    database_url: str
    http_base: str
    engine: sa.Engine
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)
    # Each worker's /metrics, /healthz, /readyz port and the file its spans go to.
    probe_ports: dict[str, int] = field(default_factory=dict)
    span_files: dict[str, Path] = field(default_factory=dict)


@pytest.fixture(scope="module")
def cluster(corpus: Corpus, http_base: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    workdir = tmp_path_factory.mktemp("cluster")
    with fresh_database() as database_url, fresh_vhost() as amqp_url:
        upgrade(database_url)
        env = {
            **os.environ,
            "KIEMCHUNG_RUNTIME": "distributed",
            "KIEMCHUNG_DATABASE_URL": database_url,
            "KIEMCHUNG_BROKER_URL": amqp_url,
            "KIEMCHUNG_DATA_DIR": str(workdir),
            "KIEMCHUNG_SEARCH_SQLITE_PATH": str(workdir / "search.db"),
            "KIEMCHUNG_TRUST_DIRS": json.dumps([str(corpus.trust_dir)]),
            "KIEMCHUNG_FETCH_ALLOWED_HOSTS": json.dumps(["127.0.0.1"]),
            "KIEMCHUNG_FETCH_HTTP_HOSTS": json.dumps(["127.0.0.1"]),
            "KIEMCHUNG_FETCH_PRIVATE_HOSTS": json.dumps(["127.0.0.1"]),
            "KIEMCHUNG_MAX_DELIVERY_ATTEMPTS": "3",
            "KIEMCHUNG_RETRY_BACKOFF_SECONDS": "0.1",
        }
        engine = sa.create_engine(database_url)
        result = Cluster(amqp_url, database_url, http_base, engine)
        logs = [open(workdir / f"{name}.log", "wb") for name in SERVICES]  # noqa: SIM115
        try:
            for name, log in zip(SERVICES, logs, strict=True):
                result.probe_ports[name] = _free_port()
                result.span_files[name] = workdir / f"{name}.spans.jsonl"
                result.workers.append(
                    subprocess.Popen(
                        [sys.executable, "-m", "kiemchung.cli", "worker", name],
                        env={
                            **env,
                            "KIEMCHUNG_PROBE_PORT": str(result.probe_ports[name]),
                            "KIEMCHUNG_TRACE_FILE": str(result.span_files[name]),
                            "KIEMCHUNG_HOUSEKEEPING_INTERVAL_SECONDS": "0.5",
                        },
                        stdout=log,
                        stderr=subprocess.STDOUT,
                    )
                )
            asyncio.run(_wait_for_queues(amqp_url))
            yield result
        finally:
            for worker in result.workers:
                worker.terminate()
            for worker in result.workers:
                try:
                    worker.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    worker.kill()
            for log in logs:
                log.close()
            engine.dispose()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


async def _wait_for_queues(url: str) -> None:
    connection = await aio_pika.connect_robust(url)
    async with connection:
        for _ in range(int(WAIT_SECONDS * 2)):
            channel = await connection.channel()
            try:
                for name in SERVICES:
                    await channel.declare_queue(f"kiemchung.{name}", passive=True)
                    await channel.declare_queue(f"kiemchung.{name}.dlq", passive=True)
                return
            except aio_pika.exceptions.ChannelClosed:
                await asyncio.sleep(0.5)
        raise AssertionError("the workers did not declare their queues in time")


class Observer:
    """A test consumer bound to the events exchange, as the provincial scoring software is."""

    def __init__(self, url: str, keys: tuple[str, ...]) -> None:
        self.url = url
        self.keys = keys
        self.received: list[dict[str, Any]] = []
        self._connection: aio_pika.abc.AbstractRobustConnection | None = None
        self._channel: aio_pika.abc.AbstractChannel | None = None

    async def __aenter__(self) -> Observer:
        self._connection = await aio_pika.connect_robust(self.url)
        self._channel = await self._connection.channel()
        exchange = await self._channel.declare_exchange(EXCHANGE, aio_pika.ExchangeType.TOPIC, durable=True)
        queue = await self._channel.declare_queue(exclusive=True)
        for key in self.keys:
            await queue.bind(exchange, routing_key=key)

        async def on_message(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            async with message.process():
                self.received.append(json.loads(message.body))

        await queue.consume(on_message)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._connection is not None:
            await self._connection.close()

    async def publish(self, event: Event) -> None:
        await self.publish_raw(serialise(event), routing_key_of(event))

    async def publish_raw(self, body: bytes, routing_key: str) -> None:
        assert self._channel is not None
        exchange = await self._channel.get_exchange(EXCHANGE)
        await exchange.publish(
            aio_pika.Message(body, delivery_mode=aio_pika.DeliveryMode.PERSISTENT), routing_key=routing_key
        )

    async def wait_for(self, predicate: Any, count: int = 1) -> list[dict[str, Any]]:
        for _ in range(int(WAIT_SECONDS * 10)):
            found = [m for m in self.received if predicate(m)]
            if len(found) >= count:
                return found
            await asyncio.sleep(0.1)
        raise AssertionError(f"timed out; received {[m.get('type') for m in self.received]}")


def _envelope(producer: str = "eoffice.test") -> dict[str, Any]:
    return {
        "event_id": uuid.uuid4(),
        "occurred_at": OCCURRED,
        "correlation_id": uuid.uuid4(),
        "producer": producer,
    }


def _link(cluster: Cluster, path: Path, number: str, criterion: str = "1.1") -> DocumentLinked:
    return DocumentLinked(
        **_envelope(),
        link_id=uuid.uuid4(),
        unit_id=UNIT,
        year=YEAR,
        criterion_code=criterion,
        document_id=f"VB-{uuid.uuid4().hex[:8]}",
        fetch_url=f"{cluster.http_base}/{path.name}",
        number=number,
        issuer="Sở Nội vụ",
        title="Kế hoạch cải cách hành chính năm 2024",
        linked_by="vanthu.snv",
    )


@pytest.fixture
async def observer(cluster: Cluster) -> AsyncIterator[Observer]:
    async with Observer(
        cluster.amqp_url, ("ScoreUpdated.*", "EvidenceVerified.*", "RankingUpdated.*")
    ) as obs:
        await obs.publish(
            UnitRegistered(
                **_envelope("province.registry"),
                unit_id=UNIT,
                name="Sở Nội vụ",
                level=Level.DEPARTMENT,
                council_id="hdtd-tinh",
                criteria_set="demo-department",
            )
        )
        yield obs


async def test_linked_document_reaches_a_score_through_rabbitmq_and_postgres(
    cluster: Cluster, observer: Observer, corpus: Corpus
) -> None:
    score = SelfScoreEntered(
        **_envelope(), unit_id=UNIT, year=YEAR, criterion_code="1.1", points=10, entered_by="vanthu.snv"
    )
    await observer.publish(score)
    link = _link(cluster, corpus.good, "21/KH-SNV")
    await observer.publish(link)

    verdicts = await observer.wait_for(
        lambda m: m["type"] == "EvidenceVerified" and m["link_id"] == str(link.link_id)
    )
    assert verdicts[0]["report"]["decision"] == "accepted", verdicts[0]["report"]["reasons"]
    updates = await observer.wait_for(
        lambda m: m["type"] == "ScoreUpdated" and m["unit_id"] == UNIT and m["verified"] == "10"
    )
    assert updates[-1]["self_assessed"] == "10"

    with cluster.engine.connect() as conn:
        decision = conn.execute(
            sa.text("SELECT decision FROM verifier_verdicts WHERE link_id = :l"), {"l": str(link.link_id)}
        ).scalar_one()
        assert decision == "accepted"
        version, index = conn.execute(
            sa.text("SELECT version, index_value FROM scoring_scores WHERE unit_id = :u AND year = :y"),
            {"u": UNIT, "y": YEAR},
        ).one()
        assert version >= 2
        # 10 verified points of an applicable maximum of 100 (demo set).
        assert Decimal(index) == Decimal(10)
        indexed = conn.execute(
            sa.text("SELECT removed FROM indexer_entries WHERE link_id = :l"), {"l": str(link.link_id)}
        ).scalar_one()
        assert indexed is False
        unpublished = conn.execute(
            sa.text("SELECT count(*) FROM messaging_outbox WHERE published_at IS NULL")
        ).scalar_one()
        assert unpublished == 0


async def test_redelivered_document_gives_one_verdict_and_one_score_change(
    cluster: Cluster, observer: Observer, corpus: Corpus
) -> None:
    link = _link(cluster, corpus.lettered, "22a/KH-SNV", criterion="1.2")
    await observer.publish(link)
    await observer.publish(link)  # the e-office system sends it again: same event_id
    verdicts = await observer.wait_for(
        lambda m: m["type"] == "EvidenceVerified" and m["link_id"] == str(link.link_id)
    )
    assert verdicts[0]["report"]["decision"] == "rejected"
    assert "LETTERED_NUMBER" in verdicts[0]["report"]["reasons"]
    await observer.wait_for(
        lambda m: m["type"] == "ScoreUpdated" and m["correlation_id"] == str(link.correlation_id)
    )
    await asyncio.sleep(3.0)  # room for a wrongly processed duplicate to show up
    assert len([m for m in observer.received if m.get("link_id") == str(link.link_id)]) == 1
    caused = [
        m
        for m in observer.received
        if m["type"] == "ScoreUpdated" and m["correlation_id"] == str(link.correlation_id)
    ]
    assert len(caused) == 1
    with cluster.engine.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT count(*) FROM verifier_verdicts WHERE link_id = :l"), {"l": str(link.link_id)}
        ).scalar_one()
        processed = conn.execute(
            sa.text("SELECT count(*) FROM messaging_inbox WHERE event_id = :e"), {"e": str(link.event_id)}
        ).scalar_one()
    assert rows == 1
    assert processed == 1


async def _dead_letters(
    url: str, queue_name: str, expected: int
) -> list[aio_pika.abc.AbstractIncomingMessage]:
    connection = await aio_pika.connect_robust(url)
    got: list[aio_pika.abc.AbstractIncomingMessage] = []
    async with connection:
        channel = await connection.channel()
        queue = await channel.declare_queue(queue_name, passive=True)
        for _ in range(int(WAIT_SECONDS * 10)):
            message = await queue.get(fail=False)
            if message is not None:
                await message.ack()
                got.append(message)
                if len(got) >= expected:
                    break
            else:
                await asyncio.sleep(0.1)
    return got


async def test_poison_messages_go_to_the_dead_letter_queue_and_the_worker_keeps_serving(
    cluster: Cluster, observer: Observer, corpus: Corpus
) -> None:
    await observer.publish_raw(b"{this is not json", "DocumentLinked.v1")
    future = json.loads(serialise(_link(cluster, corpus.good, "21/KH-SNV")))
    future["schema_version"] = 9
    await observer.publish_raw(json.dumps(future).encode(), "DocumentLinked.v9")

    dead = await _dead_letters(cluster.amqp_url, "kiemchung.evidence-verifier.dlq", expected=2)
    reasons = sorted(str((m.headers or {}).get("x-kiemchung-reason")) for m in dead)
    assert reasons == ["MALFORMED_JSON", "UNKNOWN_SCHEMA_VERSION"]
    assert all((m.headers or {}).get("x-kiemchung-detail") for m in dead)

    # the same field as the module's first link of this file: a second field would be REUSED_EVIDENCE
    link = _link(cluster, corpus.good, "21/KH-SNV", criterion="1.3")
    await observer.publish(link)
    verdicts = await observer.wait_for(
        lambda m: m["type"] == "EvidenceVerified" and m["link_id"] == str(link.link_id)
    )
    assert verdicts[0]["report"]["decision"] == "accepted"
    for worker in cluster.workers:
        assert worker.poll() is None, "a worker died"


async def test_a_second_document_under_the_same_number_reopens_the_first_verdict_across_workers(
    cluster: Cluster, observer: Observer, corpus: Corpus
) -> None:
    from datetime import date, timedelta, timezone

    from services.evidence_verifier.testkit import documents as docs

    vietnam = timezone(timedelta(hours=7))
    creds = corpus.pki.unit("Sở Nội vụ")
    spec = docs.DocumentSpec(
        issuer="Sở Nội vụ", number="21/KH-SNV", issued_on=date(2024, 3, 12), title="KẾ HOẠCH Khác hẳn"
    )
    options = docs.SignOptions(signing_time=datetime(2024, 3, 12, 11, 0, tzinfo=vietnam), tsa=corpus.pki.tsa)
    other = corpus.directory / "same-number-other-content.pdf"
    # pyHanko signs through asyncio.run: outside this test's running loop
    signed = await asyncio.to_thread(
        docs.sign_organisation_and_person, docs.make_document(spec), creds.organisation, creds.person, options
    )
    other.write_bytes(signed)

    first = _link(cluster, corpus.good, "21/KH-SNV", criterion="1.5")
    await observer.publish(first)
    await observer.wait_for(lambda m: m["type"] == "EvidenceVerified" and m["link_id"] == str(first.link_id))
    second = _link(cluster, other, "21/KH-SNV", criterion="1.6")
    await observer.publish(second)

    def flagged(link: DocumentLinked) -> Any:
        return lambda m: (
            m["type"] == "EvidenceVerified"
            and m["link_id"] == str(link.link_id)
            and "DUPLICATE_NUMBER" in m["report"]["reasons"]
        )

    [mine] = await observer.wait_for(flagged(second))
    [reopened] = await observer.wait_for(flagged(first))
    assert reopened["report"]["decision"] == "needs_review"
    assert str(second.link_id) in {r["link_id"] for f in reopened["findings"] for r in f["related"]}
    assert mine["report"]["decision"] == "needs_review"
    # the indexer took the re-opened verdict as the newer one
    for _ in range(100):
        with cluster.engine.connect() as conn:
            entry = conn.execute(
                sa.text("SELECT entry FROM indexer_entries WHERE link_id = :l"), {"l": str(first.link_id)}
            ).scalar_one()
        if (json.loads(entry) if isinstance(entry, str) else entry)["decision"] == "needs_review":
            break
        await asyncio.sleep(0.1)
    else:
        raise AssertionError("the indexer kept the first verdict")


def _scrape(cluster: Cluster, service: str, path: str = "/metrics") -> tuple[int, str]:
    url = f"http://127.0.0.1:{cluster.probe_ports[service]}{path}"
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return int(response.status), response.read().decode("utf-8")
    except urllib.error.HTTPError as exc:
        return int(exc.code), exc.read().decode("utf-8")


def _value(text: str, sample: str) -> float:
    """A sample's value from the exposition text (`name{labels}` exactly as exported)."""
    for line in text.splitlines():
        if line.startswith(sample + " "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def _spans(cluster: Cluster) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for path in cluster.span_files.values():
        if path.exists():
            found.extend(json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line)
    return found


async def test_workers_export_metrics_and_one_trace_spans_the_three_services(
    cluster: Cluster, observer: Observer, corpus: Corpus
) -> None:
    await observer.publish_raw(b"{not json", "DocumentLinked.v1")
    # Points self-assessed on the leaf, so the verdict changes the score (a ScoreUpdated follows).
    await observer.publish(
        SelfScoreEntered(
            **_envelope(), unit_id=UNIT, year=YEAR, criterion_code="2.1.1", points=5, entered_by="vanthu.snv"
        )
    )
    link = _link(cluster, corpus.good, "21/KH-SNV", criterion="2.1.1")
    await observer.publish(link)
    await observer.wait_for(lambda m: m["type"] == "EvidenceVerified" and m["link_id"] == str(link.link_id))
    await observer.wait_for(
        lambda m: m["type"] == "ScoreUpdated" and m["correlation_id"] == str(link.correlation_id)
    )

    for service in SERVICES:
        status, body = _scrape(cluster, service, "/readyz")
        assert status == 200, body
        assert json.loads(body)["checks"] == {"broker": "ok", "database": "ok"}
        assert _scrape(cluster, service, "/healthz")[0] == 200
    _, verifier = _scrape(cluster, "evidence-verifier")
    linked = (
        'kiemchung_messages_total{event_type="DocumentLinked",service="evidence-verifier",status="processed"}'
    )
    assert _value(verifier, linked) >= 1
    assert _value(verifier, 'kiemchung_verdicts_total{decision="accepted",reason="NONE"}') >= 1
    assert _value(verifier, 'kiemchung_verification_stage_seconds_count{stage="fetch_and_verify"}') >= 1
    for stage in ("fetch", "parse", "signatures", "render_check", "pages"):
        assert _value(verifier, f'kiemchung_verification_stage_seconds_count{{stage="{stage}"}}') >= 1, stage
    refused = (
        'kiemchung_dead_lettered_total{event_type="unparsed",reason="MALFORMED_JSON",'
        'service="evidence-verifier"}'
    )
    assert _value(verifier, refused) >= 1
    assert (
        'kiemchung_queue_lag_seconds_count{event_type="DocumentLinked",service="evidence-verifier"}'
        in verifier
    )
    _, scoring = _scrape(cluster, "scoring")
    assert _value(scoring, "kiemchung_link_to_score_seconds_count") >= 1
    assert 'kiemchung_outbox_backlog{service="scoring"}' in scoring
    # The housekeeping loop reads the queue depths from the broker.
    for _ in range(int(WAIT_SECONDS * 10)):
        _, verifier = _scrape(cluster, "evidence-verifier")
        if _value(verifier, 'kiemchung_queue_messages{queue="kiemchung.evidence-verifier.dlq"}') >= 1:
            break
        await asyncio.sleep(0.1)
    else:
        raise AssertionError("the dead-letter queue depth never showed on /metrics")

    # One trace, from the link to the score, across the three worker processes.
    trace_id = f"0x{uuid.UUID(str(link.correlation_id)).int:032x}"
    for _ in range(int(WAIT_SECONDS * 10)):
        flow = [s for s in _spans(cluster) if s["context"]["trace_id"] == trace_id]
        names = {s["name"] for s in flow}
        if {"scoring publish ScoreUpdated", "indexer process EvidenceVerified"} <= names:
            break
        await asyncio.sleep(0.1)
    by_id = {s["context"]["span_id"]: s for s in flow}

    def parent_name(span: dict[str, Any]) -> str:
        return str(by_id.get(span["parent_id"], {}).get("name"))

    scores = [s for s in flow if s["name"] == "scoring publish ScoreUpdated"]
    assert scores
    assert {parent_name(s) for s in scores} == {"scoring process EvidenceVerified"}
    scoring_spans = [by_id[s["parent_id"]] for s in scores]
    assert {parent_name(s) for s in scoring_spans} == {"evidence-verifier publish EvidenceVerified"}
    verifier_publishes = [by_id[s["parent_id"]] for s in scoring_spans]
    assert {parent_name(s) for s in verifier_publishes} == {"evidence-verifier process DocumentLinked"}
    indexed = [s for s in flow if s["name"] == "indexer process EvidenceVerified"]
    assert {parent_name(s) for s in indexed} == {"evidence-verifier publish EvidenceVerified"}


async def test_a_published_year_changes_only_by_a_correction_through_rabbitmq(
    cluster: Cluster, observer: Observer
) -> None:
    """Issue 13 on the distributed runtime: after Published, a ResultCorrected reaches the scoring
    worker over the broker (its own binding), re-scores once even when delivered twice, and any
    other command on the published year stays refused."""
    unit, year = "so-tu-phap", 2025  # a unit and year of its own: the other tests keep 2024 open
    await observer.publish(
        UnitRegistered(
            **_envelope("province.registry"),
            unit_id=unit,
            name="Sở Tư pháp",
            level=Level.DEPARTMENT,
            council_id="hdtd-tinh",
            criteria_set="demo-department",
        )
    )
    # The worker may take the next message before this one commits: score once the unit is known.
    for _ in range(int(WAIT_SECONDS * 10)):
        with cluster.engine.connect() as conn:
            known = conn.execute(
                sa.text("SELECT count(*) FROM scoring_units WHERE unit_id = :u"), {"u": unit}
            ).scalar_one()
        if known:
            break
        await asyncio.sleep(0.1)
    entered = SelfScoreEntered(
        **_envelope(),
        unit_id=unit,
        year=year,
        criterion_code="1.2",
        points=8,
        explanation="BC",
        entered_by="vt",
    )
    await observer.publish(entered)
    await observer.wait_for(
        lambda m: m["type"] == "ScoreUpdated" and m["correlation_id"] == str(entered.correlation_id)
    )
    submitted = Submitted(**_envelope(), unit_id=unit, year=year, submitted_by="ld")
    await observer.publish(submitted)
    await observer.wait_for(
        lambda m: m["type"] == "ScoreUpdated" and m["correlation_id"] == str(submitted.correlation_id)
    )
    published = Published(
        **_envelope("province.registry"), year=year, level=Level.DEPARTMENT, decision_number="9/QĐ"
    )
    await observer.publish(published)
    await observer.wait_for(
        lambda m: m["type"] == "ScoreUpdated" and m["correlation_id"] == str(published.correlation_id)
    )
    correction = ResultCorrected(
        **_envelope("province.registry"),
        unit_id=unit,
        year=year,
        decision_number="215/QĐ-UBND",
        reason="Phúc tra",
        points=[CorrectedPoints(criterion_code="1.2", points=Decimal(5))],
        corrected_by="so-noi-vu.cchc",
    )
    await observer.publish(correction)
    await observer.publish(correction)  # delivered again: same event id
    late = SelfScoreEntered(
        **_envelope(),
        unit_id=unit,
        year=year,
        criterion_code="1.1",
        points=9,
        explanation="BC",
        entered_by="vt",
    )
    await observer.publish(late)
    (update,) = await observer.wait_for(
        lambda m: m["type"] == "ScoreUpdated" and m["correlation_id"] == str(correction.correlation_id)
    )
    assert Decimal(update["index"]) == Decimal(5)
    await observer.wait_for(
        lambda m: m["type"] == "RankingUpdated" and m["correlation_id"] == str(correction.correlation_id)
    )
    await asyncio.sleep(3.0)  # room for a wrongly processed duplicate or late command to show up
    caused = [m for m in observer.received if m.get("correlation_id") == str(correction.correlation_id)]
    assert sorted(m["type"] for m in caused) == ["RankingUpdated", "ScoreUpdated"]
    with cluster.engine.connect() as conn:
        refused = conn.execute(
            sa.text("SELECT reason FROM scoring_rejections WHERE event_id = :e"), {"e": str(late.event_id)}
        ).scalar_one()
        frozen = conn.execute(
            sa.text("SELECT decision_number FROM scoring_published_setups WHERE unit_id = :u AND year = :y"),
            {"u": unit, "y": year},
        ).scalar_one()
    assert refused == "already_published"
    assert frozen == "9/QĐ"
