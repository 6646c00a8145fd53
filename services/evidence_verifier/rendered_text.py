# mypy: disable-error-code="no-any-return"
# (pypdfium2's raw bindings are generated ctypes declarations: their results are untyped)
"""Page 1's text as a reader sees it: page content plus annotation appearances.

PDFium's text extraction reads the page content only, so a FreeText or a form field whose
appearance paints "16" over the signed "15" would leave "15" in the text the number is read
from. When page 1 draws annotations, it is rendered with and without them; a content character
whose pixels the annotations change is taken as painted over, and the text drawn by the
annotations (read after flattening them into the page) takes its place, in reading order.
"""

from __future__ import annotations

import ctypes
import itertools
from dataclasses import dataclass

import pypdfium2 as pdfium  # type: ignore[import-untyped]
import pypdfium2.raw as pdfium_c  # type: ignore[import-untyped]
from PIL import Image, ImageChops

from services.evidence_verifier.limits import Limits
from services.evidence_verifier.pages import pdfium_lock
from services.evidence_verifier.visual_check import POINTS_PER_INCH, page_to_device

__all__ = ["visible_first_page_text"]

HIDDEN_FLAGS = 0x02 | 0x20  # Hidden, NoView
LINE_OVERLAP = 0.5  # characters whose vertical centres are this many heights apart share a line
WORD_GAP = 0.25  # a horizontal gap wider than this many heights is a space
MIN_COVERED_SHARE = 0.5  # share of a character's pixels an annotation must change to hide it
_NO_INK = Image.new("L", (1, 1), 0)  # stands for "judge by the box": no ink known


@dataclass(frozen=True)
class _Char:
    text: str
    ink: tuple[float, float, float, float]  # the glyph's own box: left, bottom, right, top
    box: tuple[float, float, float, float]  # the font's box (ascent to descent, advance): lines


def visible_first_page_text(data: bytes, limits: Limits) -> str | None:
    """The visible text of page 1, or None when no annotation page 1 draws lies over its text
    (then the page content's own text is what a reader sees)."""
    scale = limits.render_dpi / POINTS_PER_INCH
    with pdfium_lock():
        document = pdfium.PdfDocument(data)
        try:
            if len(document) == 0:
                return None
            document.init_forms()
            page = document[0]
            try:
                rects = _drawn_annotation_rects(page)
                content = _chars(page)
                if not any(_overlaps(rect, c.ink) for rect in rects for c in content):
                    return None  # annotations beside the text leave what it says alone
                plain = page.render(scale=scale, grayscale=True, draw_annots=False, may_draw_forms=False)
                drawn = page.render(scale=scale, grayscale=True, draw_annots=True, may_draw_forms=True)
                plain_image = plain.to_pil().convert("L")
                drawn_image = drawn.to_pil().convert("L")
                to_device = page_to_device(page, plain_image.size)
                pdfium_c.FPDFPage_Flatten(page.raw, pdfium_c.FLAT_NORMALDISPLAY)
            finally:
                page.close()
            page = document[0]  # PDFium shows a flattened page only once it is loaded again
            try:
                painted = _chars(page)[len(content) :]
            finally:
                page.close()
        finally:
            document.close()
    changed = ImageChops.difference(plain_image, drawn_image).point(
        [255 if v > limits.render_change_tolerance else 0 for v in range(256)]
    )
    ink = plain_image.point([255 if v < limits.render_blank_level else 0 for v in range(256)])
    kept = [c for c in content if not _covered(changed, ink, to_device, c.ink)]
    # flattening ignores what hides an annotation at display time (optional content): its text
    # counts only where drawing the annotations changed the page
    shown = [c for c in painted if _covered(changed, _NO_INK, to_device, c.ink)]
    return _reading_order(kept + shown)


