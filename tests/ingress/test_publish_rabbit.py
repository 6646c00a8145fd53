"""The distributed runtime: `link edxml` publishes DocumentLinked to RabbitMQ, persistent and confirmed."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import aio_pika
import pytest
from aio_pika.exceptions import DeliveryError

from contracts.events import DocumentLinked
from contracts.routing import EXCHANGE
from kiemchung.ingress import cli
from kiemchung.ingress.delivery import publish_to_rabbit
from kiemchung.ingress.linking import link_edxml
from kiemchung.ingress.mapping import LinkRequest
from kiemchung.runtime.clock import FrozenClock, SeededIds
from kiemchung.runtime.messaging import EventFactory
from kiemchung.runtime.settings import Runtime, Settings
from tests.ingress.builders import PDF, Message, Part, build
from tests.servers import fresh_vhost

pytestmark = pytest.mark.rabbitmq
PDF_BYTES = b"%PDF-1.7\n% generated for the publish test\n"


def _message(tmp_path: Path) -> Path:
    path = tmp_path / "kh.edxml"
    path.write_bytes(build(Message(parts=[Part("kh.pdf", PDF, PDF_BYTES)])))
    return path


async def test_the_link_reaches_the_verifier_queue_as_a_persistent_message(tmp_path: Path) -> None:
    with fresh_vhost() as url:
        connection = await aio_pika.connect(url)
        async with connection:
            channel = await connection.channel()
            exchange = await channel.declare_exchange(EXCHANGE, aio_pika.ExchangeType.TOPIC, durable=True)
            queue = await channel.declare_queue("verifier-probe", durable=True)
            await queue.bind(exchange, routing_key="DocumentLinked.*")
            settings = Settings(runtime=Runtime.DISTRIBUTED, broker_url=url, data_dir=tmp_path / "state")
            outcome = await cli.run_link_edxml(
                _message(tmp_path),
                LinkRequest("snv", "1.1", 2024, "snv.vanthu"),
                settings,
                clock=FrozenClock(datetime(2024, 11, 20, tzinfo=UTC)),
                ids=SeededIds(seed=3),
            )
            assert outcome.published is not None
            assert outcome.verdict is None
            assert cli.exit_code_of(outcome) == cli.EXIT_ACCEPTED
            received = await queue.get(timeout=5)
            assert received is not None
            await received.ack()
    assert received.delivery_mode == aio_pika.DeliveryMode.PERSISTENT
    assert received.routing_key == "DocumentLinked.v1"
    assert received.message_id == outcome.published.event_id
    event = DocumentLinked.model_validate_json(received.body)
    assert event == outcome.linked.event
    assert outcome.linked.stored.path.name == f"{event.sha256}.pdf"
    assert outcome.linked.stored.uri == event.fetch_url


async def test_a_link_no_queue_would_receive_is_an_error_not_a_silent_loss(tmp_path: Path) -> None:
    events = EventFactory(
        "eoffice.ingress", FrozenClock(datetime(2024, 11, 20, tzinfo=UTC)), SeededIds(seed=4)
    )
    request = LinkRequest("snv", "1.1", 2024, "snv.vanthu")
    event = link_edxml(_message(tmp_path).read_bytes(), request, tmp_path / "edocs", events).event
    with fresh_vhost() as url, pytest.raises(DeliveryError):
        await publish_to_rabbit(event, url)
