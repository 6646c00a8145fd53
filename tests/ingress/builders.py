"""edXML messages built for tests, shaped like the real QCVN 102:2016 samples (mixed prefixes)."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape

from kiemchung.ingress.edxml import NAMESPACE

PDF = "application/pdf"


@dataclass(frozen=True)
class Part:
    name: str
    content_type: str
    data: bytes = b""
    encoded: str | None = None  # raw ContentTransferEncoded text, to send invalid base64
    content_id: str = ""


@dataclass(frozen=True)
class Message:
    number: str = "15"
    notation: str = "KH-UBND"
    promulgation_date: str = "2024/03/12"
    place: str = "Vĩnh Long"
    organ_id: str = "000.00.12.H62"
    organ_name: str = "Sở Nội vụ tỉnh Vĩnh Long"
    subject: str = "Kế hoạch cải cách hành chính năm 2024"
    document_id: str | None = "000.00.12.H62,2024/03/12,15/KH-UBND"
    business_type: str = "0"
    signer: str = "Nguyễn Văn An"
    parts: Sequence[Part] = field(default_factory=tuple)
    manifest_only: Sequence[str] = ()  # content ids named in the manifest but not carried
    prolog: str = ""


def _el(name: str, text: str) -> str:
    return f"<edXML:{name}>{escape(text)}</edXML:{name}>"


def build(message: Message) -> bytes:
    parts = [
        part if part.content_id else Part(part.name, part.content_type, part.data, part.encoded, f"cid:{i}")
        for i, part in enumerate(message.parts, start=1)
    ]
    doc_id = _el("DocumentId", message.document_id) if message.document_id is not None else ""
    references = "".join(
        f"<edXML:Reference>{_el('ContentId', p.content_id)}{_el('ContentType', p.content_type)}"
        f"{_el('Description', p.name)}{_el('AttachmentName', p.name)}</edXML:Reference>"
        for p in parts
    ) + "".join(
        f"<edXML:Reference>{_el('ContentId', cid)}{_el('ContentType', PDF)}"
        f"{_el('AttachmentName', 'missing.pdf')}</edXML:Reference>"
        for cid in message.manifest_only
    )
    payloads = "".join(
        f"<Attachment><ContentId>{p.content_id}</ContentId><AttachmentName>{escape(p.name)}</AttachmentName>"
        f"<Description>{escape(p.name)}</Description><ContentType>{p.content_type}</ContentType>"
        f'<edXML:ContentTransferEncoded xmlns:edXML="{NAMESPACE}">'
        f"{p.encoded if p.encoded is not None else base64.encodebytes(p.data).decode('ascii')}"
        "</edXML:ContentTransferEncoded></Attachment>"
        for p in parts
    )
    text = f"""<?xml version="1.0" encoding="UTF-8"?>
{message.prolog}<edXML xmlns="{NAMESPACE}">
  <edXML:edXMLEnvelope xmlns:edXML="{NAMESPACE}">
    <edXML:edXMLHeader>
      <edXML:MessageHeader>
        <edXML:From>{_el("OrganId", message.organ_id)}{_el("OrganName", message.organ_name)}
          {_el("OrganizationInCharge", "UBND tỉnh Vĩnh Long")}</edXML:From>
        <edXML:To>{_el("OrganId", "000.00.00.H62")}
          {_el("OrganName", "Văn phòng UBND tỉnh Vĩnh Long")}</edXML:To>
        <edXML:To>{_el("OrganId", "000.00.13.H62")}
          {_el("OrganName", "Sở Tài chính tỉnh Vĩnh Long")}</edXML:To>
        {doc_id}
        <edXML:Code>{_el("CodeNumber", message.number)}{_el("CodeNotation", message.notation)}</edXML:Code>
        <edXML:PromulgationInfo>{_el("Place", message.place)}
          {_el("PromulgationDate", message.promulgation_date)}</edXML:PromulgationInfo>
        <edXML:DocumentType>{_el("Type", "1")}{_el("TypeDetail", "2")}
          {_el("TypeName", "Kế hoạch")}</edXML:DocumentType>
        {_el("Subject", message.subject)}
        <edXML:SignerInfo>{_el("Competence", "KT. GIÁM ĐỐC")}{_el("Position", "Phó Giám đốc")}
          {_el("FullName", message.signer)}</edXML:SignerInfo>
      </edXML:MessageHeader>
      <edXML:TraceHeaderList>
        <edXML:TraceHeader>{_el("OrganId", message.organ_id)}
          {_el("Timestamp", "2024/03/12 08:30:00")}</edXML:TraceHeader>
        <edXML:Bussiness>{_el("BussinessDocType", message.business_type)}
          {_el("BussinessDocReason", "Văn bản điện tử mới")}{_el("Paper", "0")}</edXML:Bussiness>
      </edXML:TraceHeaderList>
    </edXML:edXMLHeader>
    <edXML:edXMLBody><edXML:edXMLManifest version="1.0">{references}</edXML:edXMLManifest></edXML:edXMLBody>
  </edXML:edXMLEnvelope>
  <AttachmentEncoded>{payloads}</AttachmentEncoded>
</edXML>
"""
    return text.encode("utf-8")


_PAYLOAD_MARK = "@@PAYLOAD@@"
# 57 input bytes make one 76-character base64 line, as MIME (and real edXML senders) write it.
_LINE_BYTES = 57
_WRITE_LINES = 16 * 1024


def write_large(path: Path, attachment_bytes: int, seed: int = 1) -> int:
    """Write a message carrying one PDF attachment of `attachment_bytes` to `path`, streaming
    (nothing of that size is ever held in memory); returns the file size."""
    head, tail = build(Message(parts=[Part("lon.pdf", PDF, encoded=_PAYLOAD_MARK)])).split(
        _PAYLOAD_MARK.encode()
    )
    line = bytes((seed + i) % 256 for i in range(_LINE_BYTES))
    with path.open("wb") as handle:
        handle.write(head)
        remaining = attachment_bytes
        while remaining:
            take = min(remaining, _LINE_BYTES * _WRITE_LINES)
            block = (
                (b"%PDF-1.7\n" + line * _WRITE_LINES)[:take]
                if remaining == attachment_bytes
                else (line * _WRITE_LINES)[:take]
            )
            handle.write(base64.encodebytes(block))
            remaining -= take
        handle.write(tail)
    return path.stat().st_size
