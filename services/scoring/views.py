"""Read models for the HTTP API and the Excel export, built from the scoring tables.

Exact decimals travel as strings (`exact`) beside the two-decimal `display` value, so nothing
is rounded twice and the provincial software can recompute. Indices also carry `index_text`, the
figure as the province prints it that year (its decimals and decimal mark: Thừa Thiên Huế 2023
prints 97,685), and the rating band it falls in (services/scoring/core/rules.py). Every builder
takes the readable units (already cut to the caller's scope) and never looks outside them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import select
from sqlalchemy.orm import Session

from contracts.vocabulary import ReasonCode
from criteria.model import CriteriaSet, Node, Source
from services.evidence_verifier.pending import pending_links
from services.evidence_verifier.store import verdicts
from services.indexer.store import entries as index_entries
from services.scoring.core.ledger import Correction, Ledger
from services.scoring.core.ranking import RankedUnit, Ranking
from services.scoring.core.rules import ProvinceRules, default_rules, group_ranks
from services.scoring.core.scores import display, ratio_index
from services.scoring.core.totals import ZERO_SUMS
from services.scoring.corrections import as_published
from services.scoring.display import display_changes_of, shown_rules
from services.scoring.handlers import current_ledger, frozen_setup
from services.scoring.service import CriteriaCatalogue, UnitInfo, figures, published_changes
from services.scoring.store import ledger as ledger_rows
from services.scoring.store import published_setups, rankings, rejections, scores

DISPLAY_PLACES = 2


class _View(BaseModel):
    model_config = ConfigDict(frozen=True)


class Figure(_View):
    """An exact decimal and its display value (two decimals, half up)."""

    exact: str
    display: str


class CorrectionView(_View):
    """A recorded correction of the published result (issue 13): the decision, why, when, and
    the total and index before and after it."""

    decision_number: str
    reason: str
    at: datetime
    maximum_before: Figure
    achieved_before: Figure
    index_before: Figure | None
    maximum_after: Figure
    achieved_after: Figure
    index_after: Figure | None
    leaves: list[str]
    attributes: list[str]
    # The indices as the province prints them that year (services/scoring/core/rules.py).
    index_before_text: str | None = None
    index_after_text: str | None = None


def correction_view(c: Correction, rules: ProvinceRules | None = None) -> CorrectionView:
    shown = rules if rules is not None else default_rules(c.at.year)
    before = ratio_index(c.achieved_before, c.maximum_before)
    after = ratio_index(c.achieved_after, c.maximum_after)
    return CorrectionView(
        index_before_text=index_text(before, shown),
        index_after_text=index_text(after, shown),
        decision_number=c.decision_number,
        reason=c.reason,
        at=c.at,
        maximum_before=figure(c.maximum_before),
        achieved_before=figure(c.achieved_before),
        index_before=maybe_figure(before),
        maximum_after=figure(c.maximum_after),
        achieved_after=figure(c.achieved_after),
        index_after=maybe_figure(after),
        leaves=list(c.leaves),
        attributes=list(c.attributes),
    )


def figure(value: Decimal) -> Figure:
    return Figure(exact=str(value), display=str(display(value, DISPLAY_PLACES)))


def maybe_figure(value: Decimal | None) -> Figure | None:
    return None if value is None else figure(value)


def index_text(value: Decimal | None, rules: ProvinceRules) -> str | None:
    return None if value is None else rules.text(value)


class UnitView(_View):
    unit_id: str
    name: str
    level: str
    council_id: str
    criteria_set: str
    ranked: bool
    not_applicable: list[str]


def unit_view(unit: UnitInfo) -> UnitView:
    return UnitView(
        unit_id=unit.unit_id,
        name=unit.name,
        level=unit.level,
        council_id=unit.council_id,
        criteria_set=unit.criteria_set,
        ranked=unit.ranked,
        not_applicable=sorted(unit.not_applicable),
    )


class NodeView(_View):
    """A field, criterion or sub-criterion with its sums; leaves also carry their inputs."""

    code: str
    title: str
    leaf: bool
    source: str
    applicable: bool
    maximum: Figure
    self_assessed: Figure
    achieved: Figure
    index: Figure | None
    projected_index: Figure | None
    # The index as the province prints it that year (None where nothing applies).
    index_text: str | None = None
    # Leaves only.
    self_points: Figure | None = None
    explanation: str = ""
    supported: bool | None = None
    accepted_evidence: int = 0
    appraised: Figure | None = None
    appraisal_round: int = 0
    appraisal_comment: str = ""
    survey: Figure | None = None
    children: list[NodeView] = []


class ComponentView(_View):
    code: str
    title: str
    maximum: Figure
    achieved: Figure
    index: Figure | None
    index_text: str | None = None


class UnitScoreView(_View):
    unit_id: str
    name: str
    level: str
    year: int
    criteria_set: str
    version: int
    submitted: bool
    published: bool
    # Published years: the corrections since, and what the files now say otherwise (not applied;
    # reason published_year_changed): the fields of the setup frozen at publication that differ.
    corrections: list[CorrectionView] = []
    published_year_changed: list[str] = []
    locks_at: datetime
    maximum: Figure
    self_assessed: Figure
    verified: Figure
    appraised: Figure | None
    survey: Figure
    achieved: Figure
    index: Figure
    projected_index: Figure
    components: list[ComponentView]
    tree: list[NodeView]
    # As the province prints it that year (rules file: decimals, decimal mark, bands); `index`
    # keeps the exact value. No result (no points recorded): no text and no band.
    has_result: bool = True
    index_text: str | None = None
    projected_index_text: str | None = None
    band: str | None = None
    decimals: int = DISPLAY_PLACES
    # The province's decimal mark that year (Thừa Thiên Huế 2023: a comma): pages print points
    # with it too, at their own two decimals; `display` and `exact` keep a decimal point.
    decimal_comma: bool = False
    # Whether the unit is ranked that year (the year's rules file may say otherwise than its
    # registration: seed 003's Ban Dân tộc and Thanh tra tỉnh are evaluated, not ranked).
    ranked: bool = True


def _node_view(node: Node, state: Ledger, sources: Mapping[str, Source], rules: ProvinceRules) -> NodeView:
    sums = state.totals.get(node.code, ZERO_SUMS)
    index = ratio_index(sums.achieved, sums.maximum)
    common: dict[str, Any] = {
        "code": node.code,
        "title": node.title,
        "leaf": node.is_leaf,
        "source": sources[node.code].value,
        "maximum": figure(sums.maximum),
        "self_assessed": figure(sums.claimed),
        "achieved": figure(sums.achieved),
        "index": maybe_figure(index),
        "projected_index": maybe_figure(ratio_index(sums.projected, sums.maximum)),
        "index_text": index_text(index, rules),
    }
    if not node.is_leaf:
        children = [_node_view(child, state, sources, rules) for child in node.children]
        return NodeView(applicable=any(c.applicable for c in children), children=children, **common)
    leaf = state.leaf(node.code)
    return NodeView(
        applicable=node.code not in state.not_applicable,
        self_points=maybe_figure(leaf.self_points),
        explanation=leaf.explanation,
        supported=leaf.supported,
        accepted_evidence=leaf.accepted_links,
        appraised=maybe_figure(leaf.appraised),
        appraisal_round=leaf.appraisal_round,
        appraisal_comment=leaf.appraisal_comment,
        survey=maybe_figure(leaf.survey_points),
        **common,
    )


def changed_since_publication(
    session: Session, unit: UnitInfo, year: int, catalogue: CriteriaCatalogue
) -> tuple[str, ...]:
    frozen = frozen_setup(session, unit.unit_id, year)
    if frozen is None:
        return ()
    return published_changes(unit, year, catalogue, frozen) + display_changes_of(
        session, catalogue, frozen.level, year
    )


def stored_score_version(session: Session, unit_id: str, year: int) -> int:
    version = session.execute(
        select(scores.c.version).where(scores.c.unit_id == unit_id, scores.c.year == year)
    ).scalar_one_or_none()
    return int(version or 0)


def titles(cset: CriteriaSet) -> dict[str, str]:
    return {node.code: node.title for node in cset.walk()}


def unit_score_view(
    session: Session, unit: UnitInfo, year: int, catalogue: CriteriaCatalogue
) -> tuple[UnitScoreView, Ledger]:
    state = current_ledger(session, unit, year, catalogue)
    set_id = catalogue.set_id_for(unit.level, unit.criteria_set, year)
    cset = catalogue.set_for(set_id, year)
    rules = shown_rules(session, catalogue, state.level.value, year)  # a published year: as published
    sources = cset.effective_sources()
    names = titles(cset)
    numbers = figures(state)
    components = [
        ComponentView(
            code=c.code,
            title=names.get(c.code, ""),
            maximum=figure(c.maximum),
            achieved=figure(c.achieved),
            index=maybe_figure(c.index),
            index_text=index_text(c.index, rules),
        )
        for c in numbers.components
    ]
    view = UnitScoreView(
        unit_id=unit.unit_id,
        name=unit.name,
        level=unit.level,
        year=year,
        criteria_set=set_id,
        version=stored_score_version(session, unit.unit_id, year),
        submitted=state.submitted_at is not None,
        published=state.published_at is not None,
        corrections=[correction_view(c, rules) for c in state.corrections],
        published_year_changed=list(changed_since_publication(session, unit, year, catalogue)),
        locks_at=state.lock_at,
        maximum=figure(numbers.maximum),
        self_assessed=figure(numbers.self_assessed),
        verified=figure(numbers.verified),
        appraised=maybe_figure(numbers.appraised),
        survey=figure(numbers.survey),
        achieved=figure(numbers.achieved),
        index=figure(numbers.index),
        projected_index=figure(numbers.projected_index),
        components=components,
        tree=[_node_view(node, state, sources, rules) for node in cset.fields],
        has_result=numbers.has_result,
        index_text=rules.text(numbers.index) if numbers.has_result else None,
        projected_index_text=rules.text(numbers.projected_index) if numbers.has_result else None,
        band=rules.band(numbers.index) if numbers.has_result else None,
        decimals=rules.decimals,
        decimal_comma=rules.decimal_comma,
        ranked=state.ranked,
    )
    return view, state


# ---- rankings ------------------------------------------------------------------------------


class RankRow(_View):
    rank: int | None
    unit_id: str
    name: str
    index: Figure
    # No points recorded: listed apart with no index; `index` is 0 only for older clients.
    no_result: bool = False
    # With the province's rules for the year (services/scoring/rules.py): the unit's ranking
    # group and its rank there, and the rating band. `index_text` is the index as the province
    # prints it (two decimals and a point without a rules file); None with no result.
    group: str | None = None
    group_rank: int | None = None
    band: str | None = None
    index_text: str | None = None


class RankingView(_View):
    level: str
    year: int
    version: int
    ranked: list[RankRow]
    not_ranked: list[RankRow]


def level_published(session: Session, level: str, year: int) -> bool:
    """Whether the level's year is published (some unit-year of it has a frozen setup)."""
    found = session.execute(
        select(published_setups.c.unit_id)
        .where(published_setups.c.level == level, published_setups.c.year == year)
        .limit(1)
    ).first()
    return found is not None


