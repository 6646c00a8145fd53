"""What a signature's /ByteRange covers, read from the file's bytes rather than trusted from lengths.

pyHanko (0.38) calls a signature "entire file" when `len1 + len2 + 2 * len(/Contents) + 2` equals
the file size. That sum is what the "1 Trillion Dollar Refund" attacks (Mladenov et al., CCS
2019) play with: write /Contents as a literal string, or put more than one hex string in the gap,
and the lengths still add up while the bytes between the signed ranges hold an appended update,
hidden objects or a relocated copy of the signed range (Universal Signature Forgery, Incremental
Saving Attack, Signature Wrapping). The rule here is structural:

- `/ByteRange` is `[0 a b c]` with `0 < a < b` and `b + c` within the file;
- bytes `a .. b` are exactly one hex string `<...>`, nothing else, and it decodes to the
  /Contents the signature dictionary holds;
- `b + c` is the file size (the signature covers the whole file), or it is the end of a
  complete earlier revision: the signed prefix ends with `%%EOF` (and at most one end-of-line),
  so everything after it is a later incremental update for the difference analysis to judge.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from services.evidence_verifier.errors import SignedRangeError

__all__ = ["SignedRange", "check_signed_range"]

BYTE_RANGE_ITEMS = 4
EOF_MARKER = b"%%EOF"
MAX_EOL_AFTER_EOF = 2  # "\r\n"
_HEX_ONLY = re.compile(rb"[0-9A-Fa-f]*")
_EOL = b"\r\n"


@dataclass(frozen=True)
class SignedRange:
    start_gap: int  # a: first byte not signed (the '<' of /Contents)
    end_gap: int  # b: first signed byte after /Contents
    end: int  # b + c: the signed prefix of the file ends here
    covers_file: bool


def check_signed_range(
    data: bytes | memoryview, byte_range: Sequence[object], contents: bytes
) -> SignedRange:
    """The signed range of one signature, or SignedRangeError saying what is wrong with it."""
    numbers = _four_integers(byte_range)
    zero, a, b, c = numbers
    size = len(data)
    if zero != 0 or not 0 < a < b or c < 0 or b + c > size:
        raise SignedRangeError(f"byte range {numbers} is not [0 a b c] inside a file of {size} bytes")
    if data[a : a + 1] != b"<" or data[b - 1 : b] != b">":
        raise SignedRangeError("the bytes between the signed ranges are not one hex string")
    inner = bytes(data[a + 1 : b - 1])
    if _HEX_ONLY.fullmatch(inner) is None:
        raise SignedRangeError("the bytes between the signed ranges hold more than one hex string")
    if len(inner) % 2 or bytes.fromhex(inner.decode("ascii")) != contents:
        raise SignedRangeError("the hex string between the signed ranges is not the signature's /Contents")
    end = b + c
    if end == size:
        return SignedRange(a, b, end, covers_file=True)
    signed_tail = bytes(data[max(end - len(EOF_MARKER) - MAX_EOL_AFTER_EOF, 0) : end])
    stripped = signed_tail.rstrip(_EOL)
    if not stripped.endswith(EOF_MARKER) or len(signed_tail) - len(stripped) > MAX_EOL_AFTER_EOF:
        raise SignedRangeError("the signed range ends inside a revision, not at an %%EOF")
    return SignedRange(a, b, end, covers_file=False)


def _four_integers(byte_range: Sequence[object]) -> tuple[int, int, int, int]:
    # bool is an int subclass; reals are not byte offsets (pyHanko's NumberObject is an int)
    items = [v for v in byte_range if isinstance(v, int) and not isinstance(v, bool)]
    if len(items) != BYTE_RANGE_ITEMS or len(items) != len(byte_range):
        raise SignedRangeError("byte range is not four integers")
    return (items[0], items[1], items[2], items[3])
