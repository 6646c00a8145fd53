"""Scan detection: is a page a picture of paper or an electronic page?

Pure classification over facts gathered from each page's content stream (see `PageFacts`). A
page is a scan when images cover most of it and it shows no visible text; an invisible text
layer (render mode 3, or 7: clipping only) is what OCR adds to a scan, so it does not make a page
born digital; nor does text drawn under a full-page image. A born-digital page with a logo has a
small image and visible text.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from contracts.vocabulary import TextLayer

SCAN_IMAGE_COVERAGE = 0.5  # share of the page area covered by images
INVISIBLE_TEXT_MODE = 3
CLIP_ONLY_TEXT_MODE = 7  # adds the glyphs to the clipping path and paints nothing
INVISIBLE_TEXT_MODES = frozenset({INVISIBLE_TEXT_MODE, CLIP_ONLY_TEXT_MODE})


@dataclass(frozen=True)
class PageFacts:
    image_coverage: float  # 0..1+ (overlapping images may exceed 1)
    visible_text_ops: int
    invisible_text_ops: int

    @property
    def is_scan(self) -> bool:
        return self.image_coverage >= SCAN_IMAGE_COVERAGE and self.visible_text_ops == 0


@dataclass(frozen=True)
class ScanVerdict:
    scanned: bool
    text_layer: TextLayer


def classify(pages: Sequence[PageFacts]) -> ScanVerdict:
    """A document is a scan when its first page or at least half its pages are scans."""
    if not pages:
        return ScanVerdict(scanned=False, text_layer=TextLayer.NONE)
    scan_pages = sum(1 for p in pages if p.is_scan)
    scanned = pages[0].is_scan or 2 * scan_pages >= len(pages)
    if any(p.visible_text_ops for p in pages) and not scanned:
        layer = TextLayer.BORN_DIGITAL
    elif any(p.invisible_text_ops or p.visible_text_ops for p in pages):
        layer = TextLayer.OCR
    else:
        layer = TextLayer.NONE
    return ScanVerdict(scanned=scanned, text_layer=layer)
