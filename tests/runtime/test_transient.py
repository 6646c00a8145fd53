"""Transient failures are not the message's fault: no attempt spent, nothing dead-lettered.

A link whose e-office system is down waits (pending, visible to appraisers) and is fetched again
on a schedule until it gets its one verdict.
"""

from __future__ import annotations

import http.server
import json
import threading
import uuid
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from contracts.envelope import Event
from contracts.events import DocumentLinked, UnitRegistered
from contracts.routing import Service
from contracts.vocabulary import Level, ReasonCode
from kiemchung.bootstrap import build_embedded
from kiemchung.runtime.bus.inprocess import DependencyUnavailableError, InProcessBus
from kiemchung.runtime.clock import FrozenClock, SeededIds
from kiemchung.runtime.db import create_schema, dead_letters, deferred, inbox, make_engine, session_factory
from kiemchung.runtime.failures import Backoff, is_transient
from kiemchung.runtime.messaging import DEFER_BACKOFF, Handler, ServiceRuntime
from kiemchung.runtime.settings import Settings
from services.evidence_verifier.policy import decide
from services.evidence_verifier.store import verdicts
from services.scoring.handlers import current_ledger, load_unit
from services.scoring.service import load_catalogue
from services.scoring.views import PENDING_DECISION, EvidenceStatus, evidence_view
from tests.corpus import Corpus

START = datetime(2024, 5, 1, tzinfo=UTC)
ATTEMPTS = 3


def _wrapped(orig: Exception, cls: type[sa_exc.DBAPIError] = sa_exc.OperationalError) -> Exception:
    """What SQLAlchemy raises around a driver error."""
    return cls("SELECT 1", {}, orig)


def _real_connection_refused() -> Exception:
    engine = sa.create_engine("postgresql+psycopg://postgres@127.0.0.1:1/none?connect_timeout=2")
    try:
        with engine.connect():
            pass
    except Exception as exc:
        return exc
    finally:
        engine.dispose()
    raise AssertionError("nothing listens on port 1")


@pytest.mark.parametrize(
    ("exc", "transient"),
    [
        (_real_connection_refused(), True),
        (_wrapped(psycopg.errors.SerializationFailure("could not serialize access")), True),
        (_wrapped(psycopg.errors.DeadlockDetected("deadlock detected"), sa_exc.DBAPIError), True),
        (_wrapped(psycopg.errors.AdminShutdown("terminating connection")), True),
        (_wrapped(psycopg.errors.CannotConnectNow("the database system is starting up")), True),
        (TimeoutError(), True),
        (ConnectionResetError("reset by peer"), True),
        (_wrapped(psycopg.errors.UniqueViolation("duplicate key"), sa_exc.IntegrityError), False),
        (_wrapped(psycopg.errors.NumericValueOutOfRange("out of range"), sa_exc.DataError), False),
        (ValueError("a bad document"), False),
        (KeyError("criterion"), False),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, BaseException) else str(v),
)
def test_infrastructure_failures_are_transient_and_message_failures_are_not(
    exc: Exception, transient: bool
) -> None:
    assert is_transient(exc) is transient


def test_a_transient_cause_behind_an_application_error_still_counts_as_transient() -> None:
    outer = RuntimeError("could not record the verdict")
    outer.__cause__ = _wrapped(psycopg.OperationalError("server closed the connection unexpectedly"))
    assert is_transient(outer)


def test_backoff_grows_exponentially_is_capped_and_jittered() -> None:
    backoff = Backoff(base_seconds=0.5, cap_seconds=8.0, floor_seconds=0.01)
    assert [backoff.delay(n, rand=lambda: 1.0) for n in range(6)] == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0]
    assert backoff.delay(3, rand=lambda: 0.25) == 1.0
    assert backoff.delay(3, rand=lambda: 0.0) == 0.01


def _unit(ids: SeededIds, unit_id: str) -> UnitRegistered:
    return UnitRegistered(
        event_id=ids(),
        occurred_at=START,
        correlation_id=ids(),
        producer="test",
        unit_id=unit_id,
        name=unit_id,
        level=Level.COMMUNE,
        council_id="hdtd",
        criteria_set="demo-department",
    )


