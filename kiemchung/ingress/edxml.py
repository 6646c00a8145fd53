"""A pure parser of QCVN 102:2016 edXML messages (the national document-exchange format).

Only the bytes (or the one file) given are read: no network. XML is parsed incrementally with
defusedxml's expat parser, which refuses entity declarations (billion laughs, external entities)
before anything is expanded. Memory stays a small multiple of one read chunk, not of the message:
the header is kept as a small tree, and each attachment's base64 text is decoded as it streams in
to an anonymous temporary file (mode 0600, gone when closed), never held whole. Elements are
matched by namespace URI and local name, never by prefix: real messages mix a default namespace
and an `edXML:` prefix for the same URI (see /work/shared/samples/edxml/README.md).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from enum import IntEnum
from pathlib import Path
from typing import IO, BinaryIO, Final
from xml.etree.ElementTree import Element, ParseError, TreeBuilder

from defusedxml import DefusedXmlException, EntitiesForbidden
from defusedxml.ElementTree import DefusedXMLParser

from kiemchung.ingress.errors import IngressError, IngressReason

NAMESPACE: Final = "http://www.mic.gov.vn/TBT/QCVN_102_2016"
# edXML timestamps carry no zone; exchange happens inside Vietnam (UTC+7, no daylight saving).
VIETNAM_TIME: Final = timezone(timedelta(hours=7))

MIB: Final = 1024 * 1024
DEFAULT_MAX_ATTACHMENT_BYTES: Final = 50 * MIB  # the verifier's own default document cap
DEFAULT_MAX_ATTACHMENTS: Final = 20
# base64 inflates by 4/3: room for one attachment at its cap plus the header. A message with
# several large attachments needs an explicit, larger limit.
DEFAULT_MAX_MESSAGE_BYTES: Final = 96 * MIB
# A real message goes to a few dozen organs; the province has a few hundred units.
DEFAULT_MAX_RECIPIENTS: Final = 1000
# base64 padding is at most two '=' at the very end.
_MAX_PADDING: Final = 2

_BASE64_BLOCK_CHARS: Final = 4
_BASE64_BLOCK_BYTES: Final = 3
# How much of the message is read and fed to the parser at a time, and how much base64 text is
# gathered before it is decoded: peak memory is a small multiple of these, whatever the message size.
READ_CHUNK_BYTES: Final = 1 * MIB
_DECODE_BATCH_CHARS: Final = 256 * 1024
_PADDING = b"="
_WHITESPACE = re.compile(rb"\s+")
_DATE_YMD = re.compile(r"^(\d{4})[/-](\d{1,2})[/-](\d{1,2})$")
_DATE_DMY = re.compile(r"^(\d{1,2})[/-](\d{1,2})[/-](\d{4})$")
_TIMESTAMP_FORMATS: Final = ("%Y/%m/%d %H:%M:%S", "%Y-%m-%d %H:%M:%S", "%d/%m/%Y %H:%M:%S")


@dataclass(frozen=True)
class Limits:
    max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES
    max_attachment_bytes: int = DEFAULT_MAX_ATTACHMENT_BYTES
    max_attachments: int = DEFAULT_MAX_ATTACHMENTS
    max_recipients: int = DEFAULT_MAX_RECIPIENTS


DEFAULT_LIMITS: Final = Limits()


class BusinessDocType(IntEnum):
    """TraceHeaderList/Bussiness/BussinessDocType (the standard's spelling of business)."""

    NEW = 0  # Văn bản điện tử mới
    REVOCATION = 1  # Thu hồi
    UPDATE = 2  # Cập nhật
    REPLACEMENT = 3  # Thay thế


@dataclass(frozen=True)
class Organ:
    organ_id: str
    name: str
    in_charge: str = ""
    address: str = ""
    email: str = ""


@dataclass(frozen=True)
class DocumentType:
    type_code: str
    detail: str
    name: str


@dataclass(frozen=True)
class Signer:
    competence: str
    position: str
    full_name: str


@dataclass(frozen=True)
class StaffInfo:
    department: str
    staff: str
    mobile: str
    email: str


@dataclass(frozen=True)
class Replacement:
    """A document this one replaces, and the organs that received the replaced one."""

    document_id: str
    organ_ids: tuple[str, ...]


@dataclass(frozen=True)
class Business:
    doc_type: BusinessDocType
    reason: str
    document_id: str
    paper: bool  # a paper copy is also sent
    replacements: tuple[Replacement, ...] = ()
    staff: StaffInfo | None = None


@dataclass(frozen=True)
class Attachment:
    """One decoded attachment. Its bytes live in an anonymous temporary file (mode 0600, deleted
    when the file is closed or collected), so a large attachment never sits whole in memory;
    `size` and `sha256` were computed while it was decoded."""

    content_id: str
    name: str
    content_type: str
    description: str
    size: int
    sha256: str
    content: IO[bytes] = field(repr=False, compare=False)

    def head(self, limit: int) -> bytes:
        """The first `limit` bytes (e.g. to sniff a file type)."""
        self.content.seek(0)
        return self.content.read(limit)

    def chunks(self, chunk_bytes: int = READ_CHUNK_BYTES) -> Iterator[bytes]:
        """The bytes in order, `chunk_bytes` at a time."""
        self.content.seek(0)
        while chunk := self.content.read(chunk_bytes):
            yield chunk

    @property
    def data(self) -> bytes:
        """All the bytes in memory at once: for small attachments; large ones use `chunks`."""
        self.content.seek(0)
        return self.content.read()


@dataclass(frozen=True)
class EdxmlDocument:
    """A document message (new, revocation, update or replacement)."""

    sender: Organ
    recipients: tuple[Organ, ...]
    document_id: str  # MessageHeader/DocumentId; "" when the message has none
    code_number: str
    code_notation: str
    promulgation_place: str
    promulgation_date: date
    document_type: DocumentType | None
    subject: str
    content: str
    signer: Signer | None
    business: Business | None
    attachments: tuple[Attachment, ...]

    @property
    def number(self) -> str:
        """Number and notation as written on the document, e.g. "15/KH-UBND"."""
        return f"{self.code_number}/{self.code_notation}"

    @property
    def business_type(self) -> BusinessDocType:
        # A message without a Bussiness block is an ordinary new document.
        return self.business.doc_type if self.business else BusinessDocType.NEW


@dataclass(frozen=True)
class ResponseFor:
    organ_id: str
    code: str
    promulgation_date: str  # as sent: status messages echo it without our parsing rules
    document_id: str


@dataclass(frozen=True)
class EdxmlStatus:
    """A status message (e.g. StatusCode 01 "Đã đến") answering an earlier document."""

    sender: Organ
    response_for: ResponseFor | None
    staff: StaffInfo | None
    status_code: str
    description: str
    timestamp: datetime | None


EdxmlMessage = EdxmlDocument | EdxmlStatus


def _q(local: str) -> str:
    return f"{{{NAMESPACE}}}{local}"


def _find(parent: Element, *path: str) -> Element | None:
    node: Element | None = parent
    for local in path:
        if node is None:
            return None
        node = node.find(_q(local))
    return node


def _text(parent: Element | None, *path: str) -> str:
    if parent is None:
        return ""
    node = _find(parent, *path)
    if node is None or node.text is None:
        return ""
    return node.text.strip()


def _required(parent: Element, *path: str) -> str:
    value = _text(parent, *path)
    if not value:
        raise IngressError(IngressReason.MISSING_FIELD, "/".join(path))
    return value


def _required_node(parent: Element, *path: str) -> Element:
    node = _find(parent, *path)
    if node is None:
        raise IngressError(IngressReason.MISSING_FIELD, "/".join(path))
    return node


def parse_date(value: str) -> date:
    """yyyy/MM/dd (VPCP samples) or dd/MM/yyyy (Tây Ninh); '-' also accepted as separator."""
    text = value.strip()
    ymd = _DATE_YMD.match(text)
    dmy = _DATE_DMY.match(text)
    try:
        if ymd:
            return date(int(ymd[1]), int(ymd[2]), int(ymd[3]))
        if dmy:
            return date(int(dmy[3]), int(dmy[2]), int(dmy[1]))
    except ValueError as exc:
        raise IngressError(IngressReason.INVALID_DATE, f"{text!r}: {exc}") from exc
    raise IngressError(IngressReason.INVALID_DATE, repr(text))


def parse_timestamp(value: str) -> datetime:
    text = value.strip()
    for fmt in _TIMESTAMP_FORMATS:
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=VIETNAM_TIME)
        except ValueError:
            continue
    raise IngressError(IngressReason.INVALID_DATE, repr(text))


