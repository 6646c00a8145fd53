"""The register inside the verifier's transaction: record a verdict, an unlink or a unit, run
the checks over every link they can affect, store the findings, and re-emit the verdict of each
earlier link whose findings changed (a new EvidenceVerified for the same link: the indexer and
scoring already take a newer verdict as replacing the older one).

Concurrency: on PostgreSQL two verifier workers could each record one of two documents with the
same number and neither see the other, so every register change takes one transaction-scoped
advisory lock first. SQLite already serialises writers. The lock is held only for this short
step; fetching and verifying (the slow part) happen before the transaction.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, or_, select, text, update
from sqlalchemy.orm import Session

from contracts.envelope import Event
from contracts.events import (
    MAX_RELATED_LINKS,
    DocumentLinked,
    DocumentUnlinked,
    EvidenceVerified,
    RegisterFinding,
    RelatedLink,
    SupplementRequested,
    UnitRegistered,
)
from contracts.report import VerificationReport
from contracts.vocabulary import Decision, Level
from kiemchung.runtime.messaging import EventFactory
from services.evidence_verifier.policy import decide, ordered
from services.evidence_verifier.register.checks import Finding, Supplements, check_all
from services.evidence_verifier.register.facts import Entry, UnitRecord, entry_from_report, unit_names
from services.evidence_verifier.register.store import register_entries, register_supplements, register_units
from services.evidence_verifier.register.tolerances import (
    DEFAULT_TOLERANCES,
    DeadlineLookup,
    RegisterTolerances,
    no_deadlines,
)
from services.evidence_verifier.store import verdicts

MAX_DOCUMENT_ID_CHARS = 200
MAX_SUPPLEMENT_CODES = 500  # criterion codes kept from one request (a whole set has fewer leaves)
MAX_CODE_CHARS = 64  # register_entries.document_id; e-office ids are short, but unbounded
# Any constant shared by every verifier; "kcreg" in ASCII.
ADVISORY_LOCK_KEY = 0x6B63726567


def finding_to_json(f: Finding) -> dict[str, Any]:
    return {"code": f.code.value, "related": list(f.related), "detail": f.detail, "total": f.related_total}


def entry_from_row(row: Mapping[str, Any]) -> Entry:
    return Entry(
        link_id=row["link_id"],
        unit_id=row["unit_id"],
        year=row["year"],
        criterion_code=row["criterion_code"],
        decision=Decision(row["decision"]),
        sha256=row["sha256"],
        issuer=row["issuer"],
        organisations=tuple(row["organisations"]),
        number=row["number"],
        sequence=row["sequence"],
        notation=row["notation"],
        issued_on=row["issued_on"],
        signed_at=row["signed_at"],
        signing_proven=row["signing_proven"],
    )


def unit_from_row(row: Mapping[str, Any]) -> UnitRecord:
    return UnitRecord(row["unit_id"], Level(row["level"]), frozenset(row["names"]), row["parent_unit_id"])


def merged_report(base: VerificationReport, findings: Sequence[Finding]) -> VerificationReport:
    """The verifier's report with the register's codes added (and the decision they imply)."""
    reasons = ordered([*base.reasons, *(f.code for f in findings)])
    return base.model_copy(update={"reasons": reasons, "decision": decide(reasons)})


@dataclass(frozen=True)
class _Loaded:
    rows: dict[str, dict[str, Any]]  # link_id -> register row, for every link loaded
    complete: frozenset[str]  # links whose every check group is wholly in `rows`


class Register:
    def __init__(
        self,
        events: EventFactory,
        tolerances: RegisterTolerances = DEFAULT_TOLERANCES,
        deadlines: DeadlineLookup = no_deadlines,
    ) -> None:
        self.events = events
        self.tolerances = tolerances
        self.deadlines = deadlines

    # ---- the three inputs ---------------------------------------------------------------------

    def record(self, session: Session, linked: DocumentLinked, verified: EvidenceVerified) -> list[Event]:
        """`verified` with its findings, then the re-opened verdicts of other links."""
        _lock(session)
        link_id = str(linked.link_id)
        previous = (
            session.execute(select(register_entries).where(register_entries.c.link_id == link_id))
            .mappings()
            .first()
        )
        if previous is not None and previous["removed"]:
            return [verified]  # unlinked before its verdict arrived: nothing to register
        entry = entry_from_report(
            verified.report,
            link_id=link_id,
            unit_id=linked.unit_id,
            year=linked.year,
            criterion_code=linked.criterion_code,
            reported_issuer=linked.issuer,
        )
        row = {
            **_facts_row(entry),
            "document_id": linked.document_id[:MAX_DOCUMENT_ID_CHARS],
            "fetch_url": linked.fetch_url,
            "title": linked.title,
            "reported_issuer": linked.issuer,
            "linked_at": verified.linked_at,
            "removed": False,
            "findings": [],
        }
        if previous is None:
            session.execute(register_entries.insert().values(link_id=link_id, **row))
        else:
            session.execute(
                update(register_entries).where(register_entries.c.link_id == link_id).values(**row)
            )
        rows = [dict(previous)] if previous is not None else []
        changed, found, loaded = self._recheck(session, [*rows, {"link_id": link_id, **row}])
        own = found.get(link_id, ())
        first = verified.model_copy(
            update={
                "report": merged_report(verified.report, own),
                "findings": _contract_findings(own, loaded.rows),
            }
        )
        others = [c for c in changed if c != link_id]
        return [first, *self._reopen(session, linked, others, found, loaded)]

    def unlink(self, session: Session, event: DocumentUnlinked) -> list[Event]:
        _lock(session)
        link_id = str(event.link_id)
        previous = (
            session.execute(select(register_entries).where(register_entries.c.link_id == link_id))
            .mappings()
            .first()
        )
        if previous is None:
            session.execute(register_entries.insert().values(**_tombstone(event)))
            return []
        session.execute(
            update(register_entries)
            .where(register_entries.c.link_id == link_id)
            .values(removed=True, findings=[])
        )
        changed, found, loaded = self._recheck(session, [dict(previous)])
        return self._reopen(session, event, changed, found, loaded)

    def unit(self, session: Session, event: UnitRegistered) -> list[Event]:
        _lock(session)
        values = {
            "level": event.level.value,
            "name": event.name,
            "names": sorted(unit_names(event.name, event.organisation_names)),
            "parent_unit_id": event.parent_unit_id,
        }
        exists = session.execute(
            select(register_units.c.unit_id).where(register_units.c.unit_id == event.unit_id)
        ).first()
        if exists:
            session.execute(
                update(register_units).where(register_units.c.unit_id == event.unit_id).values(**values)
            )
        else:
            session.execute(register_units.insert().values(unit_id=event.unit_id, **values))
        # Its own links, and its children's (whose parent may now be allowed as issuer).
        children = select(register_units.c.unit_id).where(register_units.c.parent_unit_id == event.unit_id)
        seeds = session.execute(
            select(register_entries).where(
                register_entries.c.removed.is_(False),
                or_(register_entries.c.unit_id == event.unit_id, register_entries.c.unit_id.in_(children)),
            )
        ).mappings()
        changed, found, loaded = self._recheck(session, [dict(r) for r in seeds])
        return self._reopen(session, event, changed, found, loaded)

    def supplement(self, session: Session, event: SupplementRequested) -> list[Event]:
        """The council asked for more evidence: what it asked for is not late until `until`."""
        _lock(session)
        codes = sorted({c for c in event.criterion_codes if len(c) <= MAX_CODE_CHARS})[:MAX_SUPPLEMENT_CODES]
        if codes:
            session.execute(
                register_supplements.insert(),
                [
                    {"unit_id": event.unit_id, "year": event.year, "criterion_code": c, "until": event.until}
                    for c in codes
                ],
            )
        seeds = session.execute(
            select(register_entries).where(
                register_entries.c.removed.is_(False),
                register_entries.c.unit_id == event.unit_id,
                register_entries.c.year == event.year,
            )
        ).mappings()
        changed, found, loaded = self._recheck(session, [dict(r) for r in seeds])
        return self._reopen(session, event, changed, found, loaded)

    def recheck_all(self, session: Session, cause: Event) -> list[Event]:
        """Every link checked again (after the tolerances or the deadlines changed); the verdicts
        whose findings changed are re-emitted, caused by `cause`."""
        _lock(session)
        rows = {
            r["link_id"]: dict(r)
            for r in session.execute(
                select(register_entries).where(register_entries.c.removed.is_(False))
            ).mappings()
        }
        loaded = _Loaded(rows, frozenset(rows))
        entries = [entry_from_row(r) for r in rows.values()]
        found = check_all(
            entries, _units(session, {e.unit_id for e in entries}), self.tolerances, self.deadlines
        )
        changed = self._store(session, loaded, found)
        return self._reopen(session, cause, changed, found, loaded)

    # ---- checks over the neighbourhood ------------------------------------------------------

    def _recheck(
        self, session: Session, seeds: Sequence[Mapping[str, Any]]
    ) -> tuple[list[str], dict[str, tuple[Finding, ...]], _Loaded]:
        """Recompute the findings of every link the seeds' groups hold; store those that changed."""
        if not seeds:
            return [], {}, _Loaded({}, frozenset())
        loaded = _neighbourhood(session, seeds)
        entries = [entry_from_row(r) for r in loaded.rows.values()]
        unit_ids = {e.unit_id for e in entries}
        units = _units(session, unit_ids)
        found = check_all(entries, units, self.tolerances, self.deadlines, _supplements(session, unit_ids))
        return self._store(session, loaded, found), found, loaded

    def _store(
        self, session: Session, loaded: _Loaded, found: Mapping[str, tuple[Finding, ...]]
    ) -> list[str]:
        """Write the findings that changed; the links they belong to, in order."""
        changed: list[str] = []
        for link_id in sorted(loaded.complete):
            new = [finding_to_json(f) for f in found.get(link_id, ())]
            if new != loaded.rows[link_id]["findings"]:
                session.execute(
                    update(register_entries).where(register_entries.c.link_id == link_id).values(findings=new)
                )
                changed.append(link_id)
        return changed

    def _reopen(
        self,
        session: Session,
        cause: Event,
        link_ids: Collection[str],
        found: Mapping[str, tuple[Finding, ...]],
        loaded: _Loaded,
    ) -> list[Event]:
        """A new verdict for each link whose findings changed: the verifier's report plus them."""
        if not link_ids:
            return []
        base = {
            r.link_id: r
            for r in session.execute(
                select(verdicts.c.link_id, verdicts.c.report, verdicts.c.text).where(
                    verdicts.c.link_id.in_(sorted(link_ids))
                )
            )
        }
        out: list[Event] = []
        for link_id in sorted(link_ids):
            row = loaded.rows[link_id]
            verdict = base.get(link_id)
            if verdict is None:
                continue
            report = VerificationReport.model_validate(verdict.report)
            own = found.get(link_id, ())
            out.append(
                self.events.make(
                    EvidenceVerified,
                    correlation_id=cause.correlation_id,
                    link_id=link_id,
                    unit_id=row["unit_id"],
                    year=row["year"],
                    criterion_code=row["criterion_code"],
                    document_id=row["document_id"],
                    fetch_url=row["fetch_url"],
                    title=row["title"],
                    issuer=row["reported_issuer"],
                    report=merged_report(report, own),
                    text=verdict.text,
                    linked_at=row["linked_at"],
                    findings=_contract_findings(own, loaded.rows),
                )
            )
        return out


