"""The evidence register on an honest province year: how many honest links do the checks flag?

Run: .venv/bin/python bench/register.py [--units 500] [--links 40] [--seed 1] [--through-database N]

It generates a province of 500 units (20 departments, 10 districts, 470 communes). Each unit is
an issuer whose registry (văn thư) numbers its documents the way Nghị định 30/2020 has it: one
sequence per issuer per year from 1, dates increasing over the working days of the year, with
the noise real registries show (a document numbered a day or two after the date typed on it,
a head who signs one or two working days late, a few documents a week late when someone was
away, and rarer still a registry catching up after a holiday or a head on leave for weeks).
Every document is sealed within about a day of its date and timestamped (a few are not).
Each unit links 40 of its own documents, issued before its deadline (seed 003), to criteria;
a tenth of its documents serve two criteria of the same field, and districts issue a few joint
plans (liên tịch) with a commune, which both link.

Facts are fed to the register's pure core (`checks.check_all`) directly: signing and verifying
20,000 PDFs would take hours, and the checks only see the facts the verifier extracts (issuer,
number, dates, sha256, links). `--through-database N` also records the first N units' links
through the register's real adapter (the verifier's handler and Register on SQLite, with
verification replaced by a report built from the same facts), prints its cost per verdict and
checks it stored exactly what the core found.

It prints the share of honest links flagged (target < 1%), per check; how that share moves with
tighter tolerances (the defaults sit above the noise modelled here, so the 0% they give is a
statement about that noise); then it plants known frauds (a backdated plan signed in December,
a duplicated number, a number slipped in, a document dated after the deadline, another unit's
document) and prints how many the checks catch.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import random
import time
import uuid
from collections import Counter
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta, timezone
from datetime import time as clock_time

from sqlalchemy import select

from contracts.envelope import Event
from contracts.events import DocumentLinked, UnitRegistered
from contracts.report import DocumentFacts, SignatureReport, SignerInfo, VerificationReport
from contracts.routing import Service
from contracts.vocabulary import (
    Coverage,
    Decision,
    Indication,
    Level,
    ModifiedAfter,
    ReasonCode,
    SignatureKind,
)
from kiemchung.runtime.clock import FrozenClock, SeededIds
from kiemchung.runtime.db import make_engine, session_factory
from kiemchung.runtime.messaging import EventFactory, ServiceRuntime, Status
from kiemchung.schema import create_all_tables
from services.evidence_verifier.handlers import Checked, build_handlers
from services.evidence_verifier.register.checks import REGISTER_CODES, check_all
from services.evidence_verifier.register.facts import Entry, UnitRecord, unit_names
from services.evidence_verifier.register.names import fold
from services.evidence_verifier.register.recorder import Register
from services.evidence_verifier.register.store import register_entries
from services.evidence_verifier.register.tolerances import RegisterTolerances

VIETNAM = timezone(timedelta(hours=7))
YEAR = 2024
DEADLINES = {
    Level.COMMUNE: date(YEAR, 11, 30),
    Level.DEPARTMENT: date(YEAR, 12, 15),
    Level.DISTRICT: date(YEAR, 12, 20),
}
KINDS = ("KH", "BC", "QĐ", "TB", "CV", "TTr")
FIELDS = 8  # lĩnh vực of a criteria set
LEAVES_PER_FIELD = 6
DOCS_PER_YEAR = {Level.DEPARTMENT: (400, 1500), Level.DISTRICT: (1500, 4000), Level.COMMUNE: (150, 700)}
SAME_FIELD_SECOND_LINK = 0.10  # a report that serves two criteria of one field
LATE_NUMBERING = 0.05  # numbered one or two working days after the date typed on it
LATE_SIGNING = 0.03  # signed two to seven days after its date (head away)
UNTIMESTAMPED = 0.05  # sealed without an RFC 3161 timestamp (claimed time only)
JOINT_PLANS_PER_DISTRICT = 3
# Rare honest outliers, so the rate is not 0% by construction: a registry catching up after Tết
# numbers a document 5-10 working days after its date; a head on leave signs 10-25 days late.
CATCH_UP_NUMBERING = 0.003
LEAVE_SIGNING = 0.003


@dataclass(frozen=True)
class Unit:
    unit_id: str
    level: Level
    name: str
    parent: str | None


def working_days(year: int) -> list[date]:
    day, out = date(year, 1, 2), []
    while day.year == year:
        if day.weekday() < 5:
            out.append(day)
        day += timedelta(days=1)
    return out


def province(units: int) -> list[Unit]:
    departments, districts = 20, 10
    out = [Unit(f"so-{i}", Level.DEPARTMENT, f"Sở số {i} tỉnh Mẫu", None) for i in range(departments)]
    out += [
        Unit(f"huyen-{i}", Level.DISTRICT, f"Ủy ban nhân dân huyện Mẫu {i}", None) for i in range(districts)
    ]
    for i in range(units - departments - districts):
        out.append(Unit(f"xa-{i}", Level.COMMUNE, f"Ủy ban nhân dân xã Mẫu {i}", f"huyen-{i % districts}"))
    return out[:units]


def registry(unit: Unit, rng: random.Random, days: list[date]) -> list[tuple[int, str, date, datetime, bool]]:
    """One issuer's year: (number, notation, date printed, sealed at, timestamped), in number order."""
    low, high = DOCS_PER_YEAR[unit.level]
    count = rng.randint(low, high)
    abbreviation = "UBND" if unit.level is not Level.DEPARTMENT else f"S{unit.unit_id.split('-')[1]}"
    dates = sorted(rng.choice(days) for _ in range(count))
    out = []
    for n, registered in enumerate(dates, start=1):
        printed = registered
        roll = rng.random()
        if roll < CATCH_UP_NUMBERING:
            printed = days[max(0, days.index(registered) - rng.randint(5, 10))]
        elif roll < CATCH_UP_NUMBERING + LATE_NUMBERING:  # typed yesterday's (or the day before's) date
            printed = days[max(0, days.index(registered) - rng.randint(1, 2))]
        delay = timedelta(hours=rng.uniform(0.5, 30))
        roll = rng.random()
        if roll < LEAVE_SIGNING:
            delay = timedelta(days=rng.uniform(10, 25))
        elif roll < LEAVE_SIGNING + LATE_SIGNING:
            delay = timedelta(days=rng.uniform(2, 7))
        sealed = datetime.combine(printed, clock_time(8), VIETNAM) + delay
        kind = rng.choice(KINDS)
        notation = f"{abbreviation}-VP" if kind == "CV" else f"{kind}-{abbreviation}"
        out.append((n, notation, printed, sealed, rng.random() >= UNTIMESTAMPED))
    return out


