# mypy: disable-error-code="no-untyped-call"
# (pyHanko is only partly typed)
"""Document timestamps (RFC 3161 tokens over the whole file, /DocTimeStamp) for test documents.

Made with pyHanko's PdfTimeStamper and its in-process dummy TSA; the time is injected.
"""

from __future__ import annotations

import io
from datetime import datetime, timedelta

from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import signers
from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper
from pyhanko_certvalidator.registry import SimpleCertificateStore

from services.evidence_verifier.testkit.pki import Signer, TestPKI, _build, _key, _name

TIMESTAMP_RESERVE = 8192
UNTRUSTED_TSA_SERIAL = 0x7777
UNTRUSTED_TSA_KEY_SLOT = 6
UNTRUSTED_TSA_VALIDITY = timedelta(days=365)


def untrusted_tsa(pki: TestPKI) -> Signer:
    """A time-stamping authority under the test PKI's untrusted root (RSA: pyHanko's dummy TSA
    signs with RSA only)."""
    cred = _build(
        subject=_name("Unknown TSA", "Somebody Else"),
        key=_key("rsa", UNTRUSTED_TSA_KEY_SLOT),
        issuer=pki.untrusted_root,
        serial=UNTRUSTED_TSA_SERIAL,
        not_before=pki.now - UNTRUSTED_TSA_VALIDITY,
        not_after=pki.now + UNTRUSTED_TSA_VALIDITY,
        ca=False,
        tsa=True,
    )
    return Signer(cred, (pki.untrusted_root,))


def dummy_tsa(tsa: Signer, at: datetime) -> DummyTimeStamper:
    return DummyTimeStamper(
        tsa_cert=tsa.credential.asn1_cert,
        tsa_key=tsa.credential.asn1_key,
        certs_to_embed=SimpleCertificateStore.from_certs([c.asn1_cert for c in tsa.chain]),
        fixed_dt=at,
    )


def add_document_timestamp(
    pdf: bytes, tsa: Signer, at: datetime, *, field_name: str = "DauThoiGian"
) -> bytes:
    """Append a document timestamp (an invisible /DocTimeStamp field) in an incremental update."""
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
    stamper = signers.PdfTimeStamper(dummy_tsa(tsa, at), field_name=field_name)
    out = stamper.timestamp_pdf(writer, "sha256", bytes_reserved=TIMESTAMP_RESERVE)
    return bytes(out.getvalue())
