"""Hostile edXML: encodings, padding tricks, huge files, recipient floods (issue 10, items 5-7)."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import pytest

from kiemchung.ingress.cli import run_link_edxml
from kiemchung.ingress.edxml import DEFAULT_LIMITS, DEFAULT_MAX_RECIPIENTS, MIB, Limits, parse_document
from kiemchung.ingress.errors import IngressError, IngressReason
from kiemchung.ingress.mapping import LinkRequest
from kiemchung.runtime.settings import Settings
from tests.ingress.builders import PDF, Message, Part, build

SMALL_CAP = Limits(max_attachment_bytes=1024)
# Far below the file: reading it whole would show up many times over.
READ_BUDGET_BYTES = 8 * MIB


def _reason(data: bytes, limits: Limits = DEFAULT_LIMITS) -> IngressReason:
    with pytest.raises(IngressError) as caught:
        parse_document(data, limits)
    return caught.value.reason


@pytest.mark.parametrize("encoding", ["UTF-7", "utf-32", "x-no-such-codec", "UTF-16"])
def test_any_encoding_declaration_problem_is_malformed_xml(encoding: str) -> None:
    data = build(Message()).replace(b'encoding="UTF-8"', f'encoding="{encoding}"'.encode())
    assert _reason(data) is IngressReason.MALFORMED_XML


def test_trailing_padding_cannot_shrink_the_attachment_size() -> None:
    encoded = "QUFB" * 1000 + "=" * 8000  # 3,000 bytes of data, "minus" 8,000 of padding
    data = build(Message(parts=[Part("a.pdf", PDF, encoded=encoded)]))
    assert _reason(data, SMALL_CAP) in {IngressReason.ATTACHMENT_TOO_LARGE, IngressReason.BAD_BASE64}


def test_exact_size_at_the_cap_with_whitespace_and_padding_is_accepted() -> None:
    body = b"x" * 1024
    doc = parse_document(build(Message(parts=[Part("a.pdf", PDF, body)])), SMALL_CAP)
    assert doc.attachments[0].data == body
    over = build(Message(parts=[Part("a.pdf", PDF, body + b"y")]))
    assert _reason(over, SMALL_CAP) is IngressReason.ATTACHMENT_TOO_LARGE


def test_recipients_are_capped() -> None:
    data = build(Message())
    to = b"<edXML:To><edXML:OrganId>x</edXML:OrganId></edXML:To>"
    flood = data.replace(b"<edXML:To>", to * DEFAULT_MAX_RECIPIENTS + b"<edXML:To>", 1)
    assert _reason(flood) is IngressReason.TOO_MANY_RECIPIENTS


async def test_huge_edxml_is_refused_before_it_is_read(tmp_path: Path) -> None:
    huge = tmp_path / "huge.xml"
    with huge.open("wb") as handle:
        handle.truncate(Settings().max_document_bytes * 4)  # sparse: costs no disk
    tracemalloc.start()
    try:
        with pytest.raises(IngressError) as caught:
            await run_link_edxml(huge, LinkRequest("snv", "1.1", 2024, "u"), Settings(data_dir=tmp_path))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert caught.value.reason is IngressReason.MESSAGE_TOO_LARGE
    assert peak < READ_BUDGET_BYTES
