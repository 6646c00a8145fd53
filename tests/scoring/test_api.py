"""The HTTP API per role: what each key reads, what it is refused (401/403 with a reason code)."""

from __future__ import annotations

import io
import json
import logging
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import insert
from sqlalchemy.orm import Session, sessionmaker

from contracts.vocabulary import Decision, ReasonCode
from kiemchung.api import create_app, openapi_text
from kiemchung.runtime.db import create_schema, make_engine, session_factory
from kiemchung.runtime.settings import Settings
from services.evidence_verifier.store import verdicts
from services.indexer.backends.fts5 import Fts5Index
from services.indexer.model import Decision as IndexDecision
from services.indexer.model import EvidenceEntry
from services.scoring.access import ApiKey, KeyRing, Role, hash_key, load_keys
from tests.scoring.kit import COUNCIL, OTHER_COUNCIL, Scoring, vn

OPENAPI = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"
KEYS = {
    "unit": ("key-unit-noi-vu", Role.UNIT, "so-noi-vu"),
    "appraiser": ("key-council-tinh", Role.APPRAISER, COUNCIL),
    "province": ("key-province", Role.PROVINCE, ""),
}
GOOD = uuid.UUID(int=1)
LETTERED = uuid.UUID(int=2)


def header(role: str) -> dict[str, str]:
    return {"X-API-Key": KEYS[role][0]}


def keyring() -> KeyRing:
    return KeyRing.of(ApiKey(f"{role} key", hash_key(k), r, scope) for role, (k, r, scope) in KEYS.items())


def _entry(unit_id: str, name: str, link: uuid.UUID, title: str) -> EvidenceEntry:
    return EvidenceEntry(
        link_id=str(link),
        unit_id=unit_id,
        unit_name=name,
        level="department",
        year=2025,
        criterion_code="1.1",
        decision=IndexDecision.ACCEPTED,
        reasons=(),
        number="15/KH-SNV",
        notation="KH-SNV",
        issuer=name,
        issued_on=date(2025, 2, 10),
        title=title,
        signer=None,
        link=f"https://eoffice.example.gov.vn/{link}.pdf",
        text="Kế hoạch cải cách hành chính năm 2025",
        verified_at=datetime(2025, 3, 1, tzinfo=UTC),
        version=1,
    )


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    import asyncio

    directory = tmp_path_factory.mktemp("api")
    engine = make_engine(f"sqlite:///{directory / 'state.db'}")
    create_schema(engine)
    sessions = session_factory(engine)
    asyncio.run(_province(sessions))
    search = Fts5Index(directory / "search.db")
    search.upsert(_entry("so-noi-vu", "Sở Nội vụ", GOOD, "Kế hoạch CCHC Sở Nội vụ"))
    search.upsert(_entry("so-tai-chinh", "Sở Tài chính", uuid.UUID(int=9), "Kế hoạch CCHC Sở Tài chính"))
    app = create_app(
        Settings(), sessions=sessions, search_index=search, keys=keyring(), clock=lambda: vn(12, 1)
    )
    with TestClient(app) as test_client:
        yield test_client
    search.close()


async def _province(sessions: sessionmaker[Session]) -> None:
    s = Scoring(sessions)
    await s.register("so-noi-vu", "Sở Nội vụ")
    await s.register("ban-dan-toc", "Ban Dân tộc", ranked=False)
    await s.register("so-tai-chinh", "Sở Tài chính", council=OTHER_COUNCIL)
    await s.self_score("so-noi-vu", "1.1", "9.5", at=vn(11, 1))
    await s.self_score("so-noi-vu", "3.2", "10", at=vn(11, 2), explanation="Tỷ lệ 62%, BC số 120, mục II.3")
    await s.self_score("so-tai-chinh", "1.2", "7", explanation="BC")
    await s.self_score("ban-dan-toc", "1.2", "8", explanation="BC")
    await s.verdict("so-noi-vu", "1.1", GOOD, at=vn(11, 3))
    await s.verdict(
        "so-noi-vu",
        "1.1",
        LETTERED,
        decision=Decision.REJECTED,
        reasons=(ReasonCode.LETTERED_NUMBER,),
        at=vn(11, 4),
        number="15a/KH-SNV",
    )
    await s.survey({"so-noi-vu": "17.25", "so-tai-chinh": "16"})
    await s.self_score("so-noi-vu", "1.1", "11", at=vn(11, 5))  # refused: above the maximum
    with sessions() as session, session.begin():
        session.execute(
            insert(verdicts).values(
                link_id=str(LETTERED),
                unit_id="so-noi-vu",
                year=2025,
                criterion_code="1.1",
                document_id="VB-2",
                sha256=None,
                decision="rejected",
                reasons=["LETTERED_NUMBER"],
                report={"document": {"number": "15a/KH-SNV"}},
                text="",
                verified_at=datetime(2025, 11, 4, tzinfo=UTC),
            )
        )