def _drawn_annotation_rects(page: pdfium.PdfPage) -> list[tuple[float, float, float, float]]:
    rects = []
    for i in range(pdfium_c.FPDFPage_GetAnnotCount(page.raw)):
        annot = pdfium_c.FPDFPage_GetAnnot(page.raw, i)
        if not annot:
            continue
        try:
            rect = pdfium_c.FS_RECTF()
            if pdfium_c.FPDFAnnot_GetFlags(annot) & HIDDEN_FLAGS:
                continue
            if not pdfium_c.FPDFAnnot_GetRect(annot, ctypes.byref(rect)):
                continue
            box = (
                min(rect.left, rect.right),
                min(rect.bottom, rect.top),
                max(rect.left, rect.right),
                max(rect.bottom, rect.top),
            )
            if box[2] > box[0] and box[3] > box[1]:
                rects.append(box)
        finally:
            pdfium_c.FPDFPage_CloseAnnot(annot)
    return rects


def _overlaps(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _chars(page: pdfium.PdfPage) -> list[_Char]:
    textpage = page.get_textpage()
    try:
        chars = []
        left, right, bottom, top = (ctypes.c_double() for _ in range(4))
        loose = pdfium_c.FS_RECTF()
        for i in range(pdfium_c.FPDFText_CountChars(textpage.raw)):
            if pdfium_c.FPDFText_IsGenerated(textpage.raw, i) == 1:
                continue
            code = pdfium_c.FPDFText_GetUnicode(textpage.raw, i)
            if code < 0x20:
                continue
            refs = (ctypes.byref(left), ctypes.byref(right), ctypes.byref(bottom), ctypes.byref(top))
            if not pdfium_c.FPDFText_GetCharBox(textpage.raw, i, *refs):
                continue
            if not pdfium_c.FPDFText_GetLooseCharBox(textpage.raw, i, ctypes.byref(loose)):
                continue
            chars.append(
                _Char(
                    chr(code),
                    (left.value, bottom.value, right.value, top.value),
                    (loose.left, min(loose.bottom, loose.top), loose.right, max(loose.bottom, loose.top)),
                )
            )
        return chars
    finally:
        textpage.close()


Affine = tuple[float, float, float, float, float, float]


def _covered(
    changed: Image.Image, ink: Image.Image, to_device: Affine, box: tuple[float, float, float, float]
) -> bool:
    """Do the annotations change most of the pixels this character inks (or, when it inks none
    at this resolution, most of its box)?"""
    a, b, c, d, e, f = to_device
    corners = [(a * x + c * y + e, b * x + d * y + f) for x in (box[0], box[2]) for y in (box[1], box[3])]
    left = max(int(min(x for x, _ in corners)), 0)
    top = max(int(min(y for _, y in corners)), 0)
    right = min(int(max(x for x, _ in corners) + 0.999), changed.width)
    bottom = min(int(max(y for _, y in corners) + 0.999), changed.height)
    if right <= left or bottom <= top:
        return False
    area = (left, top, right, bottom)
    inked = ink.crop(area)
    inked_count = 0 if ink is _NO_INK else inked.histogram()[255]
    changed_area = changed.crop(area)
    if inked_count == 0:
        return changed_area.histogram()[255] >= MIN_COVERED_SHARE * (right - left) * (bottom - top)
    both = ImageChops.multiply(changed_area, inked).histogram()[255]
    return both >= MIN_COVERED_SHARE * inked_count


def _reading_order(chars: list[_Char]) -> str:
    """Lines top to bottom (characters whose font boxes overlap vertically by half share a
    line), each left to right; a gap wider than a quarter of the line's height is a space."""
    lines: list[list[_Char]] = []
    for char in sorted(chars, key=lambda c: -(c.box[1] + c.box[3])):
        centre = (char.box[1] + char.box[3]) / 2
        if lines:
            first = lines[-1][0]
            height = max(first.box[3] - first.box[1], char.box[3] - char.box[1], 1.0)
            if abs((first.box[1] + first.box[3]) / 2 - centre) <= LINE_OVERLAP * height:
                lines[-1].append(char)
                continue
        lines.append([char])
    out = []
    for line in lines:
        line.sort(key=lambda c: c.box[0])
        text = line[0].text
        for previous, char in itertools.pairwise(line):
            height = max(char.box[3] - char.box[1], previous.box[3] - previous.box[1], 1.0)
            if char.box[0] - previous.box[2] > WORD_GAP * height and not text.endswith(" "):
                text += " "
            text += char.text
        out.append(text)
    return "\n".join(out)
