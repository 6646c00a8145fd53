"""A small signed corpus for runtime tests, generated once per session by the test kit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from services.evidence_verifier.testkit import documents as docs
from services.evidence_verifier.testkit.pki import TestPKI, UnitIdentity, generate_pki

VIETNAM = timezone(timedelta(hours=7))
PKI_NOW = datetime(2024, 1, 2, 8, 0, tzinfo=VIETNAM)
UNIT_NAME = "Sở Nội vụ"


@dataclass(frozen=True)
class Corpus:
    directory: Path
    trust_dir: Path
    pki: TestPKI
    good: Path  # signed by the unit's seal and its head, number 21/KH-SNV
    lettered: Path  # same, numbered 22a/KH-SNV


def build_corpus(directory: Path) -> Corpus:
    directory.mkdir(parents=True, exist_ok=True)
    pki = generate_pki([UnitIdentity(UNIT_NAME, "Nguyễn Văn An", "Giám đốc")], PKI_NOW)
    creds = pki.unit(UNIT_NAME)
    options = docs.SignOptions(signing_time=datetime(2024, 3, 12, 10, 0, tzinfo=VIETNAM), tsa=pki.tsa)

    def signed(number: str, name: str) -> Path:
        spec = docs.DocumentSpec(issuer=UNIT_NAME, number=number, issued_on=date(2024, 3, 12))
        data = docs.sign_organisation_and_person(
            docs.make_document(spec), creds.organisation, creds.person, options
        )
        path = directory / name
        path.write_bytes(data)
        return path

    return Corpus(
        directory=directory,
        trust_dir=pki.write_trust_dir(directory / "trust"),
        pki=pki,
        good=signed("21/KH-SNV", "good.pdf"),
        lettered=signed("22a/KH-SNV", "lettered.pdf"),
    )
