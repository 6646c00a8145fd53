"""Read models the pages need beyond the API's views (pure grouping over a few queries)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from html import escape
from typing import Any

from markupsafe import Markup
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from contracts.events import AppraisalRecorded, SelfScoreEntered, SupplementRequested
from criteria.model import CriteriaSet, Node
from services.indexer.model import Snippet
from services.scoring.store import ledger, scores


@dataclass(frozen=True)
class TreeRow:
    code: str
    title: str
    depth: int
    leaf: bool


def tree_rows(cset: CriteriaSet) -> list[TreeRow]:
    def visit(nodes: Sequence[Node], depth: int) -> Iterator[TreeRow]:
        for node in nodes:
            yield TreeRow(node.code, node.title, depth, node.is_leaf)
            yield from visit(node.children, depth + 1)

    return list(visit(cset.fields, 0))


@dataclass(frozen=True)
class LeafInputs:
    explanation: str
    appraised: Decimal | None
    appraised_by: str
    appraisal_comment: str


def leaf_inputs(
    session: Session, unit_ids: set[str], year: int, leaves: Sequence[str]
) -> dict[str, LeafInputs]:
    """Per unit, over the given leaves: the latest explanations and the appraised points so far
    (summed over the leaves that have one). One ledger query; the ledger holds accepted events."""
    rows = session.execute(
        select(
            ledger.c.unit_id, ledger.c.criterion_code, ledger.c.event_type, ledger.c.actor, ledger.c.payload
        )
        .where(
            ledger.c.unit_id.in_(unit_ids),
            ledger.c.year == year,
            ledger.c.criterion_code.in_(list(leaves)),
            ledger.c.event_type.in_([SelfScoreEntered.TYPE, AppraisalRecorded.TYPE]),
        )
        .order_by(ledger.c.seq)
    ).all()
    explained: dict[tuple[str, str], str] = {}
    appraised: dict[tuple[str, str], tuple[Decimal, str, str]] = {}
    for row in rows:
        key = (row.unit_id, row.criterion_code)
        if row.event_type == SelfScoreEntered.TYPE:
            explained[key] = str(row.payload.get("explanation") or "")
        else:
            appraised[key] = (
                Decimal(str(row.payload["points"])),
                row.actor,
                str(row.payload.get("comment") or ""),
            )
    out: dict[str, LeafInputs] = {}
    for unit_id in unit_ids:
        texts = [explained[(unit_id, leaf)] for leaf in leaves if explained.get((unit_id, leaf))]
        marks = [appraised[(unit_id, leaf)] for leaf in leaves if (unit_id, leaf) in appraised]
        out[unit_id] = LeafInputs(
            explanation=" · ".join(texts),
            appraised=sum((m[0] for m in marks), Decimal(0)) if marks else None,
            appraised_by=marks[-1][1] if marks else "",
            appraisal_comment=marks[-1][2] if marks else "",
        )
    return out


def supplements(session: Session, unit_id: str, year: int) -> list[dict[str, Any]]:
    rows = session.execute(
        select(ledger.c.payload, ledger.c.actor, ledger.c.recorded_at)
        .where(
            ledger.c.unit_id == unit_id,
            ledger.c.year == year,
            ledger.c.event_type == SupplementRequested.TYPE,
        )
        .order_by(ledger.c.seq)
    ).all()
    return [
        {
            "criteria": ", ".join(r.payload.get("criterion_codes", [])),
            "until": r.payload.get("until"),
            "number": r.payload.get("document_number"),
            "actor": r.actor,
        }
        for r in rows
    ]


def latest_year(session: Session, fallback: int) -> int:
    year = session.execute(select(func.max(scores.c.year))).scalar()
    return int(year) if year is not None else fallback


def highlighted(snippet: Snippet) -> Markup:
    """The snippet as HTML with each matched span in <mark>, everything else escaped."""
    out: list[str] = []
    pos = 0
    for start, end in snippet.spans:
        out += [escape(snippet.text[pos:start]), "<mark>", escape(snippet.text[start:end]), "</mark>"]
        pos = end
    out.append(escape(snippet.text[pos:]))
    return Markup("".join(out))
