"""From a parsed edXML document to a DocumentLinked event (pure: storage happens elsewhere)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Final

from pydantic import ValidationError

from contracts.events import DocumentLinked
from kiemchung.ingress.edxml import Attachment, EdxmlDocument
from kiemchung.ingress.errors import IngressError, IngressReason
from kiemchung.runtime.messaging import EventFactory

PDF_CONTENT_TYPES: Final = frozenset({"application/pdf", "application/x-pdf"})
PDF_SUFFIX: Final = ".pdf"
PDF_MAGIC: Final = b"%PDF-"
# Readers accept the header anywhere in the first KiB (ISO 32000 implementation note).
PDF_MAGIC_WINDOW: Final = 1024
# Stable link ids: linking the same e-office document to the same leaf again is the same link.
LINK_NAMESPACE: Final = uuid.uuid5(uuid.NAMESPACE_URL, "urn:kiemchung:ingress:edxml-link")


@dataclass(frozen=True)
class LinkRequest:
    """Who links the document to which leaf of which unit's assessment, for which year."""

    unit_id: str
    criterion_code: str
    year: int
    linked_by: str


def is_pdf(attachment: Attachment) -> bool:
    """Declared as PDF (content type or name) or PDF by its bytes: names and types lie both ways."""
    declared = attachment.content_type in PDF_CONTENT_TYPES or attachment.name.lower().endswith(PDF_SUFFIX)
    return declared or PDF_MAGIC in attachment.head(PDF_MAGIC_WINDOW)


def select_pdf(document: EdxmlDocument) -> Attachment:
    pdfs = [a for a in document.attachments if is_pdf(a)]
    if not pdfs:
        names = ", ".join(f"{a.name} ({a.content_type})" for a in document.attachments) or "none"
        raise IngressError(IngressReason.NO_PDF, f"attachments: {names}")
    if len(pdfs) > 1:
        raise IngressError(IngressReason.SEVERAL_PDFS, ", ".join(a.name for a in pdfs))
    return pdfs[0]


def document_id_of(document: EdxmlDocument) -> str:
    """The message's DocumentId, or the standard's form OrganId,yyyy/MM/dd,Number/Notation."""
    if document.document_id:
        return document.document_id
    issued = document.promulgation_date
    return f"{document.sender.organ_id},{issued:%Y/%m/%d},{document.number}"


def link_id_for(request: LinkRequest, document_id: str) -> uuid.UUID:
    key = "\x1f".join((request.unit_id, str(request.year), request.criterion_code, document_id))
    return uuid.uuid5(LINK_NAMESPACE, key)


def to_document_linked(
    document: EdxmlDocument,
    pdf: Attachment,
    fetch_url: str,
    request: LinkRequest,
    events: EventFactory,
) -> DocumentLinked:
    document_id = document_id_of(document)
    link_id = link_id_for(request, document_id)
    try:
        return events.make(
            DocumentLinked,
            correlation_id=link_id,
            link_id=link_id,
            unit_id=request.unit_id,
            year=request.year,
            criterion_code=request.criterion_code,
            document_id=document_id,
            fetch_url=fetch_url,
            sha256=pdf.sha256,
            number=document.number,
            issuer=document.sender.name or document.sender.organ_id,
            issued_on=document.promulgation_date,
            title=document.subject or document.content,
            linked_by=request.linked_by,
        )
    except ValidationError as exc:
        fields = ", ".join(".".join(str(p) for p in err["loc"]) for err in exc.errors())
        raise IngressError(IngressReason.INVALID_LINK, fields) from exc
