"""The register is a function of what was linked, not of the order it arrived in: replaying the
same events in another order, on SQLite or PostgreSQL, finds what the pure core finds over the
whole set; the verdicts the register re-emits carry exactly the stored findings."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy import select

from contracts.envelope import Event
from contracts.events import DocumentLinked, DocumentUnlinked, EvidenceVerified, UnitRegistered
from contracts.report import DocumentFacts, SignatureReport, SignerInfo, VerificationReport
from contracts.routing import Service
from contracts.vocabulary import Coverage, Decision, Indication, Level, ModifiedAfter, SignatureKind
from kiemchung.runtime.clock import FrozenClock, SeededIds
from kiemchung.runtime.db import create_schema, make_engine, session_factory
from kiemchung.runtime.messaging import EventFactory, ServiceRuntime, Status
from services.evidence_verifier.handlers import Checked, build_handlers
from services.evidence_verifier.register.checks import VIETNAM_TZ, check_all
from services.evidence_verifier.register.facts import entry_from_report
from services.evidence_verifier.register.recorder import Register, finding_to_json, unit_from_row
from services.evidence_verifier.register.store import register_entries, register_units
from tests.evidence_verifier.register_kit import seed_deadlines
from tests.servers import fresh_database

YEAR = 2024
UNITS = {
    "tinh": ("Ủy ban nhân dân tỉnh Mẫu", Level.DEPARTMENT, None),
    "huyen": ("Ủy ban nhân dân huyện Mẫu", Level.DISTRICT, "tinh"),
    "xa-1": ("Ủy ban nhân dân xã Mẫu Một", Level.COMMUNE, "huyen"),
    "xa-2": ("Ủy ban nhân dân xã Mẫu Hai", Level.COMMUNE, "huyen"),
}


@dataclass(frozen=True)
class Doc:
    issuer: str  # unit id whose seal it carries
    number: str
    issued_on: date
    signed_on: date
    content: str


def _report(doc: Doc, url: str) -> VerificationReport:
    name = UNITS[doc.issuer][0]
    seal = SignatureReport(
        field="ChuKyToChuc",
        signer=SignerInfo(common_name=name, organisation=name, serial="01"),
        kind=SignatureKind.ORGANISATION,
        intact=True,
        trusted=True,
        indication=Indication.TOTAL_PASSED,
        coverage=Coverage.ENTIRE_FILE,
        modified_after=ModifiedAfter.NONE,
        signing_time=datetime.combine(doc.signed_on, time(9), VIETNAM_TZ),
        timestamped=True,
    )
    return VerificationReport(
        file=url,
        sha256=uuid.uuid5(uuid.NAMESPACE_URL, doc.content).hex * 2,
        decision=Decision.ACCEPTED,
        reasons=[],
        signatures=[seal],
        document=DocumentFacts(
            number=doc.number, notation=doc.number.split("/", 1)[1], issued_on=doc.issued_on
        ),
        elapsed_ms=1,
    )


def _documents(rng: random.Random) -> list[tuple[str, str, Doc]]:
    """(linking unit, criterion, document): honest series with every kind of anomaly mixed in."""
    links: list[tuple[str, str, Doc]] = []
    for unit in UNITS:
        day = date(YEAR, 1, 8)
        for n in range(1, 13):
            day += timedelta(days=rng.randint(3, 20))
            signed = day + timedelta(days=rng.choice((0, 0, 1, 20)))  # some signed long after
            doc = Doc(unit, f"{n * 3}/KH-X", day, signed, f"{unit}-{n}")
            links.append((unit, f"{rng.randint(1, 4)}.{n}", doc))
    xa1 = [d for u, _, d in links if u == "xa-1"]
    links.append(("xa-1", "2.1", Doc("xa-1", xa1[4].number, xa1[4].issued_on, xa1[4].issued_on, "dup")))
    links.append(("xa-1", "3.1", Doc("xa-1", "4/KH-X", date(YEAR, 9, 1), date(YEAR, 9, 1), "inserted")))
    links.append(("xa-2", "1.1", xa1[2]))  # another unit's document
    links.append(("xa-1", "4.4", xa1[3]))  # one document, second field
    links.append(("xa-2", "2.2", Doc("xa-2", "99/KH-X", date(YEAR, 12, 2), date(YEAR, 12, 2), "late")))
    links.append(("xa-1", "1.5", Doc("huyen", "7/KH-X", date(YEAR, 3, 3), date(YEAR, 3, 3), "parent")))
    return links


@dataclass
class Run:
    stored: dict[str, list[dict[str, object]]]
    emitted: dict[str, EvidenceVerified]
    expected: dict[str, list[dict[str, object]]]


def _run(url: str, events: list[Event], reports: dict[str, VerificationReport]) -> Run:
    engine = make_engine(url)
    create_schema(engine)
    clock = FrozenClock(datetime(2024, 12, 20, tzinfo=UTC), timedelta(seconds=1))
    factory = EventFactory("kiemchung.evidence-verifier", clock, SeededIds(seed=5))

    async def check(event: DocumentLinked) -> Checked:
        return Checked(reports[event.fetch_url], "")

    handlers = build_handlers(check, factory, Register(factory, deadlines=seed_deadlines))
    runtime = ServiceRuntime(Service.EVIDENCE_VERIFIER, handlers, session_factory(engine), clock)
    emitted: dict[str, EvidenceVerified] = {}

    async def feed() -> None:
        for event in events:
            outcome = await runtime.handle(event)
            assert outcome.status is Status.PROCESSED, outcome
            for out in outcome.produced:
                assert isinstance(out, EvidenceVerified)
                emitted[str(out.link_id)] = out

    asyncio.run(feed())
    with session_factory(engine)() as session:
        rows = session.execute(
            select(register_entries).where(register_entries.c.removed.is_(False))
        ).mappings()
        stored = {r["link_id"]: list(r["findings"]) for r in rows}
        units = {r.unit_id: unit_from_row(dict(r._mapping)) for r in session.execute(select(register_units))}
    engine.dispose()
    entries = [
        entry_from_report(
            reports[e.fetch_url],
            link_id=str(e.link_id),
            unit_id=e.unit_id,
            year=e.year,
            criterion_code=e.criterion_code,
            reported_issuer=None,
        )
        for e in events
        if isinstance(e, DocumentLinked) and str(e.link_id) in stored
    ]
    found = check_all(entries, units, deadlines=seed_deadlines)
    expected = {link: [finding_to_json(f) for f in fs] for link, fs in found.items()}
    return Run(stored, {k: v for k, v in emitted.items() if k in stored}, expected)


def _events(rng: random.Random) -> tuple[list[Event], dict[str, VerificationReport], list[Event]]:
    ids = SeededIds(seed=11)
    at = datetime(2024, 12, 1, tzinfo=UTC)

    def envelope() -> dict[str, object]:
        return {"event_id": ids(), "occurred_at": at, "correlation_id": ids(), "producer": "eoffice"}

    units: list[Event] = [
        UnitRegistered(
            **envelope(),
            unit_id=u,
            name=name,
            level=level,
            council_id="hd",
            criteria_set="s",
            parent_unit_id=parent,
        )
        for u, (name, level, parent) in UNITS.items()
    ]
    reports: dict[str, VerificationReport] = {}
    links: list[Event] = []
    unlinks: list[Event] = []
    for i, (unit, criterion, doc) in enumerate(_documents(rng)):
        url = f"https://eoffice.test/{i}.pdf"
        reports[url] = _report(doc, url)
        link = DocumentLinked(
            **envelope(),
            link_id=uuid.UUID(int=i + 1),
            unit_id=unit,
            year=YEAR,
            criterion_code=criterion,
            document_id=f"VB-{i}",
            fetch_url=url,
            linked_by="x",
        )
        links.append(link)
        if i % 9 == 4:
            unlinks.append(
                DocumentUnlinked(
                    **envelope(),
                    link_id=link.link_id,
                    unit_id=unit,
                    year=YEAR,
                    criterion_code=criterion,
                    unlinked_by="x",
                )
            )
    return units + links, reports, unlinks


@contextmanager
def _sqlite() -> Iterator[str]:
    yield "sqlite://"


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_replay_in_any_order_finds_what_the_core_finds_over_the_whole_set(backend: str) -> None:
    rng = random.Random(2024)
    ordered_events, reports, unlinks = _events(rng)
    shuffled = ordered_events[len(UNITS) :]
    rng.shuffle(shuffled)
    shuffled = shuffled + ordered_events[: len(UNITS)]  # units registered last: their links re-open
    # an unlinked link is unlinked after its link in both orders
    with fresh_database() if backend == "postgres" else _sqlite() as url_a:
        first = _run(url_a, [*ordered_events, *unlinks], reports)
    with fresh_database() if backend == "postgres" else _sqlite() as url_b:
        second = _run(url_b, [*shuffled, *unlinks], reports)

    assert first.stored == first.expected
    assert second.stored == second.expected
    assert first.stored == second.stored
    codes = {f["code"] for fs in first.stored.values() for f in fs}
    assert codes == {
        "DUPLICATE_NUMBER",
        "NUMBER_ORDER",
        "SIGNED_LONG_AFTER_ISSUE",
        "ISSUED_AFTER_DEADLINE",
        "REUSED_EVIDENCE",
        "ISSUER_MISMATCH",
    }
    for run in (first, second):
        for link, verdict in run.emitted.items():  # the last verdict each consumer saw
            assert [f.code.value for f in verdict.findings] == [f["code"] for f in run.stored[link]], link
            assert (verdict.report.decision is Decision.NEEDS_REVIEW) == bool(run.stored[link])


@pytest.mark.postgres
def test_two_verifier_workers_recording_twins_at_once_each_see_the_other() -> None:
    """Without the register's lock, two transactions could each miss the other's document."""
    import threading

    twins = 12
    reports: dict[str, VerificationReport] = {}
    batches: list[list[Event]] = [[], []]
    ids = SeededIds(seed=21)
    at = datetime(2024, 12, 1, tzinfo=UTC)
    for n in range(twins):
        for side in (0, 1):
            url = f"https://eoffice.test/twin-{n}-{side}.pdf"
            doc = Doc("xa-1", f"{n + 1}/TB-X", date(YEAR, 3, 1), date(YEAR, 3, 1), f"twin-{n}-{side}")
            reports[url] = _report(doc, url)
            batches[side].append(
                DocumentLinked(
                    event_id=ids(),
                    occurred_at=at,
                    correlation_id=ids(),
                    producer="eoffice",
                    link_id=uuid.UUID(int=1000 + 2 * n + side),
                    unit_id="xa-1",
                    year=YEAR,
                    criterion_code=f"1.{n + 1}",
                    document_id=f"VB-{n}-{side}",
                    fetch_url=url,
                    linked_by="x",
                )
            )
    with fresh_database() as url:
        create_schema(make_engine(url))
        barrier = threading.Barrier(2)

        def worker(side: int) -> None:
            engine = make_engine(url)
            clock = FrozenClock(datetime(2024, 12, 20, tzinfo=UTC), timedelta(seconds=1))
            factory = EventFactory("kiemchung.evidence-verifier", clock, SeededIds(seed=30 + side))

            async def check(event: DocumentLinked) -> Checked:
                return Checked(reports[event.fetch_url], "")

            runtime = ServiceRuntime(
                Service.EVIDENCE_VERIFIER, build_handlers(check, factory), session_factory(engine), clock
            )

            async def feed() -> None:
                for event in batches[side]:
                    assert (await runtime.handle(event)).status is Status.PROCESSED

            barrier.wait()
            asyncio.run(feed())
            engine.dispose()

        threads = [threading.Thread(target=worker, args=(side,)) for side in (0, 1)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        engine = make_engine(url)
        with session_factory(engine)() as session:
            rows = session.execute(select(register_entries.c.link_id, register_entries.c.findings)).all()
        engine.dispose()
    assert len(rows) == 2 * twins
    assert all([f["code"] for f in r.findings] == ["DUPLICATE_NUMBER"] for r in rows), rows


@pytest.mark.postgres
def test_overlong_names_and_numbers_cost_a_truncated_key_not_a_poison_message() -> None:
    ids = SeededIds(seed=41)
    at = datetime(2024, 12, 1, tzinfo=UTC)
    long_name = "Ủy ban nhân dân " + "rất dài " * 100
    reports: dict[str, VerificationReport] = {}
    events: list[Event] = []
    for n in range(2):
        url = f"https://eoffice.test/long-{n}.pdf"
        base = _report(Doc("xa-1", "5/" + "K" * 400, date(YEAR, 3, 1), date(YEAR, 3, 1), f"long-{n}"), url)
        seal = base.signatures[0].model_copy(
            update={"signer": SignerInfo(common_name=long_name, organisation=long_name, serial="01")}
        )
        reports[url] = base.model_copy(update={"signatures": [seal] * 30})
        events.append(
            DocumentLinked(
                event_id=ids(),
                occurred_at=at,
                correlation_id=ids(),
                producer="eoffice",
                link_id=uuid.UUID(int=5000 + n),
                unit_id="xa-1",
                year=YEAR,
                criterion_code="1.1",
                document_id=f"VB-{n}",
                fetch_url=url,
                linked_by="x",
            )
        )
    with fresh_database() as url:
        run = _run(url, events, reports)
    assert set(run.stored) == {str(uuid.UUID(int=5000)), str(uuid.UUID(int=5001))}
    assert all([f["code"] for f in fs] == ["DUPLICATE_NUMBER"] for fs in run.stored.values())
