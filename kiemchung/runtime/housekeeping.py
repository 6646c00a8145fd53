"""A worker's periodic chores: outbox backlog gauge, outbox retention, queue depth gauges."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta

from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from kiemchung.runtime import metrics, outbox
from kiemchung.runtime.messaging import ServiceRuntime

log = logging.getLogger(__name__)

HOUSEKEEPING_INTERVAL_SECONDS = 15.0
QueueDepths = Callable[[], Awaitable[dict[str, int]]]


def database_check(sessions: sessionmaker[Session]) -> Callable[[], Awaitable[bool]]:
    """Readiness: the database answers a trivial query (in a thread: drivers block)."""

    def ping() -> bool:
        with sessions() as session:
            return bool(session.execute(text("SELECT 1")).scalar_one() == 1)

    async def check() -> bool:
        return await asyncio.to_thread(ping)

    return check


async def housekeep_once(
    runtime: ServiceRuntime, retention: timedelta, queue_depths: QueueDepths | None = None
) -> int:
    """One round; returns the outbox rows pruned."""
    pending = await asyncio.to_thread(outbox.backlog, runtime.sessions, runtime.consumer)
    metrics.OUTBOX_BACKLOG.labels(runtime.consumer).set(pending)
    cutoff = runtime.clock() - retention
    pruned = await asyncio.to_thread(outbox.prune, runtime.sessions, runtime.consumer, cutoff)
    if pruned:
        metrics.OUTBOX_PRUNED.labels(runtime.consumer).inc(pruned)
        log.info("%s: pruned %d outbox rows published before %s", runtime.consumer, pruned, cutoff)
    if queue_depths is not None:
        for queue, depth in (await queue_depths()).items():
            metrics.QUEUE_MESSAGES.labels(queue).set(depth)
    return pruned


async def housekeep_forever(
    runtime: ServiceRuntime,
    retention: timedelta,
    queue_depths: QueueDepths | None = None,
    interval: float = HOUSEKEEPING_INTERVAL_SECONDS,
) -> None:
    while True:
        try:
            await housekeep_once(runtime, retention, queue_depths)
        except Exception:  # the database or broker may be away: readiness reports that
            log.warning("%s: housekeeping failed; will retry", runtime.consumer, exc_info=True)
        await asyncio.sleep(interval)
