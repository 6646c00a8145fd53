"""`kiemchung demo`: a whole demo province in one process, no server.

It generates a test PKI (root CA; per unit an organisation seal certificate and a person
certificate for its head), about twenty Vietnamese evidence PDFs signed with them (good ones,
a "15a/KH-…" number, a scanned paper page, one altered after signing, one unsigned), links each
to a criterion through the same DocumentLinked event the e-office system sends, and prints every
verdict, every unit's index and rank, and an example evidence search.
"""

from __future__ import annotations

import asyncio
import json
import logging
import shutil
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import select

from contracts.envelope import Event
from contracts.events import (
    DocumentLinked,
    EvidenceVerified,
    SelfScoreEntered,
    Submitted,
    SurveyPoints,
    SurveyResultsImported,
    UnitRegistered,
)
from contracts.vocabulary import Level, ReasonCode
from kiemchung.bootstrap import EmbeddedApp, build_embedded
from kiemchung.runtime.clock import FrozenClock, SeededIds
from kiemchung.runtime.messaging import EventFactory, Outcome
from kiemchung.runtime.settings import Settings
from services.evidence_verifier.testkit import documents as docs
from services.evidence_verifier.testkit.pki import TestPKI, UnitIdentity, generate_pki
from services.indexer.model import SearchQuery
from services.scoring.core.scores import display
from services.scoring.service import DEMO_SET_ID
from services.scoring.store import rankings, scores

VIETNAM = timezone(timedelta(hours=7))
DEMO_YEAR = 2024
DEMO_NOW = datetime(2024, 11, 20, 9, 0, tzinfo=VIETNAM)
PKI_NOW = datetime(2024, 1, 2, 8, 0, tzinfo=VIETNAM)
COUNCIL = "hdtd-tinh"
EOFFICE_PRODUCER = "eoffice.demo"
SURVEY_LEAF = "4.1"
SEARCH_EXAMPLE = "ke hoach cai cach hanh chinh"
SEARCH_CRITERION = "1.1"


@dataclass(frozen=True)
class DemoUnit:
    unit_id: str
    name: str
    notation: str
    head: str
    ranked: bool
    survey: Decimal
    shortfall: Decimal  # points below each leaf's maximum in the self-assessment


UNITS: tuple[DemoUnit, ...] = (
    DemoUnit("so-noi-vu", "Sở Nội vụ", "SNV", "Nguyễn Văn An", True, Decimal("17.5"), Decimal("0")),
    DemoUnit("so-tai-chinh", "Sở Tài chính", "STC", "Trần Thị Bình", True, Decimal("16.25"), Decimal("0.5")),
    DemoUnit("so-tu-phap", "Sở Tư pháp", "STP", "Lê Văn Cường", True, Decimal("18"), Decimal("0")),
    DemoUnit("so-y-te", "Sở Y tế", "SYT", "Phạm Thị Dung", True, Decimal("18.75"), Decimal("1")),
    DemoUnit("ban-dan-toc", "Ban Dân tộc", "BDT", "Hoàng Văn Em", False, Decimal("16"), Decimal("0.5")),
)

# Good evidence every unit links: leaf → (kind of document, title).
GOOD_DOCUMENTS: tuple[tuple[str, str, str], ...] = (
    ("1.1", "KH", "KẾ HOẠCH Cải cách hành chính năm 2024"),
    ("1.2", "BC", "BÁO CÁO Kết quả thực hiện cải cách hành chính quý III năm 2024"),
    ("2.1.1", "QĐ", "QUYẾT ĐỊNH Phê duyệt phương án đơn giản hóa thủ tục hành chính năm 2024"),
    ("3.1.1", "TB", "THÔNG BÁO Kết quả gửi, nhận văn bản điện tử có chữ ký số năm 2024"),
)
# Leaves the units explain in writing instead of linking a document (giải trình).
EXPLAINED = {"3.2": "Tỷ lệ hồ sơ trực tuyến toàn trình đạt 62%, xem Báo cáo số 120/BC, mục II.3"}


class Flaw:
    LETTERED = "lettered"
    SCANNED = "scanned"
    ALTERED = "altered"
    UNSIGNED = "unsigned"


# One flawed document per unit (in order), on the leaf named.
FLAWS: tuple[tuple[str, str], ...] = (
    (Flaw.LETTERED, "1.3.1"),
    (Flaw.SCANNED, "2.2.1"),
    (Flaw.ALTERED, "1.3.2"),
    (Flaw.UNSIGNED, "2.1.2"),
    (Flaw.LETTERED, "2.2.2"),
)


