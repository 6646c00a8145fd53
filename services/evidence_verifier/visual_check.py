# mypy: disable-error-code="no-any-return"
# (pypdfium2's raw bindings are generated ctypes declarations: their results are untyped)
"""Did anything a reader sees change after a signature? Render and compare (see visual_diff).

For a signature covering an earlier revision (never for one covering the whole file), the pages
a later revision touched (`revisions.page_changes`, object level) are rendered with PDFium,
annotations and form fields drawn as a viewer draws them, from the signed prefix of the file
and from the whole file, and compared. Each (revision end, page) is rendered once per document,
however many signatures share it. Resolution and the render budget are in `Limits`.
"""

from __future__ import annotations

import ctypes
import io
import logging
from dataclasses import dataclass

import pypdfium2 as pdfium  # type: ignore[import-untyped]
import pypdfium2.raw as pdfium_c  # type: ignore[import-untyped]
from PIL import Image
from pyhanko.pdf_utils.misc import PdfReadError
from pyhanko.pdf_utils.reader import PdfFileReader

from contracts.vocabulary import ReasonCode
from services.evidence_verifier import revisions
from services.evidence_verifier.errors import DocumentRejectedError
from services.evidence_verifier.limits import Limits
from services.evidence_verifier.pages import PdfiumError, pdfium_lock
from services.evidence_verifier.visual_diff import PixelBox, judge

__all__ = ["VisualCheck", "page_to_device"]

logger = logging.getLogger(__name__)
POINTS_PER_INCH = 72.0
# what pyHanko raises on objects it cannot follow (the object walk then gives way to rendering)
_UNREADABLE: tuple[type[Exception], ...] = (
    PdfReadError,
    ValueError,
    KeyError,
    TypeError,
    AttributeError,
    IndexError,
    RecursionError,
)
_WALK_FAILED: tuple[type[Exception], ...] = (revisions.WalkLimitError, *_UNREADABLE)
Affine = tuple[float, float, float, float, float, float]  # x' = a*x + c*y + e, y' = b*x + d*y + f


@dataclass(frozen=True)
class _Rendered:
    image: Image.Image
    to_device: Affine

    def pixels(self, box: revisions.Box) -> PixelBox:
        a, b, c, d, e, f = self.to_device
        left, bottom, right, top = box
        xs, ys = [], []
        for x, y in ((left, bottom), (right, bottom), (left, top), (right, top)):
            xs.append(a * x + c * y + e)
            ys.append(b * x + d * y + f)
        return (int(min(xs)), int(min(ys)), int(max(xs) + 0.999), int(max(ys) + 0.999))


