"""What the register knows about each linked document and each unit. Pure values."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from contracts.report import VerificationReport
from contracts.vocabulary import Decision, Level, SignatureKind
from services.evidence_verifier.numbering import normalise, parse_number
from services.evidence_verifier.register.names import fold

# Column sizes of register_entries: a certificate or a page may carry longer text, which must
# cost a truncated key, never a failed transaction (a poison message).
MAX_NAME_CHARS = 300
MAX_NUMBER_CHARS = 100
MAX_SEALS = 10


@dataclass(frozen=True)
class Entry:
    """One link of one verified document, with the facts its verdict proved."""

    link_id: str
    unit_id: str
    year: int  # the scored year the unit linked it to
    criterion_code: str
    decision: Decision  # the verifier's own verdict on the document alone
    sha256: str | None = None
    issuer: str | None = None  # folded name of the (first) organisation seal, or e-office's issuer
    organisations: tuple[str, ...] = ()  # names on every organisation seal, as certified
    number: str | None = None  # normalised "15/KH-UBND"
    sequence: int | None = None  # 15
    notation: str | None = None  # normalised "KH-UBND"
    issued_on: date | None = None
    signed_at: datetime | None = None  # the first organisation seal's time (proven when timestamped)
    signing_proven: bool = False

    @property
    def participates(self) -> bool:
        """A rejected document proves nothing about its issuer; the checks ignore it."""
        return self.decision is not Decision.REJECTED

    @property
    def sealed_by(self) -> frozenset[str]:
        """The organisations' names folded as unit names are (names.fold)."""
        return frozenset(fold(o) for o in self.organisations)

    @property
    def issue_year(self) -> int | None:
        return self.issued_on.year if self.issued_on else None


@dataclass(frozen=True)
class UnitRecord:
    """A unit as the register knows it from UnitRegistered."""

    unit_id: str
    level: Level
    names: frozenset[str]  # folded: the registered name and the names on its seal certificates
    parent_unit_id: str | None = None


def unit_names(name: str, organisation_names: Iterable[str]) -> frozenset[str]:
    return frozenset(n for n in (fold(name), *(fold(o) for o in organisation_names)) if n)


def entry_from_report(
    report: VerificationReport,
    *,
    link_id: str,
    unit_id: str,
    year: int,
    criterion_code: str,
    reported_issuer: str | None,
) -> Entry:
    seals = [s for s in report.signatures if s.kind is SignatureKind.ORGANISATION and s.intact]
    organisations: dict[str, str] = {}  # folded -> as certified, in signing order
    for seal in seals[:MAX_SEALS]:
        name = (seal.signer.organisation or seal.signer.common_name or "")[:MAX_NAME_CHARS]
        if fold(name):
            organisations.setdefault(fold(name)[:MAX_NAME_CHARS], name)
    folded = list(organisations)
    issuer = folded[0] if folded else (fold(reported_issuer)[:MAX_NAME_CHARS] if reported_issuer else None)
    timed = [s for s in seals if s.signing_time is not None]
    first = min(timed, key=lambda s: s.signing_time or datetime.max) if timed else None
    facts = report.document
    parsed = parse_number(facts.number) if facts.number else None
    return Entry(
        link_id=link_id,
        unit_id=unit_id,
        year=year,
        criterion_code=criterion_code,
        decision=report.decision,
        sha256=report.sha256,
        issuer=issuer or None,
        organisations=tuple(organisations.values()),
        number=normalise(facts.number)[:MAX_NUMBER_CHARS] if facts.number else None,
        sequence=parsed.sequence if parsed and not parsed.lettered else None,
        notation=normalise(parsed.notation)[:MAX_NUMBER_CHARS] if parsed else None,
        issued_on=facts.issued_on,
        signed_at=first.signing_time if first else None,
        signing_proven=first.timestamped if first else False,
    )