# Documents genuinely signed that only the province-wide register can question (issue 15), as
# (linking unit, issuing unit, leaf, number, title, printed date, sealed on), in linking order:
# the same number twice (the earlier verdict is re-opened), a January plan sealed in November,
# a department linking another department's document.
REGISTER_CASES: tuple[tuple[int, int, str, str, str, date, date], ...] = (
    (
        0,
        0,
        "3.1.2",
        "40/TB-SNV",
        "THÔNG BÁO Kết quả gửi, nhận văn bản điện tử",
        date(2024, 10, 1),
        date(2024, 10, 1),
    ),
    (
        0,
        0,
        "2.2.2",
        "40/TB-SNV",
        "THÔNG BÁO Kết quả kiểm tra cải cách hành chính",
        date(2024, 10, 1),
        date(2024, 10, 2),
    ),
    (1, 1, "3.1.2", "3/KH-STC", "KẾ HOẠCH Chuyển đổi số năm 2024", date(2024, 1, 15), date(2024, 11, 12)),
    (
        2,
        0,
        "3.1.2",
        "45/HD-SNV",
        "HƯỚNG DẪN Gửi, nhận văn bản điện tử",
        date(2024, 10, 20),
        date(2024, 10, 20),
    ),
)


@dataclass(frozen=True)
class PlannedDocument:
    unit: DemoUnit
    leaf: str
    number: str
    title: str
    issued_on: date
    flaw: str | None
    path: Path
    issuer: DemoUnit | None = None  # when another body issued it (default: the linking unit)
    signed_on: date | None = None  # when sealed (default: the day it is dated)


def _subject(title: str) -> str:
    """ "KẾ HOẠCH Cải cách hành chính năm 2024" → "cải cách hành chính năm 2024"."""
    words = title.split()
    rest = [w for i, w in enumerate(words) if not all(x.isupper() for x in words[: i + 1])]
    return " ".join(rest).lower()


def _body(unit: DemoUnit, title: str) -> tuple[str, ...]:
    return (
        f"Căn cứ Quyết định số 01/QĐ-DEMO về Bộ Chỉ số cải cách hành chính, {unit.name} ban hành "
        f"văn bản này về {_subject(title)}.",
        "I. MỤC ĐÍCH, YÊU CẦU: nâng cao chất lượng phục vụ người dân và doanh nghiệp; bảo đảm 100% "
        "văn bản đi được ký số và gửi, nhận trên Hệ thống quản lý văn bản và điều hành.",
        "II. NỘI DUNG: rà soát 45 thủ tục hành chính, cắt giảm 20% thời gian giải quyết; công khai "
        "kết quả trên Cổng thông tin điện tử của đơn vị.",
        "III. TỔ CHỨC THỰC HIỆN: các phòng, ban, đơn vị trực thuộc triển khai thực hiện; định kỳ "
        "báo cáo kết quả về Sở Nội vụ trước ngày 15 của tháng cuối quý.",
    )


def plan_documents(units: tuple[DemoUnit, ...], directory: Path) -> list[PlannedDocument]:
    planned: list[PlannedDocument] = []
    serial = 10
    for position, unit in enumerate(units):
        for offset, (leaf, kind, title) in enumerate(GOOD_DOCUMENTS):
            serial += 1
            issued = date(DEMO_YEAR, 2 + offset * 2, 10 + position)
            number = f"{serial}/{kind}-{unit.notation}"
            planned.append(
                PlannedDocument(
                    unit, leaf, number, title, issued, None, directory / f"{unit.unit_id}-{leaf}.pdf"
                )
            )
        flaw, leaf = FLAWS[position]
        serial += 1
        number = f"{serial}a/KH-{unit.notation}" if flaw == Flaw.LETTERED else f"{serial}/KH-{unit.notation}"
        title = "KẾ HOẠCH Kiểm tra công tác cải cách hành chính năm 2024"
        planned.append(
            PlannedDocument(
                unit,
                leaf,
                number,
                title,
                date(DEMO_YEAR, 9, 5),
                flaw,
                directory / f"{unit.unit_id}-{leaf}.pdf",
            )
        )
    for linker, issuer, leaf, number, title, issued, signed in REGISTER_CASES:
        if max(linker, issuer) < len(units):
            unit = units[linker]
            path = directory / f"{unit.unit_id}-{leaf}.pdf"
            planned.append(
                PlannedDocument(unit, leaf, number, title, issued, None, path, units[issuer], signed)
            )
    return planned


