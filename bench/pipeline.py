"""The distributed runtime under load: RabbitMQ + PostgreSQL + the real workers as processes.

Run: .venv/bin/python bench/pipeline.py [--events 5000] [--docs 60] [--replicas 1 2 4]

1. scoring worker throughput: `--events` SelfScoreEntered queued while the worker is stopped,
   then drained; events/s = events / (last commit - first commit), from the inbox's times;
2. end to end, documents/s with 1, 2, 4 verifier processes (competing consumers, one
   verification process each) plus the indexer and scoring workers: `--docs` links queued, then
   drained; documents/s from the verdicts' times;
3. latency link → ScoreUpdated (observed on the events exchange, as the province's software
   sees it): p50/p99 with links sent at half the measured capacity for `--steady` seconds, and
   under a burst of 10× the capacity per second sent at once.

Uses a fresh vhost and database on the machine's shared servers (tests/servers.py). The machine
is shared: run it twice and report both.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import http.server
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import aio_pika
import sqlalchemy as sa

from contracts.envelope import Event
from contracts.events import DocumentLinked, SelfScoreEntered, UnitRegistered
from contracts.registry import serialise
from contracts.routing import EXCHANGE, routing_key_of
from contracts.vocabulary import Level
from kiemchung.runtime.migrate import upgrade

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from services.evidence_verifier.testkit import documents as docs
from tests.corpus import UNIT_NAME, VIETNAM, Corpus, build_corpus
from tests.servers import fresh_database, fresh_vhost

UNITS = tuple(f"so-{i:02d}" for i in range(20))
LEAVES = ("1.1", "1.2", "2.1.1", "3.2")
YEAR = 2024
OCCURRED = datetime(2024, 11, 20, 2, 0, tzinfo=UTC)
SETTLE_SECONDS = 600.0
POLL_SECONDS = 0.25
PERCENT = 100
BURST_FACTOR = 10


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        return


def _envelope(producer: str = "eoffice.bench") -> dict[str, Any]:
    return {
        "event_id": uuid.uuid4(),
        "occurred_at": OCCURRED,
        "correlation_id": uuid.uuid4(),
        "producer": producer,
    }


def _registrations() -> list[Event]:
    return [
        UnitRegistered(
            **_envelope("province.registry"),
            unit_id=u,
            name=u,
            level=Level.DEPARTMENT,
            council_id="hdtd",
            criteria_set="demo-department",
        )
        for u in UNITS
    ]


def _scores(count: int) -> list[Event]:
    return [
        SelfScoreEntered(
            **_envelope(),
            unit_id=UNITS[i % len(UNITS)],
            year=YEAR,
            criterion_code=LEAVES[(i // len(UNITS)) % len(LEAVES)],
            points=Decimal(i % 9) / 2,
            explanation="x",
            entered_by="vanthu",
        )
        for i in range(count)
    ]


def sign_documents(corpus: Corpus, count: int, first: int = 0) -> list[tuple[str, str]]:
    """(file name, number) of `count` signed documents with distinct numbers: links sharing one
    number would make the evidence register re-open each other's verdicts (quadratic work)."""
    creds = corpus.pki.unit(UNIT_NAME)
    options = docs.SignOptions(signing_time=datetime(2024, 3, 12, 10, 0, tzinfo=VIETNAM), tsa=corpus.pki.tsa)
    out: list[tuple[str, str]] = []
    for i in range(first, first + count):
        number = f"{i + 100}/KH-SNV"
        spec = docs.DocumentSpec(issuer=UNIT_NAME, number=number, issued_on=date(2024, 3, 12))
        data = docs.sign_organisation_and_person(
            docs.make_document(spec), creds.organisation, creds.person, options
        )
        name = f"bench-{i}.pdf"
        (corpus.directory / name).write_bytes(data)
        out.append((name, number))
    return out


def _links(base: str, documents: list[tuple[str, str]]) -> list[DocumentLinked]:
    return [
        DocumentLinked(
            **_envelope(),
            link_id=uuid.uuid4(),
            unit_id=UNITS[i % len(UNITS)],
            year=YEAR,
            criterion_code=LEAVES[i % len(LEAVES)],
            document_id=f"VB-{uuid.uuid4().hex[:8]}",
            fetch_url=f"{base}/{name}",
            number=number,
            issuer=UNIT_NAME,
            title="Kế hoạch",
            linked_by="vanthu",
        )
        for i, (name, number) in enumerate(documents)
    ]


