"""Reading the register for other views (the xlsx export): flagged links of some units and year."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.evidence_verifier.register.store import register_entries
from services.evidence_verifier.register.views import FlaggedLink, flagged_links

MAX_RELATED_READ = 10_000


def flagged_for(session: Session, unit_ids: Collection[str], year: int) -> list[FlaggedLink]:
    t = register_entries
    rows = [
        dict(r)
        for r in session.execute(
            select(t).where(t.c.removed.is_(False), t.c.year == year, t.c.unit_id.in_(sorted(unit_ids)))
        ).mappings()
        if r["findings"]
    ]
    wanted = sorted({link for r in rows for f in r["findings"] for link in f["related"]})[:MAX_RELATED_READ]
    others = {
        r["link_id"]: dict(r)
        for r in session.execute(
            select(t.c.link_id, t.c.unit_id, t.c.criterion_code, t.c.number).where(t.c.link_id.in_(wanted))
        ).mappings()
    }
    return flagged_links(rows, others)