def write_document(doc: PlannedDocument, pki: TestPKI) -> None:
    issuer = doc.issuer or doc.unit
    creds = pki.unit(issuer.name)
    spec = docs.DocumentSpec(
        issuer=issuer.name,
        number=doc.number,
        place="Vĩnh Long",
        issued_on=doc.issued_on,
        title=doc.title,
        body=_body(doc.unit, doc.title),
        signer_title="GIÁM ĐỐC",
        signer_name=issuer.head,
    )
    signed_on = doc.signed_on or doc.issued_on
    signing_time = datetime.combine(signed_on, datetime.min.time(), VIETNAM) + timedelta(hours=10)
    options = docs.SignOptions(signing_time=signing_time, tsa=pki.tsa)
    if doc.flaw == Flaw.SCANNED:
        data = docs.sign_pdf(docs.make_scanned_document(spec), creds.organisation, options)
    elif doc.flaw == Flaw.UNSIGNED:
        data = docs.make_document(spec)
    else:
        data = docs.sign_organisation_and_person(
            docs.make_document(spec), creds.organisation, creds.person, options
        )
        if doc.flaw == Flaw.ALTERED:
            data = docs.change_page_content(data, f"Số: {doc.number.replace('/', 'a/', 1)}")
    doc.path.write_bytes(data)


def _fresh_dir(path: Path) -> Path:
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    return path


class Progress:
    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.started = time.monotonic()

    def __call__(self, message: str) -> None:
        if self.enabled:
            elapsed = time.monotonic() - self.started
            print(f"[{elapsed:5.1f}s] {message}", file=sys.stderr, flush=True)


def build_events(
    units: tuple[DemoUnit, ...], planned: list[PlannedDocument], factory: EventFactory
) -> list[Event]:
    events: list[Event] = []

    def make(model: Callable[..., Event], **fields: Any) -> Event:
        correlation = factory.ids()
        return factory.make(model, correlation_id=correlation, **fields)  # type: ignore[arg-type]

    for unit in units:
        events.append(
            make(
                UnitRegistered,
                unit_id=unit.unit_id,
                name=unit.name,
                level=Level.DEPARTMENT,
                council_id=COUNCIL,
                criteria_set=DEMO_SET_ID,
                ranked=unit.ranked,
            )
        )
    from criteria.loader import data_path, load_set

    cset = load_set(data_path("demo.yaml"))
    sources = cset.effective_sources()
    for unit in units:
        for leaf in cset.leaves():
            if sources[leaf.code].value != "self_assessed" or leaf.maximum is None:
                continue
            points = max(leaf.maximum - unit.shortfall, Decimal(0))
            events.append(
                make(
                    SelfScoreEntered,
                    unit_id=unit.unit_id,
                    year=DEMO_YEAR,
                    criterion_code=leaf.code,
                    points=points,
                    explanation=EXPLAINED.get(leaf.code),
                    entered_by=f"{unit.unit_id}.vanthu",
                )
            )
    for doc in planned:
        events.append(
            make(
                DocumentLinked,
                link_id=uuid.uuid5(uuid.NAMESPACE_URL, doc.path.name),
                unit_id=doc.unit.unit_id,
                year=DEMO_YEAR,
                criterion_code=doc.leaf,
                document_id=f"VB-{DEMO_YEAR}-{doc.path.stem}",
                fetch_url=doc.path.resolve().as_uri(),
                number=doc.number,
                issuer=doc.unit.name,
                issued_on=doc.issued_on,
                title=doc.title,
                linked_by=f"{doc.unit.unit_id}.vanthu",
            )
        )
    events.append(
        make(
            SurveyResultsImported,
            year=DEMO_YEAR,
            source=f"SIPAS {DEMO_YEAR} (trình diễn)",
            results=[
                SurveyPoints(unit_id=u.unit_id, criterion_code=SURVEY_LEAF, points=u.survey) for u in units
            ],
        )
    )
    return events


