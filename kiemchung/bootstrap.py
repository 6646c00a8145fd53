"""The composition root: the one place that wires adapters to the services' handler tables.

Embedded and distributed runtimes differ only here: which bus, which database URL, which
search backend. The handlers and contracts are the same.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date

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
from kiemchung.runtime.settings import Settings
from kiemchung.schema import create_all_tables
from services.evidence_verifier.handlers import CheckDocument
from services.evidence_verifier.handlers import build_handlers as verifier_handlers
from services.evidence_verifier.register.recorder import Register
from services.evidence_verifier.register.tolerances import register_tolerances
from services.evidence_verifier.service import build_checker
from services.indexer.configured import build_search_index as build_search_index
from services.indexer.handlers import build_handlers as indexer_handlers
from services.indexer.port import SearchIndex
from services.scoring.core.deadlines import SEED_003_DEADLINES, last_day
from services.scoring.handlers import build_handlers as scoring_handlers
from services.scoring.service import load_catalogue


def _seed_deadline(level: Level, year: int) -> date | None:
    """The register's deadline source: the scoring core's table (seed 003's dates)."""
    return last_day(level, year, SEED_003_DEADLINES) if level in SEED_003_DEADLINES else None


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
            register = Register(events, register_tolerances(settings), _seed_deadline)
            handlers = verifier_handlers(check or build_checker(settings, clock), events, register)
        elif service is Service.INDEXER:
            search = search or build_search_index(settings)
            # The indexer is the index's one writer: clean up after a reindex that crashed.
            search.drop_abandoned_generations()
            handlers = indexer_handlers(search)
        else:
            handlers = scoring_handlers(load_catalogue(settings.criteria_dir), events, clock)
        runtimes[service] = ServiceRuntime(service, handlers, sessions, clock)
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
    return build_worker(wiring.runtimes[service], settings)
