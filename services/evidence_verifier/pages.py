# mypy: disable-error-code="no-any-return"
# (pypdfium2's raw bindings are generated ctypes declarations: their results are untyped)
"""Reading pages: the facts scan detection needs, and the text for search.

Pages are read with PDFium (pypdfium2), which also decides encryption, page count and whether
the file opens at all (`inspect_document`): its C parser, content interpreter and text extractor are
tens of times faster than pypdf's Python ones (pypdf's page count alone walked every page), and it
sees every drawn object, including inline images, images inside form XObjects and text in any
render mode, in drawing order, so scan detection does not depend on how a producer writes its
content stream.

PDFium is not thread-safe: every call into it holds `_PDFIUM_LOCK`.
"""

from __future__ import annotations

import ctypes
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import pypdfium2 as pdfium  # type: ignore[import-untyped]
import pypdfium2.raw as pdfium_c  # type: ignore[import-untyped]

from services.evidence_verifier.limits import DEFAULT_MAX_PAGE_OBJECTS
from services.evidence_verifier.scan import INVISIBLE_TEXT_MODES, PageFacts

__all__ = ["DocumentInfo", "PagesRead", "PdfiumError", "inspect_document", "read_pages"]

PdfiumError: type[Exception] = pdfium.PdfiumError
MAX_FORM_DEPTH = 8  # forms nested deeper are not looked into (a loop guard; PDFium has its own)
COVERING_SHARE = 0.9  # an image over 90% of the page hides what was drawn before it
_IMAGE, _TEXT, _FORM = pdfium_c.FPDF_PAGEOBJ_IMAGE, pdfium_c.FPDF_PAGEOBJ_TEXT, pdfium_c.FPDF_PAGEOBJ_FORM
_CONTROL_CHARS = dict.fromkeys([*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0xFFFE, 0xFFFF])

Matrix = tuple[float, float, float, float, float, float]
Box = tuple[float, float, float, float]  # left, bottom, right, top
IDENTITY: Matrix = (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)


@dataclass(frozen=True)
class PagesRead:
    pages: int
    facts: tuple[PageFacts, ...]
    first_page_text: str
    text: str


def _new_lock() -> threading.Lock:
    return threading.Lock()


_PDFIUM_LOCK = _new_lock()


def _reset_lock_after_fork() -> None:
    # a fork taken while another thread held the lock would leave the child's copy locked
    global _PDFIUM_LOCK
    _PDFIUM_LOCK = _new_lock()


os.register_at_fork(after_in_child=_reset_lock_after_fork)


def pdfium_lock() -> threading.Lock:
    """The lock every PDFium call holds (looked up per call: a fork replaces it)."""
    return _PDFIUM_LOCK


@dataclass(frozen=True)
class DocumentInfo:
    pages: int
    encrypted: bool  # a password is needed to open it
    permissions_only: bool = False  # encrypted with an empty user password: opens like any file


NOT_ENCRYPTED = -1  # FPDF_GetSecurityHandlerRevision without an /Encrypt dictionary


def inspect_document(data: bytes) -> DocumentInfo:
    """Page count and encryption; raises PdfiumError for a file PDFium cannot open."""
    with _PDFIUM_LOCK:
        try:
            document = pdfium.PdfDocument(data)
        except PdfiumError as exc:
            if getattr(exc, "err_code", None) == pdfium_c.FPDF_ERR_PASSWORD:
                return DocumentInfo(pages=0, encrypted=True)
            raise
        try:
            # encrypted with an empty user password (permissions only, common in government
            # files) opens like any file: every reader shows it, so it is verified like one
            revision = pdfium_c.FPDF_GetSecurityHandlerRevision(document.raw)
            return DocumentInfo(
                pages=len(document), encrypted=False, permissions_only=revision != NOT_ENCRYPTED
            )
        finally:
            document.close()


class PageWorkLimitError(ValueError):
    """More page objects than the document's budget (limits.max_page_objects)."""


class _Budget:
    """Page objects left to walk in this document."""

    def __init__(self, objects: int) -> None:
        self.left = objects

    def spend(self, count: int) -> None:
        self.left -= max(count, 0)
        if self.left < 0:
            raise PageWorkLimitError("more page objects than the limit")


def read_pages(data: bytes, *, text_chars: int, max_objects: int = DEFAULT_MAX_PAGE_OBJECTS) -> PagesRead:
    """Facts for every page; text of the first page, then of further pages until `text_chars`.
    Raises PageWorkLimitError past `max_objects` page objects (forms' contents included)."""
    with _PDFIUM_LOCK:
        document = pdfium.PdfDocument(data)
        try:
            return _read_document(document, text_chars=text_chars, budget=_Budget(max_objects))
        finally:
            document.close()


