"""The ingress flow for one edXML message: parse, pick the PDF, store it, build DocumentLinked."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from contracts.events import DocumentLinked
from kiemchung.ingress.edxml import (
    DEFAULT_LIMITS,
    Attachment,
    EdxmlDocument,
    Limits,
    parse_document,
    parse_document_file,
)
from kiemchung.ingress.mapping import LinkRequest, select_pdf, to_document_linked
from kiemchung.ingress.store import StoredFile, store_content_addressed_chunks
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
    return _link(parse_document(data, limits), request, edocs_dir, events)


def link_edxml_file(
    path: Path,
    request: LinkRequest,
    edocs_dir: Path,
    events: EventFactory,
    limits: Limits = DEFAULT_LIMITS,
) -> Linked:
    """`link_edxml` for a message file, parsed as it is read: memory stays bounded by the read
    chunk, not by the message or attachment size."""
    return _link(parse_document_file(path, limits), request, edocs_dir, events)


def _link(document: EdxmlDocument, request: LinkRequest, edocs_dir: Path, events: EventFactory) -> Linked:
    pdf = select_pdf(document)
    stored = store_content_addressed_chunks(edocs_dir, pdf.chunks(), pdf.sha256, pdf.size)
    event = to_document_linked(document, pdf, stored.uri, request, events)
    return Linked(document, pdf, stored, event)
