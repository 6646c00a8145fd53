"""From a generated edXML message to the DocumentLinked the verifier receives."""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from kiemchung.ingress.edxml import parse_document
from kiemchung.ingress.errors import IngressError, IngressReason
from kiemchung.ingress.linking import link_edxml
from kiemchung.ingress.mapping import LinkRequest, select_pdf
from kiemchung.ingress.store import store_content_addressed
from kiemchung.runtime.clock import FrozenClock, SeededIds
from kiemchung.runtime.messaging import EventFactory
from services.evidence_verifier.testkit.documents import DocumentSpec, make_document
from tests.ingress.builders import PDF, Message, Part, build

NOW = datetime(2024, 11, 20, 9, 0, tzinfo=UTC)
REQUEST = LinkRequest(unit_id="snv-vinhlong", criterion_code="1.1.2", year=2024, linked_by="snv.vanthu")


@pytest.fixture(scope="module")
def pdf_bytes() -> bytes:
    return make_document(DocumentSpec(issuer="Sở Nội vụ tỉnh Vĩnh Long", number="15/KH-UBND"))


def _events(seed: int = 1) -> EventFactory:
    return EventFactory("eoffice.ingress", FrozenClock(NOW), SeededIds(seed=seed))


def test_the_event_carries_the_header_and_the_stored_pdf(tmp_path: Path, pdf_bytes: bytes) -> None:
    data = build(
        Message(
            parts=[
                Part("Phụ lục.docx", "application/msword", b"PK\x03\x04"),
                Part("KH 15.pdf", PDF, pdf_bytes),
            ]
        )
    )
    linked = link_edxml(data, REQUEST, tmp_path / "edocs", _events())
    event = linked.event
    digest = hashlib.sha256(pdf_bytes).hexdigest()
    assert event.sha256 == digest
    assert event.number == "15/KH-UBND"
    assert event.issuer == "Sở Nội vụ tỉnh Vĩnh Long"
    assert event.issued_on == date(2024, 3, 12)
    assert event.title == "Kế hoạch cải cách hành chính năm 2024"
    assert event.document_id == "000.00.12.H62,2024/03/12,15/KH-UBND"
    assert (event.unit_id, event.criterion_code, event.year, event.linked_by) == (
        "snv-vinhlong",
        "1.1.2",
        2024,
        "snv.vanthu",
    )
    assert event.occurred_at == NOW
    assert event.correlation_id == event.link_id
    stored = Path(unquote(urlsplit(event.fetch_url).path))
    assert urlsplit(event.fetch_url).scheme == "file"
    assert stored.name == f"{digest}.pdf"
    assert stored.read_bytes() == pdf_bytes


def test_without_a_document_id_one_is_derived_in_the_standard_form(pdf_bytes: bytes, tmp_path: Path) -> None:
    data = build(Message(document_id=None, parts=[Part("kh.pdf", PDF, pdf_bytes)]))
    event = link_edxml(data, REQUEST, tmp_path, _events()).event
    assert event.document_id == "000.00.12.H62,2024/03/12,15/KH-UBND"


def test_linking_again_is_the_same_link_with_a_new_event(pdf_bytes: bytes, tmp_path: Path) -> None:
    data = build(Message(parts=[Part("kh.pdf", PDF, pdf_bytes)]))
    first = link_edxml(data, REQUEST, tmp_path, _events(seed=1)).event
    again = link_edxml(data, REQUEST, tmp_path, _events(seed=2)).event
    other_leaf = link_edxml(
        data, LinkRequest("snv-vinhlong", "1.1.3", 2024, "snv.vanthu"), tmp_path, _events(seed=3)
    ).event
    assert first.link_id == again.link_id != other_leaf.link_id
    assert first.event_id != again.event_id
    assert len(list(tmp_path.iterdir())) == 1  # one stored copy of the same bytes


def test_a_pdf_mislabelled_by_the_sender_is_still_found(pdf_bytes: bytes) -> None:
    doc = parse_document(build(Message(parts=[Part("vanban.bin", "application/octet-stream", pdf_bytes)])))
    assert select_pdf(doc).data == pdf_bytes


def test_no_pdf(tmp_path: Path) -> None:
    data = build(Message(parts=[Part("bao-cao.doc", "application/zip", b"PK\x03\x04 zip")]))
    with pytest.raises(IngressError) as caught:
        link_edxml(data, REQUEST, tmp_path, _events())
    assert caught.value.reason is IngressReason.NO_PDF
    assert not any(tmp_path.iterdir())


def test_two_pdfs_are_ambiguous(pdf_bytes: bytes, tmp_path: Path) -> None:
    data = build(Message(parts=[Part("kh.pdf", PDF, pdf_bytes), Part("phu-luc.pdf", PDF, pdf_bytes + b"\n")]))
    with pytest.raises(IngressError) as caught:
        link_edxml(data, REQUEST, tmp_path, _events())
    assert caught.value.reason is IngressReason.SEVERAL_PDFS
    assert "phu-luc.pdf" in caught.value.detail


def test_an_invalid_criterion_code_is_refused(pdf_bytes: bytes, tmp_path: Path) -> None:
    data = build(Message(parts=[Part("kh.pdf", PDF, pdf_bytes)]))
    with pytest.raises(IngressError) as caught:
        link_edxml(data, LinkRequest("snv", "tiêu chí 1", 2024, "u"), tmp_path, _events())
    assert caught.value.reason is IngressReason.INVALID_LINK
    assert "criterion_code" in caught.value.detail


def test_store_names_files_by_content(tmp_path: Path) -> None:
    first = store_content_addressed(tmp_path, b"%PDF-1.7 a")
    second = store_content_addressed(tmp_path, b"%PDF-1.7 b")
    again = store_content_addressed(tmp_path, b"%PDF-1.7 a")
    assert first.path == again.path != second.path
    assert first.path.name == hashlib.sha256(b"%PDF-1.7 a").hexdigest() + ".pdf"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([first.path.name, second.path.name])
