"""The indexer applies a batch of verdicts with one bulk request, in order with removals, and
ends in the same index state as one message at a time."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from contracts.events import DocumentUnlinked, EvidenceVerified
from contracts.report import DocumentFacts, VerificationReport
from contracts.routing import Service
from contracts.vocabulary import Decision
from kiemchung.runtime.clock import FrozenClock, SeededIds
from kiemchung.runtime.db import create_schema, make_engine, session_factory
from kiemchung.runtime.messaging import ServiceRuntime, Status
from kiemchung.schema import load_all_tables
from services.indexer.backends.fts5 import Fts5Index
from services.indexer.handlers import build_handlers
from services.indexer.model import EvidenceEntry, SearchQuery

START = datetime(2024, 11, 20, tzinfo=UTC)
VERDICTS = 20


class CountingIndex(Fts5Index):
    """The real FTS5 index, counting how it was written to."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.single = 0
        self.bulk: list[int] = []

    def upsert(self, entry: EvidenceEntry) -> bool:
        self.single += 1
        return super().upsert(entry)

    def bulk_upsert(self, entries: object, generation: str | None = None) -> int:
        batch = list(entries)  # type: ignore[call-overload]
        self.bulk.append(len(batch))
        return super().bulk_upsert(batch, generation)


def _events() -> list[EvidenceVerified | DocumentUnlinked]:
    ids = SeededIds(seed=31)
    links = [uuid.UUID(int=i + 1) for i in range(VERDICTS)]
    out: list[EvidenceVerified | DocumentUnlinked] = []
    for i, link in enumerate(links):
        out.append(
            EvidenceVerified(
                event_id=ids(),
                occurred_at=START + timedelta(seconds=i),
                correlation_id=ids(),
                producer="kiemchung.evidence-verifier",
                link_id=link,
                unit_id="so-noi-vu",
                year=2024,
                criterion_code="1.1",
                document_id=f"VB-{i}",
                fetch_url=f"https://eoffice.example.gov.vn/{i}.pdf",
                title=f"Kế hoạch giao ban số {i}",
                issuer="Sở Nội vụ",
                report=VerificationReport(
                    file=f"{i}.pdf",
                    decision=Decision.ACCEPTED,
                    reasons=[],
                    document=DocumentFacts(number=f"{i}/KH-SNV", issued_on=date(2024, 2, 1)),
                    elapsed_ms=1,
                ),
                linked_at=START,
            )
        )
    # The unit unlinks the third document later in the same batch: the removal follows its upsert.
    out.append(
        DocumentUnlinked(
            event_id=ids(),
            occurred_at=START + timedelta(hours=1),
            correlation_id=ids(),
            producer="eoffice",
            link_id=links[2],
            unit_id="so-noi-vu",
            year=2024,
            criterion_code="1.1",
            unlinked_by="vanthu",
        )
    )
    return out


def _runtime(tmp_path: Path, name: str) -> tuple[ServiceRuntime, CountingIndex]:
    load_all_tables()
    engine = make_engine(f"sqlite:///{tmp_path / f'{name}.db'}")
    create_schema(engine)
    index = CountingIndex(tmp_path / f"{name}-search.db")
    runtime = ServiceRuntime(
        Service.INDEXER, build_handlers(index), session_factory(engine), FrozenClock(START)
    )
    return runtime, index


def _visible(index: Fts5Index) -> list[str]:
    return sorted(h.entry.link_id for h in index.search(SearchQuery(text="giao ban", page_size=50)).hits)


async def test_a_batch_of_verdicts_is_one_bulk_request_with_the_same_result(tmp_path: Path) -> None:
    events = _events()
    batched, batched_index = _runtime(tmp_path, "batched")
    outcomes = await batched.handle_batch(events)
    assert {o.status for o in outcomes} == {Status.PROCESSED}
    assert batched_index.bulk == [VERDICTS]
    assert batched_index.single == 0

    alone, alone_index = _runtime(tmp_path, "alone")
    for event in events:
        await alone.handle(event)
    assert alone_index.single == VERDICTS
    assert _visible(batched_index) == _visible(alone_index)
    assert len(_visible(batched_index)) == VERDICTS - 1


async def test_a_verdict_finished_after_the_unit_unlinked_the_document_stays_out_of_search(
    tmp_path: Path,
) -> None:
    # The verifier works while the unit removes the document: the verdict's time is later than
    # the unlink's. Appraisers must not find evidence the unit withdrew (seed 001).
    verdicts = [e for e in _events() if isinstance(e, EvidenceVerified)]
    unlink = next(e for e in _events() if isinstance(e, DocumentUnlinked))
    late = verdicts[2].model_copy(
        update={"event_id": uuid.uuid4(), "occurred_at": unlink.occurred_at + timedelta(minutes=5)}
    )
    for one_by_one in (True, False):
        runtime, index = _runtime(tmp_path, f"late-{one_by_one}")
        if one_by_one:
            for event in [*verdicts[:3], unlink, late]:
                assert (await runtime.handle(event)).status is Status.PROCESSED
        else:
            await runtime.handle_batch([*verdicts[:3], unlink, late])
        assert _visible(index) == sorted(str(v.link_id) for v in verdicts[:2])
