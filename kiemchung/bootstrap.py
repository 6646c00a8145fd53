"""The composition root: the one place that wires adapters to the services' handler tables.

Embedded and distributed runtimes differ only here: which bus, which database URL, which
search backend. The handlers and contracts are the same.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from faststream import FastStream
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from contracts.envelope import Event
from contracts.registry import serialise
from contracts.routing import Service, routing_key_of
from contracts.vocabulary import Level
from kiemchung.runtime.bus.inprocess import InProcessBus
from kiemchung.runtime.clock import Clock, IdSource, random_ids, system_clock
from kiemchung.runtime.db import make_engine, session_factory
from kiemchung.runtime.messaging import AnyHandler, EventFactory, ServiceRuntime
from kiemchung.runtime.observed import ObservedRuntime
from kiemchung.runtime.settings import Settings
from kiemchung.schema import create_all_tables
from services.evidence_verifier.handlers import CheckDocument
from services.evidence_verifier.handlers import build_handlers as verifier_handlers
from services.evidence_verifier.register.recorder import Register
from services.evidence_verifier.register.tolerances import DeadlineLookup, register_tolerances
from services.evidence_verifier.service import build_checker
from services.indexer.configured import build_search_index as build_search_index
from services.indexer.handlers import build_handlers as indexer_handlers
from services.indexer.port import SearchIndex
from services.scoring.core.deadlines import SEED_003_DEADLINES, last_day
from services.scoring.core.rules import ProvinceRules
from services.scoring.corrections import report_published_changes
from services.scoring.handlers import build_handlers as scoring_handlers
from services.scoring.rules import PROVINCES_DIR, RulesError, load_rules_dir
from services.scoring.service import load_catalogue

log = logging.getLogger(__name__)


def register_deadlines(criteria_dir: Path | None) -> DeadlineLookup:
    """The register's deadline source: the province's deadline table for the year when its rules
    file sets one (<criteria dir>/provinces; the same table scoring locks the period at), else
    seed 003's; a level the table leaves out keeps seed 003's date, as in scoring. Only the small
    rules files are read here; the verifier never compiles the criteria catalogue."""
    rules: Mapping[int, ProvinceRules] = {}
    folder = criteria_dir / PROVINCES_DIR if criteria_dir is not None else None
    if folder is not None and folder.is_dir():
        try:
            rules = load_rules_dir(folder)
        except RulesError as exc:  # as scoring does: broken rules mean seed 003's dates, loudly
            log.error("province rules in %s not loaded for the evidence register: %s", folder, exc)

    def deadline(level: Level, year: int) -> date | None:
        year_rules = rules.get(year)
        table = year_rules.deadlines_or(SEED_003_DEADLINES) if year_rules is not None else SEED_003_DEADLINES
        return last_day(level, year, table) if level in table else None

    return deadline


@dataclass
class Wiring:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    clock: Clock
    runtimes: dict[Service, ServiceRuntime]
    search: SearchIndex | None


def build_runtimes(
    settings: Settings,
    services: Iterable[Service] = tuple(Service),
    *,
    clock: Clock = system_clock,
    ids: IdSource = random_ids,
    check: CheckDocument | None = None,
    search: SearchIndex | None = None,
    create_tables: bool = True,
) -> Wiring:
    engine = make_engine(settings.resolved_database_url())
    if create_tables:
        create_all_tables(engine)
    sessions = session_factory(engine)
    wanted = tuple(services)
    runtimes: dict[Service, ServiceRuntime] = {}
    for service in wanted:
        events = EventFactory(f"{settings.producer_name}.{service.value}", clock, ids)
        handlers: Mapping[type[Event], AnyHandler]
        if service is Service.EVIDENCE_VERIFIER:
            deadlines = register_deadlines(settings.criteria_dir)
            register = Register(events, register_tolerances(settings), deadlines)
            handlers = verifier_handlers(check or build_checker(settings, clock), events, register)
        elif service is Service.INDEXER:
            search = search or build_search_index(settings)
            # The indexer is the index's one writer: clean up after a reindex that crashed.
            search.drop_abandoned_generations()
            handlers = indexer_handlers(search)
        else:
            catalogue = load_catalogue(settings.criteria_dir)
            report_published_changes(sessions, catalogue)
            handlers = scoring_handlers(catalogue, events, clock)
        runtimes[service] = ObservedRuntime(service, handlers, sessions, clock)
    return Wiring(settings, engine, sessions, clock, runtimes, search)


@dataclass
class EmbeddedApp:
    """Everything in one process: the in-process bus dispatching the same handler tables."""

    wiring: Wiring
    bus: InProcessBus

    async def send(self, *events: Event) -> None:
        for event in events:
            await self.bus.publish(routing_key_of(event), serialise(event), str(event.event_id))

    async def run_until_idle(self) -> int:
        return await self.bus.drain()


def build_embedded(
    settings: Settings,
    *,
    clock: Clock = system_clock,
    ids: IdSource = random_ids,
    check: CheckDocument | None = None,
    search: SearchIndex | None = None,
) -> EmbeddedApp:
    wiring = build_runtimes(settings, clock=clock, ids=ids, check=check, search=search)
    bus = InProcessBus(wiring.runtimes, max_attempts=settings.max_delivery_attempts)
    return EmbeddedApp(wiring, bus)


def build_worker_app(service: Service, settings: Settings, *, clock: Clock = system_clock) -> FastStream:
    from kiemchung.runtime.bus.rabbit import build_worker

    # Workers do not create tables: the schema belongs to Alembic (`kiemchung db upgrade`),
    # except on SQLite, where a worker may run alone for development.
    on_sqlite = settings.resolved_database_url().startswith("sqlite")
    wiring = build_runtimes(settings, (service,), clock=clock, create_tables=on_sqlite)
    runtime = wiring.runtimes[service]
    app = build_worker(runtime, settings)
    attach_operations(app, runtime, settings)
    return app


def attach_operations(app: FastStream, runtime: ServiceRuntime, settings: Settings) -> None:
    """Probes and metrics on `probe_port`, and housekeeping (outbox backlog and retention, queue depths)."""
    import asyncio
    import contextlib
    from datetime import timedelta

    from faststream.rabbit import RabbitBroker

    from contracts.routing import route_for
    from kiemchung.runtime.bus.depths import queue_depths
    from kiemchung.runtime.housekeeping import database_check, housekeep_forever
    from kiemchung.runtime.probes import CHECK_TIMEOUT_SECONDS, Probes

    broker = app.broker
    if not isinstance(broker, RabbitBroker):
        raise TypeError("a worker app runs on RabbitMQ")
    route = route_for(runtime.service)

    async def broker_ok() -> bool:
        return bool(await broker.ping(timeout=CHECK_TIMEOUT_SECONDS))

    async def depths() -> dict[str, int]:
        return await queue_depths(broker, route)

    probes = Probes({"broker": broker_ok, "database": database_check(runtime.sessions)})
    tasks: list[asyncio.Task[None]] = []
    retention = timedelta(hours=settings.outbox_retention_hours)

    @app.after_startup
    async def start_operations() -> None:
        if settings.probe_port is not None:
            await probes.start(settings.probe_host, settings.probe_port)
        tasks.append(
            asyncio.create_task(
                housekeep_forever(runtime, retention, depths, settings.housekeeping_interval_seconds)
            )
        )

    @app.on_shutdown
    async def stop_operations() -> None:
        for task in tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await probes.stop()