def _organ(node: Element) -> Organ:
    name = _text(node, "OrganName") or _text(node, "OrganizationInCharge")
    return Organ(
        organ_id=_text(node, "OrganId"),
        name=name,
        in_charge=_text(node, "OrganizationInCharge"),
        address=_text(node, "OrganAdd"),
        email=_text(node, "Email"),
    )


def _sender(header: Element) -> Organ:
    sender = _organ(_required_node(header, "From"))
    if not sender.organ_id:
        raise IngressError(IngressReason.MISSING_FIELD, "From/OrganId")
    return sender


def _staff(node: Element | None) -> StaffInfo | None:
    if node is None:
        return None
    return StaffInfo(
        department=_text(node, "Department"),
        staff=_text(node, "Staff"),
        mobile=_text(node, "Mobile"),
        email=_text(node, "Email"),
    )


def _signer(header: Element) -> Signer | None:
    node = _find(header, "SignerInfo")
    if node is None:
        return None
    signer = Signer(_text(node, "Competence"), _text(node, "Position"), _text(node, "FullName"))
    return signer if any((signer.competence, signer.position, signer.full_name)) else None


def _document_type(header: Element) -> DocumentType | None:
    node = _find(header, "DocumentType")
    if node is None:
        return None
    return DocumentType(_text(node, "Type"), _text(node, "TypeDetail"), _text(node, "TypeName"))


