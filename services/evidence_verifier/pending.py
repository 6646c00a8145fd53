"""Links waiting for their document: the e-office system did not answer, the verifier fetches
again on a schedule (kiemchung.runtime.messaging.Deferral). Appraisers see them as pending, not missing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from contracts.errors import ContractError
from contracts.events import DocumentLinked
from contracts.registry import parse_event
from contracts.routing import Service
from kiemchung.runtime.db import deferred


@dataclass(frozen=True)
class PendingLink:
    link: DocumentLinked
    reason: str
    detail: str
    attempts: int
    waiting_since: datetime
    next_attempt_at: datetime


def pending_links(session: Session, unit_id: str | None = None, year: int | None = None) -> list[PendingLink]:
    """Parked DocumentLinked messages of the verifier, optionally for one unit and year."""
    rows = session.execute(
        select(deferred).where(
            deferred.c.consumer == Service.EVIDENCE_VERIFIER.value,
            deferred.c.event_type == "DocumentLinked",
        )
    ).mappings()
    found: list[PendingLink] = []
    for row in rows:
        try:
            event = parse_event(row["body"].encode("utf-8"))
        except ContractError:
            continue  # parked by an older version whose contract is gone; the runtime logs it
        if not isinstance(event, DocumentLinked):
            continue
        if (unit_id is not None and event.unit_id != unit_id) or (year is not None and event.year != year):
            continue
        found.append(
            PendingLink(
                link=event,
                reason=row["reason"],
                detail=row["detail"],
                attempts=row["attempts"],
                waiting_since=row["parked_at"],
                next_attempt_at=row["due_at"],
            )
        )
    return sorted(found, key=lambda p: (p.link.criterion_code, str(p.link.link_id)))
