"""Web pages benchmark: server time of the council criterion page (500 units), the document page
and search, at 100,000 evidence documents (target p95 < 150 ms).

    .venv/bin/python bench/web.py                     # 500 units, 100,000 documents
    .venv/bin/python bench/web.py --units 100 --docs 10000

State is written straight into a fresh SQLite database and FTS5 index (units, self-scores in
the ledger, index entries, one stored verdict); the pages are then requested in-process through
the ASGI app (`serving_app`, the same one `kiemchung serve` runs), so the time is the server's
plus the in-process client's small overhead, with no network. Prints numbers; asserts nothing.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/search.py's corpus generator

from fastapi.testclient import TestClient
from search import generate
from sqlalchemy import insert

import kiemchung.schema  # noqa: F401  (every table on the metadata)
from criteria.loader import data_path, load_set
from kiemchung.api import serving_app
from kiemchung.demo_serving import DemoKey, demo_keys, write_serving_files
from kiemchung.runtime.clock import FrozenClock
from kiemchung.runtime.db import create_schema, make_engine
from kiemchung.runtime.settings import Settings
from services.evidence_verifier.store import verdicts
from services.indexer.backends.fts5 import Fts5Index
from services.indexer.handlers import entry_to_json
from services.indexer.store import entries
from services.scoring.access import Role
from services.scoring.service import DEMO_SET_ID
from services.scoring.store import ledger, units

SEED = 20241204
COUNCIL = "hdtd-bench"
YEAR = 2024
ROUNDS = 30
WARMUP = 3
BATCH = 5_000
MS = 1000.0
TARGET_P95_MS = 150.0
NOW = datetime(2024, 11, 21, 9, 0, tzinfo=UTC)


def populate(workdir: Path, unit_count: int, docs: int) -> tuple[Settings, str]:
    settings = Settings(data_dir=workdir / "state", api_keys_file=workdir / "api-keys.json")
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.resolved_database_url())
    create_schema(engine)
    cset = load_set(data_path("demo.yaml"))
    leaves = [leaf.code for leaf in cset.leaves() if leaf.maximum is not None]
    unit_ids = [f"don-vi-{i:04d}" for i in range(unit_count)]
    rng = random.Random(SEED)
    with engine.begin() as conn:
        conn.execute(
            insert(units),
            [
                {
                    "unit_id": u,
                    "name": f"Đơn vị số {i}",
                    "level": "department",
                    "council_id": COUNCIL,
                    "criteria_set": DEMO_SET_ID,
                    "ranked": True,
                    "not_applicable": [],
                }
                for i, u in enumerate(unit_ids)
            ],
        )
        rows = []
        for u in unit_ids:
            for leaf in leaves:
                rows.append(
                    {
                        "unit_id": u,
                        "year": YEAR,
                        "event_id": str(uuid.UUID(int=rng.getrandbits(128))),
                        "event_type": "SelfScoreEntered",
                        "actor": f"{u}.vanthu",
                        "criterion_code": leaf,
                        "changes": [],
                        "score_version": 1,
                        "payload": {"points": str(Decimal(rng.randrange(0, 5))), "explanation": "Giải trình"},
                        "occurred_at": NOW,
                        "recorded_at": NOW,
                    }
                )
        conn.execute(insert(ledger), rows)
    index = Fts5Index(settings.resolved_search_path())
    first_link = ""
    batch: list[dict[str, object]] = []
    pending = []
    for n, entry in enumerate(generate(docs, SEED)):
        unit = unit_ids[n % unit_count]
        entry = replace(
            entry,
            link_id=str(uuid.UUID(int=rng.getrandbits(128))),
            unit_id=unit,
            unit_name=f"Đơn vị {unit}",
            year=YEAR,
            criterion_code=leaves[n % len(leaves)],
        )
        first_link = first_link or entry.link_id
        pending.append(entry)
        batch.append(
            {
                "link_id": entry.link_id,
                "version": entry.version,
                "removed": False,
                "unit_id": entry.unit_id,
                "year": entry.year,
                "criterion_code": entry.criterion_code,
                "entry": entry_to_json(entry),
            }
        )
        if len(batch) >= BATCH:
            with engine.begin() as conn:
                conn.execute(insert(entries), batch)
            index.bulk_upsert(pending)
            batch, pending = [], []
    if batch:
        with engine.begin() as conn:
            conn.execute(insert(entries), batch)
        index.bulk_upsert(pending)
    index.close()
    with engine.begin() as conn:
        conn.execute(
            insert(verdicts).values(
                link_id=first_link,
                unit_id=unit_ids[0],
                year=YEAR,
                criterion_code=leaves[0],
                document_id="VB-bench",
                sha256=None,
                decision="rejected",
                reasons=["SCANNED_PAPER"],
                report={
                    "decision": "rejected",
                    "reasons": ["SCANNED_PAPER"],
                    "signatures": [],
                    "document": {"pages": 3, "number": "12/KH-UBND"},
                },
                text="",
                verified_at=NOW,
            )
        )
    engine.dispose()
    return settings, first_link


def timed(client: TestClient, url: str) -> list[float]:
    out: list[float] = []
    for i in range(WARMUP + ROUNDS):
        started = time.perf_counter()
        response = client.get(url)
        elapsed = (time.perf_counter() - started) * MS
        if response.status_code != 200:
            raise RuntimeError(f"{url}: HTTP {response.status_code}")
        if i >= WARMUP:
            out.append(elapsed)
    return out


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--units", type=int, default=500)
    parser.add_argument("--docs", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        started = time.perf_counter()
        settings, link = populate(workdir, args.units, args.docs)
        print(f"state: {args.units} units, {args.docs} documents in {time.perf_counter() - started:.1f} s")
        keys: list[DemoKey] = demo_keys(COUNCIL, "don-vi-0000")
        write_serving_files(workdir, keys, env_file=workdir / "kiemchung.env")
        app = serving_app(settings, clock=FrozenClock(NOW, step=timedelta(milliseconds=1)))
        appraiser = next(k for k in keys if k.role is Role.APPRAISER)
        with TestClient(app) as client:
            client.post("/ui/signin", data={"key": appraiser.plaintext})
            pages = {
                "council, leaf criterion 1.1": f"/ui/council?criterion=1.1&year={YEAR}",
                "council, field 1 (whole subtree)": f"/ui/council?criterion=1&year={YEAR}",
                "document page": f"/ui/documents/{link}",
                "search 'ke hoach cai cach' + facets": "/ui/search?q=ke+hoach+cai+cach",
                "search filtered (criterion 1.1, rejected)": (
                    "/ui/search?q=bao+cao&criterion=1.1&decision=rejected"
                ),
            }
            print(f"{'page':<44} {'p50 ms':>8} {'p95 ms':>8}  (target p95 < {TARGET_P95_MS:.0f} ms)")
            for name, url in pages.items():
                values = timed(client, url)
                print(f"{name:<44} {statistics.median(values):8.1f} {p95(values):8.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