def _read_document(document: pdfium.PdfDocument, *, text_chars: int, budget: _Budget) -> PagesRead:
    facts: list[PageFacts] = []
    texts: list[str] = []
    used = 0
    for index in range(len(document)):
        page = document[index]
        try:
            facts.append(_page_facts(page, budget))
            if used < text_chars or index == 0:
                page_text = _page_text(page)
                texts.append(page_text)
                used += len(page_text)
        finally:
            page.close()
    joined = "\n".join(texts)[:text_chars]
    return PagesRead(len(facts), tuple(facts), texts[0] if texts else "", joined)


def _page_text(page: pdfium.PdfPage) -> str:
    textpage = page.get_textpage()
    try:
        text: str = textpage.get_text_range()
    finally:
        textpage.close()
    # PDFium ends lines with CRLF and marks generated hyphens with control characters
    return text.replace("\r\n", "\n").replace("\r", "\n").translate(_CONTROL_CHARS)


def _page_facts(page: pdfium.PdfPage, budget: _Budget) -> PageFacts:
    # the crop box is what a viewer shows: coverage is measured against it
    left, bottom, right, top = page.get_cropbox()
    page_box: Box = (min(left, right), min(bottom, top), max(left, right), max(bottom, top))
    area = (page_box[2] - page_box[0]) * (page_box[3] - page_box[1]) or 1.0
    coverage = 0.0
    text_modes: list[int] = []  # render mode per text object, in drawing order
    hidden_before = 0  # text objects drawn before the last covering image are hidden by it
    for kind, value in _drawn(page.raw, page_box, budget):
        if kind == _IMAGE:
            coverage += value
            if value >= COVERING_SHARE * area:
                hidden_before = len(text_modes)
        else:
            text_modes.append(int(value))
    invisible = hidden_before + sum(1 for m in text_modes[hidden_before:] if m in INVISIBLE_TEXT_MODES)
    return PageFacts(coverage / area, len(text_modes) - invisible, invisible)


def _drawn(page: object, page_box: Box, budget: _Budget) -> Iterator[tuple[int, float]]:
    """(kind, value) for every image and text object in drawing order: an image's visible area
    on the page, a text object's render mode."""
    count = pdfium_c.FPDFPage_CountObjects(page)
    budget.spend(count)
    objects = (pdfium_c.FPDFPage_GetObject(page, i) for i in range(count))
    yield from _walk(objects, IDENTITY, page_box, 0, budget)


def _walk(
    objects: Iterator[object], outer: Matrix, page_box: Box, depth: int, budget: _Budget
) -> Iterator[tuple[int, float]]:
    for obj in objects:
        if not obj:
            continue
        kind = pdfium_c.FPDFPageObj_GetType(obj)
        if kind == _TEXT:
            yield _TEXT, float(pdfium_c.FPDFTextObj_GetTextRenderMode(obj))
        elif kind == _IMAGE:
            yield _IMAGE, _image_area(obj, outer, page_box)
        elif kind == _FORM and depth < MAX_FORM_DEPTH:
            # objects inside a form are in the form's space: compose with the form's matrix
            inner = _compose(_matrix(obj), outer)
            count = pdfium_c.FPDFFormObj_CountObjects(obj)
            budget.spend(count)
            children = (pdfium_c.FPDFFormObj_GetObject(obj, i) for i in range(max(count, 0)))
            yield from _walk(children, inner, page_box, depth + 1, budget)


def _matrix(obj: object) -> Matrix:
    m = pdfium_c.FS_MATRIX()
    if not pdfium_c.FPDFPageObj_GetMatrix(obj, ctypes.byref(m)):
        return IDENTITY
    return (m.a, m.b, m.c, m.d, m.e, m.f)


def _compose(inner: Matrix, outer: Matrix) -> Matrix:
    """The matrix applying `inner` first, then `outer` (PDF row-vector convention)."""
    a, b, c, d, e, f = inner
    oa, ob, oc, od, oe, of = outer
    return (
        a * oa + b * oc,
        a * ob + b * od,
        c * oa + d * oc,
        c * ob + d * od,
        e * oa + f * oc + oe,
        e * ob + f * od + of,
    )


def _image_area(obj: object, outer: Matrix, page_box: Box) -> float:
    """Area of the page an image covers: its exact area (an image fills the unit square mapped
    by its matrix), capped by the part of its bounding box inside the page."""
    a, b, c, d, e, f = _compose(_matrix(obj), outer)
    exact = abs(a * d - b * c)
    xs = (e, e + a, e + c, e + a + c)
    ys = (f, f + b, f + d, f + b + d)
    width = min(max(xs), page_box[2]) - max(min(xs), page_box[0])
    height = min(max(ys), page_box[3]) - max(min(ys), page_box[1])
    return min(exact, max(width, 0.0) * max(height, 0.0))
