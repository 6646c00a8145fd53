"""Commands from the web pages go through the scoring service's own handlers.

The embedded sink runs the scoring ServiceRuntime in this process (the same handler table,
inbox and outbox the bus uses); the ledger's answer is read back from its rejections table, so
the page shows exactly the reason the ledger gave.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from contracts.envelope import Event
from kiemchung.runtime.messaging import ServiceRuntime, Status
from services.scoring.store import rejections


@dataclass(frozen=True)
class CommandResult:
    accepted: bool
    reason: str = ""
    detail: str = ""


class CommandSink(Protocol):
    async def submit(self, event: Event) -> CommandResult: ...


def refusal_of(session: Session, event: Event) -> CommandResult | None:
    row = session.execute(
        select(rejections.c.reason, rejections.c.detail).where(rejections.c.event_id == str(event.event_id))
    ).first()
    if row is None:
        return None
    return CommandResult(False, row.reason, row.detail)


@dataclass(frozen=True)
class EmbeddedScoringSink:
    runtime: ServiceRuntime
    sessions: sessionmaker[Session]

    async def submit(self, event: Event) -> CommandResult:
        outcome = await self.runtime.handle(event)
        if outcome.status in (Status.REJECTED, Status.FAILED):
            return CommandResult(False, outcome.reason or outcome.status.value, outcome.detail)
        with self.sessions() as session:
            refused = refusal_of(session, event)
        return refused or CommandResult(True)
