"""What appraisers read from the register: an issuer's numbers for a year, with the gaps between
the linked numbers and the anomalies the checks found. Pure functions over register rows."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from itertools import pairwise
from typing import Any

from contracts.vocabulary import ReasonCode
from services.evidence_verifier.register.checks import local_date
from services.evidence_verifier.register.names import fold

MAX_GAPS_SHOWN = 50


@dataclass(frozen=True)
class LinkLine:
    link_id: str
    unit_id: str
    criterion_code: str
    decision: str


@dataclass(frozen=True)
class NumberLine:
    """One number of the issuer's year and every link that cites a document under it."""

    sequence: int | None  # None for a lettered or unreadable number (not in the sequence)
    number: str
    issued_on: date | None
    signed_on: date | None
    signing_proven: bool
    links: tuple[LinkLine, ...]
    codes: tuple[ReasonCode, ...]  # the register's findings on any of the links
    documents: int  # distinct files under this number (more than one: DUPLICATE_NUMBER)


@dataclass(frozen=True)
class IssuerYear:
    issuer: str
    year: int
    numbers: tuple[NumberLine, ...]
    gaps: tuple[tuple[int, int], ...]  # inclusive ranges of numbers no link cites

    @property
    def anomalies(self) -> tuple[NumberLine, ...]:
        return tuple(n for n in self.numbers if n.codes or n.documents > 1)


def issuers_matching(issuers: Iterable[str], query: str) -> list[str]:
    """Folded issuer names that equal the query, else that contain it."""
    wanted = fold(query)
    names = sorted(set(issuers))
    exact = [n for n in names if n == wanted]
    return exact or [n for n in names if wanted and wanted in n]


def issuer_year(issuer: str, year: int, rows: Sequence[Mapping[str, Any]]) -> IssuerYear:
    """`rows`: the register rows of one issuer and numbering year (removed ones excluded)."""
    by_number: dict[str, list[Mapping[str, Any]]] = {}
    for row in rows:
        by_number.setdefault(row["number"] or "?", []).append(row)
    lines = []
    for number, group in by_number.items():
        first = min(group, key=lambda r: (r["signed_at"] is None, r["signed_at"] or datetime.max))
        signed: datetime | None = first["signed_at"]
        codes = {ReasonCode(f["code"]) for r in group for f in r["findings"]}
        lines.append(
            NumberLine(
                sequence=first["sequence"],
                number=number,
                issued_on=first["issued_on"],
                signed_on=local_date(signed) if signed else None,
                signing_proven=bool(first["signing_proven"]),
                links=tuple(
                    LinkLine(r["link_id"], r["unit_id"], r["criterion_code"], _decision(r))
                    for r in sorted(group, key=lambda r: (r["unit_id"], r["criterion_code"], r["link_id"]))
                ),
                codes=tuple(c for c in ReasonCode if c in codes),
                documents=len({r["sha256"] for r in group if r["sha256"]}),
            )
        )
    lines.sort(key=lambda n: (n.sequence is None, n.sequence or 0, n.number))
    return IssuerYear(display_name(rows, issuer), year, tuple(lines), _gaps(n.sequence for n in lines))


def _decision(row: Mapping[str, Any]) -> str:
    """The link's verdict as consumers hold it: the verifier's, sent to review by any finding."""
    if row["findings"] and row["decision"] == "accepted":
        return "needs_review"
    return str(row["decision"])


def display_name(rows: Iterable[Mapping[str, Any]], folded: str) -> str:
    """The issuer's name as its seal certifies it (the register keys issuers by folded name)."""
    for row in rows:
        for name in row["organisations"]:
            if fold(name) == folded:
                return str(name)
    return folded


def _gaps(sequences: Iterable[int | None]) -> tuple[tuple[int, int], ...]:
    seen = sorted({s for s in sequences if s is not None})
    return tuple((a + 1, b - 1) for a, b in pairwise(seen) if b - a > 1)


def render(view: IssuerYear) -> str:
    lines = [
        f"{view.issuer} — {view.year}: {len(view.numbers)} numbers linked, {len(view.anomalies)} anomalies"
    ]
    for n in view.numbers:
        signed = f"{n.signed_on.isoformat()}{'' if n.signing_proven else '?'}" if n.signed_on else "?"
        issued = n.issued_on.isoformat() if n.issued_on else "?"
        flags = ", ".join(c.value for c in n.codes)
        files = f" [{n.documents} files]" if n.documents > 1 else ""
        if n.sequence is None:
            files += " [not in the sequence]"
        lines.append(f"  {n.number:<20} dated {issued}  signed {signed:<11} {flags}{files}")
        for link in n.links:
            lines.append(f"      {link.unit_id:<20} {link.criterion_code:<10} {link.decision}")
    if view.gaps:
        shown = ", ".join(f"{a}" if a == b else f"{a}–{b}" for a, b in view.gaps[:MAX_GAPS_SHOWN])
        more = f" (+{len(view.gaps) - MAX_GAPS_SHOWN} more)" if len(view.gaps) > MAX_GAPS_SHOWN else ""
        lines.append(f"  not linked: {shown}{more}")
    lines.append("  (signed date with ? : claimed by the signer, no timestamp)")
    return "\n".join(lines)


def to_json(view: IssuerYear) -> dict[str, Any]:
    return {
        "issuer": view.issuer,
        "year": view.year,
        "numbers": [
            {
                "sequence": n.sequence,
                "number": n.number,
                "issued_on": n.issued_on.isoformat() if n.issued_on else None,
                "signed_on": n.signed_on.isoformat() if n.signed_on else None,
                "signing_proven": n.signing_proven,
                "documents": n.documents,
                "codes": [c.value for c in n.codes],
                "links": [link.__dict__ for link in n.links],
            }
            for n in view.numbers
        ],
        "gaps": [list(g) for g in view.gaps],
        "anomalies": [n.number for n in view.anomalies],
    }


@dataclass(frozen=True)
class FlaggedLink:
    """One link with a register finding, as the export's sheet lists it."""

    unit_id: str
    criterion_code: str
    number: str | None
    issued_on: date | None
    signed_on: date | None
    code: ReasonCode
    detail: str
    related: tuple[str, ...]  # "unit criterion number" of each other link involved


def flagged_links(
    rows: Sequence[Mapping[str, Any]], others: Mapping[str, Mapping[str, Any]]
) -> list[FlaggedLink]:
    """Every finding of `rows` (register rows), one line each; `others` resolves related link ids."""
    out = []
    for row in rows:
        signed: datetime | None = row["signed_at"]
        for finding in row["findings"]:
            related = tuple(
                " ".join(str(x) for x in (o["unit_id"], o["criterion_code"], o["number"] or "") if x)
                for o in (others.get(link) for link in finding["related"])
                if o is not None
            )
            out.append(
                FlaggedLink(
                    unit_id=row["unit_id"],
                    criterion_code=row["criterion_code"],
                    number=row["number"],
                    issued_on=row["issued_on"],
                    signed_on=local_date(signed) if signed else None,
                    code=ReasonCode(finding["code"]),
                    detail=str(finding["detail"]),
                    related=related,
                )
            )
    order = {code: i for i, code in enumerate(ReasonCode)}
    out.sort(key=lambda f: (f.unit_id, f.criterion_code, order[f.code], f.number or ""))
    return out
