"""The embedded runtime end to end: link → verdict → index → score, as `kiemchung demo` runs it."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from contracts.envelope import Event
from contracts.events import UnitRegistered
from contracts.routing import Service
from contracts.vocabulary import Level
from kiemchung.demo import UNITS, build_demo, render_text
from kiemchung.runtime.bus.inprocess import InProcessBus
from kiemchung.runtime.clock import FrozenClock, SeededIds
from kiemchung.runtime.db import create_schema, dead_letters, make_engine, session_factory
from kiemchung.runtime.messaging import Handler, ServiceRuntime, Status
from services.indexer.model import Decision
from services.scoring.replay import export_ledger, read_events, replay_scores
from services.scoring.service import load_catalogue
from services.scoring.store import scores


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    workdir = tmp_path_factory.mktemp("demo")
    result = build_demo(workdir, unit_count=4, show_progress=False)
    result["workdir"] = workdir
    return result


def _verdicts(demo: dict[str, Any]) -> dict[tuple[str, str], tuple[str, list[str]]]:
    return {(v["unit"], v["criterion"]): (v["decision"], v["reasons"]) for v in demo["documents"]}


def test_demo_links_twenty_documents_and_accepts_only_the_genuine_ones(demo: dict[str, Any]) -> None:
    verdicts = _verdicts(demo)
    assert len(demo["documents"]) == 20 + 4  # and four only the register questions
    flawed = {
        ("Sở Nội vụ", "1.3.1"): ("rejected", ["LETTERED_NUMBER"]),
        ("Sở Tài chính", "2.2.1"): ("rejected", ["SCANNED_PAPER", "NUMBER_NOT_FOUND"]),
        ("Sở Tư pháp", "1.3.2"): ("rejected", ["MODIFIED_AFTER_SIGNING", "NUMBER_NOT_FOUND"]),
        ("Sở Y tế", "2.1.2"): ("rejected", ["UNSIGNED"]),
    }
    for key, expected in flawed.items():
        assert verdicts[key] == expected, key
    accepted = {k for k, (decision, _) in verdicts.items() if decision == "accepted"}
    assert len(accepted) == 16
    assert all(reasons == [] for k, (_, reasons) in verdicts.items() if k in accepted)


def test_demo_register_questions_genuine_documents_and_reopens_the_earlier_verdict(
    demo: dict[str, Any],
) -> None:
    verdicts = _verdicts(demo)
    assert verdicts[("Sở Nội vụ", "3.1.2")] == ("needs_review", ["DUPLICATE_NUMBER"])
    assert verdicts[("Sở Nội vụ", "2.2.2")] == ("needs_review", ["DUPLICATE_NUMBER"])
    assert verdicts[("Sở Tài chính", "3.1.2")] == ("needs_review", ["SIGNED_LONG_AFTER_ISSUE"])
    assert verdicts[("Sở Tư pháp", "3.1.2")] == ("needs_review", ["ISSUER_MISMATCH"])
    first = next(v for v in demo["documents"] if (v["unit"], v["criterion"]) == ("Sở Nội vụ", "3.1.2"))
    assert first["verdicts"] == 2  # accepted, then re-opened when the second 40/TB-SNV arrived
    assert first["findings"][0]["related"] == ["Sở Nội vụ 2.2.2"]
    text = render_text(demo)
    assert "Kiểm tra chéo toàn tỉnh" in text
    assert "SIGNED_LONG_AFTER_ISSUE: dated 2024-01-15, signed 2024-11-12 (timestamp)" in text


def test_search_counts_the_register_signals_as_a_facet_after_the_reopened_verdict(
    demo: dict[str, Any],
) -> None:
    from fastapi.testclient import TestClient

    from kiemchung.api import create_app
    from kiemchung.runtime.settings import Settings
    from services.indexer.backends.fts5 import Fts5Index
    from services.scoring.access import ApiKey, KeyRing, Role, hash_key

    index = Fts5Index(demo["workdir"] / "state" / "search.db")
    engine = make_engine(f"sqlite:///{demo['workdir'] / 'state' / 'kiemchung.db'}")
    keys = KeyRing.of([ApiKey("hội đồng tỉnh", hash_key("hd-secret"), Role.APPRAISER, "hdtd-tinh")])
    app = create_app(
        Settings(),
        sessions=session_factory(engine),
        search_index=index,
        keys=keys,
        clock=lambda: datetime.now(UTC),
    )
    with TestClient(app) as client:
        found = client.get(
            "/evidence/search", params={"year": 2024, "signals": "true"}, headers={"X-API-Key": "hd-secret"}
        ).json()
        plain = client.get(
            "/evidence/search", params={"year": 2024}, headers={"X-API-Key": "hd-secret"}
        ).json()
        reviewed = client.get(
            "/evidence/search",
            params={"reason": "DUPLICATE_NUMBER", "signals": "true"},
            headers={"X-API-Key": "hd-secret"},
        ).json()
    index.close()
    # both 40/TB-SNV links: the first one's re-opened verdict replaced its accepted one in the index
    assert found["signals"] == {"DUPLICATE_NUMBER": 2, "SIGNED_LONG_AFTER_ISSUE": 1, "ISSUER_MISMATCH": 1}
    assert plain["signals"] is None
    assert {h["criterion_code"] for h in reviewed["hits"]} == {"3.1.2", "2.2.2"}
    assert all(h["decision"] == "needs_review" for h in reviewed["hits"])


def test_the_export_lists_the_registers_findings_on_its_own_sheet(demo: dict[str, Any]) -> None:
    from openpyxl import load_workbook

    from services.scoring.export import FIRST_DATA_ROW, REGISTER_SHEET, build_workbook, workbook_bytes
    from services.scoring.handlers import load_units
    from services.scoring.service import load_catalogue

    engine = make_engine(f"sqlite:///{demo['workdir'] / 'state' / 'kiemchung.db'}")
    with Session(engine) as session:
        built = build_workbook(session, load_catalogue(None), "department", 2024, load_units(session))
    sheet = load_workbook(io.BytesIO(workbook_bytes(built)))[REGISTER_SHEET]
    rows = [
        tuple(c.value for c in row)
        for row in sheet.iter_rows(min_row=FIRST_DATA_ROW, max_col=9)
        if row[0].value is not None
    ]
    assert [(r[0], r[1], r[2], r[5]) for r in rows] == [
        ("so-noi-vu", "2.2.2", "40/TB-SNV", "DUPLICATE_NUMBER"),
        ("so-noi-vu", "3.1.2", "40/TB-SNV", "DUPLICATE_NUMBER"),
        ("so-tai-chinh", "3.1.2", "3/KH-STC", "SIGNED_LONG_AFTER_ISSUE"),
        ("so-tu-phap", "3.1.2", "45/HD-SNV", "ISSUER_MISMATCH"),
    ]
    late = rows[2]
    assert (late[3].date(), late[4].date()) == (date(2024, 1, 15), date(2024, 11, 12))
    assert late[6] == "Văn bản được ký số muộn hơn nhiều so với ngày ban hành ghi trên văn bản."
    assert rows[0][8] == "so-noi-vu 3.1.2 40/TB-SNV"


def test_demo_scores_count_only_supported_points_and_rank_ties_together(demo: dict[str, Any]) -> None:
    table = {
        s["unit_id"]: (s["self_assessed"], s["verified"], s["survey"], s["index"], s["rank"])
        for s in demo["scores"]
    }
    # Verified = leaves with accepted evidence (1.1, 1.2, 2.1.1, 3.1.1: 32 points) plus the
    # explained leaf 3.2 (10), each minus the unit's shortfall; survey points come on top.
    assert table == {
        "so-tu-phap": ("80.00", "42.00", "18.00", "60.00", 1),
        "so-noi-vu": ("80.00", "42.00", "17.50", "59.50", 2),
        "so-tai-chinh": ("74.50", "39.50", "16.25", "55.75", 3),
        "so-y-te": ("69.00", "37.00", "18.75", "55.75", 3),
    }


def test_demo_search_finds_plans_without_diacritics_within_the_criterion(demo: dict[str, Any]) -> None:
    hits = demo["search"]["hits"]
    assert {h["number"] for h in hits} == {"11/KH-SNV", "16/KH-STC", "21/KH-STP", "26/KH-SYT"}
    assert all(h["criterion"] == "1.1" for h in hits)


def test_demo_prints_vietnamese_reasons_and_json_is_the_same_result(demo: dict[str, Any]) -> None:
    text = render_text(demo)
    assert "Số văn bản có chữ cái kèm theo" in text
    assert "55.75%" in text
    round_trip = json.loads(json.dumps({k: v for k, v in demo.items() if k != "workdir"}, ensure_ascii=False))
    assert round_trip["scores"][0]["unit_id"] == "so-tu-phap"


def test_replaying_the_ledger_gives_the_live_scores(demo: dict[str, Any]) -> None:
    engine = make_engine(f"sqlite:///{demo['workdir'] / 'state' / 'kiemchung.db'}")
    with Session(engine) as session:
        lines = list(export_ledger(session))
        live = [
            {
                k: v
                for k, v in s.items()
                if k
                not in {"event_id", "occurred_at", "correlation_id", "producer", "type", "schema_version"}
            }
            for s in session.execute(
                select(scores.c.snapshot).order_by(scores.c.unit_id, scores.c.year)
            ).scalars()
        ]
    replayed = replay_scores(read_events(io.StringIO("\n".join(lines))), load_catalogue())
    assert replayed == live
    assert {r["unit_id"] for r in replayed} == {u.unit_id for u in UNITS[:4]}


def _unit_event(event_id: int) -> UnitRegistered:
    ids = SeededIds(seed=7, counter=event_id)
    return UnitRegistered(
        event_id=ids(),
        occurred_at=datetime(2024, 5, 1, tzinfo=UTC),
        correlation_id=ids(),
        producer="test",
        unit_id="xa-a",
        name="UBND xã A",
        level=Level.COMMUNE,
        council_id="hdtd-huyen",
        criteria_set="demo-department",
    )


def _runtime(tmp_path: Path, handler: Handler[Any, Any]) -> tuple[ServiceRuntime, InProcessBus]:
    engine = make_engine(f"sqlite:///{tmp_path / 'state.db'}")
    create_schema(engine)
    clock = FrozenClock(datetime(2024, 5, 1, tzinfo=UTC))
    runtime = ServiceRuntime(Service.INDEXER, {UnitRegistered: handler}, session_factory(engine), clock)
    return runtime, InProcessBus({Service.INDEXER: runtime}, max_attempts=3)


def test_redelivered_event_is_processed_once(tmp_path: Path) -> None:
    calls: list[str] = []

    def apply(event: UnitRegistered, _: None, session: Session) -> Sequence[Event]:
        calls.append(event.unit_id)
        return []

    runtime, _ = _runtime(tmp_path, Handler(apply=apply))
    event = _unit_event(1)
    first = asyncio.run(runtime.handle(event))
    second = asyncio.run(runtime.handle(event))
    assert (first.status, second.status) == (Status.PROCESSED, Status.DUPLICATE)
    assert calls == ["xa-a"]


def test_poison_and_failing_messages_are_dead_lettered_after_bounded_tries(tmp_path: Path) -> None:
    attempts: list[str] = []

    def apply(event: UnitRegistered, _: None, session: Session) -> Sequence[Event]:
        attempts.append(str(event.event_id))
        if event.unit_id == "xa-a" and len(attempts) < 100 and event.name.endswith("A"):
            raise RuntimeError("database said no")
        return []

    runtime, bus = _runtime(tmp_path, Handler(apply=apply))
    good = _unit_event(2).model_copy(update={"name": "UBND xã B"})

    async def scenario() -> None:
        await bus.publish_raw_to(Service.INDEXER, b"{broken")
        await bus.publish_raw_to(Service.INDEXER, _unit_event(3).model_dump_json().encode())
        await bus.publish_raw_to(Service.INDEXER, good.model_dump_json().encode())
        await bus.drain()

    asyncio.run(scenario())
    with runtime.sessions() as session:
        rows = session.execute(select(dead_letters.c.reason, dead_letters.c.attempts)).all()
        total = session.execute(select(func.count()).select_from(dead_letters)).scalar_one()
    assert sorted((r.reason, r.attempts) for r in rows) == [("MALFORMED_JSON", 1), ("RuntimeError", 3)]
    assert total == 2
    assert attempts.count(str(good.event_id)) == 1


def test_reindex_rebuilds_the_search_index_from_stored_verdicts(demo: dict[str, Any]) -> None:
    from services.indexer.backends.fts5 import Fts5Index
    from services.indexer.handlers import reindex_from_store
    from services.indexer.model import SearchQuery

    fresh = Fts5Index(demo["workdir"] / "rebuilt-search.db")
    engine = make_engine(f"sqlite:///{demo['workdir'] / 'state' / 'kiemchung.db'}")
    with Session(engine) as session:
        assert reindex_from_store(session, fresh) == 24
    result = fresh.search(SearchQuery(text="ke hoach cai cach hanh chinh", criterion="1.1", year=2024))
    assert {h.entry.number for h in result.hits} == {h["number"] for h in demo["search"]["hits"]}
    rejected = fresh.search(SearchQuery(text="", decision=Decision.REJECTED, year=2024))
    assert rejected.total == 4
    fresh.close()


def test_appraiser_view_shows_criterion_across_units_with_gaps(demo: dict[str, Any]) -> None:
    from fastapi.testclient import TestClient

    from kiemchung.api import create_app
    from kiemchung.runtime.settings import Settings
    from services.scoring.access import ApiKey, KeyRing, Role, hash_key

    engine = make_engine(f"sqlite:///{demo['workdir'] / 'state' / 'kiemchung.db'}")
    keys = KeyRing.of([ApiKey("hội đồng tỉnh", hash_key("hd-secret"), Role.APPRAISER, "hdtd-tinh")])
    app = create_app(
        Settings(),
        sessions=session_factory(engine),
        search_index=None,
        keys=keys,
        clock=lambda: datetime.now(UTC),
    )
    with TestClient(app) as client:
        response = client.get("/criteria/1.3/units/2024", headers={"X-API-Key": "hd-secret"})
        digital = client.get("/criteria/3.1/units/2024", headers={"X-API-Key": "hd-secret"}).json()
    # the register's checks as a facet of the appraiser's view (two 3.1.2 links were questioned)
    assert digital["signals"] == {"DUPLICATE_NUMBER": 1, "ISSUER_MISMATCH": 1, "SIGNED_LONG_AFTER_ISSUE": 1}
    assert response.status_code == 200
    view = response.json()
    by_unit = {u["unit_id"]: u for u in view["units"]}
    assert {k: by_unit[k]["self_assessed"]["display"] for k in by_unit} == {
        "so-noi-vu": "12.00",
        "so-tai-chinh": "11.00",
        "so-tu-phap": "12.00",
        "so-y-te": "10.00",
    }
    assert [(e["number"], e["decision"]) for e in by_unit["so-noi-vu"]["evidence"]] == [
        ("15a/KH-SNV", "rejected")
    ]
    assert by_unit["so-tu-phap"]["evidence"][0]["reasons"][0] == "MODIFIED_AFTER_SIGNING"
    assert sorted(view["without_evidence"]) == ["so-tai-chinh", "so-y-te"]
    assert view["signals"] == {}
