"""Benchmark of published years (issue 13). Run: .venv/bin/python bench/published.py [--units N]

On SQLite, through the real handlers and ServiceRuntime: a level of N units with points, then
- the Published message (every unit's ledger, N frozen setups written, N ScoreUpdated, one
  RankingUpdated), in one transaction;
- one ResultCorrected on a worker with an empty ledger cache (its ledger replayed from the store
  with the frozen setup) and on a warm one;
- the report of what the files now say otherwise (`published_year_changes`) over N unit-years.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from datetime import datetime
from decimal import Decimal
from pathlib import Path

from contracts.envelope import Event
from contracts.events import (
    CorrectedPoints,
    Published,
    ResultCorrected,
    SelfScoreEntered,
    Submitted,
    UnitRegistered,
)
from contracts.routing import Service
from contracts.vocabulary import Level
from kiemchung.runtime.clock import FrozenClock, SeededIds
from kiemchung.runtime.db import create_schema, make_engine, session_factory
from kiemchung.runtime.messaging import EventFactory, ServiceRuntime, Status
from services.scoring.core.deadlines import VIETNAM_TZ
from services.scoring.corrections import published_year_changes
from services.scoring.handlers import build_handlers
from services.scoring.service import DEMO_SET_ID, load_catalogue

YEAR = 2025
LEAVES = ("1.1", "1.2", "2.1.1", "3.2")


def _at(month: int, day: int, year: int = YEAR) -> datetime:
    return datetime(year, month, day, 9, tzinfo=VIETNAM_TZ)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--units", type=int, default=500)
    args = parser.parse_args()
    catalogue = load_catalogue()
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'bench.db'}")
        create_schema(engine)
        sessions = session_factory(engine)
        clock = FrozenClock(_at(12, 31))
        source = EventFactory("bench.province", clock, SeededIds(seed=2))

        def runtime(seed: int) -> ServiceRuntime:
            ids = SeededIds(seed=seed)  # each worker its own ids
            handlers = build_handlers(catalogue, EventFactory("kiemchung.scoring", clock, ids), clock)
            return ServiceRuntime(Service.SCORING, handlers, sessions, clock)

        def make(model: type[Event], at: datetime, **fields: object) -> Event:
            return source.make(model, correlation_id=source.ids(), **fields).model_copy(
                update={"occurred_at": at}
            )

        warm = runtime(1)
        setup: list[Event] = []
        for n in range(args.units):
            unit = f"so-{n:05d}"
            setup.append(
                make(
                    UnitRegistered,
                    _at(11, 1),
                    unit_id=unit,
                    name=unit,
                    level=Level.DEPARTMENT,
                    council_id="hdtd",
                    criteria_set=DEMO_SET_ID,
                )
            )
            for i, leaf in enumerate(LEAVES):
                points = Decimal((n + i) % 5 + 1)
                setup.append(
                    make(
                        SelfScoreEntered,
                        _at(11, 2),
                        unit_id=unit,
                        year=YEAR,
                        criterion_code=leaf,
                        points=points,
                        explanation="BC",
                        entered_by="vt",
                    )
                )
            setup.append(make(Submitted, _at(11, 3), unit_id=unit, year=YEAR, submitted_by="ld"))

        async def run() -> None:
            for start in range(0, len(setup), 100):
                await warm.handle_batch(setup[start : start + 100])
            published = make(
                Published, _at(12, 30), year=YEAR, level=Level.DEPARTMENT, decision_number="1/QĐ"
            )
            began = time.perf_counter()
            outcome = await warm.handle(published)
            took = time.perf_counter() - began
            assert outcome.status is Status.PROCESSED, outcome
            print(
                f"Published, {args.units} units: {took * 1000:.0f} ms "
                f"({took / args.units * 1000:.2f} ms/unit)"
            )

            def correction(unit: str) -> Event:
                points = [CorrectedPoints(criterion_code="1.1", points=Decimal(2))]
                return make(
                    ResultCorrected,
                    _at(2, 5, YEAR + 1),
                    unit_id=unit,
                    year=YEAR,
                    decision_number="2/QĐ",
                    reason="phúc tra",
                    points=points,
                    corrected_by="bench",
                )

            for label, worker, unit in (
                ("cold cache", runtime(7), "so-00001"),
                ("warm cache", warm, "so-00002"),
            ):
                began = time.perf_counter()
                outcome = await worker.handle(correction(unit))
                took = time.perf_counter() - began
                assert outcome.status is Status.PROCESSED, outcome
                print(f"ResultCorrected, {label}: {took * 1000:.1f} ms")

        asyncio.run(run())
        with sessions() as session:
            began = time.perf_counter()
            changes = published_year_changes(session, catalogue, YEAR)
            took = time.perf_counter() - began
        print(
            f"published_year_changes over {args.units} unit-years: {took * 1000:.0f} ms "
            f"({len(changes)} changed)"
        )
        engine.dispose()


if __name__ == "__main__":
    main()