def _business(envelope_header: Element) -> Business | None:
    node = _find(envelope_header, "TraceHeaderList", "Bussiness")
    if node is None:
        return None
    raw_type = _required(node, "BussinessDocType")
    try:
        doc_type = BusinessDocType(int(raw_type))
    except ValueError as exc:
        raise IngressError(IngressReason.INVALID_FIELD, f"BussinessDocType {raw_type!r}") from exc
    replacements = tuple(
        Replacement(
            document_id=_text(info, "DocumentId"),
            organ_ids=tuple(
                (organ.text or "").strip()
                for organ in info.iterfind(f"{_q('OrganIdList')}/{_q('OrganId')}")
                if (organ.text or "").strip()
            ),
        )
        for info in node.iterfind(f"{_q('ReplacementInfoList')}/{_q('ReplacementInfo')}")
    )
    if doc_type is BusinessDocType.REPLACEMENT and not replacements:
        raise IngressError(IngressReason.MISSING_FIELD, "ReplacementInfoList (replacement document)")
    return Business(
        doc_type=doc_type,
        reason=_text(node, "BussinessDocReason"),
        document_id=_text(node, "DocumentId"),
        paper=_text(node, "Paper") == "1",
        replacements=replacements,
        staff=_staff(_find(node, "StaffInfo")),
    )