# ---- helpers -----------------------------------------------------------------------------------


def _lock(session: Session) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK_KEY})


def _facts_row(e: Entry) -> dict[str, Any]:
    return {
        "unit_id": e.unit_id,
        "year": e.year,
        "criterion_code": e.criterion_code,
        "decision": e.decision.value,
        "sha256": e.sha256,
        "issuer": e.issuer,
        "number_year": e.issue_year or e.year,
        "organisations": list(e.organisations),
        "number": e.number,
        "sequence": e.sequence,
        "notation": e.notation,
        "issued_on": e.issued_on,
        "signed_at": e.signed_at,
        "signing_proven": e.signing_proven,
    }


def _tombstone(event: DocumentUnlinked) -> dict[str, Any]:
    return {
        "link_id": str(event.link_id),
        "unit_id": event.unit_id,
        "year": event.year,
        "criterion_code": event.criterion_code,
        "decision": Decision.REJECTED.value,
        "number_year": event.year,
        "organisations": [],
        "signing_proven": False,
        "document_id": "",
        "fetch_url": "",
        "title": "",
        "removed": True,
        "findings": [],
    }


def _keys(rows: Iterable[Mapping[str, Any]]) -> tuple[set[tuple[str, int]], set[str]]:
    groups = {(r["issuer"], r["number_year"]) for r in rows if r.get("issuer") is not None}
    shas = {r["sha256"] for r in rows if r.get("sha256")}
    return groups, shas


