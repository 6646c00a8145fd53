# mypy: disable-error-code="no-untyped-call"
# (pyHanko is only partly typed)
"""The signatures of a document, one at a time: a signature pyHanko cannot read is that
signature's problem, not the document's.

pyHanko's `reader.embedded_signatures` reads every signature dictionary at once and raises on
the first it cannot read (a missing, null or indirect /Contents), which would make a document
with one damaged signature among good ones MALFORMED_PDF. Here each field is read on its own;
one that cannot be read becomes an `UnreadableSignature` (judged SIGNATURE_BROKEN).

Some signing tools write /ByteRange and /Contents as indirect objects (`/ByteRange 12 0 R`).
PDF 32000 allows it and pyHanko only reads direct values, so they are resolved in the reader's
copy of the signature dictionary first. The strict byte-range rule (signed_range.py) is unchanged
by this: the bytes between the signed ranges must still be exactly the hex string of /Contents.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyhanko.pdf_utils import generic, misc
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.fields import SigSeedSubFilter, enumerate_sig_fields
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature

__all__ = ["UnreadableSignature", "collect"]

RESOLVED_ENTRIES = ("/ByteRange", "/Contents")
_SUBFILTERS = frozenset(s.value for s in SigSeedSubFilter)


@dataclass(frozen=True)
class UnreadableSignature:
    field: str
    why: str
    timestamp: bool  # a /DocTimeStamp dictionary


def collect(reader: PdfFileReader) -> list[EmbeddedPdfSignature | UnreadableSignature]:
    """Readable signatures in signing order, then the unreadable ones in field order."""
    readable: list[EmbeddedPdfSignature] = []
    unreadable: list[UnreadableSignature] = []
    for name, sig_object, sig_field in enumerate_sig_fields(reader, filled_status=True):
        sig_dict = sig_object.get_object()
        if not isinstance(sig_dict, generic.DictionaryObject):
            unreadable.append(UnreadableSignature(str(name), "/V is not a dictionary", timestamp=False))
            continue
        if sig_dict.get("/SubFilter") not in _SUBFILTERS:
            continue  # as pyHanko: a signature format it does not know is not a signature
        timestamp = sig_dict.get("/Type") == "/DocTimeStamp"
        try:
            _resolve_entries(sig_dict)
            readable.append(EmbeddedPdfSignature(reader, sig_field, str(name)))
        except (misc.PdfReadError, ValueError, KeyError, TypeError, AttributeError, IndexError) as exc:
            unreadable.append(UnreadableSignature(str(name), str(exc), timestamp=timestamp))
    readable.sort(key=lambda emb: emb.signed_revision)
    # pyHanko's own checks (difference analysis) ask the reader for its signatures: give it the
    # readable ones rather than have it fail on the others again
    reader._embedded_signatures = readable  # type: ignore[assignment]
    return [*readable, *unreadable]


def _resolve_entries(sig_dict: generic.DictionaryObject) -> None:
    for key in RESOLVED_ENTRIES:
        value = sig_dict.raw_get(key, decrypt=generic.EncryptedObjAccess.RAW) if key in sig_dict else None
        if isinstance(value, generic.IndirectObject):
            sig_dict[key] = value.get_object()
