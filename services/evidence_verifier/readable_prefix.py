# mypy: disable-error-code="no-untyped-call"
# (pyHanko is only partly typed)
"""The last earlier revision of a file pyHanko can read, when the whole file it cannot.

A signed file may carry a later incremental update pyHanko refuses (a cross-reference stream that
does not decompress, an object it cannot parse) while a reader such as PDFium, which rebuilds
the cross-reference table by scanning, still opens it and shows the update. Judging the whole
document MALFORMED_PDF then hides which signature is at fault. Instead, the signatures are read
from the longest prefix ending at an `%%EOF` that pyHanko reads, and every one of them is
reported as modified after signing: what the unread update changed cannot be shown to be allowed.
"""

from __future__ import annotations

import io
import re
import zlib

from pyhanko.pdf_utils.misc import PdfReadError
from pyhanko.pdf_utils.reader import PdfFileReader

__all__ = ["MAX_PREFIXES_TRIED", "UNREADABLE", "revision_ends"]

# what pyHanko raises on structure it cannot follow (zlib: a stream that does not decompress)
UNREADABLE: tuple[type[Exception], ...] = (
    PdfReadError,
    ValueError,
    KeyError,
    TypeError,
    AttributeError,
    IndexError,
    zlib.error,
)
# each try parses the prefix's cross-reference sections again: a few updates back at most
MAX_PREFIXES_TRIED = 4
_REVISION_END = re.compile(rb"%%EOF(?:\r\n|\r|\n)?")


def revision_ends(data: bytes) -> list[int]:
    """Where the earlier revisions end (after `%%EOF` and its end of line), the latest first,
    at most MAX_PREFIXES_TRIED of them; the file's own end is not one."""
    ends = [m.end() for m in _REVISION_END.finditer(data) if m.end() < len(data.rstrip())]
    return ends[::-1][:MAX_PREFIXES_TRIED]


def readable(prefix: bytes) -> PdfFileReader:
    """A reader on `prefix`, its cross-reference sections and catalogue read (or UNREADABLE)."""
    reader = PdfFileReader(io.BytesIO(prefix), strict=False)
    reader.root.get_object()
    return reader