def _load(session: Session, groups: set[tuple[str, int]], shas: set[str]) -> dict[str, dict[str, Any]]:
    t = register_entries
    conditions: list[ColumnElement[bool]] = [t.c.sha256.in_(sorted(shas))] if shas else []
    for issuer, year in sorted(groups):
        conditions.append((t.c.issuer == issuer) & (t.c.number_year == year))
    if not conditions:
        return {}
    rows = session.execute(select(t).where(t.c.removed.is_(False), or_(*conditions))).mappings()
    return {r["link_id"]: dict(r) for r in rows}


def _neighbourhood(session: Session, seeds: Sequence[Mapping[str, Any]]) -> _Loaded:
    """Every link sharing an issuer-year or a file with the seeds, one step further, and which of
    them have all their groups loaded (only those get new findings)."""
    groups, shas = _keys(seeds)
    first = _load(session, groups, shas)
    more_groups, more_shas = _keys(first.values())
    groups |= more_groups
    shas |= more_shas
    rows = _load(session, groups, shas)
    for seed in seeds:  # a seed without issuer or file is still checked on its own
        if not seed.get("removed") and seed["link_id"] not in rows:
            current = (
                session.execute(select(register_entries).where(register_entries.c.link_id == seed["link_id"]))
                .mappings()
                .first()
            )
            if current is not None and not current["removed"]:
                rows[seed["link_id"]] = dict(current)
    complete = frozenset(
        link
        for link, r in rows.items()
        if (r["issuer"] is None or (r["issuer"], r["number_year"]) in groups)
        and (not r["sha256"] or r["sha256"] in shas)
    )
    return _Loaded(rows, complete)


