"""A province in a test: units, documents the test kit signs, links through the verifier's
handlers (real verification, real database), and the latest verdict of each link."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta, timezone

from sqlalchemy import Engine

from contracts.events import (
    DocumentLinked,
    DocumentUnlinked,
    EvidenceVerified,
    SupplementRequested,
    UnitRegistered,
)
from contracts.routing import Service
from contracts.vocabulary import Level, ReasonCode
from kiemchung.runtime.clock import FrozenClock, SeededIds
from kiemchung.runtime.db import create_schema, make_engine, session_factory
from kiemchung.runtime.messaging import EventFactory, ServiceRuntime, Status
from services.evidence_verifier.handlers import Checked, build_handlers
from services.evidence_verifier.policy import Expectations, VerifierPolicy
from services.evidence_verifier.register.recorder import Register
from services.evidence_verifier.register.tolerances import DeadlineLookup, RegisterTolerances
from services.evidence_verifier.testkit.documents import (
    SignOptions,
    make_document,
    sign_organisation_and_person,
    sign_pdf,
)
from services.evidence_verifier.testkit.evidence import demo_units, spec_for
from services.evidence_verifier.testkit.pki import TestPKI, UnitCredentials, generate_pki
from services.evidence_verifier.verify import verify_bytes_async

VIETNAM = timezone(timedelta(hours=7))
YEAR = 2024
PKI_NOW = datetime(2024, 2, 1, 8, 0, tzinfo=VIETNAM)
VERIFY_NOW = datetime(2025, 1, 10, 9, 0, tzinfo=VIETNAM)
COMMUNE_DEADLINE = date(2024, 11, 30)


def seed_deadlines(level: Level, year: int) -> date | None:
    """Seed 003's dates (as bootstrap wires them from the scoring core)."""
    return {
        Level.COMMUNE: date(year, 11, 30),
        Level.DEPARTMENT: date(year, 12, 15),
        Level.DISTRICT: date(year, 12, 20),
    }[level]


_PKI: list[TestPKI] = []


def kit_pki() -> TestPKI:
    if not _PKI:
        _PKI.append(generate_pki(demo_units(3), PKI_NOW))
    return _PKI[0]


def signed(
    creds: UnitCredentials,
    number: str,
    issued_on: date,
    *,
    title: str = "KẾ HOẠCH Cải cách hành chính năm 2024",
    signed_on: date | None = None,
    cosigner: UnitCredentials | None = None,
) -> bytes:
    """A document of `creds`' unit, sealed (and timestamped) at 09:00 on `signed_on`."""
    pki = kit_pki()
    when = datetime.combine(signed_on or issued_on, datetime.min.time(), VIETNAM) + timedelta(hours=9)
    spec = spec_for(creds, number=number, issued_on=issued_on, title=title)
    options = SignOptions(signing_time=when, tsa=pki.tsa)
    pdf = sign_organisation_and_person(make_document(spec), creds.organisation, creds.person, options)
    if cosigner is not None:  # a joint document (liên tịch): the second body adds its seal
        pdf = sign_pdf(pdf, cosigner.organisation, replace(options, field_name="ChuKyToChuc2"))
    return pdf