def ranking_view(
    session: Session,
    level: str,
    year: int,
    readable: Mapping[str, UnitInfo],
    rules: ProvinceRules | None = None,
) -> RankingView | None:
    """The stored ranking; rank numbers are province-wide, rows cut to the readable units.

    Before publication a registered unit of the level with no score row for the year (it has
    sent nothing yet) is listed among the not ranked as no result, never as 0, so the office
    sees who is missing; publication gives each such unit its own no-result row. None when
    neither a ranking nor a readable unit of the level exists."""
    row = session.execute(
        select(rankings.c.version, rankings.c.snapshot).where(
            rankings.c.level == level, rankings.c.year == year
        )
    ).first()
    snapshot: dict[str, Any] = {"entries": [], "not_ranked": []} if row is None else row.snapshot
    listed = {e["unit_id"] for e in (*snapshot["entries"], *snapshot.get("not_ranked", []))}
    silent = sorted(u for u, info in readable.items() if info.level == level and u not in listed)
    if silent and level_published(session, level, year):
        silent = []  # a published year lists whom its publication covered
    if row is None and not silent:
        return None
    if rules is not None:  # a published unit keeps the group it was published in (issue 13)
        rules = as_published(session, rules, year)

    shown = rules if rules is not None else default_rules(year)
    in_groups: dict[str, int] = {}
    if rules is not None:
        ordered = tuple(RankedUnit(e["rank"], e["unit_id"], Decimal(e["index"])) for e in snapshot["entries"])
        in_groups = group_ranks(Ranking(ordered, ()), rules)

    def rows(items: Iterable[dict[str, Any]]) -> list[RankRow]:
        out: list[RankRow] = []
        for item in items:
            unit_id = item["unit_id"]
            if unit_id not in readable:
                continue
            index = Decimal(item["index"])
            no_result = bool(item.get("no_result", False))
            extra: dict[str, Any] = {"index_text": None if no_result else shown.text(index)}
            if rules is not None:
                extra.update(
                    group=rules.group_of(unit_id),
                    group_rank=in_groups.get(unit_id),
                    band=None if no_result else rules.band(index),
                )
            out.append(
                RankRow(
                    rank=item["rank"],
                    unit_id=unit_id,
                    name=readable[unit_id].name,
                    index=figure(index),
                    no_result=no_result,
                    **extra,
                )
            )
        return out

    missing = [{"unit_id": u, "index": "0", "rank": None, "no_result": True} for u in silent]
    apart = sorted((*snapshot.get("not_ranked", []), *missing), key=lambda e: str(e["unit_id"]))
    return RankingView(
        level=level,
        year=year,
        version=0 if row is None else int(row.version),
        ranked=rows(snapshot["entries"]),
        not_ranked=rows(apart),
    )


