"""The register's pure core on generated facts: the fast number-order count agrees with the
pair-by-pair definition, and big reuse groups stay bounded."""

from __future__ import annotations

import random
from datetime import date, timedelta

import pytest

from contracts.vocabulary import Decision, Level, ReasonCode
from services.evidence_verifier.register.checks import MAX_RELATED, check_all
from services.evidence_verifier.register.facts import Entry, UnitRecord, unit_names
from services.evidence_verifier.register.tolerances import RegisterTolerances

TOLERANCE = timedelta(days=7)


def _entry(i: int, sequence: int, issued_on: date, unit: str = "xa", sha: str | None = None) -> Entry:
    return Entry(
        link_id=f"l{i:04d}",
        unit_id=unit,
        year=2024,
        criterion_code="1.1",
        decision=Decision.ACCEPTED,
        sha256=sha or f"{i:064x}",
        issuer="uy ban nhan dan xa mau",
        organisations=("Ủy ban nhân dân xã Mẫu",),
        number=f"{sequence}/KH-UBND",
        sequence=sequence,
        notation="KH-UBND",
        issued_on=issued_on,
    )


def _pairwise(entries: list[Entry]) -> set[str]:
    """NUMBER_ORDER by its definition: every conflicting pair, the suspect(s) of each."""
    conflicts: dict[str, set[str]] = {e.link_id: set() for e in entries}
    for a in entries:
        for b in entries:
            assert a.sequence is not None
            assert b.sequence is not None
            assert a.issued_on is not None
            assert b.issued_on is not None
            if a.sequence < b.sequence and a.issued_on - b.issued_on > TOLERANCE:
                conflicts[a.link_id].add(b.link_id)
                conflicts[b.link_id].add(a.link_id)
    return {
        x for x, partners in conflicts.items() if any(len(partners) >= len(conflicts[p]) for p in partners)
    }


@pytest.mark.parametrize("seed", range(12))
def test_fast_number_order_agrees_with_the_pairwise_definition(seed: int) -> None:
    rng = random.Random(seed)
    day = date(2024, 3, 1)  # shifted dates stay in 2024: numbers restart each year
    entries = []
    for i in range(rng.randint(5, 60)):
        day += timedelta(days=rng.randint(0, 6))
        entries.append(_entry(i, i + 1, day))
    for k in range(rng.randint(1, 4)):  # numbers slipped in, and equal numbers
        victim = rng.choice(entries)
        assert victim.issued_on is not None
        assert victim.sequence is not None
        shifted = victim.issued_on + timedelta(days=rng.randint(-60, 60))
        entries.append(_entry(100 + k, victim.sequence + rng.choice((0, 1)), shifted))
    found = check_all(entries, {}, RegisterTolerances(number_order=TOLERANCE))
    flagged = {link for link, fs in found.items() if any(f.code is ReasonCode.NUMBER_ORDER for f in fs)}
    assert flagged == _pairwise(entries)


def test_a_file_linked_by_many_units_names_a_bounded_number_of_partners() -> None:
    units = {f"xa-{i}": UnitRecord(f"xa-{i}", Level.COMMUNE, unit_names(f"xã {i}", ())) for i in range(80)}
    entries = [_entry(i, 5, date(2024, 3, 1), unit=f"xa-{i}", sha="ab" * 32) for i in range(80)]
    found = check_all(entries, units)
    reuse = [f for f in found["l0007"] if f.code is ReasonCode.REUSED_EVIDENCE]
    assert len(reuse) == 1
    assert len(reuse[0].related) == MAX_RELATED
    assert reuse[0].related_total == 79
    assert "l0007" not in reuse[0].related