class _Base64Sink:
    """Decodes one attachment's base64 text as it arrives, into a temporary file.

    The rules of a whole-text decode keep holding: whitespace anywhere is ignored; only the
    base64 alphabet is allowed; at most two '=' and only at the very end; and the decoded size,
    counted exactly from the data characters (padding cannot shrink it), is refused as soon as
    it passes the cap, before the rest is decoded."""

    def __init__(self, max_bytes: int) -> None:
        self._max_bytes = max_bytes
        self._pending: list[bytes] = []
        self._pending_chars = 0
        self._carry = b""  # fewer than four characters left over from the last batch
        self._data_chars = 0
        self._padding = 0
        self._size = 0
        self._digest = hashlib.sha256()
        self._file: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 - owned by the Attachment
        self.name = ""

    def feed(self, text: str) -> None:
        self._pending.append(text.encode("ascii", errors="replace"))
        self._pending_chars += len(text)
        if self._pending_chars >= _DECODE_BATCH_CHARS:
            self._flush(final=False)

    def _flush(self, *, final: bool) -> None:
        new = _WHITESPACE.sub(b"", b"".join(self._pending))
        self._pending.clear()
        self._pending_chars = 0
        if self._padding:
            if new.strip(_PADDING):
                raise IngressError(IngressReason.BAD_BASE64, f"{self.name}: data after the padding")
            padding = len(new)
        else:
            data = new.rstrip(_PADDING)
            if _PADDING in data:
                raise IngressError(IngressReason.BAD_BASE64, f"{self.name}: padding inside the data")
            padding = len(new) - len(data)
            self._data_chars += len(data)
        self._padding += padding
        if self._padding > _MAX_PADDING:
            raise IngressError(
                IngressReason.BAD_BASE64, f"{self.name}: more than {_MAX_PADDING} padding characters"
            )
        # Refuse before decoding: the size is known from the count of data characters.
        if self._data_chars * _BASE64_BLOCK_BYTES // _BASE64_BLOCK_CHARS > self._max_bytes:
            raise IngressError(
                IngressReason.ATTACHMENT_TOO_LARGE, f"{self.name}: over {self._max_bytes} bytes"
            )
        encoded = self._carry + new
        # Only whole four-character blocks are decoded until the end; the rest waits for more.
        whole = len(encoded) if final else len(encoded) - len(encoded) % _BASE64_BLOCK_CHARS
        self._carry = encoded[whole:]
        if whole:
            try:
                self._write(base64.b64decode(encoded[:whole], validate=True))
            except (binascii.Error, ValueError) as exc:
                raise IngressError(IngressReason.BAD_BASE64, f"{self.name}: {exc}") from exc

    def _write(self, decoded: bytes) -> None:
        self._file.write(decoded)
        self._digest.update(decoded)
        self._size += len(decoded)

    def finish(self) -> tuple[int, str, IO[bytes]]:
        self._flush(final=True)
        self._file.flush()
        return self._size, self._digest.hexdigest(), self._file


def _attachments(
    root: Element, body: Element | None, decoded: _Decoded, limits: Limits
) -> tuple[Attachment, ...]:
    manifest: dict[str, Element] = {}
    if body is not None:
        for reference in body.iterfind(f"{_q('edXMLManifest')}/{_q('Reference')}"):
            manifest[_text(reference, "ContentId")] = reference
    payloads = list(root.iterfind(f"{_q('AttachmentEncoded')}/{_q('Attachment')}"))
    if len(payloads) > limits.max_attachments:
        raise IngressError(IngressReason.TOO_MANY_ATTACHMENTS, f"{len(payloads)} > {limits.max_attachments}")
    result: list[Attachment] = []
    for node in payloads:
        cid = _text(node, "ContentId")
        ref = manifest.get(cid)
        name = _text(node, "AttachmentName") or _text(ref, "AttachmentName") or cid
        encoded = _find(node, "ContentTransferEncoded")
        if encoded is None:
            raise IngressError(IngressReason.MISSING_FIELD, f"{name}: ContentTransferEncoded")
        size, digest, content = decoded[id(encoded)]
        result.append(
            Attachment(
                content_id=cid,
                name=name,
                content_type=(_text(node, "ContentType") or _text(ref, "ContentType")).lower(),
                description=_text(node, "Description") or _text(ref, "Description"),
                size=size,
                sha256=digest,
                content=content,
            )
        )
    carried = {attachment.content_id for attachment in result}
    missing = sorted(cid for cid in manifest if cid not in carried)
    if missing:
        raise IngressError(IngressReason.ATTACHMENT_MISSING, ", ".join(missing))
    return tuple(result)


_Decoded = dict[int, tuple[int, str, IO[bytes]]]  # id(ContentTransferEncoded element) -> decoded
_ATTACHMENT_PATH: Final = (_q("edXML"), _q("AttachmentEncoded"), _q("Attachment"))
_ENCODED_TAG: Final = _q("ContentTransferEncoded")
_RECIPIENT_PATH: Final = (_q("edXML"), _q("edXMLEnvelope"), _q("edXMLHeader"), _q("MessageHeader"))


