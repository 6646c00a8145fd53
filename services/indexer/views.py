"""The appraiser's view of one criterion across all units: points, evidence, and who has none.

Pure: the caller passes the entries (e.g. from `port.iter_all(index, SearchQuery(criterion=X,
year=Y))`), the units of the level, and each unit's self-assessed points for X, which the
scoring service owns.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from contracts.vocabulary import REGISTER_CODES
from services.indexer.criteria_codes import in_subtree, sort_key
from services.indexer.model import Decision, EvidenceEntry


@dataclass(frozen=True)
class UnitRef:
    unit_id: str
    name: str


@dataclass(frozen=True)
class UnitEvidence:
    unit_id: str
    unit_name: str
    # None when the unit entered no self-assessed score for the criterion.
    points: Decimal | None
    evidence: tuple[EvidenceEntry, ...]
    verdicts: Mapping[Decision, int]

    @property
    def has_evidence(self) -> bool:
        return bool(self.evidence)


@dataclass(frozen=True)
class CriterionView:
    criterion: str
    year: int | None
    # Every unit in the order given, then units that have evidence but were not listed.
    units: tuple[UnitEvidence, ...]

    @property
    def without_evidence(self) -> tuple[UnitEvidence, ...]:
        return tuple(u for u in self.units if not u.has_evidence)

    @property
    def with_evidence(self) -> tuple[UnitEvidence, ...]:
        return tuple(u for u in self.units if u.has_evidence)

    @property
    def signals(self) -> dict[str, int]:
        """How many pieces of evidence carry each check of the evidence register (a facet)."""
        wanted = {code.value for code in REGISTER_CODES}
        counts = Counter(r for u in self.units for e in u.evidence for r in e.reasons if r in wanted)
        return dict(sorted(counts.items()))


def _evidence_order(entry: EvidenceEntry) -> tuple[tuple[int, ...], date, str]:
    return (sort_key(entry.criterion_code), entry.issued_on or date.max, entry.link_id)


def criterion_across_units(
    criterion: str,
    entries: Iterable[EvidenceEntry],
    units: Sequence[UnitRef],
    self_assessed: Mapping[str, Decimal],
    year: int | None = None,
) -> CriterionView:
    """Group the evidence for `criterion` (its whole subtree) by unit."""
    by_unit: dict[str, list[EvidenceEntry]] = defaultdict(list)
    names = {u.unit_id: u.name for u in units}
    for entry in entries:
        if not in_subtree(entry.criterion_code, criterion):
            continue
        if year is not None and entry.year != year:
            continue
        by_unit[entry.unit_id].append(entry)
        names.setdefault(entry.unit_id, entry.unit_name)
    order = [u.unit_id for u in units] + sorted(
        uid for uid in by_unit if uid not in {u.unit_id for u in units}
    )
    rows = []
    for unit_id in order:
        evidence = tuple(sorted(by_unit.get(unit_id, ()), key=_evidence_order))
        verdicts = Counter(e.decision for e in evidence)
        rows.append(
            UnitEvidence(
                unit_id=unit_id,
                unit_name=names[unit_id],
                points=self_assessed.get(unit_id),
                evidence=evidence,
                verdicts={d: verdicts.get(d, 0) for d in Decision},
            )
        )
    return CriterionView(criterion=criterion, year=year, units=tuple(rows))