def collect(app: EmbeddedApp, planned: list[PlannedDocument]) -> dict[str, Any]:
    by_link = {str(uuid.uuid5(uuid.NAMESPACE_URL, d.path.name)): d for d in planned}
    latest: dict[str, dict[str, Any]] = {}  # the register re-emits a verdict: the last one stands
    for payload in app.bus.published_of(EvidenceVerified.TYPE):
        link_id = str(payload["link_id"])
        doc = by_link[link_id]
        report: dict[str, Any] = payload["report"]  # type: ignore[assignment]
        findings: list[dict[str, Any]] = payload.get("findings") or []  # type: ignore[assignment]
        latest[link_id] = {
            "unit": doc.unit.name,
            "criterion": doc.leaf,
            "number": doc.number,
            "title": doc.title,
            "decision": report["decision"],
            "reasons": report["reasons"],
            "signatures": len(report["signatures"]),
            "verdicts": latest.get(link_id, {}).get("verdicts", 0) + 1,
            "findings": [
                {
                    "code": f["code"],
                    "detail": f["detail"],
                    "related": [
                        f"{by_link[str(r['link_id'])].unit.name} {r['criterion_code']}" for r in f["related"]
                    ],
                }
                for f in findings
            ],
        }
    verdicts = list(latest.values())
    with app.wiring.sessions() as session:
        score_rows = (
            session.execute(select(scores.c.snapshot).where(scores.c.year == DEMO_YEAR)).scalars().all()
        )
        ranking = session.execute(
            select(rankings.c.snapshot).where(rankings.c.year == DEMO_YEAR, rankings.c.level == "department")
        ).scalar_one()
    ranks = {e["unit_id"]: e["rank"] for e in ranking["entries"]}
    names = {u.unit_id: u.name for u in UNITS}
    unit_scores = sorted(
        (
            {
                "unit_id": s["unit_id"],
                "unit": names[s["unit_id"]],
                "version": s["version"],
                "maximum": _two(s["maximum"]),
                "self_assessed": _two(s["self_assessed"]),
                "verified": _two(s["verified"]),
                "survey": _two(s["survey"]),
                "achieved": _two(s["achieved"]),
                "index": _two(s["index"]),
                "rank": ranks.get(s["unit_id"]),
            }
            for s in score_rows
        ),
        key=lambda s: (s["rank"] is None, s["rank"] or 0, s["unit_id"]),
    )
    search = app.wiring.search
    hits: list[dict[str, Any]] = []
    if search is not None:
        result = search.search(SearchQuery(text=SEARCH_EXAMPLE, criterion=SEARCH_CRITERION, year=DEMO_YEAR))
        for hit in result.hits:
            hits.append(
                {
                    "unit": hit.entry.unit_name,
                    "criterion": hit.entry.criterion_code,
                    "number": hit.entry.number,
                    "title": hit.entry.title,
                    "decision": hit.entry.decision.value,
                }
            )
    return {
        "year": DEMO_YEAR,
        "documents": verdicts,
        "scores": unit_scores,
        "search": {"query": SEARCH_EXAMPLE, "criterion": SEARCH_CRITERION, "hits": hits},
    }


def _two(value: str) -> str:
    """As the provinces publish: two decimals, half up (the scoring core's display rule)."""
    return str(display(Decimal(value)))


def render_text(result: dict[str, Any]) -> str:
    lines = [f"KIỂM CHỨNG — tỉnh trình diễn, năm {result['year']}", "", "Văn bản kiểm chứng (verdicts):"]
    for v in result["documents"]:
        reasons = ", ".join(v["reasons"]) or "—"
        lines.append(f"  {v['decision']:<12} {v['unit']:<14} {v['criterion']:<6} {v['number']:<14} {reasons}")
        for code in v["reasons"]:
            lines.append(f"{'':>16}↳ {ReasonCode(code).vietnamese}")
    checked = [v for v in result["documents"] if v.get("findings")]
    if checked:
        lines += ["", "Kiểm tra chéo toàn tỉnh (evidence register, across documents):"]
        for v in checked:
            reopened = " (verdict re-opened)" if v["verdicts"] > 1 else ""
            lines.append(f"  {v['unit']:<14} {v['criterion']:<6} {v['number']:<14}{reopened}")
            for f in v["findings"]:
                related = f"; with {', '.join(f['related'])}" if f["related"] else ""
                lines.append(f"{'':>16}{f['code']}: {f['detail']}{related}")
    lines += ["", "Chỉ số CCHC (index = achieved / applicable maximum × 100):"]
    lines.append(
        f"  {'hạng':<5} {'đơn vị':<14} {'tự chấm':>8} {'hợp lệ':>8} {'điều tra':>8} {'đạt':>8} {'chỉ số':>8}"
    )
    for s in result["scores"]:
        rank = str(s["rank"]) if s["rank"] is not None else "—"
        lines.append(
            f"  {rank:<5} {s['unit']:<14} {s['self_assessed']:>8} {s['verified']:>8} {s['survey']:>8}"
            f" {s['achieved']:>8} {s['index']:>7}%"
        )
    lines.append("  (— : đánh giá nhưng không xếp hạng / evaluated, not ranked)")
    search = result["search"]
    lines += ["", f'Tìm kiếm: "{search["query"]}" trong tiêu chí {search["criterion"]}:']
    for h in search["hits"]:
        lines.append(f"  {h['decision']:<12} {h['unit']:<14} {h['number']:<14} {h['title']}")
    return "\n".join(lines)