# ---- ledger history --------------------------------------------------------------------------


class LeafChange(_View):
    code: str
    before: dict[str, Any]
    after: dict[str, Any]


class LedgerEntryView(_View):
    seq: int
    event_id: str
    event_type: str
    actor: str
    criterion_code: str | None
    occurred_at: datetime
    recorded_at: datetime
    score_version: int
    changes: list[LeafChange]


def ledger_view(session: Session, unit_id: str, year: int, leaf: str | None) -> list[LedgerEntryView]:
    query = select(ledger_rows).where(ledger_rows.c.unit_id == unit_id, ledger_rows.c.year == year)
    out: list[LedgerEntryView] = []
    for row in session.execute(query.order_by(ledger_rows.c.seq)).mappings():
        changes = [LeafChange(**c) for c in row["changes"]]
        if leaf is not None and row["criterion_code"] != leaf and all(c.code != leaf for c in changes):
            continue
        out.append(
            LedgerEntryView(
                seq=int(row["seq"]),
                event_id=row["event_id"],
                event_type=row["event_type"],
                actor=row["actor"],
                criterion_code=row["criterion_code"],
                occurred_at=row["occurred_at"],
                recorded_at=row["recorded_at"],
                score_version=int(row["score_version"]),
                changes=changes,
            )
        )
    return out