async def _publish(url: str, events: list[Event]) -> None:
    connection = await aio_pika.connect(url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.declare_exchange(EXCHANGE, aio_pika.ExchangeType.TOPIC, durable=True)
        await asyncio.gather(
            *(
                exchange.publish(
                    aio_pika.Message(serialise(e), delivery_mode=aio_pika.DeliveryMode.PERSISTENT),
                    routing_key=routing_key_of(e),
                )
                for e in events
            )
        )


class Workers:
    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env = env
        self.logs = logs
        self.processes: list[subprocess.Popen[bytes]] = []

    def start(self, service: str, count: int = 1) -> None:
        for i in range(count):
            log = open(self.logs / f"{service}-{i}.log", "ab")  # noqa: SIM115
            self.processes.append(
                subprocess.Popen(
                    [sys.executable, "-m", "kiemchung.cli", "worker", service],
                    env=self.env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
            log.close()

    def stop(self) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        self.processes.clear()


def _wait_count(engine: sa.Engine, sql: str, params: dict[str, Any], expected: int) -> None:
    deadline = time.monotonic() + SETTLE_SECONDS
    while time.monotonic() < deadline:
        with engine.connect() as conn:
            if conn.execute(sa.text(sql), params).scalar_one() >= expected:
                return
        time.sleep(POLL_SECONDS)
    raise TimeoutError(sql)


def _span(engine: sa.Engine, sql: str, params: dict[str, Any]) -> float:
    with engine.connect() as conn:
        first, last = conn.execute(sa.text(sql), params).one()
    return float((last - first).total_seconds())


@contextmanager
def _environment(trust_dir: Path) -> Iterator[tuple[str, str, dict[str, str], Path]]:
    with fresh_database() as db_url, fresh_vhost() as amqp_url:
        upgrade(db_url)
        work = Path(tempfile.mkdtemp(prefix="kiemchung-bench-"))
        env = {
            **os.environ,
            "KIEMCHUNG_RUNTIME": "distributed",
            "KIEMCHUNG_DATABASE_URL": db_url,
            "KIEMCHUNG_BROKER_URL": amqp_url,
            "KIEMCHUNG_DATA_DIR": str(work),
            "KIEMCHUNG_SEARCH_SQLITE_PATH": str(work / "search.db"),
            "KIEMCHUNG_TRUST_DIRS": json.dumps([str(trust_dir)]),
            "KIEMCHUNG_FETCH_ALLOWED_HOSTS": json.dumps(["127.0.0.1"]),
            "KIEMCHUNG_FETCH_HTTP_HOSTS": json.dumps(["127.0.0.1"]),
            "KIEMCHUNG_FETCH_PRIVATE_HOSTS": json.dumps(["127.0.0.1"]),
            "KIEMCHUNG_VERIFY_WORKERS": "1",
        }
        yield db_url, amqp_url, env, work


def _topology(amqp_url: str, workers: Workers) -> None:
    """Start each worker once so its queue exists, then stop them: messages queue up."""
    for service in ("evidence-verifier", "indexer", "scoring"):
        workers.start(service)
    asyncio.run(_wait_for_queues(amqp_url))
    workers.stop()


async def _wait_for_queues(url: str) -> None:
    connection = await aio_pika.connect_robust(url)
    async with connection:
        for _ in range(400):
            channel = await connection.channel()
            try:
                for name in ("evidence-verifier", "indexer", "scoring"):
                    await channel.declare_queue(f"kiemchung.{name}", passive=True)
                return
            except aio_pika.exceptions.ChannelClosed:
                await asyncio.sleep(0.25)
    raise TimeoutError("queues")


def scoring_throughput(trust_dir: Path, events: int) -> float:
    with _environment(trust_dir) as (db_url, amqp_url, env, work):
        workers = Workers(env, work)
        _topology(amqp_url, workers)
        engine = sa.create_engine(db_url)
        workers.start("scoring")
        asyncio.run(_publish(amqp_url, _registrations()))
        where = "consumer = 'scoring'"
        _wait_count(engine, f"SELECT count(*) FROM messaging_inbox WHERE {where}", {}, len(UNITS))
        workers.stop()
        asyncio.run(_publish(amqp_url, _scores(events)))
        workers.start("scoring")
        total = len(UNITS) + events
        _wait_count(engine, f"SELECT count(*) FROM messaging_inbox WHERE {where}", {}, total)
        span = _span(
            engine,
            "SELECT min(processed_at), max(processed_at) FROM messaging_inbox "
            f"WHERE {where} AND event_type = 'SelfScoreEntered'",
            {},
        )
        workers.stop()
        engine.dispose()
        return events / span


class Observer:
    """Binds to ScoreUpdated on the events exchange; records when each correlation id arrives."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.arrived: dict[str, float] = {}

    async def run(self, ready: asyncio.Event, stop: asyncio.Event) -> None:
        connection = await aio_pika.connect(self.url)
        async with connection:
            channel = await connection.channel()
            exchange = await channel.declare_exchange(EXCHANGE, aio_pika.ExchangeType.TOPIC, durable=True)
            queue = await channel.declare_queue(exclusive=True)
            await queue.bind(exchange, routing_key="ScoreUpdated.*")

            async def on_message(message: aio_pika.abc.AbstractIncomingMessage) -> None:
                body = json.loads(message.body)
                self.arrived.setdefault(body["correlation_id"], time.monotonic())
                await message.ack()

            await queue.consume(on_message)
            ready.set()
            await stop.wait()


def _percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * pct / PERCENT))]


def end_to_end(trust_dir: Path, base: str, documents: list[tuple[str, str]], replicas: int) -> float:
    with _environment(trust_dir) as (db_url, amqp_url, env, work):
        workers = Workers(env, work)
        _topology(amqp_url, workers)
        engine = sa.create_engine(db_url)
        asyncio.run(_publish(amqp_url, _registrations()))
        links = _links(base, documents)
        asyncio.run(_publish(amqp_url, list(links)))
        workers.start("indexer")
        workers.start("scoring")
        workers.start("evidence-verifier", replicas)
        _wait_count(engine, "SELECT count(*) FROM verifier_verdicts", {}, len(links))
        span = _span(engine, "SELECT min(verified_at), max(verified_at) FROM verifier_verdicts", {})
        workers.stop()
        engine.dispose()
        return len(links) / span


async def _latencies(amqp_url: str, links: list[DocumentLinked], rate: float | None) -> list[float]:
    """Send `links` at `rate` per second (None: all at once); latency of each to its ScoreUpdated."""
    observer = Observer(amqp_url)
    ready, stop = asyncio.Event(), asyncio.Event()
    task = asyncio.create_task(observer.run(ready, stop))
    await ready.wait()
    sent: dict[str, float] = {}
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.get_exchange(EXCHANGE)
        start = time.monotonic()
        for i, link in enumerate(links):
            if rate is not None:
                await asyncio.sleep(max(0.0, start + i / rate - time.monotonic()))
            sent[str(link.correlation_id)] = time.monotonic()
            await exchange.publish(
                aio_pika.Message(serialise(link), delivery_mode=aio_pika.DeliveryMode.PERSISTENT),
                routing_key=routing_key_of(link),
            )
    deadline = time.monotonic() + SETTLE_SECONDS
    while len(set(sent) & set(observer.arrived)) < len(sent) and time.monotonic() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(POLL_SECONDS)
    stop.set()
    await task
    return [observer.arrived[c] - t for c, t in sent.items() if c in observer.arrived]


def latency(
    trust_dir: Path, base: str, documents: list[tuple[str, str]], capacity: float, steady: int, replicas: int
) -> None:
    with _environment(trust_dir) as (_, amqp_url, env, work):
        workers = Workers(env, work)
        _topology(amqp_url, workers)
        asyncio.run(_publish(amqp_url, _registrations()))
        workers.start("indexer")
        workers.start("scoring")
        workers.start("evidence-verifier", replicas)
        # Warm: every worker connected, the verifiers' processes started, the units registered.
        warm = _links(base, documents[: 2 * replicas])
        asyncio.run(_latencies(amqp_url, warm, None))
        documents = documents[2 * replicas :]
        half = capacity / 2
        links = _links(base, documents)
        steady_links, burst = links[:steady], links[steady:]
        measured = asyncio.run(_latencies(amqp_url, steady_links, half))
        print(
            f"latency link→ScoreUpdated at half capacity ({half:.1f}/s, {len(steady_links)} links): "
            f"p50 {_percentile(measured, 50):.2f} s, p99 {_percentile(measured, 99):.2f} s"
        )
        measured = asyncio.run(_latencies(amqp_url, burst, None))
        print(
            f"latency under a {BURST_FACTOR}x burst ({len(burst)} links at once): "
            f"p50 {_percentile(measured, 50):.2f} s, p99 {_percentile(measured, 99):.2f} s, "
            f"max {max(measured):.2f} s"
        )
        workers.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--docs", type=int, default=60)
    parser.add_argument("--replicas", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--steady", type=float, default=20.0, help="seconds of steady load")
    parser.add_argument("--skip-scoring", action="store_true")
    parser.add_argument("--capacity", type=float, help="documents/s to base the latency runs on (skip 2.)")
    args = parser.parse_args()
    corpus = build_corpus(Path(tempfile.mkdtemp(prefix="kiemchung-bench-corpus-")))
    handler = functools.partial(_Quiet, directory=str(corpus.directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    print(f"cpus: {os.cpu_count()}, load average: {os.getloadavg()}")
    if not args.skip_scoring:
        rate = scoring_throughput(corpus.trust_dir, args.events)
        print(f"scoring worker on PostgreSQL: {args.events} events, {rate:,.0f} events/s")
    documents = sign_documents(corpus, args.docs)
    best = args.capacity or 0.0
    for replicas in [] if args.capacity else args.replicas:
        rate = end_to_end(corpus.trust_dir, base, documents, replicas)
        best = max(best, rate)
        print(
            f"end to end, {replicas} verifier process(es): {len(documents)} documents, {rate:.1f} documents/s"
        )
    steady = max(1, int(best / 2 * args.steady))
    burst = max(1, int(best * BURST_FACTOR))
    more = sign_documents(corpus, steady + burst + 2 * max(args.replicas), first=len(documents))
    latency(corpus.trust_dir, base, more, best, steady, max(args.replicas))
    server.shutdown()


if __name__ == "__main__":
    main()
