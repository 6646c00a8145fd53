"""Batched commits: N messages in one transaction behave as the same N handled one by one."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from contracts.envelope import Event
from contracts.events import (
    RankingUpdated,
    SelfScoreEntered,
    Submitted,
    SurveyPoints,
    SurveyResultsImported,
    UnitRegistered,
)
from contracts.routing import Service
from contracts.vocabulary import Level
from kiemchung.runtime.bus.inprocess import InProcessBus
from kiemchung.runtime.db import create_schema, dead_letters, inbox, make_engine, session_factory
from kiemchung.runtime.messaging import AnyHandler, Handler, HandlerTable, ServiceRuntime, Status
from services.scoring.store import ledger, rankings, rejections, scores
from tests.scoring.kit import BEFORE_DEADLINE, SURVEY_TIME, YEAR, Scoring, set_for

UNITS = ("so-noi-vu", "so-tai-chinh", "so-y-te", "ban-dan-toc")
COMMUNES = ("xa-an-binh", "xa-tan-hoa")
LEAVES = ("1.1", "1.2", "2.1.1", "3.2")
BATCH = 8
MAX_ATTEMPTS = 3
# Envelope fields minted by the scoring service itself: they differ when fewer rankings are emitted.
MINTED = {"event_id"}


def _store(tmp_path: Path) -> sessionmaker[Session]:
    engine = make_engine(f"sqlite:///{tmp_path / f'{uuid.uuid4().hex}.db'}")
    create_schema(engine)
    return session_factory(engine)


def _register(kit: Scoring, unit_id: str, *, level: Level = Level.DEPARTMENT, ranked: bool = True) -> Event:
    return kit.make(
        UnitRegistered,
        BEFORE_DEADLINE,
        unit_id=unit_id,
        name=f"Đơn vị {unit_id}",
        level=level,
        council_id="hdtd-tinh",
        criteria_set=set_for(level),
        ranked=ranked,
    )


def _self_score(kit: Scoring, unit_id: str, leaf: str, points: str, explained: bool = True) -> Event:
    return kit.make(
        SelfScoreEntered,
        BEFORE_DEADLINE,
        unit_id=unit_id,
        year=YEAR,
        criterion_code=leaf,
        points=Decimal(points),
        explanation="Đã thực hiện đầy đủ" if explained else None,
        entered_by=f"{unit_id}.vanthu",
    )


def _history(kit: Scoring) -> list[Event]:
    """A province's messages: registrations, self scores that do and do not move the index, a
    refused event, a survey, a submission and a unit leaving the ranking."""
    events = [_register(kit, u, ranked=u != "ban-dan-toc") for u in UNITS]
    events += [_register(kit, c, level=Level.COMMUNE) for c in COMMUNES]
    for i in range(24):
        unit = (*UNITS, *COMMUNES)[i % 6]
        events.append(_self_score(kit, unit, LEAVES[i % 4], str(Decimal(i % 5) / 2), explained=i % 7 != 3))
    events.append(_self_score(kit, "khong-ton-tai", "1.1", "1"))  # refused: unknown unit
    survey = [SurveyPoints(unit_id=u, criterion_code="4.1", points=Decimal("1.5")) for u in UNITS]
    events.append(
        kit.make(SurveyResultsImported, SURVEY_TIME, year=YEAR, source=f"SIPAS {YEAR}", results=survey)
    )
    events.append(kit.make(Submitted, BEFORE_DEADLINE, unit_id="so-y-te", year=YEAR, submitted_by="ld"))
    events.append(_register(kit, "so-tai-chinh", ranked=False))
    events += [_self_score(kit, u, "1.2", "2") for u in UNITS]
    return events


def _state(sessions: sessionmaker[Session]) -> dict[str, Any]:
    """What a reader sees: scores, rankings, the ledger, refusals and the inbox."""

    def without_minted(snapshot: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in snapshot.items() if k not in MINTED}

    with sessions() as session:
        score_rows = session.execute(select(scores).order_by(scores.c.unit_id, scores.c.year)).mappings()
        ranking_rows = session.execute(select(rankings).order_by(rankings.c.level)).mappings()
        ledger_rows = session.execute(select(ledger).order_by(ledger.c.seq)).mappings()
        refused = session.execute(select(rejections).order_by(rejections.c.seq)).mappings()
        seen = session.execute(select(inbox.c.event_id)).scalars()
        return {
            "scores": [
                (r["unit_id"], r["level"], r["version"], r["index_value"], without_minted(r["snapshot"]))
                for r in score_rows
            ],
            "rankings": [
                (r["level"], r["snapshot"]["entries"], r["snapshot"]["not_ranked"]) for r in ranking_rows
            ],
            "ledger": [
                (r["unit_id"], r["event_id"], r["criterion_code"], r["changes"], r["score_version"])
                for r in ledger_rows
            ],
            "rejections": [(r["unit_id"], r["event_id"], r["reason"]) for r in refused],
            "inbox": sorted(seen),
        }


def _ranking_updates(bus: InProcessBus) -> list[dict[str, Any]]:
    return [json.loads(body) for key, body in bus.published if key.startswith("RankingUpdated")]


async def test_batched_commits_end_in_the_same_state_as_one_commit_per_message(tmp_path: Path) -> None:
    alone = Scoring(_store(tmp_path))
    batched = Scoring(_store(tmp_path))
    events = _history(alone)
    for event in events:
        assert (await alone.send(event)).status is Status.PROCESSED
    bus = InProcessBus({Service.SCORING: batched.runtime}, max_batch=BATCH)
    for event in events:
        await bus.publish_raw_to(Service.SCORING, event.model_dump_json().encode())
    assert await bus.drain() == len(events)

    state = _state(batched.sessions)
    assert state == _state(alone.sessions)
    assert state["ledger"]
    # Refused in both runs: the unknown unit, and a self score after the unit submitted.
    assert {u for u, _, _ in state["rejections"]} == {"khong-ton-tai", "so-y-te"}
    assert {level for level, _, _ in state["rankings"]} == {"commune", "department"}
    # Fewer rankings are emitted (one per level per batch), each still numbered one after another.
    per_level: dict[str, list[int]] = {}
    for update in _ranking_updates(bus):
        per_level.setdefault(update["level"], []).append(update["version"])
    for versions in per_level.values():
        assert versions == list(range(1, len(versions) + 1))
    assert sum(map(len, per_level.values())) < len(alone.ranking_versions())


async def test_one_batch_emits_one_ranking_per_level_and_year_with_the_next_version(tmp_path: Path) -> None:
    kit = Scoring(_store(tmp_path))
    for unit in UNITS:
        await kit.send(_register(kit, unit))
    for commune in COMMUNES:
        await kit.send(_register(kit, commune, level=Level.COMMUNE))
    first = [_self_score(kit, u, "1.1", "2") for u in (*UNITS, *COMMUNES)]
    second = [_self_score(kit, u, "1.2", "1.5") for u in (*UNITS, *COMMUNES)]
    second.append(_self_score(kit, "so-y-te", "2.1.1", "1", explained=False))  # changes no index

    versions: list[tuple[str, int]] = []
    for batch in (first, second):
        outcomes = await kit.runtime.handle_batch(batch)
        assert [o.status for o in outcomes] == [Status.PROCESSED] * len(batch)
        produced = [e for o in outcomes for e in o.produced]
        assert sum(e.type == "ScoreUpdated" for e in produced) == len(batch)
        updates = [e for e in produced if isinstance(e, RankingUpdated)]
        assert sorted(u.level.value for u in updates) == ["commune", "department"]
        versions += [(u.level.value, u.version) for u in updates]
    assert sorted(versions) == [("commune", 1), ("commune", 2), ("department", 1), ("department", 2)]
    # The stored ranking is the last one emitted, with every unit's latest index.
    ranking = kit.ranking()
    assert ranking["version"] == 2
    assert {e["unit_id"] for e in ranking["entries"]} == set(UNITS)


async def test_duplicates_inside_a_batch_and_already_seen_messages_are_processed_once(tmp_path: Path) -> None:
    kit = Scoring(_store(tmp_path))
    await kit.send(_register(kit, "so-noi-vu"))
    seen_before = _self_score(kit, "so-noi-vu", "1.1", "1")
    await kit.send(seen_before)
    fresh = _self_score(kit, "so-noi-vu", "1.2", "2")
    other = _self_score(kit, "so-noi-vu", "2.1.1", "1")

    outcomes = await kit.runtime.handle_batch([fresh, seen_before, fresh, other, other])
    assert [o.status for o in outcomes] == [
        Status.PROCESSED,
        Status.DUPLICATE,
        Status.DUPLICATE,
        Status.PROCESSED,
        Status.DUPLICATE,
    ]
    state = _state(kit.sessions)
    assert [row[1] for row in state["ledger"]] == [str(e.event_id) for e in (seen_before, fresh, other)]
    assert [row[2] for row in state["scores"]] == [3]
    assert len(state["inbox"]) == 4


async def test_a_poison_message_in_a_batch_is_dead_lettered_and_the_others_commit(tmp_path: Path) -> None:
    reference = Scoring(_store(tmp_path))
    kit = Scoring(_store(tmp_path))
    events = [_register(reference, u) for u in UNITS]
    events += [_self_score(reference, u, leaf, "1.5") for leaf in LEAVES for u in UNITS]
    poison = events[len(UNITS) + 5]
    for event in events:
        if event is not poison:
            await reference.send(event)

    tries: list[str] = []
    scoring = kit.runtime.handlers[SelfScoreEntered]

    def apply(event: SelfScoreEntered, prepared: None, session: Session) -> Sequence[Event]:
        if event.event_id == poison.event_id:
            tries.append(str(event.event_id))
            raise RuntimeError("không ghi được")
        return scoring.apply(event, prepared, session)

    table = dict(kit.runtime.handlers)
    wrapped: AnyHandler = Handler(apply=apply)
    table[SelfScoreEntered] = wrapped
    runtime = ServiceRuntime(
        Service.SCORING, HandlerTable(table, finish=kit.runtime.finish), kit.sessions, kit.clock
    )
    bus = InProcessBus({Service.SCORING: runtime}, max_attempts=MAX_ATTEMPTS, max_batch=BATCH)
    for event in events:
        await bus.publish_raw_to(Service.SCORING, event.model_dump_json().encode())
    await bus.drain()

    with kit.sessions() as session:
        dead = session.execute(
            select(dead_letters.c.reason, dead_letters.c.attempts, dead_letters.c.body)
        ).all()
    assert [(d.reason, d.attempts) for d in dead] == [("RuntimeError", MAX_ATTEMPTS)]
    assert json.loads(dead[0].body)["event_id"] == str(poison.event_id)
    # Each attempt applies it at most twice (in its batch, then alone in the fallback): bounded.
    assert MAX_ATTEMPTS < len(tries) <= 2 * MAX_ATTEMPTS
    assert _state(kit.sessions) == _state(reference.sessions)
    for level_versions in _versions_by_level(bus).values():
        assert level_versions == sorted(set(level_versions))


def _versions_by_level(bus: InProcessBus) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    for update in _ranking_updates(bus):
        out.setdefault(update["level"], []).append(update["version"])
    return out


async def test_a_batch_of_independent_handlers_without_finish_keeps_every_outcome(tmp_path: Path) -> None:
    calls: list[str] = []

    def apply(event: UnitRegistered, _: None, session: Session) -> Sequence[Event]:
        calls.append(event.unit_id)
        return []

    kit = Scoring(_store(tmp_path))
    runtime = ServiceRuntime(Service.INDEXER, {UnitRegistered: Handler(apply=apply)}, kit.sessions, kit.clock)
    events: list[Event] = [_register(kit, u) for u in UNITS]
    events.insert(2, _self_score(kit, "so-noi-vu", "1.1", "1"))
    outcomes = await runtime.handle_raw_batch([b"{broken", *(e.model_dump_json().encode() for e in events)])
    assert [o.status for o in outcomes] == [
        Status.REJECTED,
        Status.PROCESSED,
        Status.PROCESSED,
        Status.IGNORED,
        Status.PROCESSED,
        Status.PROCESSED,
    ]
    assert calls == list(UNITS)