@dataclass
class Province:
    """The verifier's handlers on a database, fed like the bus feeds them."""

    engine: Engine
    runtime: ServiceRuntime
    files: dict[str, bytes]
    verdicts: dict[str, list[EvidenceVerified]] = field(default_factory=dict)
    ids: SeededIds = field(default_factory=lambda: SeededIds(seed=7))
    clock: FrozenClock = field(
        default_factory=lambda: FrozenClock(datetime(2024, 11, 1, tzinfo=UTC), timedelta(seconds=1))
    )

    def send(self, event: DocumentLinked | DocumentUnlinked | UnitRegistered | SupplementRequested) -> None:
        outcome = asyncio.run(self.runtime.handle(event))
        assert outcome.status is Status.PROCESSED, outcome
        for produced in outcome.produced:
            assert isinstance(produced, EvidenceVerified)
            self.verdicts.setdefault(str(produced.link_id), []).append(produced)

    def _envelope(self) -> dict[str, object]:
        return {
            "event_id": self.ids(),
            "occurred_at": self.clock(),
            "correlation_id": self.ids(),
            "producer": "t",
        }

    def unit(
        self,
        unit_id: str,
        creds: UnitCredentials,
        level: Level = Level.COMMUNE,
        *,
        name: str | None = None,
        parent: str | None = None,
        organisation_names: tuple[str, ...] = (),
    ) -> None:
        self.send(
            UnitRegistered(
                **self._envelope(),
                unit_id=unit_id,
                name=name or creds.unit.name,
                level=level,
                council_id="hdtd",
                criteria_set="demo-commune",
                parent_unit_id=parent,
                organisation_names=list(organisation_names),
            )
        )

    def link(
        self, unit_id: str, pdf: bytes, criterion: str, number: str | None = None, *, year: int = YEAR
    ) -> str:
        link_id = str(uuid.UUID(int=self.ids().int))
        url = f"https://eoffice.test/{link_id}.pdf"
        self.files[url] = pdf
        self.send(
            DocumentLinked(
                **self._envelope(),
                link_id=link_id,
                unit_id=unit_id,
                year=year,
                criterion_code=criterion,
                document_id=f"VB-{link_id[:8]}",
                fetch_url=url,
                number=number,
                title="Văn bản",
                linked_by="chuyen-vien",
            )
        )
        return link_id

    def unlink(self, unit_id: str, link_id: str, criterion: str) -> None:
        self.send(
            DocumentUnlinked(
                **self._envelope(),
                link_id=link_id,
                unit_id=unit_id,
                year=YEAR,
                criterion_code=criterion,
                unlinked_by="chuyen-vien",
            )
        )

    def supplement(self, unit_id: str, codes: list[str], until: date) -> None:
        self.send(
            SupplementRequested(
                **self._envelope(),
                unit_id=unit_id,
                year=YEAR,
                criterion_codes=codes,
                until=until,
                council_id="hdtd",
                document_number="12/TB-HĐTĐ",
            )
        )

    def latest(self, link_id: str) -> EvidenceVerified:
        return self.verdicts[link_id][-1]

    def codes(self, link_id: str) -> set[ReasonCode]:
        return {f.code for f in self.latest(link_id).findings}

    def related(self, link_id: str, code: ReasonCode) -> set[str]:
        return {str(r.link_id) for f in self.latest(link_id).findings if f.code is code for r in f.related}


def build_province(
    url: str = "sqlite://",
    tolerances: RegisterTolerances = RegisterTolerances(),  # noqa: B008 - frozen value
    deadlines: DeadlineLookup = seed_deadlines,
) -> Province:
    engine = make_engine(url)
    create_schema(engine)
    pki = kit_pki()
    files: dict[str, bytes] = {}
    policy = VerifierPolicy(trust_roots=tuple(c.cert_der for c in pki.trusted_roots), now=VERIFY_NOW)

    async def check(event: DocumentLinked) -> Checked:
        expected = Expectations(number=event.number, year=event.year)
        outcome = await verify_bytes_async(
            files[event.fetch_url], name=event.fetch_url, policy=policy, expected=expected
        )
        return Checked(outcome.report, outcome.text)

    clock = FrozenClock(datetime(2024, 11, 1, tzinfo=UTC), timedelta(seconds=1))
    events = EventFactory("kiemchung.evidence-verifier", clock, SeededIds(seed=3))
    handlers = build_handlers(check, events, Register(events, tolerances, deadlines))
    runtime = ServiceRuntime(Service.EVIDENCE_VERIFIER, handlers, session_factory(engine), clock)
    return Province(engine, runtime, files)
