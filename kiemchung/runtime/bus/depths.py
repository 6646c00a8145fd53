"""How many messages wait in a service's RabbitMQ queue and its dead-letter queue (gauges)."""

from __future__ import annotations

from faststream.rabbit import RabbitBroker, RabbitQueue

from contracts.routing import Route


async def queue_depths(broker: RabbitBroker, route: Route) -> dict[str, int]:
    """The broker's own count per queue, by a (passive) declare: nothing is consumed."""
    depths: dict[str, int] = {}
    for name in (route.queue, route.dead_letter_queue):
        queue = await broker.declare_queue(RabbitQueue(name, declare=False))
        declared = await queue.declare()  # re-declare: the first result may be cached
        depths[name] = int(declared.message_count or 0)
    return depths
