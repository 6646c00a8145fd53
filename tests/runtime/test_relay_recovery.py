"""The outbox relay: published but not marked sent (the database went away in between) means
published again after recovery, and the consumer's inbox makes the copy a duplicate."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import exc as sa_exc
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from contracts.envelope import Event
from contracts.events import UnitRegistered
from contracts.routing import Service
from contracts.vocabulary import Level
from kiemchung.runtime.clock import FrozenClock, SeededIds
from kiemchung.runtime.db import create_schema, make_engine, outbox, session_factory
from kiemchung.runtime.messaging import Handler, ServiceRuntime, Status
from kiemchung.schema import load_all_tables

START = datetime(2024, 5, 1, tzinfo=UTC)


class Recorder:
    def __init__(self) -> None:
        self.sent: list[bytes] = []

    async def publish(self, routing_key: str, body: bytes, event_id: str) -> None:
        self.sent.append(body)


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


async def test_a_row_published_but_not_marked_is_published_again_and_is_a_duplicate_downstream(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    load_all_tables()
    engine = make_engine(f"sqlite:///{tmp_path / 'state.db'}")
    create_schema(engine)
    sessions = session_factory(engine)
    clock = FrozenClock(START)
    ids = SeededIds(seed=21)

    def forward(event: UnitRegistered, _: None, session: Session) -> Sequence[Event]:
        return [_unit(ids, f"{event.unit_id}-copy")]

    applied: list[str] = []

    def consume(event: UnitRegistered, _: None, session: Session) -> Sequence[Event]:
        applied.append(event.unit_id)
        return []

    producer = ServiceRuntime(Service.INDEXER, {UnitRegistered: Handler(apply=forward)}, sessions, clock)
    consumer = ServiceRuntime(Service.SCORING, {UnitRegistered: Handler(apply=consume)}, sessions, clock)
    assert (await producer.handle(_unit(ids, "xa-a"))).status is Status.PROCESSED

    real_mark = producer._mark_sent

    def database_gone(row_ids: Sequence[int]) -> None:
        raise sa_exc.OperationalError("UPDATE", {}, psycopg.OperationalError("server closed the connection"))

    broker = Recorder()
    monkeypatch.setattr(producer, "_mark_sent", database_gone)
    with pytest.raises(sa_exc.OperationalError):
        await producer.relay(broker)
    assert len(broker.sent) == 1  # the broker has it, the row is not marked
    monkeypatch.setattr(producer, "_mark_sent", real_mark)
    assert await producer.relay(broker) == 1  # after recovery: published again
    assert len(broker.sent) == 2
    assert broker.sent[0] == broker.sent[1]
    assert await producer.relay(broker) == 0  # and now marked

    outcomes = [await consumer.handle_raw(body) for body in broker.sent]
    assert [o.status for o in outcomes] == [Status.PROCESSED, Status.DUPLICATE]
    assert applied == ["xa-a-copy"]
    with sessions() as session:
        unsent = session.execute(
            select(func.count()).select_from(outbox).where(outbox.c.published_at.is_(None))
        ).scalar_one()
    assert unsent == 0