def prepare_documents(
    workdir: Path, units: tuple[DemoUnit, ...], progress: Progress
) -> tuple[Path, list[PlannedDocument]]:
    """Write the PKI's trust roots and the signed PDFs (pyHanko signs synchronously)."""
    _fresh_dir(workdir)
    edocs = workdir / "edocs"
    edocs.mkdir()
    progress("generating the test PKI (root CA, seal and person certificates per unit)")
    pki = generate_pki([UnitIdentity(u.name, u.head, "Giám đốc") for u in units], PKI_NOW)
    trust = pki.write_trust_dir(workdir / "trust")
    planned = plan_documents(units, edocs)
    for position, doc in enumerate(planned, start=1):
        write_document(doc, pki)
        progress(f"signed document {position}/{len(planned)}: {doc.number} ({doc.unit.name}, {doc.leaf})")
    return trust, planned


async def run_pipeline(
    workdir: Path,
    units: tuple[DemoUnit, ...],
    trust: Path,
    planned: list[PlannedDocument],
    progress: Progress,
) -> dict[str, Any]:
    settings = Settings(
        data_dir=workdir / "state",
        trust_dirs=[trust],
        fetch_file_root=workdir / "edocs",
        producer_name="kiemchung",
    )
    clock = FrozenClock(DEMO_NOW, step=timedelta(milliseconds=1))
    ids = SeededIds(seed=DEMO_YEAR)
    app = build_embedded(settings, clock=clock, ids=ids)
    done = 0

    def observe(service: object, outcome: Outcome) -> None:
        nonlocal done
        if outcome.event is not None and outcome.event.type == DocumentLinked.TYPE:
            done += 1
            progress(f"verified {done}/{len(planned)}")

    app.bus.observers.append(observe)
    eoffice = EventFactory(EOFFICE_PRODUCER, clock, ids)
    progress("sending units, self-scores and document links through the bus")
    await app.send(*build_events(units, planned, eoffice))
    await app.run_until_idle()
    # Every unit but the last presses "Gửi đi" once its evidence is judged, so the council can
    # appraise them at once; the last one shows the ledger refusing an early appraisal.
    progress("units submit their self-assessments")
    await app.send(
        *(
            eoffice.make(
                Submitted,
                correlation_id=eoffice.ids(),
                unit_id=u.unit_id,
                year=DEMO_YEAR,
                submitted_by=f"{u.unit_id}.vanthu",
            )
            for u in units[:-1]
        )
    )
    await app.run_until_idle()
    return collect(app, planned)


def build_demo(workdir: Path, unit_count: int = 4, show_progress: bool = True) -> dict[str, Any]:
    progress = Progress(enabled=show_progress)
    units = UNITS[:unit_count]
    trust, planned = prepare_documents(workdir, units, progress)
    return asyncio.run(run_pipeline(workdir, units, trust, planned, progress))


def run_demo(workdir: Path, as_json: bool = False, units: int = 4) -> int:
    # pyHanko logs every refused modification with a traceback; the verdict already says it.
    for noisy in ("pyhanko", "pyhanko_certvalidator"):
        logging.getLogger(noisy).setLevel(logging.CRITICAL)
    from kiemchung.demo_serving import demo_keys, render_keys, write_serving_files

    result = build_demo(workdir, units)
    keys = demo_keys(COUNCIL, UNITS[0].unit_id)
    env_file = write_serving_files(workdir, keys)
    if as_json:
        result["keys"] = {k.role.value: k.plaintext for k in keys}
        print(json.dumps(result, ensure_ascii=False, indent=2))
    else:
        print(render_text(result))
        print(render_keys(keys, env_file))
    return 0