# ---- rejected commands ------------------------------------------------------------------------


class RejectionView(_View):
    seq: int
    unit_id: str
    year: int
    event_id: str
    event_type: str
    actor: str
    criterion_code: str | None
    reason: str
    detail: str
    occurred_at: datetime
    recorded_at: datetime


def rejection_view(session: Session, unit_ids: Iterable[str] | None, year: int | None) -> list[RejectionView]:
    query = select(rejections)
    if unit_ids is not None:
        query = query.where(rejections.c.unit_id.in_(sorted(set(unit_ids))))
    if year is not None:
        query = query.where(rejections.c.year == year)
    return [
        RejectionView(
            **{
                **{k: row[k] for k in RejectionView.model_fields},
                "occurred_at": row["occurred_at"],
                "recorded_at": row["recorded_at"],
            }
        )
        for row in session.execute(query.order_by(rejections.c.seq)).mappings()
    ]


# ---- evidence ------------------------------------------------------------------------------------


class ReasonView(_View):
    code: str
    english: str
    vietnamese: str


def reason_view(code: str) -> ReasonView:
    try:
        known = ReasonCode(code)
    except ValueError:
        return ReasonView(code=code, english="", vietnamese="")
    return ReasonView(code=code, english=known.english, vietnamese=known.vietnamese)


class EvidenceStatus(StrEnum):
    """Whether the scoring ledger holds the link: RECORDED (it counts toward the leaf when
    accepted), UNLINKED by the unit, or NOT_RECORDED (refused by the scoring rules, see the
    rejections, or not received yet)."""

    RECORDED = "recorded"
    UNLINKED = "unlinked"
    NOT_RECORDED = "not_recorded"
    # No verdict yet: the e-office system did not serve the document; fetched again on a schedule.
    PENDING = "pending"


