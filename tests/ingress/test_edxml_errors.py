"""Unusable messages are refused with a reason code, before anything is stored."""

from __future__ import annotations

import pytest

from kiemchung.ingress.edxml import DEFAULT_LIMITS, Limits, parse_document, parse_message
from kiemchung.ingress.errors import IngressError, IngressReason
from tests.ingress.builders import PDF, Message, Part, build

PDF_BYTES = b"%PDF-1.7\n% tiny\n"

BILLION_LAUGHS = """<!DOCTYPE edXML [
  <!ENTITY lol "lol">
  <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
"""
EXTERNAL_ENTITY = '<!DOCTYPE edXML [<!ENTITY secret SYSTEM "file:///etc/passwd">]>\n'


def _reason(data: bytes, limits: Limits = DEFAULT_LIMITS) -> IngressReason:
    with pytest.raises(IngressError) as caught:
        parse_document(data, limits)
    return caught.value.reason


def test_a_well_formed_message_parses() -> None:
    doc = parse_document(build(Message(parts=[Part("ke-hoach.pdf", PDF, PDF_BYTES)])))
    assert doc.number == "15/KH-UBND"
    assert doc.attachments[0].data == PDF_BYTES


def test_malformed_xml() -> None:
    data = build(Message()).replace(b"</edXML:edXMLEnvelope>", b"")
    assert _reason(data) is IngressReason.MALFORMED_XML


def test_entity_expansion_is_refused() -> None:
    data = build(Message(prolog=BILLION_LAUGHS, subject="&lol3;")).replace(b"&amp;lol3;", b"&lol3;")
    assert _reason(data) is IngressReason.ENTITY_EXPANSION


def test_external_entities_are_refused() -> None:
    data = build(Message(prolog=EXTERNAL_ENTITY, subject="&secret;")).replace(b"&amp;secret;", b"&secret;")
    assert _reason(data) is IngressReason.ENTITY_EXPANSION


def test_another_xml_vocabulary_is_not_edxml() -> None:
    data = b'<?xml version="1.0"?><EdXMLEnvelope xmlns="http://www.go.vn/eDoc"/>'
    assert _reason(data) is IngressReason.NOT_EDXML


def test_missing_document_number() -> None:
    assert _reason(build(Message(number=""))) is IngressReason.MISSING_FIELD


@pytest.mark.parametrize("text", ["2024/02/30", "12 tháng 3 năm 2024", "03-12-24"])
def test_unreadable_promulgation_date(text: str) -> None:
    assert _reason(build(Message(promulgation_date=text))) is IngressReason.INVALID_DATE


def test_day_first_dates_are_read_day_first() -> None:
    doc = parse_document(build(Message(promulgation_date="05/03/2024")))
    assert (doc.promulgation_date.month, doc.promulgation_date.day) == (3, 5)


def test_unknown_business_type() -> None:
    assert _reason(build(Message(business_type="9"))) is IngressReason.INVALID_FIELD


def test_bad_base64() -> None:
    data = build(Message(parts=[Part("a.pdf", PDF, encoded="JVBERi0x*not base64*")]))
    assert _reason(data) is IngressReason.BAD_BASE64


def test_oversized_attachment_is_refused_before_decoding() -> None:
    data = build(Message(parts=[Part("big.pdf", PDF, PDF_BYTES * 100)]))
    assert _reason(data, Limits(max_attachment_bytes=1000)) is IngressReason.ATTACHMENT_TOO_LARGE
    assert parse_document(data, Limits(max_attachment_bytes=len(PDF_BYTES) * 100)).attachments


def test_too_many_attachments() -> None:
    parts = [Part(f"phu-luc-{i}.pdf", PDF, PDF_BYTES) for i in range(4)]
    assert (
        _reason(build(Message(parts=parts)), Limits(max_attachments=3)) is IngressReason.TOO_MANY_ATTACHMENTS
    )


def test_message_too_large() -> None:
    data = build(Message())
    assert _reason(data, Limits(max_message_bytes=len(data) - 1)) is IngressReason.MESSAGE_TOO_LARGE


def test_manifest_names_an_attachment_the_message_lacks() -> None:
    data = build(Message(parts=[Part("a.pdf", PDF, PDF_BYTES)], manifest_only=["cid:99"]))
    assert _reason(data) is IngressReason.ATTACHMENT_MISSING


def test_parse_message_reports_errors_the_same_way() -> None:
    with pytest.raises(IngressError) as caught:
        parse_message(b"not xml at all")
    assert caught.value.reason is IngressReason.MALFORMED_XML
