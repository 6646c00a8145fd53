"""The real edXML samples of the national exchange axis (../shared; skipped when absent)."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from kiemchung.ingress.edxml import BusinessDocType, EdxmlDocument, EdxmlStatus, parse_document, parse_message
from kiemchung.ingress.errors import IngressError, IngressReason
from kiemchung.ingress.mapping import select_pdf

pytestmark = pytest.mark.shared_data


@pytest.fixture(scope="module")
def samples(shared_dir: Path) -> Path:
    directory = shared_dir / "samples" / "edxml"
    if not directory.is_dir():
        pytest.skip("edXML samples are absent")
    return directory


def _document(samples: Path, name: str) -> EdxmlDocument:
    return parse_document((samples / name).read_bytes())


def test_every_sample_parses(samples: Path) -> None:
    files = sorted(samples.glob("*.edxml"))
    assert len(files) == 5
    kinds = {f.name: type(parse_message(f.read_bytes())) for f in files}
    assert kinds.pop("status_inbox_01.edxml") is EdxmlStatus
    assert set(kinds.values()) == {EdxmlDocument}


def test_tay_ninh_header(samples: Path) -> None:
    doc = _document(samples, "edoc_new_tayninh.edxml")
    assert doc.number == "2491/STC-BCTC"
    assert doc.sender.organ_id == "000.00.11.H53"
    assert [r.organ_id for r in doc.recipients] == ["000.00.01.A53"]
    assert doc.recipients[0].name == "Văn phòng tỉnh ủy"
    # This sample writes dates dd/MM/yyyy; the VPCP ones yyyy/MM/dd.
    assert doc.promulgation_date == date(2020, 10, 30)
    assert doc.promulgation_place == "Tây Ninh"
    assert doc.subject == "Báo cáo tài chính tỉnh"
    assert doc.document_id == "000.00.11.H53,2020/10/30,2491/STC-BCTC"
    assert doc.document_type is not None
    assert doc.document_type.name == "Công văn"
    assert doc.signer is None  # SignerInfo present but empty
    assert doc.business_type is BusinessDocType.NEW


def test_government_office_message_with_three_recipients(samples: Path) -> None:
    doc = _document(samples, "dc0bdef0-c7a3-4aaf-b717-777303442973.edxml")
    assert doc.number == "7816/VPCP-TTĐT"
    assert doc.sender.name == "Văn phòng Chính phủ"
    assert [r.organ_id for r in doc.recipients] == ["000.00.00.H41", "000.00.00.H14", "000.00.00.G17"]
    assert doc.promulgation_date == date(2019, 4, 11)
    assert doc.signer is not None
    assert doc.signer.full_name == "Nguyen Thanh Phuc"
    assert doc.signer.competence == "TL. BO TRUONG"


def test_junk_numbers_are_kept_for_the_verifier_to_judge(samples: Path) -> None:
    doc = _document(samples, "edoc_new.edxml")
    assert doc.number == "74fass22/VPCP-TTĐT"
    assert doc.sender.organ_id == "000.00.00.A80"


def test_replacement_lists_the_replaced_documents(samples: Path) -> None:
    doc = _document(samples, "edoc_replacement.edxml")
    assert doc.business_type is BusinessDocType.REPLACEMENT
    assert doc.business is not None
    assert doc.business.reason == "Văn bản thay thế"
    assert len(doc.business.replacements) == 2
    first = doc.business.replacements[0]
    assert first.document_id == "000.00.00.G22,2014/01/30,7806/VPCP-TTĐT"
    assert first.organ_ids == ("000.00.00.H41", "000.00.00.H14")


def test_status_message(samples: Path) -> None:
    status = parse_message((samples / "status_inbox_01.edxml").read_bytes())
    assert isinstance(status, EdxmlStatus)
    assert status.status_code == "01"
    assert status.sender.organ_id == "000.00.00.H41"
    assert status.response_for is not None
    assert status.response_for.code == "7816/VPCP-TTĐT"
    assert status.response_for.document_id == "000.00.00.G22,2015/09/30,7816/VPCP-TTĐT"
    assert "Đã đến" in status.description
    assert status.staff is not None
    assert status.staff.department == "Phong hanh chinh"
    assert status.timestamp == datetime(2015, 9, 20, 11, 8, 36, tzinfo=timezone(timedelta(hours=7)))


def test_a_status_message_is_not_a_document(samples: Path) -> None:
    with pytest.raises(IngressError) as caught:
        parse_document((samples / "status_inbox_01.edxml").read_bytes())
    assert caught.value.reason is IngressReason.NOT_A_DOCUMENT


def test_attachment_declared_as_doc_is_a_zip_and_not_evidence(samples: Path) -> None:
    doc = _document(samples, "edoc_new_tayninh.edxml")
    (attachment,) = doc.attachments
    assert attachment.name == "1896_QD-TTg_m_294779.doc"
    assert attachment.data.startswith(b"PK\x03\x04")
    assert attachment.size == len(attachment.data) > 0
    with pytest.raises(IngressError) as caught:
        select_pdf(doc)
    assert caught.value.reason is IngressReason.NO_PDF
