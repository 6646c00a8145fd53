"""The ingress flow for one edXML message: parse, pick the PDF, store it, build DocumentLinked."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from contracts.events import DocumentLinked
from kiemchung.ingress.edxml import DEFAULT_LIMITS, Attachment, EdxmlDocument, Limits, parse_document
from kiemchung.ingress.mapping import LinkRequest, select_pdf, to_document_linked
from kiemchung.ingress.store import StoredFile, store_content_addressed
from kiemchung.runtime.messaging import EventFactory

EDOCS_DIR_NAME = "edocs"


@dataclass(frozen=True)
class Linked:
    document: EdxmlDocument
    attachment: Attachment
    stored: StoredFile
    event: DocumentLinked


def link_edxml(
    data: bytes,
    request: LinkRequest,
    edocs_dir: Path,
    events: EventFactory,
    limits: Limits = DEFAULT_LIMITS,
) -> Linked:
    """Raises IngressError with its reason code; a message without exactly one PDF stores nothing."""
    document = parse_document(data, limits)
    pdf = select_pdf(document)
    stored = store_content_addressed(edocs_dir, pdf.data)
    event = to_document_linked(document, pdf, stored.uri, request, events)
    return Linked(document, pdf, stored, event)