class _StreamingTarget:
    """Builds the tree of everything but attachment payloads, which go straight to a decoder.

    Counts that are capped (attachments, recipients) are refused as the elements open, so a
    flood never becomes a tree in memory."""

    def __init__(self, limits: Limits) -> None:
        self._limits = limits
        self._builder = TreeBuilder()
        self._stack: list[str] = []
        self._sink: _Base64Sink | None = None
        self._sink_element: Element | None = None
        self._attachments = 0
        self._recipients = 0
        self.decoded: _Decoded = {}
        self._keep: list[Element] = []  # the ids in `decoded` stay valid while these live

    def start(self, tag: str, attrs: dict[str, str]) -> None:
        if not self._stack and tag != _q("edXML"):
            raise IngressError(IngressReason.NOT_EDXML, f"root element {tag}")
        parents = tuple(self._stack)
        if parents == _ATTACHMENT_PATH[:-1] and tag == _ATTACHMENT_PATH[-1]:
            self._attachments += 1
            if self._attachments > self._limits.max_attachments:
                raise IngressError(
                    IngressReason.TOO_MANY_ATTACHMENTS, f"more than {self._limits.max_attachments}"
                )
        if parents == _RECIPIENT_PATH and tag == _q("To"):
            self._recipients += 1
            if self._recipients > self._limits.max_recipients:
                raise IngressError(
                    IngressReason.TOO_MANY_RECIPIENTS, f"more than {self._limits.max_recipients}"
                )
        element = self._builder.start(tag, attrs)
        if parents == _ATTACHMENT_PATH and tag == _ENCODED_TAG:
            self._sink = _Base64Sink(self._limits.max_attachment_bytes)
            self._sink.name = f"attachment {self._attachments}"
            self._sink_element = element
        self._stack.append(tag)

    def data(self, text: str) -> None:
        if self._sink is not None:
            self._sink.feed(text)
        else:
            self._builder.data(text)

    def end(self, tag: str) -> None:
        self._stack.pop()
        if self._sink is not None and self._sink_element is not None:
            self.decoded[id(self._sink_element)] = self._sink.finish()
            self._keep.append(self._sink_element)
            self._sink = None
            self._sink_element = None
        self._builder.end(tag)

    def close(self) -> Element:
        return self._builder.close()


def _parse_stream(source: BinaryIO, limits: Limits) -> tuple[Element, _Decoded]:
    target = _StreamingTarget(limits)
    parser = DefusedXMLParser(target=target, forbid_dtd=False, forbid_entities=True, forbid_external=True)
    read = 0
    try:
        while chunk := source.read(READ_CHUNK_BYTES):
            read += len(chunk)
            if read > limits.max_message_bytes:  # a file may grow after it was measured
                raise IngressError(IngressReason.MESSAGE_TOO_LARGE, f"over {limits.max_message_bytes}")
            parser.feed(chunk)
        root: Element = parser.close()
    except EntitiesForbidden as exc:
        raise IngressError(IngressReason.ENTITY_EXPANSION, str(exc)) from exc
    except DefusedXmlException as exc:
        raise IngressError(IngressReason.FORBIDDEN_XML_CONSTRUCT, str(exc)) from exc
    except (ParseError, ValueError, LookupError) as exc:
        # An unsupported or unknown encoding declaration (UTF-7, UTF-32, "nope") is malformed
        # too: expat raises ValueError or LookupError for those, not ParseError.
        raise IngressError(IngressReason.MALFORMED_XML, f"{type(exc).__name__}: {exc}") from exc
    return root, target.decoded


def _status(header: Element) -> EdxmlStatus:
    response = _find(header, "ResponseFor")
    stamp = _text(header, "Timestamp")
    return EdxmlStatus(
        sender=_sender(header),
        response_for=None
        if response is None
        else ResponseFor(
            organ_id=_text(response, "OrganId"),
            code=_text(response, "Code"),
            promulgation_date=_text(response, "PromulgationDate"),
            document_id=_text(response, "DocumentId"),
        ),
        staff=_staff(_find(header, "StaffInfo")),
        status_code=_required(header, "StatusCode"),
        description=_text(header, "Description"),
        timestamp=parse_timestamp(stamp) if stamp else None,
    )