def sha(*parts: object) -> str:
    return hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()


def honest_year(
    units: list[Unit], links_per_unit: int, seed: int
) -> tuple[list[Entry], dict[str, UnitRecord]]:
    rng = random.Random(seed)
    days = working_days(YEAR)
    records = {u.unit_id: UnitRecord(u.unit_id, u.level, unit_names(u.name, ()), u.parent) for u in units}
    entries: list[Entry] = []
    link_no = 0

    def link(
        unit: Unit,
        doc: tuple[int, str, date, datetime, bool],
        issuer: Unit,
        leaf: str,
        seals: tuple[str, ...],
    ) -> None:
        nonlocal link_no
        link_no += 1
        number, notation, printed, sealed, stamped = doc
        entries.append(
            Entry(
                link_id=f"l{link_no:07d}",
                unit_id=unit.unit_id,
                year=YEAR,
                criterion_code=leaf,
                decision=Decision.ACCEPTED,
                sha256=sha(issuer.unit_id, number),
                issuer=fold(issuer.name),
                organisations=seals,
                number=f"{number}/{notation}".upper(),
                sequence=number,
                notation=notation.upper(),
                issued_on=printed,
                signed_at=sealed.astimezone(UTC),
                signing_proven=stamped,
            )
        )

    by_id = {u.unit_id: u for u in units}
    for unit in units:
        issued = [d for d in registry(unit, rng, days) if d[3].date() <= DEADLINES[unit.level]]
        chosen = sorted(rng.sample(issued, min(links_per_unit, len(issued))))
        leaves = [f"{f}.{i}" for f in range(1, FIELDS + 1) for i in range(1, LEAVES_PER_FIELD + 1)]
        rng.shuffle(leaves)
        seal = (unit.name,)
        for doc, leaf in zip(chosen, leaves, strict=False):
            link(unit, doc, unit, leaf, seal)
            if rng.random() < SAME_FIELD_SECOND_LINK:
                field = leaf.split(".")[0]
                link(unit, doc, unit, f"{field}.{LEAVES_PER_FIELD + 1}", seal)
        if unit.level is Level.DISTRICT:
            # joint plans: numbered in the district's registry, sealed by a commune too, linked by both
            communes = [u for u in units if u.parent == unit.unit_id]
            partners = rng.sample(communes, min(JOINT_PLANS_PER_DISTRICT, len(communes)))
            spare = [d for d in issued if d not in chosen and d[3].date() <= DEADLINES[Level.COMMUNE]]
            for doc, commune in zip(rng.sample(spare, len(partners)), partners, strict=True):
                number, _, printed, sealed, stamped = doc
                joint = (number, "KHLT-UBND", printed, sealed, stamped)
                seals = (unit.name, by_id[commune.unit_id].name)
                link(unit, joint, unit, "1.9", seals)
                link(commune, joint, unit, "1.9", seals)
    return entries, records


