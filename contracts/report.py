"""The verification report: what `kiemchung verify --json` prints and EvidenceVerified carries."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field

from contracts.vocabulary import (
    Coverage,
    Decision,
    Indication,
    ModifiedAfter,
    ReasonCode,
    SignatureKind,
    SubIndication,
    TextLayer,
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SignerInfo(_Strict):
    common_name: str | None = None
    organisation: str | None = None
    serial: str = Field(description="Certificate serial number, hexadecimal")
    issuer: str | None = None


class SignatureReport(_Strict):
    field: str
    signer: SignerInfo
    kind: SignatureKind
    intact: bool
    trusted: bool
    indication: Indication
    sub_indication: SubIndication | None = None
    coverage: Coverage
    modified_after: ModifiedAfter
    signing_time: datetime | None = None
    timestamped: bool
    algorithm: str | None = Field(default=None, description="e.g. sha256WithRSA, ecdsa-with-SHA384")


class DocumentFacts(_Strict):
    pages: int | None = None
    scanned: bool | None = None
    text_layer: TextLayer | None = None
    number: str | None = Field(default=None, description='Full number and notation, e.g. "15/KH-UBND"')
    notation: str | None = Field(default=None, description='Notation only, e.g. "KH-UBND"')
    issued_on: date | None = None


class VerificationReport(_Strict):
    file: str
    sha256: str | None = None
    decision: Decision
    reasons: list[ReasonCode]
    signatures: list[SignatureReport] = Field(default_factory=list)
    document: DocumentFacts = Field(default_factory=DocumentFacts)
    elapsed_ms: int = Field(ge=0)
