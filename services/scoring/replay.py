"""Rebuild every score from the ledger alone, through the same handlers as the live service."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from contracts.envelope import Event
from contracts.errors import ContractError
from contracts.events import Published, UnitRegistered
from contracts.registry import parse_event
from contracts.routing import Service
from kiemchung.runtime.clock import FrozenClock, SeededIds
from kiemchung.runtime.db import create_schema, make_engine, session_factory
from kiemchung.runtime.messaging import EventFactory, ServiceRuntime, Status
from services.scoring.core.ranking import RankedUnit, Ranking
from services.scoring.core.rules import group_ranks
from services.scoring.core.scores import display
from services.scoring.display import display_rules, displays_by_event
from services.scoring.handlers import build_handlers, frozen_from_row, setup_payload
from services.scoring.service import CriteriaCatalogue
from services.scoring.store import ledger, published_setups, rankings, rejections, scores, units

REPLAY_PRODUCER = "kiemchung.replay"
IN_MEMORY = "sqlite://"
DISPLAY_PLACES = 2
UNIT_NAMESPACE = uuid.UUID("8d6f8a57-3c55-4b7e-9a43-2f0c5b1d6e21")


def export_ledger(session: Session) -> Iterator[str]:
    """JSON lines: each unit's registration, then every accepted ledger event in order."""
    rows = session.execute(select(units).order_by(units.c.unit_id)).mappings().all()
    first = session.execute(select(ledger.c.payload).order_by(ledger.c.seq).limit(1)).scalar_one_or_none()
    occurred = first["occurred_at"] if first else "2000-01-01T00:00:00+00:00"
    for row in rows:
        registered = {
            "event_id": str(uuid.uuid5(UNIT_NAMESPACE, row["unit_id"])),
            "type": UnitRegistered.TYPE,
            "schema_version": UnitRegistered.VERSION,
            "occurred_at": occurred,
            "correlation_id": str(uuid.uuid5(UNIT_NAMESPACE, row["unit_id"])),
            "producer": REPLAY_PRODUCER,
            "unit_id": row["unit_id"],
            "name": row["name"],
            "level": row["level"],
            "council_id": row["council_id"],
            "criteria_set": row["criteria_set"],
            "ranked": row["ranked"],
            "not_applicable": list(row["not_applicable"]),
        }
        yield json.dumps(registered, ensure_ascii=False)
    seen: set[str] = set()
    frozen: dict[str, list[dict[str, Any]]] = {}
    for row in session.execute(select(published_setups).order_by(published_setups.c.unit_id)).mappings():
        frozen.setdefault(row["event_id"], []).append(setup_payload(row["unit_id"], frozen_from_row(row)))
    shown = displays_by_event(session)
    for payload in session.execute(select(ledger.c.payload).order_by(ledger.c.seq)).scalars():
        # A multi-unit event (survey import) is recorded once per unit but replayed once.
        if payload["event_id"] in seen:
            continue
        seen.add(payload["event_id"])
        if payload.get("type") == Published.TYPE and payload["event_id"] in frozen:
            # The setups it was published with: a replay rebuilds the year as published, whatever
            # the rules files say by then (issue 13).
            payload = {**payload, "setups": frozen[payload["event_id"]]}
        if payload.get("type") == Published.TYPE and payload["event_id"] in shown:
            # And how the level's year was shown then (decimals, decimal mark, bands, groups).
            payload = {**payload, "display": shown[payload["event_id"]]}
        yield json.dumps(payload, ensure_ascii=False)


# A ledger line is one event; the largest (a survey import of a province) stays far below this.
MAX_LINE_CHARS = 8 * 1024 * 1024


class ReplayLineError(Exception):
    """A line that is not an event: its 1-based number and the contract's reason code."""

    def __init__(self, line: int, reason: str, detail: str) -> None:
        super().__init__(f"line {line}: {reason}: {detail}")
        self.line = line
        self.reason = reason
        self.detail = detail


def read_numbered(lines: Iterable[str]) -> list[tuple[int, Event]]:
    """Every event with its 1-based line number; raises ReplayLineError naming a bad line."""
    out: list[tuple[int, Event]] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        if len(line) > MAX_LINE_CHARS:
            raise ReplayLineError(number, "line_too_long", f"more than {MAX_LINE_CHARS} characters")
        try:
            out.append((number, parse_event(line)))
        except ContractError as exc:
            raise ReplayLineError(number, exc.reason.value, exc.detail) from exc
    return out


def read_events(lines: Iterable[str]) -> list[Event]:
    return [event for _, event in read_numbered(lines)]


@dataclass(frozen=True)
class RefusedLine:
    """An event the scoring rules refused on replay, as the live service refused it."""

    line: int
    event_id: str
    event_type: str
    unit_id: str
    year: int
    criterion_code: str | None
    reason: str
    detail: str


@dataclass(frozen=True)
class ReplayReport:
    # Latest score per unit and year, with "rank" (None when not ranked) and "ranked".
    scores: list[dict[str, Any]]
    refused: list[RefusedLine]