PENDING_DECISION = "pending"


class EvidenceView(_View):
    link_id: str
    criterion_code: str
    document_id: str
    title: str
    number: str | None
    issuer: str | None
    issued_on: date | None
    link: str | None
    decision: str
    reasons: list[ReasonView]
    verified_at: datetime | None
    status: EvidenceStatus


def evidence_view(session: Session, state: Ledger, leaf: str | None) -> list[EvidenceView]:
    """Every document linked to the unit's leaves that year, with the verifier's verdict."""
    unit_id, year = state.unit_id, state.year
    found: dict[str, dict[str, Any]] = {}
    unlinked: set[str] = set()
    # The scoring ledger's own copy of each verdict (title, link, issuer travel in the event).
    for row in session.execute(
        select(ledger_rows.c.event_type, ledger_rows.c.payload)
        .where(ledger_rows.c.unit_id == unit_id, ledger_rows.c.year == year)
        .where(ledger_rows.c.event_type.in_(("EvidenceVerified", "DocumentUnlinked")))
        .order_by(ledger_rows.c.seq)
    ):
        payload = row.payload
        link_id = str(payload["link_id"])
        if row.event_type == "DocumentUnlinked":
            unlinked.add(link_id)
            continue
        unlinked.discard(link_id)
        report = payload["report"]
        document = report.get("document", {})
        found[link_id] = {
            "link_id": link_id,
            "criterion_code": payload["criterion_code"],
            "document_id": payload["document_id"],
            "title": payload.get("title", ""),
            "number": document.get("number"),
            "issuer": payload.get("issuer"),
            "issued_on": document.get("issued_on"),
            "link": payload.get("fetch_url"),
            "decision": report["decision"],
            "reasons": list(report.get("reasons", [])),
            "verified_at": payload.get("occurred_at"),
        }
    # The verifier's record is authoritative for the verdict and lists links scoring refused.
    for v in session.execute(
        select(verdicts).where(verdicts.c.unit_id == unit_id, verdicts.c.year == year)
    ).mappings():
        link_id = str(v["link_id"])
        document = (v["report"] or {}).get("document", {})
        item = found.setdefault(
            link_id,
            {
                "link_id": link_id,
                "criterion_code": v["criterion_code"],
                "document_id": v["document_id"],
                "title": "",
                "number": document.get("number"),
                "issuer": None,
                "issued_on": document.get("issued_on"),
                "link": None,
            },
        )
        item.update(decision=v["decision"], reasons=list(v["reasons"]), verified_at=v["verified_at"])
    pending: set[str] = set()
    for waiting in pending_links(session, unit_id, year):
        link = waiting.link
        key = str(link.link_id)
        if key in found:
            continue  # an earlier verdict stands until the new fetch succeeds
        pending.add(key)
        found[key] = {
            "link_id": key,
            "criterion_code": link.criterion_code,
            "document_id": link.document_id,
            "title": link.title,
            "number": link.number,
            "issuer": link.issuer,
            "issued_on": None,
            "link": link.fetch_url,
            "decision": PENDING_DECISION,
            "reasons": [],
            "verified_at": None,
        }
    missing = [k for k, item in found.items() if not item["title"] or not item["link"]]
    if missing:
        for entry in session.execute(
            select(index_entries.c.link_id, index_entries.c.entry).where(index_entries.c.link_id.in_(missing))
        ):
            if entry.entry:
                item = found[str(entry.link_id)]
                item["title"] = item["title"] or entry.entry.get("title", "")
                item["link"] = item["link"] or entry.entry.get("link")
                item["issuer"] = item["issuer"] or entry.entry.get("issuer")
    out: list[EvidenceView] = []
    for link_id, item in sorted(found.items(), key=lambda kv: (kv[1]["criterion_code"], kv[0])):
        if leaf is not None and item["criterion_code"] != leaf:
            continue
        if link_id in pending:
            status = EvidenceStatus.PENDING
        elif link_id in unlinked:
            status = EvidenceStatus.UNLINKED
        elif link_id in state.links:
            status = EvidenceStatus.RECORDED
        else:
            status = EvidenceStatus.NOT_RECORDED
        out.append(
            EvidenceView(
                **{**item, "reasons": [reason_view(code) for code in item["reasons"]]},
                status=status,
            )
        )
    return out
