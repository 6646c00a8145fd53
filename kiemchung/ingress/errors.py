"""Why an edXML message could not become a DocumentLinked: one exception carrying a reason code."""

from __future__ import annotations

from enum import StrEnum


class IngressReason(StrEnum):
    MESSAGE_TOO_LARGE = "MESSAGE_TOO_LARGE"
    MALFORMED_XML = "MALFORMED_XML"
    ENTITY_EXPANSION = "ENTITY_EXPANSION"
    FORBIDDEN_XML_CONSTRUCT = "FORBIDDEN_XML_CONSTRUCT"
    NOT_EDXML = "NOT_EDXML"
    NOT_A_DOCUMENT = "NOT_A_DOCUMENT"
    MISSING_FIELD = "MISSING_FIELD"
    INVALID_FIELD = "INVALID_FIELD"
    INVALID_DATE = "INVALID_DATE"
    BAD_BASE64 = "BAD_BASE64"
    ATTACHMENT_TOO_LARGE = "ATTACHMENT_TOO_LARGE"
    TOO_MANY_ATTACHMENTS = "TOO_MANY_ATTACHMENTS"
    ATTACHMENT_MISSING = "ATTACHMENT_MISSING"
    TOO_MANY_RECIPIENTS = "TOO_MANY_RECIPIENTS"
    NO_PDF = "NO_PDF"
    SEVERAL_PDFS = "SEVERAL_PDFS"
    INVALID_LINK = "INVALID_LINK"

    @property
    def english(self) -> str:
        return _DESCRIPTIONS[self]


_DESCRIPTIONS: dict[IngressReason, str] = {
    IngressReason.MESSAGE_TOO_LARGE: "The message exceeds the size limit.",
    IngressReason.MALFORMED_XML: "The message is not well-formed XML.",
    IngressReason.ENTITY_EXPANSION: "The XML declares entities; they are refused (entity expansion).",
    IngressReason.FORBIDDEN_XML_CONSTRUCT: "The XML uses a construct refused for safety.",
    IngressReason.NOT_EDXML: "The XML is not a QCVN 102:2016 edXML message.",
    IngressReason.NOT_A_DOCUMENT: "The message is a status message, not a document.",
    IngressReason.MISSING_FIELD: "A required header field is missing or empty.",
    IngressReason.INVALID_FIELD: "A header field has a value outside the standard.",
    IngressReason.INVALID_DATE: "A date is not in a recognised format.",
    IngressReason.BAD_BASE64: "An attachment is not valid base64.",
    IngressReason.ATTACHMENT_TOO_LARGE: "An attachment exceeds the size limit.",
    IngressReason.TOO_MANY_ATTACHMENTS: "The message carries more attachments than allowed.",
    IngressReason.ATTACHMENT_MISSING: "The manifest names an attachment the message does not carry.",
    IngressReason.TOO_MANY_RECIPIENTS: "The message names more recipients than allowed.",
    IngressReason.NO_PDF: "The message carries no PDF attachment.",
    IngressReason.SEVERAL_PDFS: "The message carries several PDF attachments: which is evidence is unclear.",
    IngressReason.INVALID_LINK: "The link request (unit, criterion, year, user) is invalid.",
}


class IngressError(Exception):
    def __init__(self, reason: IngressReason, detail: str = "") -> None:
        super().__init__(f"{reason.value}: {detail}" if detail else reason.value)
        self.reason = reason
        self.detail = detail
