# mypy: disable-error-code="no-untyped-call"
"""A signature written the way some signing tools write it: the field's /V, the signature
dictionary's /ByteRange and its /Contents all indirect objects (`/ByteRange 12 0 R`,
`/Contents 13 0 R`). pyHanko always writes them direct, so the file is written here: an
incremental update with placeholders, the byte range filled in, the CMS made over those bytes."""

from __future__ import annotations

import asyncio
import hashlib
import io
from datetime import datetime

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.generic import pdf_name
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import signers
from pyhanko.sign.signers.pdf_cms import PdfCMSSignedAttributes
from pyhanko_certvalidator.registry import SimpleCertificateStore

from services.evidence_verifier.testkit.documents import SIGNATURE_RESERVE
from services.evidence_verifier.testkit.pki import Signer

__all__ = ["sign_with_indirect_entries"]

_PLACEHOLDER = 9_999_999_999  # wide enough for any offset; rewritten in place, space padded
_DIGEST = "sha256"
_HIDDEN_PRINTED = 132  # widget flags: hidden-free, printed, locked


def sign_with_indirect_entries(
    pdf: bytes, signer: Signer, *, signing_time: datetime, field_name: str
) -> bytes:
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
    byte_range = writer.add_object(
        generic.ArrayObject([generic.NumberObject(0)] + [generic.NumberObject(_PLACEHOLDER)] * 3)
    )
    contents = writer.add_object(generic.ByteStringObject(bytes(SIGNATURE_RESERVE)))
    signature = writer.add_object(
        generic.DictionaryObject(
            {
                pdf_name("/Type"): pdf_name("/Sig"),
                pdf_name("/Filter"): pdf_name("/Adobe.PPKLite"),
                pdf_name("/SubFilter"): pdf_name("/adbe.pkcs7.detached"),
                pdf_name("/ByteRange"): byte_range,
                pdf_name("/Contents"): contents,
            }
        )
    )
    page_ref = writer.root["/Pages"]["/Kids"].raw_get(0)
    widget = writer.add_object(
        generic.DictionaryObject(
            {
                pdf_name("/Type"): pdf_name("/Annot"),
                pdf_name("/Subtype"): pdf_name("/Widget"),
                pdf_name("/FT"): pdf_name("/Sig"),
                pdf_name("/T"): generic.TextStringObject(field_name),
                pdf_name("/V"): signature,
                pdf_name("/Rect"): generic.ArrayObject([generic.NumberObject(0)] * 4),
                pdf_name("/F"): generic.NumberObject(_HIDDEN_PRINTED),
                pdf_name("/P"): page_ref,
            }
        )
    )
    page = page_ref.get_object()
    page[pdf_name("/Annots")] = generic.ArrayObject([widget])
    writer.update_container(page)
    writer.root[pdf_name("/AcroForm")] = generic.DictionaryObject(
        {pdf_name("/Fields"): generic.ArrayObject([widget]), pdf_name("/SigFlags"): generic.NumberObject(3)}
    )
    writer.update_root()
    out = io.BytesIO()
    writer.write(out)
    return _fill(out.getvalue(), signer, signing_time)


def _fill(data: bytes, signer: Signer, signing_time: datetime) -> bytes:
    hole = b"<" + b"00" * SIGNATURE_RESERVE + b">"
    a = data.index(hole)
    b = a + len(hole)
    placeholder = f"[ 0 {_PLACEHOLDER} {_PLACEHOLDER} {_PLACEHOLDER} ]".encode()
    at = data.index(placeholder)
    filled = f"[0 {a} {b} {len(data) - b}]".encode().ljust(len(placeholder))
    data = data[:at] + filled + data[at + len(placeholder) :]
    digest = hashlib.sha256(data[:a] + data[b:]).digest()
    cred = signer.credential
    simple = signers.SimpleSigner(
        signing_cert=cred.asn1_cert,
        signing_key=cred.asn1_key,
        cert_registry=SimpleCertificateStore.from_certs([c.asn1_cert for c in signer.chain]),
    )
    attrs = PdfCMSSignedAttributes(signing_time=signing_time)
    cms = asyncio.run(simple.async_sign(digest, _DIGEST, signed_attr_settings=attrs))
    der: bytes = cms.dump().hex().encode()
    if len(der) > len(hole) - 2:
        raise ValueError("the CMS blob does not fit the reserved /Contents")
    return data[: a + 1] + der.ljust(len(hole) - 2, b"0") + data[b - 1 :]
