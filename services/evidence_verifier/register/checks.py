"""The cross-document checks: pure functions from the register's entries to findings per link.

A finding never rejects by itself: it adds its reason code to the link's verdict (which then
needs review, unless the document was already rejected) and names the other links involved.
Findings are a function of the set of entries alone, never of the order they arrived in, so a
register rebuilt by replay finds exactly what the live one found.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from types import MappingProxyType

from contracts.vocabulary import REGISTER_CODES, ReasonCode
from services.evidence_verifier.register.facts import Entry, UnitRecord
from services.evidence_verifier.register.names import field_of
from services.evidence_verifier.register.tolerances import (
    DEFAULT_TOLERANCES,
    DeadlineLookup,
    NumberSeries,
    RegisterTolerances,
    no_deadlines,
)

# Dates printed on documents and deadlines are Vietnamese calendar days.
VIETNAM_TZ = timezone(timedelta(hours=7), "ICT")

__all__ = ["REGISTER_CODES", "Finding", "check_all"]


# A document linked by every unit of a province must not make each of its links carry (and each
# new link re-emit) hundreds of partners: findings keep the first ones by link id and the count.
MAX_RELATED = 50


@dataclass(frozen=True)
class Finding:
    code: ReasonCode
    related: tuple[str, ...] = ()  # link ids of the other links that make this finding true
    detail: str = ""  # the facts behind it, e.g. "dated 2024-01-10, signed 2024-12-20 (timestamp)"
    related_total: int = 0  # how many other links there are; `related` holds at most MAX_RELATED


def _capped(finding: Finding) -> Finding:
    ordered = tuple(sorted(set(finding.related)))
    return Finding(finding.code, ordered[:MAX_RELATED], finding.detail, len(ordered))


def local_date(moment: datetime) -> date:
    return moment.astimezone(VIETNAM_TZ).date()


# (unit, year) -> the council's supplement requests: (criterion or field code, last day)
Supplements = Mapping[tuple[str, int], Sequence[tuple[str, date]]]
NO_SUPPLEMENTS: Supplements = MappingProxyType({})


def check_all(
    entries: Iterable[Entry],
    units: Mapping[str, UnitRecord],
    tolerances: RegisterTolerances = DEFAULT_TOLERANCES,
    deadlines: DeadlineLookup = no_deadlines,
    supplements: Supplements = NO_SUPPLEMENTS,
) -> dict[str, tuple[Finding, ...]]:
    """Findings for every participating entry; links without findings map to ()."""
    live = sorted((e for e in entries if e.participates), key=lambda e: e.link_id)
    found: dict[str, list[Finding]] = {e.link_id: [] for e in live}
    for finding_link, finding in (
        *_duplicates(live),
        *_order(live, tolerances),
        *_signed_late(live, tolerances),
        *_after_deadline(live, units, deadlines, supplements),
        *_reuse(live, units, tolerances),
        *_issuer_mismatch(live, units, tolerances),
    ):
        found[finding_link].append(_capped(finding))
    rank = {code: i for i, code in enumerate(ReasonCode)}
    return {link: tuple(sorted(fs, key=lambda f: rank[f.code])) for link, fs in found.items()}


Pair = tuple[str, Finding]


def _number_key(e: Entry) -> tuple[str, int, str] | None:
    if e.issuer is None or e.number is None:
        return None
    return (e.issuer, e.issue_year or e.year, e.number)


def _document_key(e: Entry) -> str:
    return e.sha256 or f"link:{e.link_id}"


def _duplicates(entries: Sequence[Entry]) -> Iterable[Pair]:
    """Nghị định 30/2020: an issuer registers a number once a year; two contents, one number."""
    groups: dict[tuple[str, int, str], list[Entry]] = defaultdict(list)
    for e in entries:
        key = _number_key(e)
        if key is not None and e.sha256 is not None:
            groups[key].append(e)
    for (_, _, number), group in groups.items():
        for e in group:
            others = tuple(o.link_id for o in group if o.sha256 != e.sha256)
            if others:
                yield e.link_id, Finding(ReasonCode.DUPLICATE_NUMBER, others, f"{number} has other content")


@dataclass(frozen=True)
class _Doc:
    """One document of a number series (several links may share it)."""

    key: str
    sequence: int
    issued_on: date
    links: tuple[str, ...]


def _series(entries: Sequence[Entry], series: NumberSeries) -> Iterable[list[_Doc]]:
    grouped: dict[tuple[str, int, str], dict[str, list[Entry]]] = defaultdict(lambda: defaultdict(list))
    for e in entries:
        if e.issuer is None or e.sequence is None or e.issued_on is None:
            continue
        notation = (e.notation or "") if series is NumberSeries.PER_NOTATION else ""
        grouped[(e.issuer, e.issued_on.year, notation)][_document_key(e)].append(e)
    for docs in grouped.values():
        yield [
            _Doc(key, es[0].sequence or 0, es[0].issued_on or date.min, tuple(x.link_id for x in es))
            for key, es in sorted(docs.items())
        ]


def _order(entries: Sequence[Entry], tolerances: RegisterTolerances) -> Iterable[Pair]:
    """A number out of order with its date beyond the tolerance: one of the two was inserted.

    Of two conflicting documents, the one in conflict with more documents is the suspect (a
    number slipped in later contradicts every honest neighbour); on a tie both are shown.
    Conflicts are counted with sorted dates (n log n) so an issuer with thousands of linked
    documents stays cheap; partners are listed only for documents that have conflicts.
    """
    tolerance = tolerances.number_order
    for docs in _series(entries, tolerances.number_series):
        docs.sort(key=lambda d: (d.sequence, d.issued_on, d.key))
        counts = _conflict_counts(docs, tolerance)
        for i, doc in enumerate(docs):
            if not counts[i]:
                continue
            partners = [
                j
                for j, other in enumerate(docs)
                if (other.sequence < doc.sequence and other.issued_on - doc.issued_on > tolerance)
                or (other.sequence > doc.sequence and doc.issued_on - other.issued_on > tolerance)
            ]
            suspect_of = [docs[j] for j in partners if counts[i] >= counts[j]]
            if not suspect_of:
                continue
            related = tuple(sorted(link for p in suspect_of for link in p.links))
            nearest = min(suspect_of, key=lambda p: abs(p.sequence - doc.sequence))
            detail = (
                f"no. {doc.sequence} dated {doc.issued_on.isoformat()}, "
                f"no. {nearest.sequence} dated {nearest.issued_on.isoformat()}"
            )
            for link in doc.links:
                yield link, Finding(ReasonCode.NUMBER_ORDER, related, detail)


def _conflict_counts(docs: Sequence[_Doc], tolerance: timedelta) -> list[int]:
    """For each document (sorted by number): how many lower numbers are dated more than the
    tolerance after it, plus how many higher numbers are dated more than the tolerance before it."""
    counts = [0] * len(docs)
    dates = [d.issued_on.toordinal() for d in docs]
    days = tolerance.days
    seen: list[int] = []
    i = 0
    while i < len(docs):  # equal numbers (a duplicate) never conflict with each other
        j = i
        while j < len(docs) and docs[j].sequence == docs[i].sequence:
            counts[j] += len(seen) - bisect_right(seen, dates[j] + days)
            j += 1
        for k in range(i, j):
            insort(seen, dates[k])
        i = j
    seen = []
    i = len(docs) - 1
    while i >= 0:
        j = i
        while j >= 0 and docs[j].sequence == docs[i].sequence:
            counts[j] += bisect_left(seen, dates[j] - days)
            j -= 1
        for k in range(j + 1, i + 1):
            insort(seen, dates[k])
        i = j
    return counts


def _signed_late(entries: Sequence[Entry], tolerances: RegisterTolerances) -> Iterable[Pair]:
    for e in entries:
        if e.signed_at is None or e.issued_on is None:
            continue
        signed_on = local_date(e.signed_at)
        if signed_on - e.issued_on > tolerances.signed_after_issue:
            proof = "timestamp" if e.signing_proven else "claimed by the signer"
            detail = f"dated {e.issued_on.isoformat()}, signed {signed_on.isoformat()} ({proof})"
            yield e.link_id, Finding(ReasonCode.SIGNED_LONG_AFTER_ISSUE, (), detail)


def _after_deadline(
    entries: Sequence[Entry],
    units: Mapping[str, UnitRecord],
    deadlines: DeadlineLookup,
    supplements: Supplements,
) -> Iterable[Pair]:
    for e in entries:
        unit = units.get(e.unit_id)
        deadline = deadlines(unit.level, e.year) if unit else None
        if deadline is None:
            continue
        # seed 001: after the deadline only what the council asks for in writing, until its date
        for code, until in supplements.get((e.unit_id, e.year), ()):
            if e.criterion_code == code or e.criterion_code.startswith(code + "."):
                deadline = max(deadline, until)
        late = []
        if e.issued_on is not None and e.issued_on > deadline:
            late.append(f"dated {e.issued_on.isoformat()}")
        if e.signed_at is not None and local_date(e.signed_at) > deadline:
            late.append(f"signed {local_date(e.signed_at).isoformat()}")
        if late:
            detail = f"{', '.join(late)}; deadline {deadline.isoformat()}"
            yield e.link_id, Finding(ReasonCode.ISSUED_AFTER_DEADLINE, (), detail)


def _reuse_groups(entries: Sequence[Entry]) -> Iterable[list[Entry]]:
    """Links of one document: the same file, or the same issuer's number (a re-exported copy)."""
    parent: dict[str, str] = {e.link_id: e.link_id for e in entries}

    def root(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    first_of: dict[object, str] = {}
    for e in entries:
        for key in (("sha", e.sha256) if e.sha256 else None, _number_key(e)):
            if key is None:
                continue
            if key in first_of:
                parent[root(e.link_id)] = root(first_of[key])
            else:
                first_of[key] = e.link_id
    groups: dict[str, list[Entry]] = defaultdict(list)
    for e in entries:
        groups[root(e.link_id)].append(e)
    return (g for g in groups.values() if len(g) > 1)


def _joint_allows(group: Sequence[Entry], units: Mapping[str, UnitRecord]) -> bool:
    """A joint document (several seals) may be linked by each organisation that sealed it."""
    sealed_by = frozenset().union(*(e.sealed_by for e in group))
    if len(sealed_by) < 2:
        return False
    linking = {e.unit_id for e in group}
    for unit_id in linking:
        unit = units.get(unit_id)
        if unit is not None and not unit.names & sealed_by:
            return False
    return len(linking) <= len(sealed_by)


def _reuse(
    entries: Sequence[Entry], units: Mapping[str, UnitRecord], tolerances: RegisterTolerances
) -> Iterable[Pair]:
    for group in _reuse_groups(entries):
        linking = sorted({e.unit_id for e in group})
        cross_unit = len(linking) > 1 and not (tolerances.allow_joint_reuse and _joint_allows(group, units))
        for e in group:
            if cross_unit:
                others = tuple(o.link_id for o in group if o.unit_id != e.unit_id)
                detail = "linked by other units too"
                yield e.link_id, Finding(ReasonCode.REUSED_EVIDENCE, others, detail)
                continue
            # one unit, one file, several fields (two files under one number are DUPLICATE_NUMBER)
            same_file = [o for o in group if o.unit_id == e.unit_id and o.sha256 == e.sha256]
            fields = {field_of(o.criterion_code) for o in same_file}
            if len(fields) > 1:
                others = tuple(
                    o.link_id for o in same_file if field_of(o.criterion_code) != field_of(e.criterion_code)
                )
                detail = f"linked to criteria of fields {', '.join(sorted(fields))}"
                yield e.link_id, Finding(ReasonCode.REUSED_EVIDENCE, others, detail)


def _issuer_mismatch(
    entries: Sequence[Entry], units: Mapping[str, UnitRecord], tolerances: RegisterTolerances
) -> Iterable[Pair]:
    for e in entries:
        unit = units.get(e.unit_id)
        if unit is None or not e.organisations:
            continue
        allowed = set(unit.names)
        parent = units.get(unit.parent_unit_id) if unit.parent_unit_id else None
        if tolerances.allow_parent_issuer and parent is not None:
            allowed |= parent.names
        if not allowed & e.sealed_by:
            detail = f"sealed by {', '.join(e.organisations)}"
            yield e.link_id, Finding(ReasonCode.ISSUER_MISMATCH, (), detail)
