"""Rebuild every score from the ledger alone, through the same handlers as the live service."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from contracts.envelope import Event
from contracts.events import UnitRegistered
from contracts.registry import parse_event
from contracts.routing import Service
from kiemchung.runtime.clock import FrozenClock, SeededIds
from kiemchung.runtime.db import create_schema, make_engine, session_factory
from kiemchung.runtime.messaging import EventFactory, ServiceRuntime, Status
from services.scoring.handlers import build_handlers
from services.scoring.service import CriteriaCatalogue
from services.scoring.store import ledger, scores, units

REPLAY_PRODUCER = "kiemchung.replay"
UNIT_NAMESPACE = uuid.UUID("8d6f8a57-3c55-4b7e-9a43-2f0c5b1d6e21")


def export_ledger(session: Session) -> Iterator[str]:
    """JSON lines: each unit's registration, then every accepted ledger event in order."""
    rows = session.execute(select(units).order_by(units.c.unit_id)).mappings().all()
    first = session.execute(select(ledger.c.payload).order_by(ledger.c.seq).limit(1)).scalar_one_or_none()
    occurred = first["occurred_at"] if first else "2000-01-01T00:00:00+00:00"
    for row in rows:
        registered = {
            "event_id": str(uuid.uuid5(UNIT_NAMESPACE, row["unit_id"])),
            "type": UnitRegistered.TYPE,
            "schema_version": UnitRegistered.VERSION,
            "occurred_at": occurred,
            "correlation_id": str(uuid.uuid5(UNIT_NAMESPACE, row["unit_id"])),
            "producer": REPLAY_PRODUCER,
            "unit_id": row["unit_id"],
            "name": row["name"],
            "level": row["level"],
            "council_id": row["council_id"],
            "criteria_set": row["criteria_set"],
            "ranked": row["ranked"],
            "not_applicable": list(row["not_applicable"]),
        }
        yield json.dumps(registered, ensure_ascii=False)
    seen: set[str] = set()
    for payload in session.execute(select(ledger.c.payload).order_by(ledger.c.seq)).scalars():
        # A multi-unit event (survey import) is recorded once per unit but replayed once.
        if payload["event_id"] in seen:
            continue
        seen.add(payload["event_id"])
        yield json.dumps(payload, ensure_ascii=False)


def read_events(lines: Iterable[str]) -> list[Event]:
    return [parse_event(line) for line in lines if line.strip()]


def replay_scores(events: Iterable[Event], catalogue: CriteriaCatalogue) -> list[dict[str, Any]]:
    """Latest ScoreUpdated snapshot per unit and year, as the live service would hold them."""
    engine = make_engine("sqlite://")
    create_schema(engine)
    sessions = session_factory(engine)
    clock = FrozenClock(now=_epoch())
    handlers = build_handlers(catalogue, EventFactory(REPLAY_PRODUCER, clock, SeededIds()), clock)
    runtime = ServiceRuntime(Service.SCORING, handlers, sessions, clock)

    async def run() -> None:
        for event in events:
            outcome = await runtime.handle(event)
            if outcome.status is Status.FAILED:
                raise RuntimeError(f"replay failed on {event.envelope_summary()}: {outcome.detail}")

    asyncio.run(run())
    with sessions() as session:
        snapshots = session.execute(
            select(scores.c.snapshot).order_by(scores.c.unit_id, scores.c.year)
        ).scalars()
        return [comparable(s) for s in snapshots]


def comparable(snapshot: dict[str, Any]) -> dict[str, Any]:
    """The score itself, without the envelope (ids and times differ between runs)."""
    envelope = {"event_id", "occurred_at", "correlation_id", "producer", "type", "schema_version"}
    return {k: v for k, v in snapshot.items() if k not in envelope}


def replay_file(path: Path, catalogue: CriteriaCatalogue) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as handle:
        return replay_scores(read_events(handle), catalogue)


def _epoch() -> Any:
    from datetime import UTC, datetime

    return datetime(2000, 1, 1, tzinfo=UTC)
