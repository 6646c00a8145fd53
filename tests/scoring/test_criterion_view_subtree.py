"""The council view reads only the chosen criterion's subtree through the indexed column."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import insert
from sqlalchemy.orm import Session

import kiemchung.schema  # noqa: F401  (every table on the metadata)
from kiemchung.runtime.db import create_schema, make_engine
from services.indexer.handlers import entry_to_json
from services.indexer.model import Decision, EvidenceEntry
from services.indexer.store import entries
from services.scoring.criterion_view import criterion_view, units_without_evidence
from services.scoring.service import UnitInfo

YEAR = 2024
NOW = datetime(2024, 11, 21, 9, 0, tzinfo=UTC)


def unit(unit_id: str) -> UnitInfo:
    return UnitInfo(unit_id, f"Đơn vị {unit_id}", "department", "hd", "demo", True, frozenset())


def entry(link_id: str, unit_id: str, code: str) -> EvidenceEntry:
    return EvidenceEntry(
        link_id=link_id,
        unit_id=unit_id,
        unit_name=unit_id,
        level="department",
        year=YEAR,
        criterion_code=code,
        decision=Decision.ACCEPTED,
        reasons=(),
        number=f"{link_id}/KH-UBND",
        notation=None,
        issuer=None,
        issued_on=None,
        title="Kế hoạch",
        signer=None,
        link="https://eoffice.example/vb",
        text="",
        verified_at=NOW,
        version=1,
    )


def test_subtree_is_exact_and_units_without_evidence_span_the_council(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'state.db'}")
    create_schema(engine)
    linked = [
        entry("a", "u1", "1.1"),
        entry("b", "u1", "1.1.2"),
        entry("c", "u2", "1.10"),  # a sibling whose code starts with "1.1"
        entry("d", "u3", "1.2"),
    ]
    with engine.begin() as conn:
        conn.execute(
            insert(entries),
            [
                {
                    "link_id": e.link_id,
                    "version": 1,
                    "removed": False,
                    "unit_id": e.unit_id,
                    "year": YEAR,
                    "criterion_code": e.criterion_code,
                    "entry": entry_to_json(e),
                }
                for e in linked
            ],
        )
    council = [unit("u1"), unit("u2"), unit("u3")]
    with Session(engine) as db:
        view = criterion_view(db, council, "1.1", YEAR)
        shown = {u.unit_id: sorted(e.link_id for e in u.evidence) for u in view.units}
        assert shown == {"u1": ["a", "b"], "u2": [], "u3": []}
        assert units_without_evidence(db, council, "1.1", YEAR) == ["u2", "u3"]
        assert units_without_evidence(db, council, "1", YEAR) == []
    engine.dispose()