# ---- refusals, per role ---------------------------------------------------------------------------


def test_no_key_or_an_unknown_key_is_refused_with_401_and_logged(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="kiemchung.api"):
        missing = client.get("/units")
        wrong = client.get("/units", headers={"X-API-Key": "not-a-key"})
    assert (missing.status_code, missing.json()["reason"]) == (401, "missing_key")
    assert (wrong.status_code, wrong.json()["reason"]) == (401, "invalid_key")
    assert sum("refused GET /units" in r.getMessage() for r in caplog.records) == 2


def test_a_unit_key_reads_only_its_own_unit(client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    own = client.get("/units/so-noi-vu/scores/2025", headers=header("unit"))
    assert own.status_code == 200
    with caplog.at_level(logging.WARNING, logger="kiemchung.api"):
        for path in (
            "/units/so-tai-chinh/scores/2025",
            "/units/ban-dan-toc/ledger/2025",
            "/units/so-tai-chinh/evidence/2025",
            "/units/khong-co",
            "/rejections?unit_id=so-tai-chinh",
            "/evidence/search?unit_id=so-tai-chinh",
        ):
            refused = client.get(path, headers=header("unit"))
            assert (refused.status_code, refused.json()["reason"]) == (403, "out_of_scope"), path
        export = client.get("/exports/department/2025.xlsx", headers=header("unit"))
    assert (export.status_code, export.json()["reason"]) == (403, "role_not_allowed")
    assert any("key=unit key" in r.getMessage() for r in caplog.records)
    assert [u["unit_id"] for u in client.get("/units", headers=header("unit")).json()] == ["so-noi-vu"]
    ranking = client.get("/rankings/department/2025", headers=header("unit")).json()
    assert [(e["unit_id"], e["rank"]) for e in ranking["ranked"]] == [("so-noi-vu", 1)]
    hits = client.get("/evidence/search", params={"q": "ke hoach"}, headers=header("unit")).json()["hits"]
    assert {h["unit_id"] for h in hits} == {"so-noi-vu"}


def test_an_appraiser_reads_the_units_of_its_council_only(client: TestClient) -> None:
    units = client.get("/units", headers=header("appraiser")).json()
    assert sorted(u["unit_id"] for u in units) == ["ban-dan-toc", "so-noi-vu"]
    assert client.get("/units/ban-dan-toc/scores/2025", headers=header("appraiser")).status_code == 200
    other = client.get("/units/so-tai-chinh/ledger/2025", headers=header("appraiser"))
    assert (other.status_code, other.json()["reason"]) == (403, "out_of_scope")
    rejected = client.get("/rejections", headers=header("appraiser")).json()
    assert {r["unit_id"] for r in rejected} == {"so-noi-vu"}
    hits = client.get("/evidence/search", params={"q": "ke hoach"}, headers=header("appraiser")).json()[
        "hits"
    ]
    assert {h["unit_id"] for h in hits} == {"so-noi-vu"}


def test_the_province_reads_everything(client: TestClient) -> None:
    units = client.get("/units", headers=header("province")).json()
    assert len(units) == 3
    hits = client.get("/evidence/search", params={"q": "ke hoach"}, headers=header("province")).json()
    assert {h["unit_id"] for h in hits["hits"]} == {"so-noi-vu", "so-tai-chinh"}
    missing = client.get("/units/khong-co", headers=header("province"))
    assert (missing.status_code, missing.json()["reason"]) == (404, "unknown_unit")
    ranking = client.get("/rankings/department/2025", headers=header("province")).json()
    assert [(e["unit_id"], e["rank"]) for e in ranking["ranked"]] == [("so-noi-vu", 1), ("so-tai-chinh", 2)]
    assert [(e["unit_id"], e["rank"]) for e in ranking["not_ranked"]] == [("ban-dan-toc", None)]


# ---- what is read ------------------------------------------------------------------------------


def test_scores_carry_exact_decimals_and_two_decimal_display_values(client: TestClient) -> None:
    view = client.get("/units/so-noi-vu/scores/2025", headers=header("province")).json()
    # Verified: 9.5 (accepted evidence) + 10 (explained) + survey 17.25 = 36.75 of 100.
    assert view["achieved"] == {"exact": "36.75", "display": "36.75"}
    assert view["self_assessed"]["exact"] == "19.5"
    field_1 = next(c for c in view["components"] if c["code"] == "1")
    # 9.5 / 30 × 100 = 31.666…: exact inside, rounded half up for display.
    assert field_1["index"]["exact"].startswith("31.6666666")
    assert field_1["index"]["display"] == "31.67"
    node_1 = view["tree"][0]
    leaf = next(n for n in node_1["children"] if n["code"] == "1.1")
    assert (leaf["title"], leaf["self_points"]["exact"], leaf["accepted_evidence"]) == (
        "Kế hoạch cải cách hành chính năm",
        "9.5",
        1,
    )


def test_the_ledger_shows_who_when_and_the_leaf_before_and_after(client: TestClient) -> None:
    rows = client.get("/units/so-noi-vu/ledger/2025", params={"leaf": "3.2"}, headers=header("unit")).json()
    [row] = rows
    assert (row["actor"], row["event_type"], row["criterion_code"]) == (
        "so-noi-vu.vanthu",
        "SelfScoreEntered",
        "3.2",
    )
    assert row["occurred_at"].startswith("2025-11-02T02:00:00")
    change = row["changes"][0]
    assert (change["before"]["self_assessed"], change["after"]["self_assessed"]) == (None, "10")


def test_evidence_per_leaf_has_verdicts_with_reasons(client: TestClient) -> None:
    items = client.get(
        "/units/so-noi-vu/evidence/2025", params={"leaf": "1.1"}, headers=header("unit")
    ).json()
    by_number = {i["number"]: i for i in items}
    assert by_number["15/KH-SNV"]["decision"] == "accepted"
    lettered = by_number["15a/KH-SNV"]
    assert lettered["decision"] == "rejected"
    assert lettered["reasons"][0]["code"] == "LETTERED_NUMBER"
    assert lettered["reasons"][0]["vietnamese"] == "Số văn bản có chữ cái kèm theo (ví dụ 15a)."
    assert lettered["link"].startswith("https://eoffice.example.gov.vn/")


def test_rejected_commands_are_listed_with_reason_codes(client: TestClient) -> None:
    rows = client.get("/rejections", params={"year": 2025}, headers=header("province")).json()
    assert [(r["unit_id"], r["criterion_code"], r["reason"]) for r in rows] == [
        ("so-noi-vu", "1.1", "points_out_of_range")
    ]


def test_the_export_endpoint_returns_the_appendix_workbook(client: TestClient) -> None:
    response = client.get("/exports/department/2025.xlsx", headers=header("appraiser"))
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.content))
    # The appraiser's council: two units, then the ranking; Sở Tài chính is not in it.
    assert book.sheetnames == ["Ban Dân tộc", "Sở Nội vụ", "Xếp hạng", "Kiểm tra chéo"]


