"""The AsyncAPI document, generated from the very FastStream apps the workers run."""

from __future__ import annotations

import json
from typing import Any

from faststream.rabbit import RabbitBroker

from contracts.routing import Service
from kiemchung.runtime.bus.rabbit import asyncapi_for, attach_service
from kiemchung.runtime.clock import system_clock
from kiemchung.runtime.db import make_engine, session_factory
from kiemchung.runtime.messaging import ServiceRuntime
from kiemchung.runtime.settings import Settings


def asyncapi_document() -> dict[str, Any]:
    # The document describes topology and payloads only; no connection is made.
    settings = Settings(broker_url="amqp://guest:guest@localhost:5672/")
    sessions = session_factory(make_engine("sqlite://"))
    brokers: dict[Service, RabbitBroker] = {}
    for service in Service:
        broker = RabbitBroker(settings.broker_url)
        attach_service(broker, ServiceRuntime(service, {}, sessions, system_clock), settings)
        brokers[service] = broker
    spec = asyncapi_for(brokers).to_specification()
    document: dict[str, Any] = json.loads(spec.to_json())
    return document