def _ranks(
    session: Session, catalogue: CriteriaCatalogue
) -> tuple[dict[tuple[str, int], int | None], dict[tuple[str, int], int]]:
    """Each unit's rank in its level, and in its ranking group where the year's rules name one
    (a published year's groups as published)."""
    out: dict[tuple[str, int], int | None] = {}
    in_groups: dict[tuple[str, int], int] = {}
    for level, year, snapshot in session.execute(
        select(rankings.c.level, rankings.c.year, rankings.c.snapshot)
    ):
        for entry in (*snapshot["entries"], *snapshot.get("not_ranked", [])):
            out[(entry["unit_id"], int(year))] = entry["rank"]
        rules = display_rules(session, catalogue, str(level), int(year))
        if rules is not None:
            ordered = tuple(
                RankedUnit(e["rank"], e["unit_id"], Decimal(e["index"])) for e in snapshot["entries"]
            )
            for unit_id, rank in group_ranks(Ranking(ordered, ()), rules).items():
                in_groups[(unit_id, int(year))] = rank
    return out, in_groups


def replay_report(
    numbered: Iterable[tuple[int, Event]], catalogue: CriteriaCatalogue, url: str = IN_MEMORY
) -> ReplayReport:
    """Replay through the live handlers into the database at `url` (in memory by default, or a
    state directory's SQLite file that `serve` and `export` read) and report what was refused."""
    engine = make_engine(url)
    create_schema(engine)
    sessions = session_factory(engine)
    clock = FrozenClock(now=_epoch())
    handlers = build_handlers(catalogue, EventFactory(REPLAY_PRODUCER, clock, SeededIds()), clock)
    runtime = ServiceRuntime(Service.SCORING, handlers, sessions, clock)
    lines: dict[str, int] = {}

    async def run() -> None:
        for number, event in numbered:
            lines.setdefault(str(event.event_id), number)
            outcome = await runtime.handle(event)
            if outcome.status is Status.FAILED:
                raise RuntimeError(
                    f"replay failed on line {number} ({event.envelope_summary()}): {outcome.detail}"
                )

    try:
        asyncio.run(run())
        with sessions() as session:
            ranks, in_groups = _ranks(session, catalogue)
            ranked_flags = {
                r.unit_id: r.ranked for r in session.execute(select(units.c.unit_id, units.c.ranked))
            }
            stored = session.execute(
                select(scores.c.snapshot, scores.c.ranked).order_by(scores.c.unit_id, scores.c.year)
            ).all()
            results = []
            for snapshot, year_ranked in stored:
                item = comparable(snapshot)
                # As the unit-year's ledger says (the year's rules file, a correction), else the
                # registration as the year's rules file overrides it.
                registered = bool(ranked_flags.get(item["unit_id"], True))
                item["ranked"] = (
                    bool(year_ranked)
                    if year_ranked is not None
                    else catalogue.ranked_for(item["unit_id"], registered, int(item["year"]))
                )
                item["rank"] = ranks.get((item["unit_id"], int(item["year"])))
                has = bool(item.get("has_result", True))
                key = (item["unit_id"], int(item["year"]))
                # A published year as it was shown then (display.py), else the year's file.
                rules = display_rules(session, catalogue, str(item["level"]), key[1])
                index = Decimal(item["index"])
                places = rules.decimals if rules is not None else DISPLAY_PLACES
                item["index_display"] = str(display(index, places)) if has else None
                if rules is not None:
                    item["group"] = rules.group_of(key[0])
                    item["group_rank"] = in_groups.get(key)
                    item["band"] = rules.band(index) if has else None
                    item["index_text"] = rules.text(index) if has else None
                results.append(item)
            refused = [
                RefusedLine(
                    line=lines.get(row["event_id"], 0),
                    event_id=row["event_id"],
                    event_type=row["event_type"],
                    unit_id=row["unit_id"],
                    year=int(row["year"]),
                    criterion_code=row["criterion_code"],
                    reason=row["reason"],
                    detail=row["detail"],
                )
                for row in session.execute(select(rejections).order_by(rejections.c.seq)).mappings()
            ]
    finally:
        engine.dispose()
    refused.sort(key=lambda r: (r.line, r.unit_id))
    return ReplayReport(results, refused)


def replay_scores(events: Iterable[Event], catalogue: CriteriaCatalogue) -> list[dict[str, Any]]:
    """Latest ScoreUpdated snapshot per unit and year, as the live service would hold them
    (`replay_report` adds ranks and the refused events)."""
    engine = make_engine("sqlite://")
    create_schema(engine)
    sessions = session_factory(engine)
    clock = FrozenClock(now=_epoch())
    handlers = build_handlers(catalogue, EventFactory(REPLAY_PRODUCER, clock, SeededIds()), clock)
    runtime = ServiceRuntime(Service.SCORING, handlers, sessions, clock)

    async def run() -> None:
        for event in events:
            outcome = await runtime.handle(event)
            if outcome.status is Status.FAILED:
                raise RuntimeError(f"replay failed on {event.envelope_summary()}: {outcome.detail}")

    asyncio.run(run())
    with sessions() as session:
        snapshots = session.execute(
            select(scores.c.snapshot).order_by(scores.c.unit_id, scores.c.year)
        ).scalars()
        return [comparable(s) for s in snapshots]


def comparable(snapshot: dict[str, Any]) -> dict[str, Any]:
    """The score itself, without the envelope (ids and times differ between runs)."""
    envelope = {"event_id", "occurred_at", "correlation_id", "producer", "type", "schema_version"}
    return {k: v for k, v in snapshot.items() if k not in envelope}


def replay_file(path: Path, catalogue: CriteriaCatalogue, url: str = IN_MEMORY) -> ReplayReport:
    """Raises ReplayLineError naming the first line that is not an event."""
    with path.open(encoding="utf-8") as handle:
        numbered = read_numbered(handle)
    return replay_report(numbered, catalogue, url)


def _epoch() -> Any:
    from datetime import UTC, datetime

    return datetime(2000, 1, 1, tzinfo=UTC)
