"""Fault injection on the distributed runtime: nothing lost, nothing twice, scores = replay.

The test starts its own RabbitMQ node and PostgreSQL cluster on spare ports (never the machine's
shared ones), the three workers as real processes, and sends a few hundred mixed events
(registrations, self scores, linked documents, re-sent duplicates) while it injects, in turn:

1. SIGKILL of the scoring worker in the middle of its batches, then of the verifier while it
   verifies (each restarted, as Kubernetes would);
2. a broker stop and start;
3. a PostgreSQL immediate stop for 12 s, with a poison message sent during the outage;
4. both at once.

Then, once the pipeline is quiet: every link has exactly one current verdict and its
DocumentLinked was processed once; every event reached scoring's inbox exactly once; each unit's
ScoreUpdated versions run 1..n with no gap or repeat; the live scores equal a replay of the
ledger; the dead-letter queues hold only the poison messages.
"""

from __future__ import annotations

import asyncio
import functools
import http.server
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import aio_pika
import pytest
import sqlalchemy as sa

from contracts.envelope import Event
from contracts.errors import ContractReason
from contracts.events import DocumentLinked, SelfScoreEntered, UnitRegistered
from contracts.registry import serialise
from contracts.routing import EXCHANGE, Service, routing_key_of
from contracts.vocabulary import Level
from kiemchung.dlq import Filter, key_of, rabbit_list
from kiemchung.runtime.migrate import upgrade
from services.scoring.replay import comparable, export_ledger, read_events, replay_scores
from services.scoring.service import load_catalogue
from tests.corpus import Corpus
from tests.faults.own_servers import OwnPostgres, OwnRabbit, available

pytestmark = pytest.mark.skipif(available() is not None, reason=str(available()))

SERVICES = ("evidence-verifier", "indexer", "scoring")
UNITS = ("so-noi-vu", "so-tai-chinh", "so-y-te", "so-tu-phap", "so-xay-dung", "ban-dan-toc")
LEAVES = ("1.1", "1.2", "2.1.1", "3.2")
YEAR = 2024
OCCURRED = datetime(2024, 11, 20, 2, 0, tzinfo=UTC)
SELF_SCORES = 260
LINKS = 24
RESENT = 16
PG_OUTAGE_SECONDS = 12.0
BOTH_OUTAGE_SECONDS = 6.0
BROKER_OUTAGE_SECONDS = 3.0
QUIET_SECONDS = 240.0
POLL_SECONDS = 0.5
SCORING_DONE = (
    "SELECT count(*) FROM messaging_inbox WHERE consumer = 'scoring' AND event_type <> 'UnitRegistered'"
)
KILL_AFTER = 12  # events scoring has committed before it is killed: in the middle of the stream
POISON = (b"{this is not json", b'{"type": "DocumentLinked", "schema_version": 1}')


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        return


