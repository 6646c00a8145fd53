"""Live updates: server-sent events telling open pages that scores, rankings or verdicts moved.

Each stream polls one cheap stamp of the state database (the latest score and ranking times and
the verdict count) and sends `change` when it differs; the page then refetches its live regions.
A stream lives a bounded time; the browser's EventSource reconnects by itself.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from services.evidence_verifier.store import verdicts
from services.scoring.store import ledger, rankings, scores

POLL_SECONDS = 1.0
STREAM_SECONDS = 300
RETRY_MILLISECONDS = 2000


def state_stamp(session: Session) -> str:
    score_time = session.execute(select(func.max(scores.c.updated_at))).scalar()
    ranking_time = session.execute(select(func.max(rankings.c.updated_at))).scalar()
    verdict_count = session.execute(select(func.count()).select_from(verdicts)).scalar()
    ledger_seq = session.execute(select(func.max(ledger.c.seq))).scalar()
    return f"{score_time}|{ranking_time}|{verdict_count}|{ledger_seq}"


async def change_stream(
    sessions: sessionmaker[Session],
    disconnected: Callable[[], Awaitable[bool]],
    poll_seconds: float = POLL_SECONDS,
    stream_seconds: float = STREAM_SECONDS,
) -> AsyncIterator[str]:
    def stamp() -> str:
        with sessions() as session:
            return state_stamp(session)

    last = await asyncio.to_thread(stamp)
    yield f"retry: {RETRY_MILLISECONDS}\nevent: hello\ndata: {last}\n\n"
    waited = 0.0
    while waited < stream_seconds:
        await asyncio.sleep(poll_seconds)
        waited += poll_seconds
        if await disconnected():
            return
        now = await asyncio.to_thread(stamp)
        if now != last:
            last = now
            yield f"event: change\ndata: {now}\n\n"
