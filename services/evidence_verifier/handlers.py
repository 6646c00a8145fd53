"""Message type → handler for the evidence verifier."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import delete, insert
from sqlalchemy.orm import Session

from contracts.envelope import Event
from contracts.events import (
    DocumentLinked,
    DocumentUnlinked,
    EvidenceVerified,
    SupplementRequested,
    UnitRegistered,
)
from contracts.report import VerificationReport
from kiemchung.runtime.messaging import AnyHandler, Deferral, EventFactory, Handler
from services.evidence_verifier.register.recorder import Register
from services.evidence_verifier.store import verdicts

MAX_TEXT_CHARS = 100_000


@dataclass(frozen=True)
class Checked:
    report: VerificationReport
    text: str


CheckDocument = Callable[[DocumentLinked], Awaitable[Checked | Deferral]]


def build_handlers(
    check: CheckDocument, events: EventFactory, register: Register | None = None
) -> Mapping[type[Event], AnyHandler]:
    # The province-wide register lives with the verdicts it checks (register/__init__.py).
    book = register or Register(events)

    async def prepare(event: DocumentLinked) -> Checked | Deferral:
        return await check(event)

    def apply(event: DocumentLinked, checked: Checked, session: Session) -> Sequence[Event]:
        report = checked.report
        text = checked.text[:MAX_TEXT_CHARS]
        verified = events.make(
            EvidenceVerified,
            correlation_id=event.correlation_id,
            link_id=event.link_id,
            unit_id=event.unit_id,
            year=event.year,
            criterion_code=event.criterion_code,
            document_id=event.document_id,
            fetch_url=event.fetch_url,
            title=event.title,
            issuer=event.issuer,
            report=report,
            text=text,
            linked_at=event.occurred_at,
        )
        session.execute(delete(verdicts).where(verdicts.c.link_id == str(event.link_id)))
        session.execute(
            insert(verdicts).values(
                link_id=str(event.link_id),
                unit_id=event.unit_id,
                year=event.year,
                criterion_code=event.criterion_code,
                document_id=event.document_id,
                sha256=report.sha256,
                decision=report.decision.value,
                reasons=[r.value for r in report.reasons],
                report=report.model_dump(mode="json"),
                text=text,
                verified_at=verified.occurred_at,
            )
        )
        return book.record(session, event, verified)

    def unlink(event: DocumentUnlinked, _: None, session: Session) -> Sequence[Event]:
        return book.unlink(session, event)

    def unit(event: UnitRegistered, _: None, session: Session) -> Sequence[Event]:
        return book.unit(session, event)

    def supplement(event: SupplementRequested, _: None, session: Session) -> Sequence[Event]:
        return book.supplement(session, event)

    return {
        DocumentLinked: Handler(apply=apply, prepare=prepare),
        DocumentUnlinked: Handler(apply=unlink),
        UnitRegistered: Handler(apply=unit),
        SupplementRequested: Handler(apply=supplement),
    }