def deadline(level: Level, year: int) -> date | None:
    return DEADLINES[level].replace(year=year)


def plant_frauds(entries: list[Entry], rng: random.Random) -> tuple[list[Entry], dict[str, ReasonCode]]:
    """Known frauds, one of each kind per 100 units, added to the honest year."""
    by_unit: dict[str, list[Entry]] = {}
    for e in entries:
        by_unit.setdefault(e.unit_id, []).append(e)
    planted: dict[str, ReasonCode] = {}
    extra: list[Entry] = []
    units = sorted(by_unit)
    for i, unit_id in enumerate(rng.sample(units, max(1, len(units) // 100) * 5)):
        own = sorted(
            (e for e in by_unit[unit_id] if e.sequence and e.sequence < 10_000), key=lambda e: e.sequence or 0
        )
        template = own[len(own) // 2]
        kind = i % 5
        link_id = f"fraud-{i}"
        if kind == 0:  # a January plan signed in December
            when = datetime.combine(date(YEAR, 11, 25), clock_time(9), VIETNAM).astimezone(UTC)
            fake = replace(
                template,
                link_id=link_id,
                sha256=sha("backdated", i),
                issued_on=date(YEAR, 1, 15),
                sequence=3,
                number=f"3/{template.notation}",
                signed_at=when,
                criterion_code="6.1",
            )
            code = ReasonCode.SIGNED_LONG_AFTER_ISSUE
        elif kind == 1:  # a second document under a number the registry already gave out
            fake = replace(template, link_id=link_id, sha256=sha("duplicate", i), criterion_code="6.2")
            code = ReasonCode.DUPLICATE_NUMBER
        elif kind == 2:  # a number slipped in: no. of a late document, dated months earlier
            late = own[-1]
            earlier = (late.issued_on or date(YEAR, 6, 1)) - timedelta(days=120)
            fake = replace(
                late,
                link_id=link_id,
                sha256=sha("inserted", i),
                sequence=(late.sequence or 0) + 1,
                number=f"{(late.sequence or 0) + 1}/{late.notation}",
                issued_on=earlier,
                signed_at=datetime.combine(earlier, clock_time(9), VIETNAM).astimezone(UTC),
                criterion_code="6.3",
            )
            code = ReasonCode.NUMBER_ORDER
        elif kind == 3:  # dated after the deadline
            fake = replace(
                template,
                link_id=link_id,
                sha256=sha("late", i),
                sequence=99_000,
                number=f"99000/{template.notation}",
                issued_on=date(YEAR, 12, 28),
                signed_at=datetime.combine(date(YEAR, 12, 28), clock_time(9), VIETNAM).astimezone(UTC),
                criterion_code="6.4",
            )
            code = ReasonCode.ISSUED_AFTER_DEADLINE
        else:  # another unit's document
            other = by_unit[units[(units.index(unit_id) + 1) % len(units)]][0]
            fake = replace(other, link_id=link_id, unit_id=unit_id, criterion_code="6.5")
            code = ReasonCode.ISSUER_MISMATCH
        extra.append(fake)
        planted[link_id] = code
    return entries + extra, planted


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--units", type=int, default=500)
    parser.add_argument("--links", type=int, default=40)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--through-database", type=int, default=0, metavar="N", help="units sent through SQLite"
    )
    args = parser.parse_args()

    units = province(args.units)
    entries, records = honest_year(units, args.links, args.seed)
    tolerances = RegisterTolerances()
    started = time.perf_counter()
    found = check_all(entries, records, tolerances, deadline)
    elapsed = time.perf_counter() - started
    flagged = {link for link, fs in found.items() if fs}
    per_code = Counter(f.code for fs in found.values() for f in fs)
    print(
        f"honest province year: {len(units)} units, {len(entries)} links (seed {args.seed}); "
        f"tolerances: number order {tolerances.number_order.days} d, signed after issue "
        f"{tolerances.signed_after_issue.days} d"
    )
    print(f"check_all over every link: {elapsed:.2f} s")
    print(
        f"honest links flagged: {len(flagged)} of {len(entries)} = {100 * len(flagged) / len(entries):.3f}%"
    )
    for code in REGISTER_CODES:
        print(f"  {code.value:<24} {per_code.get(code, 0)}")

    print("honest links flagged with tighter tolerances (number order / signed after issue):")
    for order_days, signed_days in ((0, 0), (1, 1), (2, 3), (4, 7), (7, 15)):
        tight = replace(
            tolerances,
            number_order=timedelta(days=order_days),
            signed_after_issue=timedelta(days=signed_days),
        )
        share = sum(1 for fs in check_all(entries, records, tight, deadline).values() if fs) / len(entries)
        print(f"  {order_days:>2} d / {signed_days:>2} d: {100 * share:.3f}%")

    with_fraud, planted = plant_frauds(entries, random.Random(args.seed + 1))
    found = check_all(with_fraud, records, tolerances, deadline)
    caught = {link: code for link, code in planted.items() if any(f.code is code for f in found[link])}
    print(f"planted frauds caught: {len(caught)} of {len(planted)}")
    for code in sorted(set(planted.values()), key=list(ReasonCode).index):
        total = sum(1 for c in planted.values() if c is code)
        hit = sum(1 for c in caught.values() if c is code)
        print(f"  {code.value:<24} {hit}/{total}")
    honest_now = {link for link, fs in found.items() if fs and link not in planted}
    print(f"honest links flagged once frauds are added (their partners): {len(honest_now)}")
    if args.through_database:
        through_database(units[: args.through_database], with_fraud, records, tolerances)


def _report(e: Entry) -> VerificationReport:
    seals = [
        SignatureReport(
            field=f"ChuKyToChuc{i}",
            signer=SignerInfo(common_name=name, organisation=name, serial="01"),
            kind=SignatureKind.ORGANISATION,
            intact=True,
            trusted=True,
            indication=Indication.TOTAL_PASSED,
            coverage=Coverage.ENTIRE_FILE,
            modified_after=ModifiedAfter.NONE,
            signing_time=e.signed_at,
            timestamped=e.signing_proven,
        )
        for i, name in enumerate(e.organisations)
    ]
    facts = DocumentFacts(number=e.number, notation=e.notation, issued_on=e.issued_on)
    return VerificationReport(
        file=e.link_id,
        sha256=e.sha256,
        decision=e.decision,
        reasons=[],
        signatures=seals,
        document=facts,
        elapsed_ms=0,
    )


def through_database(
    units: list[Unit], entries: list[Entry], records: dict[str, UnitRecord], tolerances: RegisterTolerances
) -> None:
    """The first units' links through the verifier's handler and the Register on SQLite."""
    engine = make_engine("sqlite://")
    create_all_tables(engine)
    clock = FrozenClock(datetime(2024, 12, 1, tzinfo=UTC), timedelta(milliseconds=1))
    ids = SeededIds(seed=9)
    factory = EventFactory("bench", clock, ids)
    wanted = {u.unit_id for u in units}
    chosen = [e for e in entries if e.unit_id in wanted]
    reports = {e.link_id: _report(e) for e in chosen}

    async def check(event: DocumentLinked) -> Checked:
        return Checked(reports[event.document_id], "")

    handlers = build_handlers(check, factory, Register(factory, tolerances, deadline))
    runtime = ServiceRuntime(Service.EVIDENCE_VERIFIER, handlers, session_factory(engine), clock)
    envelope = {"occurred_at": clock(), "producer": "bench"}
    events: list[Event] = [
        UnitRegistered(
            event_id=ids(),
            correlation_id=ids(),
            **envelope,
            unit_id=u.unit_id,
            name=u.name,
            level=u.level,
            council_id="hd",
            criteria_set="s",
            parent_unit_id=u.parent,
        )
        for u in units
    ]
    links = [
        DocumentLinked(
            event_id=ids(),
            correlation_id=ids(),
            **envelope,
            link_id=uuid.uuid5(uuid.NAMESPACE_URL, e.link_id),
            unit_id=e.unit_id,
            year=YEAR,
            criterion_code=e.criterion_code,
            document_id=e.link_id,
            fetch_url=f"https://eoffice.test/{e.link_id}",
            linked_by="bench",
        )
        for e in chosen
    ]

    async def feed(batch: list[Event]) -> int:
        emitted = 0
        for event in batch:
            outcome = await runtime.handle(event)
            if outcome.status is not Status.PROCESSED:
                raise RuntimeError(f"{outcome.status}: {outcome.detail}")
            emitted += len(outcome.produced)
        return emitted

    asyncio.run(feed(events))
    started = time.perf_counter()
    emitted = asyncio.run(feed(list(links)))
    elapsed = time.perf_counter() - started
    with session_factory(engine)() as session:
        stored = {
            r.link_id: [f["code"] for f in r.findings]
            for r in session.execute(select(register_entries.c.link_id, register_entries.c.findings))
        }
    expected = check_all(chosen, {u: records[u] for u in wanted}, tolerances, deadline)
    by_uuid = {str(uuid.uuid5(uuid.NAMESPACE_URL, link)): fs for link, fs in expected.items()}
    same = all(stored[k] == [f.code.value for f in fs] for k, fs in by_uuid.items())
    print(
        f"through the database (SQLite, {len(units)} units, {len(links)} links): "
        f"{1000 * elapsed / len(links):.2f} ms per verdict incl. the register, "
        f"{emitted - len(links)} verdicts re-opened; stored findings equal the core's: {same}"
    )


if __name__ == "__main__":
    main()
