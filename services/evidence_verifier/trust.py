"""Loading trust roots from configured directories (PEM or DER, one or more per file)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from contracts.vocabulary import ReasonCode
from services.evidence_verifier.errors import VerifierError

CERT_SUFFIXES = frozenset({".pem", ".crt", ".cer", ".der"})


def load_trust_roots(dirs: Iterable[Path | str]) -> tuple[bytes, ...]:
    """DER bytes of every certificate found in `dirs` (files with a certificate suffix),
    deduplicated and in a stable order. A missing directory is a configuration error."""
    found: dict[bytes, None] = {}
    for raw in dirs:
        directory = Path(raw)
        if not directory.is_dir():
            raise VerifierError(ReasonCode.INTERNAL_ERROR, f"trust directory not found: {directory}")
        for path in sorted(directory.iterdir()):
            if path.suffix.lower() not in CERT_SUFFIXES or not path.is_file():
                continue
            for cert in _parse(path.read_bytes()):
                found[cert.public_bytes(serialization.Encoding.DER)] = None
    return tuple(found)


def _parse(data: bytes) -> list[x509.Certificate]:
    if b"-----BEGIN CERTIFICATE-----" in data:
        return x509.load_pem_x509_certificates(data)
    return [x509.load_der_x509_certificate(data)]