class VisualCheck:
    """One per document; `unchanged_after` per signature."""

    def __init__(self, reader: PdfFileReader, limits: Limits) -> None:
        self._reader = reader
        self._limits = limits
        self._data: bytes | None = None
        self._objects: revisions.DocumentObjects | None = None
        self._walk_failed = False
        self._renders: dict[tuple[int, int, bool], _Rendered | None] = {}
        self.rendered = 0  # pages rendered so far (the bench reports it)

    def unchanged_after(
        self, revision: int, end: int, *, until: int | None = None, form_filling: bool = False
    ) -> bool:
        try:
            return self._unchanged_after(revision, end, until=until, form_filling=form_filling)
        except _UNREADABLE:
            # judged per signature: what cannot be compared is not shown unchanged
            logger.warning("visual check failed for revision %d", revision, exc_info=True)
            return False

    def _unchanged_after(self, revision: int, end: int, *, until: int | None, form_filling: bool) -> bool:
        """True when no page a reader sees differs from the signed revision (ending at byte
        `end`) except by signature appearances drawn on blank paper, in the file up to byte
        `until` (default: the whole file). With `form_filling`, appearances of other form fields
        drawn on blank paper are allowed too (for changes a later signature attests)."""
        data = self._bytes()
        last = len(data) if until is None else until
        objects = self._document_objects()
        found: list[revisions.PageChange] | None = None
        if objects is not None:
            try:
                found = revisions.page_changes(
                    self._reader, objects, revision, max_pages=self._limits.max_pages
                )
            except _UNREADABLE:
                objects = None  # a later revision pyHanko cannot follow: compare every page
            else:
                if found is None:
                    return False  # pages added, removed or reordered
        if objects is None or found is None:
            count = self._page_count(last)
            if count is None or count != self._page_count(end):
                return False
            found = [revisions.PageChange(i, True, (), (), ()) for i in range(count)]
        changes = found
        for change in changes:
            before = self._render(end, change.index)
            after = self._render(last, change.index)
            if before is None or after is None:
                return False
            drawn = change.signature_rects + (change.field_rects if form_filling else ())
            barred = change.other_rects + (() if form_filling else change.field_rects)
            allowed = [] if change.content_changed else [after.pixels(r) for r in drawn]
            forbidden = [after.pixels(r) for r in barred]
            tolerance, blank = self._limits.render_change_tolerance, self._limits.render_blank_level
            verdict = judge(
                before.image,
                after.image,
                allowed=allowed,
                forbidden=forbidden,
                tolerance=tolerance,
                blank_level=blank,
            )
            if verdict.over_ink and allowed and change.earlier_signature_rects:
                # maybe only over earlier signatures' appearances: judge those areas on the
                # page without annotations (rendered only now: stamps rarely overlap)
                content = self._without_signatures(end, change, before)
                verdict = judge(
                    before.image,
                    after.image,
                    allowed=allowed,
                    forbidden=forbidden,
                    tolerance=tolerance,
                    blank_level=blank,
                    content=content,
                )
            if not verdict.allowed:
                return False
        return True

    def _without_signatures(
        self, end: int, change: revisions.PageChange, before: _Rendered
    ) -> Image.Image | None:
        """The signed page with the areas of earlier signature appearances taken from a
        rendering without annotations: what is blank there is judged on the page content."""
        if not change.earlier_signature_rects:
            return None
        bare = self._render(end, change.index, annotations=False)
        if bare is None or bare.image.size != before.image.size:
            return None
        merged = before.image.copy()
        width, height = merged.size
        for rect in change.earlier_signature_rects:
            left, top, right, bottom = before.pixels(rect)
            box = (max(left, 0), max(top, 0), min(right, width), min(bottom, height))
            if box[2] > box[0] and box[3] > box[1]:
                merged.paste(bare.image.crop(box), box[:2])
        return merged

    def _bytes(self) -> bytes:
        if self._data is None:
            stream = self._reader.stream
            if isinstance(stream, io.BytesIO):
                self._data = stream.getvalue()
            else:
                stream.seek(0)
                self._data = stream.read()
        return self._data

    def _document_objects(self) -> revisions.DocumentObjects | None:
        if self._objects is None and not self._walk_failed:
            try:
                self._objects = revisions.read_document_objects(
                    self._reader,
                    max_pages=self._limits.max_pages,
                    walk_objects=self._limits.revision_walk_objects,
                )
            except _WALK_FAILED:
                self._walk_failed = True  # every page counts as touched
        return self._objects

    def _page_count(self, end: int) -> int | None:
        with pdfium_lock():
            try:
                document = pdfium.PdfDocument(self._bytes()[:end])
            except PdfiumError:
                return None
            try:
                return len(document)
            finally:
                document.close()

    def _render(self, end: int, index: int, *, annotations: bool = True) -> _Rendered | None:
        key = (end, index, annotations)
        if key not in self._renders:
            if self.rendered >= self._limits.render_pages:
                raise DocumentRejectedError(ReasonCode.RESOURCE_LIMIT, "too many pages to compare")
            self.rendered += 1
            self._renders[key] = self._render_page(end, index, annotations)
        return self._renders[key]

    def _render_page(self, end: int, index: int, annotations: bool = True) -> _Rendered | None:
        scale = self._limits.render_dpi / POINTS_PER_INCH
        with pdfium_lock():
            try:
                document = pdfium.PdfDocument(self._bytes()[:end])
            except PdfiumError:
                return None  # what cannot be shown cannot be shown unchanged
            try:
                if index >= len(document):
                    return None
                if annotations:
                    document.init_forms()  # widgets drawn as a viewer draws them
                page = document[index]
                try:
                    bitmap = page.render(
                        scale=scale, grayscale=True, draw_annots=annotations, may_draw_forms=annotations
                    )
                    image = bitmap.to_pil().convert("L")
                    return _Rendered(image, page_to_device(page, image.size))
                finally:
                    page.close()
            finally:
                document.close()


def page_to_device(page: pdfium.PdfPage, size: tuple[int, int]) -> Affine:
    """The page-space to pixel affine map PDFium used (rotation and crop box included), from
    three points (PDFium answers in whole pixels; a large span keeps the error small)."""
    width, height = size
    left, bottom, right, top = page.get_cropbox()

    def device(x: float, y: float) -> tuple[float, float]:
        dx, dy = ctypes.c_int(), ctypes.c_int()
        pdfium_c.FPDF_PageToDevice(page.raw, 0, 0, width, height, 0, x, y, ctypes.byref(dx), ctypes.byref(dy))
        return float(dx.value), float(dy.value)

    x0, y0 = device(left, bottom)
    x1, y1 = device(right, bottom)
    x2, y2 = device(left, top)
    span_x = (right - left) or 1.0
    span_y = (top - bottom) or 1.0
    a, b = (x1 - x0) / span_x, (y1 - y0) / span_x
    c, d = (x2 - x0) / span_y, (y2 - y0) / span_y
    return (a, b, c, d, x0 - a * left - c * bottom, y0 - b * left - d * bottom)