def _units(session: Session, unit_ids: set[str]) -> dict[str, UnitRecord]:
    rows = session.execute(select(register_units).where(register_units.c.unit_id.in_(sorted(unit_ids))))
    units = {r.unit_id: unit_from_row(dict(r._mapping)) for r in rows}
    parents = {u.parent_unit_id for u in units.values() if u.parent_unit_id} - set(units)
    if parents:
        more = session.execute(select(register_units).where(register_units.c.unit_id.in_(sorted(parents))))
        units.update({r.unit_id: unit_from_row(dict(r._mapping)) for r in more})
    return units


def _supplements(session: Session, unit_ids: set[str]) -> Supplements:
    t = register_supplements
    out: dict[tuple[str, int], list[tuple[str, date]]] = {}
    for r in session.execute(
        select(t.c.unit_id, t.c.year, t.c.criterion_code, t.c.until).where(t.c.unit_id.in_(sorted(unit_ids)))
    ):
        out.setdefault((r.unit_id, r.year), []).append((r.criterion_code, r.until))
    return out


def _contract_findings(
    findings: Sequence[Finding], rows: Mapping[str, Mapping[str, Any]]
) -> list[RegisterFinding]:
    out = []
    for f in findings:
        related = [_related(rows[link]) for link in f.related[:MAX_RELATED_LINKS] if link in rows]
        out.append(
            RegisterFinding(code=f.code, detail=f.detail, related=related, related_total=f.related_total)
        )
    return out


def _related(row: Mapping[str, Any]) -> RelatedLink:
    issued: date | None = row["issued_on"]
    return RelatedLink(
        link_id=row["link_id"],
        unit_id=row["unit_id"],
        year=row["year"],
        criterion_code=row["criterion_code"],
        number=row["number"],
        issued_on=issued,
    )
