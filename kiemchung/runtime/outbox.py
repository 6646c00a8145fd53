"""Outbox housekeeping: the backlog still to publish, and pruning rows published long ago.

A published row is kept for `outbox_retention_hours` (to inspect or re-publish by hand), then
deleted in bounded batches so one prune never holds a long transaction.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, sessionmaker

from kiemchung.runtime.db import outbox

PRUNE_BATCH_ROWS = 1000


def backlog(sessions: sessionmaker[Session], producer: str) -> int:
    """Committed rows of `producer` not yet confirmed by the broker."""
    with sessions() as session:
        count = session.execute(
            select(func.count())
            .select_from(outbox)
            .where(outbox.c.producer == producer, outbox.c.published_at.is_(None))
        ).scalar_one()
    return int(count)


def prune(
    sessions: sessionmaker[Session], producer: str, published_before: datetime, batch: int = PRUNE_BATCH_ROWS
) -> int:
    """Delete `producer`'s rows published before the cut-off; unpublished rows are never touched."""
    deleted = 0
    while True:
        with sessions() as session, session.begin():
            ids = (
                session.execute(
                    select(outbox.c.id)
                    .where(
                        outbox.c.producer == producer,
                        outbox.c.published_at.is_not(None),
                        outbox.c.published_at < published_before,
                    )
                    .order_by(outbox.c.id)
                    .limit(batch)
                )
                .scalars()
                .all()
            )
            if ids:
                session.execute(delete(outbox).where(outbox.c.id.in_(ids)))
        deleted += len(ids)
        if len(ids) < batch:
            return deleted
