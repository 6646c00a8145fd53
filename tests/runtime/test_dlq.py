"""`kiemchung dlq`: dead-lettered messages listed, shown and replayed, on both runtimes."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import aio_pika
import pytest
from faststream.rabbit import RabbitBroker
from sqlalchemy import func, select

from contracts.events import UnitRegistered
from contracts.registry import serialise
from contracts.routing import DEAD_LETTER_EXCHANGE, Service, route_for
from contracts.vocabulary import Level
from kiemchung import cli
from kiemchung.dlq import Filter, key_of, rabbit_list, rabbit_replay, table_list, table_replay
from kiemchung.runtime.bus.rabbit import HEADER_ATTEMPTS, HEADER_REASON, declare_topology
from kiemchung.runtime.clock import SeededIds
from kiemchung.runtime.db import dead_letters
from kiemchung.runtime.settings import Settings, get_settings
from kiemchung.schema import load_all_tables
from services.scoring.store import units
from tests.servers import fresh_vhost

MALFORMED = b"{this is not json"


def _unit(unit_id: str) -> bytes:
    ids = SeededIds(seed=hash(unit_id) & 0xFFFF)
    return serialise(
        UnitRegistered(
            event_id=ids(),
            occurred_at=datetime(2024, 5, 1, tzinfo=UTC),
            correlation_id=ids(),
            producer="province.registry",
            unit_id=unit_id,
            name=unit_id,
            level=Level.COMMUNE,
            council_id="hdtd",
            criteria_set="demo-department",
        )
    )


async def test_embedded_replay_moves_fixed_messages_back_once_and_keeps_poison(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from kiemchung.bootstrap import build_embedded

    settings = Settings(data_dir=tmp_path)
    app = build_embedded(settings)
    # A worker without its fix dead-lettered a good unit; a malformed message is dead-lettered too.
    scoring = app.wiring.runtimes[Service.SCORING]
    scoring.record_dead_letter(_unit("xa-a"), "RuntimeError", "bug fixed since", 5)
    await app.bus.publish_raw_to(Service.SCORING, MALFORMED)
    await app.run_until_idle()
    url = settings.resolved_database_url()
    everything = Filter(tuple(Service))
    listed = table_list(url, everything, 100)
    assert sorted(x.reason for x in listed) == ["MALFORMED_JSON", "RuntimeError"]
    assert {x.key for x in listed} == {key_of(_unit("xa-a")), key_of(MALFORMED)}

    monkeypatch.setenv("KIEMCHUNG_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    try:
        assert cli.main(["dlq", "list", "--reason", "RuntimeError", "--json"]) == 0
        shown = json.loads(capsys.readouterr().out)
        assert [(x["service"], x["event_type"]) for x in shown] == [("scoring", "UnitRegistered")]
        assert cli.main(["dlq", "show", key_of(MALFORMED)[:8]]) == 0
        assert "this is not json" in capsys.readouterr().out
        assert cli.main(["dlq", "show", "ffffffffffff"]) == 3
    finally:
        get_settings.cache_clear()

    replayed = await table_replay(settings, Filter(tuple(Service), "RuntimeError"), 100)
    assert [r.service for r in replayed] == ["scoring"]
    # Replayed again (the operator ran it twice): the inbox makes it a duplicate.
    scoring.record_dead_letter(_unit("xa-a"), "RuntimeError", "bug fixed since", 5)
    assert len(await table_replay(settings, Filter(tuple(Service), "RuntimeError"), 100)) == 1
    # Poison replayed: dead-lettered again, not lost and not looping.
    await table_replay(settings, Filter(tuple(Service), "MALFORMED_JSON"), 100)

    with app.wiring.sessions() as session:
        registered = session.execute(select(func.count()).select_from(units)).scalar_one()
        left = session.execute(select(dead_letters.c.reason)).scalars().all()
    assert registered == 1
    assert left == ["MALFORMED_JSON"]


@pytest.mark.rabbitmq
async def test_rabbit_replay_publishes_back_with_fresh_attempts_and_leaves_the_rest() -> None:
    load_all_tables()
    route = route_for(Service.INDEXER)
    with fresh_vhost() as url:
        broker = RabbitBroker(url)
        await broker.connect()
        try:
            await declare_topology(broker, route, 3)
        finally:
            await broker.stop()
        connection = await aio_pika.connect_robust(url)
        async with connection:
            channel = await connection.channel()
            exchange = await channel.get_exchange(DEAD_LETTER_EXCHANGE)
            for body, reason in ((_unit("xa-b"), "RuntimeError"), (MALFORMED, "MALFORMED_JSON")):
                await exchange.publish(
                    aio_pika.Message(body, headers={HEADER_REASON: reason, HEADER_ATTEMPTS: 3}),
                    routing_key=route.dead_letter_queue,
                )
            only_indexer = (Service.INDEXER,)
            listed = await rabbit_list(url, Filter(only_indexer), 100)
            assert sorted((x.reason, x.attempts) for x in listed) == [
                ("MALFORMED_JSON", 3),
                ("RuntimeError", 3),
            ]
            assert len(await rabbit_list(url, Filter(only_indexer), 100)) == 2  # listing consumed nothing

            done = await rabbit_replay(url, Filter(only_indexer, "RuntimeError"), 100)
            assert [r.key for r in done] == [key_of(_unit("xa-b"))]
            queue = await channel.declare_queue(route.queue, passive=True)
            back = await queue.get(fail=False, no_ack=True)
            assert back is not None
            assert back.body == _unit("xa-b")
            assert HEADER_ATTEMPTS not in (back.headers or {})
            left = await rabbit_list(url, Filter(only_indexer), 100)
            assert [x.reason for x in left] == ["MALFORMED_JSON"]