class _Outage:
    """The database 'goes away' for the first `failures` applies (a real driver error)."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.applied: list[str] = []

    def apply(self, event: UnitRegistered, _: None, session: Session) -> Sequence[Event]:
        if event.unit_id == "poison":
            raise ValueError("this unit can never be stored")
        if self.failures > 0:
            self.failures -= 1
            raise _wrapped(psycopg.OperationalError("connection to server at 127.0.0.1 failed"))
        self.applied.append(event.unit_id)
        return []


def _bus(tmp_path: Path, outage: _Outage, max_pauses: int = 50) -> tuple[InProcessBus, list[float], Any]:
    engine = make_engine(f"sqlite:///{tmp_path / 'state.db'}")
    create_schema(engine)
    runtime = ServiceRuntime(
        Service.INDEXER,
        {UnitRegistered: Handler(apply=outage.apply)},
        session_factory(engine),
        FrozenClock(START),
    )
    slept: list[float] = []
    readiness: list[bool] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        readiness.append(bus.ready)

    bus = InProcessBus(
        {Service.INDEXER: runtime},
        max_attempts=ATTEMPTS,
        sleep=sleep,
        rand=lambda: 0.5,
        max_pauses=max_pauses,
    )
    return bus, slept, (engine, readiness)


async def test_a_database_outage_spends_no_attempt_and_dead_letters_nothing(tmp_path: Path) -> None:
    outage = _Outage(failures=4 * ATTEMPTS)  # far more failures than a message's attempts
    bus, slept, (engine, readiness) = _bus(tmp_path, outage)
    ids = SeededIds(seed=3)
    for unit_id in ("xa-a", "poison", "xa-b", "xa-c"):
        await bus.publish_raw_to(Service.INDEXER, _unit(ids, unit_id).model_dump_json().encode())
    await bus.drain()

    # A batch that met the poison message rolled back and was applied one by one: the units are
    # applied more than once but committed once each (the inbox).
    assert set(outage.applied) == {"xa-a", "xa-b", "xa-c"}
    assert len(slept) >= 4 * ATTEMPTS / 3  # it paused instead of retrying at once
    assert slept == sorted(slept) or max(slept) == 5.0  # the pauses grow (up to the cap)
    assert readiness
    assert not any(readiness)  # not ready while paused
    assert bus.ready
    with engine.connect() as conn:
        dead = conn.execute(select(dead_letters.c.reason, dead_letters.c.attempts)).all()
        processed = conn.execute(select(func.count()).select_from(inbox)).scalar_one()
    # Only the message's own failure was dead-lettered, after exactly its bounded attempts.
    assert [(r.reason, r.attempts) for r in dead] == [("ValueError", ATTEMPTS)]
    assert processed == 3


async def test_an_outage_longer_than_the_pauses_keeps_the_messages_for_the_next_drain(tmp_path: Path) -> None:
    outage = _Outage(failures=5)
    bus, _, (engine, _) = _bus(tmp_path, outage, max_pauses=3)
    ids = SeededIds(seed=4)
    await bus.publish_raw_to(Service.INDEXER, _unit(ids, "xa-a").model_dump_json().encode())
    with pytest.raises(DependencyUnavailableError):
        await bus.drain()
    assert not bus.ready
    await bus.drain()  # the database is back: the message was kept, not lost or dead-lettered
    assert outage.applied == ["xa-a"]
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(dead_letters)).scalar_one() == 0


class _EOffice(http.server.BaseHTTPRequestHandler):
    """Serves the corpus, or answers 503 while `down` (an e-office outage)."""

    directory: Path
    down = threading.Event()

    def do_GET(self) -> None:
        if self.down.is_set():
            self.send_response(503)
            self.end_headers()
            return
        data = (self.directory / self.path.lstrip("/")).read_bytes()
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        return


@pytest.fixture
def eoffice(corpus: Corpus) -> Iterator[tuple[str, threading.Event]]:
    down = threading.Event()
    handler = type("Handler", (_EOffice,), {"directory": corpus.directory, "down": down})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", down
    finally:
        server.shutdown()


async def test_a_link_whose_eoffice_is_down_waits_as_pending_and_gets_one_verdict_later(
    tmp_path: Path, corpus: Corpus, eoffice: tuple[str, threading.Event]
) -> None:
    base, down = eoffice
    settings = Settings(
        data_dir=tmp_path,
        trust_dirs=[corpus.trust_dir],
        fetch_allowed_hosts=["127.0.0.1"],
        fetch_http_hosts=["127.0.0.1"],
        fetch_private_hosts=["127.0.0.1"],
        max_delivery_attempts=ATTEMPTS,
    )
    clock = FrozenClock(datetime.now(UTC))
    app = build_embedded(settings, clock=clock, ids=SeededIds(seed=5))
    ids = SeededIds(seed=6)
    unit = UnitRegistered(
        event_id=ids(),
        occurred_at=datetime(2024, 3, 1, tzinfo=UTC),
        correlation_id=ids(),
        producer="province.registry",
        unit_id="so-noi-vu",
        name="Sở Nội vụ",
        level=Level.DEPARTMENT,
        council_id="hdtd-tinh",
        criteria_set="demo-department",
    )
    link = DocumentLinked(
        event_id=ids(),
        occurred_at=datetime(2024, 11, 20, tzinfo=UTC),
        correlation_id=ids(),
        producer="eoffice.test",
        link_id=uuid.uuid4(),
        unit_id="so-noi-vu",
        year=2024,
        criterion_code="1.1",
        document_id="VB-1",
        fetch_url=f"{base}/{corpus.good.name}",
        number="21/KH-SNV",
        issuer="Sở Nội vụ",
        title="Kế hoạch cải cách hành chính năm 2024",
        linked_by="vanthu.snv",
    )
    down.set()
    await app.send(unit, link)
    for _ in range(ATTEMPTS + 2):  # more drains than attempts: still no verdict, never dead-lettered
        await app.run_until_idle()

    sessions = app.wiring.sessions
    catalogue = load_catalogue(settings.criteria_dir)

    def evidence() -> list[Any]:
        with sessions() as session:
            info = load_unit(session, "so-noi-vu")
            assert info is not None
            return evidence_view(session, current_ledger(session, info, 2024, catalogue), None)

    with sessions() as session:
        assert session.execute(select(func.count()).select_from(verdicts)).scalar_one() == 0
        assert session.execute(select(func.count()).select_from(dead_letters)).scalar_one() == 0
        parked = session.execute(select(deferred)).mappings().one()
    assert parked["reason"] == "FETCH_UNAVAILABLE"
    assert "503" in parked["detail"]
    shown = evidence()
    assert [(e.link_id, e.status, e.decision) for e in shown] == [
        (str(link.link_id), EvidenceStatus.PENDING, PENDING_DECISION)
    ]
    assert shown[0].title == link.title

    down.clear()  # e-office is back; nothing happens before the scheduled time
    await app.run_until_idle()
    with sessions() as session:
        assert session.execute(select(func.count()).select_from(verdicts)).scalar_one() == 0
    clock.now += timedelta(seconds=DEFER_BACKOFF.cap_seconds + 1)
    await app.run_until_idle()
    await app.send(link)  # e-office sends the link again: a duplicate, not a second verdict
    await app.run_until_idle()

    with sessions() as session:
        decisions = session.execute(select(verdicts.c.decision)).scalars().all()
        assert session.execute(select(func.count()).select_from(deferred)).scalar_one() == 0
    assert decisions == ["accepted"]
    shown = evidence()
    assert [(e.status, e.decision) for e in shown] == [(EvidenceStatus.RECORDED, "accepted")]
    verified = app.bus.published_of("EvidenceVerified")
    assert [json.dumps(v["link_id"]) for v in verified] == [json.dumps(str(link.link_id))]


async def test_a_deferral_that_never_ends_gives_the_fetch_failed_verdict(
    tmp_path: Path, corpus: Corpus, eoffice: tuple[str, threading.Event]
) -> None:
    base, down = eoffice
    settings = Settings(
        data_dir=tmp_path,
        trust_dirs=[corpus.trust_dir],
        fetch_allowed_hosts=["127.0.0.1"],
        fetch_http_hosts=["127.0.0.1"],
        fetch_private_hosts=["127.0.0.1"],
    )
    clock = FrozenClock(datetime.now(UTC))
    app = build_embedded(settings, clock=clock, ids=SeededIds(seed=8))
    ids = SeededIds(seed=9)
    link = DocumentLinked(
        event_id=ids(),
        occurred_at=datetime(2024, 11, 20, tzinfo=UTC),
        correlation_id=ids(),
        producer="eoffice.test",
        link_id=uuid.uuid4(),
        unit_id="so-noi-vu",
        year=2024,
        criterion_code="1.1",
        document_id="VB-2",
        fetch_url=f"{base}/{corpus.good.name}",
        linked_by="vanthu.snv",
    )
    down.set()
    await app.send(link)
    await app.run_until_idle()
    runtime = app.wiring.runtimes[Service.EVIDENCE_VERIFIER]
    clock.now += runtime.max_defer + timedelta(seconds=1)
    await app.run_until_idle()
    with app.wiring.sessions() as session:
        rows = session.execute(select(verdicts.c.decision, verdicts.c.reasons)).all()
        assert session.execute(select(func.count()).select_from(deferred)).scalar_one() == 0
    assert [(r.decision, r.reasons) for r in rows] == [
        (decide([ReasonCode.FETCH_FAILED]).value, ["FETCH_FAILED"])
    ]