def _recipients(header: Element, limits: Limits) -> tuple[Organ, ...]:
    # Already counted while streaming; checked again so the rule holds however the tree was built.
    nodes = list(header.iterfind(_q("To")))
    if len(nodes) > limits.max_recipients:
        raise IngressError(IngressReason.TOO_MANY_RECIPIENTS, f"{len(nodes)} > {limits.max_recipients}")
    return tuple(_organ(node) for node in nodes)


def _document(
    root: Element,
    envelope: Element,
    envelope_header: Element,
    header: Element,
    decoded: _Decoded,
    limits: Limits,
) -> EdxmlDocument:
    return EdxmlDocument(
        sender=_sender(header),
        recipients=_recipients(header, limits),
        document_id=_text(header, "DocumentId"),
        code_number=_required(header, "Code", "CodeNumber"),
        code_notation=_required(header, "Code", "CodeNotation"),
        promulgation_place=_text(header, "PromulgationInfo", "Place"),
        promulgation_date=parse_date(_required(header, "PromulgationInfo", "PromulgationDate")),
        document_type=_document_type(header),
        subject=_text(header, "Subject"),
        content=_text(header, "Content"),
        signer=_signer(header),
        business=_business(envelope_header),
        attachments=_attachments(root, _find(envelope, "edXMLBody"), decoded, limits),
    )


def _parse_source(source: BinaryIO, limits: Limits) -> EdxmlMessage:
    root, decoded = _parse_stream(source, limits)
    envelope = _required_node(root, "edXMLEnvelope")
    envelope_header = _required_node(envelope, "edXMLHeader")
    header = _required_node(envelope_header, "MessageHeader")
    if _find(header, "StatusCode") is not None:
        return _status(header)
    return _document(root, envelope, envelope_header, header, decoded, limits)


def parse_message(data: bytes, limits: Limits = DEFAULT_LIMITS) -> EdxmlMessage:
    """Parse one edXML message: a document, or a status message (it has a StatusCode)."""
    if len(data) > limits.max_message_bytes:
        raise IngressError(IngressReason.MESSAGE_TOO_LARGE, f"{len(data)} > {limits.max_message_bytes}")
    return _parse_source(io.BytesIO(data), limits)


def parse_message_file(path: Path, limits: Limits = DEFAULT_LIMITS) -> EdxmlMessage:
    """Parse the message file at `path` as it is read, a chunk at a time: refused with
    MESSAGE_TOO_LARGE before reading when the file is over the limit, and memory stays bounded
    by the chunk size rather than the message size."""
    size = path.stat().st_size
    if size > limits.max_message_bytes:
        raise IngressError(IngressReason.MESSAGE_TOO_LARGE, f"{size} > {limits.max_message_bytes}")
    with path.open("rb") as handle:
        return _parse_source(handle, limits)


def read_message(path: Path, limits: Limits = DEFAULT_LIMITS) -> bytes:
    """The bytes of the message file at `path`, refused with MESSAGE_TOO_LARGE before they are
    read when the file is over the limit (never more than the limit + 1 bytes in memory)."""
    size = path.stat().st_size
    if size > limits.max_message_bytes:
        raise IngressError(IngressReason.MESSAGE_TOO_LARGE, f"{size} > {limits.max_message_bytes}")
    with path.open("rb") as handle:
        data = handle.read(limits.max_message_bytes + 1)  # the file may grow after stat
    if len(data) > limits.max_message_bytes:
        raise IngressError(IngressReason.MESSAGE_TOO_LARGE, f"over {limits.max_message_bytes}")
    return data


def _as_document(message: EdxmlMessage) -> EdxmlDocument:
    if not isinstance(message, EdxmlDocument):
        raise IngressError(IngressReason.NOT_A_DOCUMENT, f"status code {message.status_code}")
    return message


def parse_document(data: bytes, limits: Limits = DEFAULT_LIMITS) -> EdxmlDocument:
    return _as_document(parse_message(data, limits))


def parse_document_file(path: Path, limits: Limits = DEFAULT_LIMITS) -> EdxmlDocument:
    return _as_document(parse_message_file(path, limits))
