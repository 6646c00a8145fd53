"""Commands from the web pages go through the scoring service's own handlers.

The embedded sink runs the scoring ServiceRuntime in this process (the same handler table,
inbox and outbox the bus uses); the ledger's answer is read back from its rejections table, so
the page shows exactly the reason the ledger gave.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from sqlalchemy.orm import Session, sessionmaker

from contracts.envelope import Event
from kiemchung.runtime.messaging import ServiceRuntime
from services.scoring.commands import CommandResult, submit_command

__all__ = ["CommandResult", "CommandSink", "EmbeddedScoringSink"]


class CommandSink(Protocol):
    async def submit(self, event: Event) -> CommandResult: ...


@dataclass(frozen=True)
class EmbeddedScoringSink:
    runtime: ServiceRuntime
    sessions: sessionmaker[Session]

    async def submit(self, event: Event) -> CommandResult:
        return await submit_command(self.runtime, self.sessions, event)
