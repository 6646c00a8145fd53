"""The streaming base64 decoder keeps the rules of a whole-text decode across its batch and read
boundaries (issue 10, item 7): whitespace anywhere, at most two '=' and only at the end."""

from __future__ import annotations

import base64
import os
import stat

import pytest

from kiemchung.ingress.edxml import parse_document
from kiemchung.ingress.errors import IngressError, IngressReason
from tests.ingress.builders import PDF, Message, Part, build

# Longer than one decode batch (256 Ki characters), so the text is decoded in several pieces.
SPANS_BATCHES = 300_000
OWNER_ONLY = 0o600


def _decoded(encoded: str) -> bytes:
    return parse_document(build(Message(parts=[Part("a.pdf", PDF, encoded=encoded)]))).attachments[0].data


def _reason(encoded: str) -> IngressReason:
    with pytest.raises(IngressError) as caught:
        _decoded(encoded)
    return caught.value.reason


@pytest.mark.parametrize("size", [196_607, 196_608, 196_609, 196_610, 1_000_001])
def test_large_attachments_decode_exactly_whatever_their_padding(size: int) -> None:
    body = bytes((i * 7 + size) % 251 for i in range(size))
    assert _decoded(base64.encodebytes(body).decode("ascii")) == body
    assert _decoded(base64.b64encode(body).decode("ascii")) == body  # one line, no whitespace


def test_padding_split_by_whitespace_across_batches_is_accepted() -> None:
    assert _decoded("QQ=" + " " * SPANS_BATCHES + "=") == b"A"
    assert _decoded("QUJD" * 100_000 + "QQ" + "\n" * SPANS_BATCHES + "==") == b"ABC" * 100_000 + b"A"


@pytest.mark.parametrize(
    "encoded",
    [
        "QQ==QUFB",  # data after the padding
        "QQ=" + " " * SPANS_BATCHES + "=Q",  # ... in a later batch
        "QQ==" + " " * SPANS_BATCHES + "=",  # three '='
        "QU=B",  # padding inside the data
        "QUFB" * 100_000 + "QUF",  # truncated last block
        "QUFB" * 100_000 + "QU!B",  # outside the alphabet
        "QUFB" * 100_000 + "QUFÀ",  # non-ASCII
    ],
)
def test_broken_base64_is_refused_wherever_it_is(encoded: str) -> None:
    assert _reason(encoded) is IngressReason.BAD_BASE64


def test_decoded_attachment_is_an_owner_only_anonymous_file() -> None:
    attachment = parse_document(build(Message(parts=[Part("a.pdf", PDF, b"%PDF-1.7 x")]))).attachments[0]
    status = os.fstat(attachment.content.fileno())
    assert stat.S_IMODE(status.st_mode) == OWNER_ONLY
    assert status.st_nlink == 0  # no name on disk: nothing is left behind
    assert attachment.size == len(b"%PDF-1.7 x")
    assert attachment.head(4) == b"%PDF"
    assert b"".join(attachment.chunks(3)) == b"%PDF-1.7 x"
