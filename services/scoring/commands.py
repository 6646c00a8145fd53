"""A command (a ledger event a person sends: publish, correct, appraise from a page) handled by
the scoring service's own handlers in this process, and the ledger's answer read back.

The runtime is the one the bus uses (inbox, outbox, one transaction), so a second delivery of
the same event id is a no-op; a refusal is what the ledger recorded in its rejections table.
Used by the web pages, `kiemchung publish` and `kiemchung correct`.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from contracts.envelope import Event
from contracts.routing import Service
from kiemchung.runtime.clock import Clock, IdSource
from kiemchung.runtime.messaging import EventFactory, ServiceRuntime, Status
from services.scoring.handlers import build_handlers
from services.scoring.service import CriteriaCatalogue
from services.scoring.store import rejections

SCORING_PRODUCER = "kiemchung.scoring"


@dataclass(frozen=True)
class CommandResult:
    accepted: bool
    reason: str = ""
    detail: str = ""


def scoring_runtime(
    catalogue: CriteriaCatalogue,
    sessions: sessionmaker[Session],
    clock: Clock,
    ids: IdSource,
    producer: str = SCORING_PRODUCER,
) -> ServiceRuntime:
    """The scoring service's handler table, run in this process."""
    handlers = build_handlers(catalogue, EventFactory(producer, clock, ids), clock)
    return ServiceRuntime(Service.SCORING, handlers, sessions, clock)


def refusal_of(session: Session, event: Event) -> CommandResult | None:
    row = session.execute(
        select(rejections.c.reason, rejections.c.detail).where(rejections.c.event_id == str(event.event_id))
    ).first()
    return None if row is None else CommandResult(False, row.reason, row.detail)


async def submit_command(
    runtime: ServiceRuntime, sessions: sessionmaker[Session], event: Event
) -> CommandResult:
    """Handle `event` and say what the ledger made of it."""
    outcome = await runtime.handle(event)
    if outcome.status in (Status.REJECTED, Status.FAILED):
        return CommandResult(False, outcome.reason or outcome.status.value, outcome.detail)
    with sessions() as session:
        return refusal_of(session, event) or CommandResult(True)
