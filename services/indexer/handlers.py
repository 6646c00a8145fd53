"""Message type → handler for the indexer.

The durable copy of each entry lives in the state database (indexer_entries); the search index
is derived from it and can be rebuilt (`kiemchung reindex`). Versions are the event's time in
microseconds, so a re-verification replaces, a late older event is ignored, and a redelivered
event changes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from datetime import date, datetime

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from contracts.envelope import Event
from contracts.events import DocumentUnlinked, EvidenceVerified, UnitRegistered
from kiemchung.runtime.messaging import AnyHandler, Handler, HandlerTable, in_batch
from services.indexer.model import Decision, EvidenceEntry
from services.indexer.port import SearchIndex
from services.indexer.store import entries, units

MICROS = 1_000_000


def version_of(moment: datetime) -> int:
    return int(moment.timestamp() * MICROS)


def entry_from_verdict(event: EvidenceVerified, unit_name: str, level: str) -> EvidenceEntry:
    report = event.report
    signer = next(
        (s.signer.common_name for s in report.signatures if s.kind.value == "organisation"),
        report.signatures[0].signer.common_name if report.signatures else None,
    )
    return EvidenceEntry(
        link_id=str(event.link_id),
        unit_id=event.unit_id,
        unit_name=unit_name,
        level=level,
        year=event.year,
        criterion_code=event.criterion_code,
        decision=Decision(report.decision.value),
        reasons=tuple(r.value for r in report.reasons),
        number=report.document.number,
        notation=report.document.notation,
        issuer=event.issuer,
        issued_on=report.document.issued_on,
        title=event.title,
        signer=signer,
        link=event.fetch_url,
        text=event.text,
        verified_at=event.occurred_at,
        version=version_of(event.occurred_at),
    )


def entry_to_json(entry: EvidenceEntry) -> dict[str, object]:
    return {
        **{k: getattr(entry, k) for k in EvidenceEntry.__dataclass_fields__},
        "decision": entry.decision.value,
        "reasons": list(entry.reasons),
        "issued_on": entry.issued_on.isoformat() if entry.issued_on else None,
        "verified_at": entry.verified_at.isoformat(),
    }


def entry_from_json(data: Mapping[str, object]) -> EvidenceEntry:
    values = dict(data)
    issued = values.get("issued_on")
    values["issued_on"] = date.fromisoformat(str(issued)) if issued else None
    values["verified_at"] = datetime.fromisoformat(str(values["verified_at"]))
    values["decision"] = Decision(str(values["decision"]))
    values["reasons"] = tuple(json.loads(json.dumps(values["reasons"])))
    return EvidenceEntry(**values)  # type: ignore[arg-type]


def stored_entries(session: Session) -> Iterator[EvidenceEntry]:
    rows = session.execute(select(entries.c.entry).where(entries.c.removed.is_(False))).scalars()
    for row in rows:
        if row is not None:
            yield entry_from_json(row)


def build_handlers(index: SearchIndex) -> Mapping[type[Event], AnyHandler]:
    def on_unit(event: UnitRegistered, _: None, session: Session) -> Sequence[Event]:
        existing = session.execute(select(units.c.unit_id).where(units.c.unit_id == event.unit_id)).first()
        values = {
            "name": event.name,
            "level": event.level.value,
            "council_id": event.council_id,
        }
        if existing:
            session.execute(update(units).where(units.c.unit_id == event.unit_id).values(**values))
        else:
            session.execute(insert(units).values(unit_id=event.unit_id, **values))
        return []

    def on_verdict(event: EvidenceVerified, _: None, session: Session) -> Sequence[Event]:
        unit = session.execute(
            select(units.c.name, units.c.level).where(units.c.unit_id == event.unit_id)
        ).first()
        name, level = (unit.name, unit.level) if unit else (event.unit_id, "")
        entry = entry_from_verdict(event, name, level)
        found = session.execute(
            select(entries.c.version, entries.c.removed).where(entries.c.link_id == entry.link_id)
        ).first()
        current = None if found is None else found.version
        # Unlinking is final for a link id: a verdict the verifier finished after the unit
        # removed the document (its time is later than the unlink's) must not bring it back.
        if found is not None and (found.removed or found.version >= entry.version):
            return []
        row = {
            "version": entry.version,
            "removed": False,
            "unit_id": entry.unit_id,
            "year": entry.year,
            "criterion_code": entry.criterion_code,
            "entry": entry_to_json(entry),
        }
        if current is None:
            session.execute(insert(entries).values(link_id=entry.link_id, **row))
        else:
            session.execute(update(entries).where(entries.c.link_id == entry.link_id).values(**row))
        _write(session, entry)
        return []

    def on_unlink(event: DocumentUnlinked, _: None, session: Session) -> Sequence[Event]:
        link_id = str(event.link_id)
        version = version_of(event.occurred_at)
        current = session.execute(
            select(entries.c.version).where(entries.c.link_id == link_id)
        ).scalar_one_or_none()
        if current is not None and current >= version:
            return []
        row = {
            "version": version,
            "removed": True,
            "unit_id": event.unit_id,
            "year": event.year,
            "criterion_code": None,
            "entry": None,
        }
        if current is None:
            session.execute(insert(entries).values(link_id=link_id, **row))
        else:
            session.execute(update(entries).where(entries.c.link_id == link_id).values(**row))
        _write(session, (link_id, version))
        return []

    def _write(session: Session, op: IndexWrite) -> None:
        """Alone: write to the index now. In a batch: queue it for one bulk request at the end."""
        if in_batch(session):
            session.info.setdefault(_BATCH_WRITES, []).append(op)
        else:
            _apply_writes(index, [op])

    def finish(session: Session) -> Sequence[Event]:
        # Before the commit, as a single message's write is: a failing bulk request rolls the
        # batch back and its messages are handled one by one.
        _apply_writes(index, session.info.pop(_BATCH_WRITES, []))
        return []

    return HandlerTable(
        {
            UnitRegistered: Handler(apply=on_unit),
            EvidenceVerified: Handler(apply=on_verdict),
            DocumentUnlinked: Handler(apply=on_unlink),
        },
        finish=finish,
    )


# An upsert, or a removal (link_id, version).
IndexWrite = EvidenceEntry | tuple[str, int]
_BATCH_WRITES = "services.indexer.batch_writes"


def _apply_writes(index: SearchIndex, ops: Sequence[IndexWrite]) -> None:
    """In order; consecutive upserts go as one bulk request (OpenSearch `_bulk`)."""
    pending: list[EvidenceEntry] = []
    for op in ops:
        if isinstance(op, EvidenceEntry):
            pending.append(op)
            continue
        if pending:
            _upsert_all(index, pending)
            pending = []
        index.remove(*op)
    if pending:
        _upsert_all(index, pending)


def _upsert_all(index: SearchIndex, entries: list[EvidenceEntry]) -> None:
    if len(entries) == 1:
        index.upsert(entries[0])
    else:
        index.bulk_upsert(entries)


def reindex_from_store(session: Session, index: SearchIndex) -> int:
    """`kiemchung reindex`: rebuild the derived search index from the durable entries."""
    return index.reindex(list(stored_entries(session)))