def test_bad_search_queries_get_a_reason_code(client: TestClient) -> None:
    bad = client.get("/evidence/search", params={"criterion": "1..2"}, headers=header("province"))
    assert (bad.status_code, bad.json()["reason"]) == (422, "bad_query")


def test_keys_load_from_a_file_of_hashes(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    path.write_text(
        json.dumps([{"name": "tỉnh", "sha256": hash_key("bí mật"), "role": "province"}], ensure_ascii=False),
        encoding="utf-8",
    )
    ring = load_keys(path)
    assert ring.identify("bí mật").role is Role.PROVINCE
    assert "bí mật" not in path.read_text(encoding="utf-8")


def test_the_committed_openapi_document_is_current(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'o.db'}")
    create_schema(engine)
    app = create_app(
        Settings(),
        sessions=session_factory(engine),
        search_index=None,
        keys=keyring(),
        clock=lambda: vn(1, 1),
    )
    assert OPENAPI.read_text(encoding="utf-8") == openapi_text(app), (
        "docs/openapi.json is stale: run `kiemchung openapi --write docs/openapi.json`"
    )


def test_metrics_show_the_search_latency_of_the_api(client: TestClient) -> None:
    def searches() -> float:
        text = client.get("/metrics").text
        line = next(
            (
                ln
                for ln in text.splitlines()
                if ln.startswith('kiemchung_search_seconds_count{backend="Fts5Index"}')
            ),
            "x 0",
        )
        return float(line.split()[-1])

    before = searches()
    assert (
        client.get("/evidence/search", params={"q": "ke hoach"}, headers=header("province")).status_code
        == 200
    )
    assert searches() == before + 1
    assert client.get("/metrics").headers["content-type"].startswith("text/plain")