@dataclass
class Cluster:
    rabbit: OwnRabbit
    postgres: OwnPostgres
    database_url: str
    env: dict[str, str]
    logs: Path
    eoffice: str = ""
    workers: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    restarts: Counter[str] = field(default_factory=Counter)

    def start(self, name: str) -> None:
        log = open(self.logs / f"{name}.log", "ab")  # noqa: SIM115
        self.workers[name] = subprocess.Popen(
            [sys.executable, "-m", "kiemchung.cli", "worker", name],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()

    def kill(self, name: str) -> None:
        self.workers[name].send_signal(signal.SIGKILL)
        self.workers[name].wait(timeout=30)

    def supervise(self) -> None:
        """Restart a worker that exited (Kubernetes would); the count is reported, not hidden."""
        for name, process in self.workers.items():
            if process.poll() is not None:
                self.restarts[name] += 1
                self.start(name)


@pytest.fixture(scope="module")
def cluster(corpus: Corpus) -> Iterator[Cluster]:
    root = Path(tempfile.mkdtemp(prefix="kiemchung-faults-"))
    root.chmod(0o711)  # the postgres user walks into its data directory
    postgres = OwnPostgres(root / "pg")
    rabbit = OwnRabbit(root / "rabbit")
    handler = functools.partial(_Quiet, directory=str(corpus.directory))
    eoffice = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=eoffice.serve_forever, daemon=True).start()
    try:
        postgres.init()
        database_url = postgres.url.rsplit("/", 1)[0] + "/kiemchung"
        admin = sa.create_engine(postgres.url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text("CREATE DATABASE kiemchung"))
        admin.dispose()
        upgrade(database_url)
        rabbit.start()
        logs = root / "logs"
        logs.mkdir()
        env = {
            **os.environ,
            "KIEMCHUNG_RUNTIME": "distributed",
            "KIEMCHUNG_DATABASE_URL": database_url,
            "KIEMCHUNG_BROKER_URL": rabbit.url,
            "KIEMCHUNG_DATA_DIR": str(root / "data"),
            "KIEMCHUNG_SEARCH_SQLITE_PATH": str(root / "data" / "search.db"),
            "KIEMCHUNG_TRUST_DIRS": json.dumps([str(corpus.trust_dir)]),
            "KIEMCHUNG_FETCH_ALLOWED_HOSTS": json.dumps(["127.0.0.1"]),
            "KIEMCHUNG_FETCH_HTTP_HOSTS": json.dumps(["127.0.0.1"]),
            "KIEMCHUNG_FETCH_PRIVATE_HOSTS": json.dumps(["127.0.0.1"]),
            "KIEMCHUNG_MAX_DELIVERY_ATTEMPTS": "3",
            "KIEMCHUNG_RETRY_BACKOFF_SECONDS": "0.1",
        }
        result = Cluster(rabbit, postgres, database_url, env, logs)
        result.eoffice = f"http://127.0.0.1:{eoffice.server_address[1]}"
        for name in SERVICES:
            result.start(name)
        asyncio.run(_wait_for_queues(rabbit.url))
        yield result
    finally:
        for process in locals().get("result", Cluster(rabbit, postgres, "", {}, root)).workers.values():
            process.kill()
            process.wait(timeout=30)
        eoffice.shutdown()
        rabbit.destroy()
        postgres.destroy()
        # The servers' data goes; the workers' logs stay (a few MB) so a failure can be read.
        for data in (root / "pg", root / "rabbit", root / "data"):
            shutil.rmtree(data, ignore_errors=True)


async def _wait_for_queues(url: str) -> None:
    connection = await aio_pika.connect_robust(url)
    async with connection:
        for _ in range(240):
            channel = await connection.channel()
            try:
                for name in SERVICES:
                    await channel.declare_queue(f"kiemchung.{name}", passive=True)
                return
            except aio_pika.exceptions.ChannelClosed:
                await asyncio.sleep(0.5)
    raise AssertionError("the workers did not declare their queues")


def _envelope(producer: str) -> dict[str, Any]:
    return {
        "event_id": uuid.uuid4(),
        "occurred_at": OCCURRED,
        "correlation_id": uuid.uuid4(),
        "producer": producer,
    }


def _workload(base: str, corpus: Corpus) -> tuple[list[Event], list[Event], list[DocumentLinked]]:
    """(registrations, the mixed stream, the links)."""
    registrations: list[Event] = [
        UnitRegistered(
            **_envelope("province.registry"),
            unit_id=unit,
            name=unit,
            level=Level.DEPARTMENT,
            council_id="hdtd-tinh",
            criteria_set="demo-department",
        )
        for unit in UNITS
    ]
    stream: list[Event] = []
    links: list[DocumentLinked] = []
    for i in range(SELF_SCORES):
        stream.append(
            SelfScoreEntered(
                **_envelope("eoffice.test"),
                unit_id=UNITS[i % len(UNITS)],
                year=YEAR,
                criterion_code=LEAVES[(i // len(UNITS)) % len(LEAVES)],
                points=Decimal(i % 7) / 2,
                explanation="Đã thực hiện",
                entered_by="vanthu",
            )
        )
        if i % (SELF_SCORES // LINKS) == 0 and len(links) < LINKS:
            document = corpus.good if len(links) % 3 else corpus.lettered
            link = DocumentLinked(
                **_envelope("eoffice.test"),
                link_id=uuid.uuid4(),
                unit_id=UNITS[len(links) % len(UNITS)],
                year=YEAR,
                criterion_code=LEAVES[len(links) % len(LEAVES)],
                document_id=f"VB-{len(links)}",
                fetch_url=f"{base}/{document.name}",
                number="21/KH-SNV" if document == corpus.good else "22a/KH-SNV",
                issuer="Sở Nội vụ",
                title=f"Văn bản {len(links)}",
                linked_by="vanthu",
            )
            links.append(link)
            stream.append(link)
    # e-office re-sends some messages (same event_id): each must be processed once.
    stream += [stream[i * 7] for i in range(RESENT)]
    return registrations, stream, links


class Sender:
    def __init__(self, url: str) -> None:
        self.url = url

    async def send(self, events: list[Event] | list[bytes], routing_key: str = "") -> None:
        connection = await aio_pika.connect(self.url)
        async with connection:
            channel = await connection.channel(publisher_confirms=True)
            exchange = await channel.get_exchange(EXCHANGE)
            for item in events:
                body = item if isinstance(item, bytes) else serialise(item)
                key = routing_key if isinstance(item, bytes) else routing_key_of(item)
                await exchange.publish(
                    aio_pika.Message(body, delivery_mode=aio_pika.DeliveryMode.PERSISTENT), routing_key=key
                )


def _wait_until(cluster: Cluster, sql: str, count: int) -> None:
    engine = sa.create_engine(cluster.database_url)
    try:
        deadline = time.monotonic() + QUIET_SECONDS
        while time.monotonic() < deadline:
            with engine.connect() as conn:
                done = conn.execute(sa.text(sql)).scalar_one()
            if done >= count:
                return
            time.sleep(POLL_SECONDS / 10)
    finally:
        engine.dispose()
    raise AssertionError(f"never reached {count}: {sql}")


def _quiet(cluster: Cluster, links: list[DocumentLinked], scoring_events: set[str]) -> dict[str, Any]:
    """Wait until every link has a verdict, scoring saw every event and the outbox is empty."""
    engine = sa.create_engine(cluster.database_url)
    link_ids = [str(link.link_id) for link in links]
    state: dict[str, Any] = {}
    try:
        deadline = time.monotonic() + QUIET_SECONDS
        while time.monotonic() < deadline:
            cluster.supervise()
            try:
                with engine.connect() as conn:
                    verdicts = conn.execute(
                        sa.text("SELECT count(*) FROM verifier_verdicts WHERE link_id = ANY(:ids)"),
                        {"ids": link_ids},
                    ).scalar_one()
                    seen = conn.execute(
                        sa.text(
                            "SELECT count(*) FROM messaging_inbox "
                            "WHERE consumer = 'scoring' AND event_id = ANY(:ids)"
                        ),
                        {"ids": sorted(scoring_events)},
                    ).scalar_one()
                    unsent = conn.execute(
                        sa.text("SELECT count(*) FROM messaging_outbox WHERE published_at IS NULL")
                    ).scalar_one()
                    scored = conn.execute(
                        sa.text(
                            "SELECT count(*) FROM messaging_inbox i JOIN messaging_outbox o "
                            "ON o.event_id = i.event_id WHERE i.consumer = 'scoring' "
                            "AND o.routing_key LIKE 'EvidenceVerified%'"
                        )
                    ).scalar_one()
                    verified = conn.execute(
                        sa.text(
                            "SELECT count(*) FROM messaging_outbox WHERE routing_key LIKE 'EvidenceVerified%'"
                        )
                    ).scalar_one()
                state = {"verdicts": verdicts, "scoring_seen": seen, "unsent": unsent}
                if (
                    verdicts == len(link_ids)
                    and seen == len(scoring_events)
                    and unsent == 0
                    and scored == verified
                ):
                    return state
            except sa.exc.OperationalError:
                pass
            time.sleep(POLL_SECONDS)
    finally:
        engine.dispose()
    raise AssertionError(f"the pipeline did not settle: {state}; logs in {cluster.logs}")


def test_outages_and_crashes_lose_nothing_and_process_nothing_twice(cluster: Cluster, corpus: Corpus) -> None:
    registrations, stream, links = _workload(cluster.eoffice, corpus)
    sender = Sender(cluster.rabbit.url)
    parts = [stream[i::4] for i in range(4)]  # four slices, each with links, scores and re-sends
    asyncio.run(sender.send(registrations))

    # 1. The scoring worker is killed in the middle of its batches, then restarted.
    asyncio.run(sender.send(parts[0]))
    _wait_until(cluster, SCORING_DONE, KILL_AFTER)
    cluster.kill("scoring")
    cluster.start("scoring")
    # The verifier too, while it verifies: its verification processes must not outlive it.
    _wait_until(cluster, "SELECT count(*) FROM verifier_verdicts", 1)
    cluster.kill("evidence-verifier")
    cluster.start("evidence-verifier")

    # 2. The broker stops and starts again.
    asyncio.run(sender.send(parts[1]))
    cluster.rabbit.stop()
    time.sleep(BROKER_OUTAGE_SECONDS)
    cluster.rabbit.start()
    cluster.supervise()

    # 3. PostgreSQL stops at once for a while; poison arrives meanwhile.
    cluster.postgres.stop_immediately()
    asyncio.run(sender.send(parts[2]))
    asyncio.run(sender.send(list(POISON), routing_key="DocumentLinked.v1"))
    time.sleep(PG_OUTAGE_SECONDS)
    cluster.postgres.start()

    # 4. Both at once.
    asyncio.run(sender.send(parts[3]))
    cluster.postgres.stop_immediately()
    cluster.rabbit.stop()
    time.sleep(BOTH_OUTAGE_SECONDS)
    cluster.postgres.start()
    cluster.rabbit.start()
    cluster.supervise()

    # Outages are waited out, not crashed on: no worker had to be restarted.
    assert cluster.restarts == Counter(), cluster.restarts
    scoring_events = {str(e.event_id) for e in [*registrations, *stream] if not isinstance(e, DocumentLinked)}
    _quiet(cluster, links, scoring_events)
    _assert_end_state(cluster, links, registrations, stream)


def _assert_end_state(
    cluster: Cluster, links: list[DocumentLinked], registrations: list[Event], stream: list[Event]
) -> None:
    engine = sa.create_engine(cluster.database_url)
    try:
        with engine.connect() as conn:
            verdicts: dict[str, list[str]] = {
                str(row.link_id): list(row.reasons)
                for row in conn.execute(sa.text("SELECT link_id, reasons FROM verifier_verdicts"))
            }
            processed = Counter(
                conn.execute(sa.text("SELECT consumer || '/' || event_id FROM messaging_inbox")).scalars()
            )
            ledger_ids = list(conn.execute(sa.text("SELECT event_id FROM scoring_ledger")).scalars())
            updates = [
                json.loads(body)
                for body in conn.execute(
                    sa.text(
                        "SELECT body FROM messaging_outbox WHERE routing_key LIKE 'ScoreUpdated%' ORDER BY id"
                    )
                ).scalars()
            ]
            live = [
                comparable(s)
                for s in conn.execute(
                    sa.text("SELECT snapshot FROM scoring_scores ORDER BY unit_id, year")
                ).scalars()
            ]
            parked = conn.execute(sa.text("SELECT count(*) FROM messaging_deferred")).scalar_one()
        with sa.orm.Session(engine) as session:
            lines = list(export_ledger(session))
    finally:
        engine.dispose()

    # Every link: exactly one current verdict, from a document actually fetched and checked.
    assert sorted(verdicts) == sorted(str(link.link_id) for link in links)
    assert all(
        "FETCH_FAILED" not in reasons and "INTERNAL_ERROR" not in reasons for reasons in verdicts.values()
    )
    assert parked == 0
    # Nothing processed twice: one inbox row per consumer and event, each sent event present.
    assert max(processed.values()) == 1
    for link in links:
        assert processed[f"evidence-verifier/{link.event_id}"] == 1
    for event in [*registrations, *stream]:
        if not isinstance(event, DocumentLinked):
            assert processed[f"scoring/{event.event_id}"] == 1
    assert len(ledger_ids) == len(set(ledger_ids))
    # ScoreUpdated versions per unit and year: 1..n, no gap, no repeat.
    versions: dict[tuple[str, int], list[int]] = defaultdict(list)
    for update in updates:
        versions[(update["unit_id"], update["year"])].append(update["version"])
    assert versions
    for key, seen in versions.items():
        assert sorted(seen) == list(range(1, len(seen) + 1)), key
    # The live scores are what a replay of the ledger gives.
    assert replay_scores(read_events(io.StringIO("\n".join(lines))), load_catalogue()) == live
    # The dead-letter queues hold the poison messages and nothing else.
    dead = asyncio.run(rabbit_list(cluster.rabbit.url, Filter(tuple(Service)), 1000))
    assert {x.key for x in dead} == {key_of(p) for p in POISON}
    contract_reasons = {r.value for r in ContractReason}
    assert all(x.reason in contract_reasons for x in dead), [x.reason for x in dead]
