"""Is a change between two renderings of a page allowed? Pure, over greyscale images.

The rule (the verifier's reading of EU DSS's visual comparison of a signed revision with the
final file, and of what the Shadow Attacks, NDSS 2021, and the certification attacks, S&P 2021,
hide in allowed-looking updates): a pixel may change only where the signed page was blank
(near-white) and only inside the rectangle of a signature or timestamp widget added or changed
after signing, minus the rectangles of any other annotation that changed. Everything else a
reader can see change is a modification.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from PIL import Image, ImageChops, ImageDraw

from services.evidence_verifier.limits import DEFAULT_RENDER_BLANK_LEVEL, DEFAULT_RENDER_CHANGE_TOLERANCE

__all__ = ["PixelBox", "VisualVerdict", "judge"]

RECT_MARGIN_PX = 1  # antialiased edges of a widget's drawing bleed one pixel past its rectangle

PixelBox = tuple[int, int, int, int]  # left, top, right, bottom (exclusive) in image pixels


@dataclass(frozen=True)
class VisualVerdict:
    changed: bool  # any pixel changed
    allowed: bool
    why: str = ""
    over_ink: bool = False  # refused only because the change lands on inked signed pixels


def _mask(image: Image.Image, predicate_threshold: int, *, below: bool) -> Image.Image:
    table = [
        255 if (v < predicate_threshold if below else v > predicate_threshold) else 0 for v in range(256)
    ]
    return image.point(table)


def judge(
    before: Image.Image,
    after: Image.Image,
    *,
    allowed: Sequence[PixelBox] = (),
    forbidden: Sequence[PixelBox] = (),
    tolerance: int = DEFAULT_RENDER_CHANGE_TOLERANCE,
    blank_level: int = DEFAULT_RENDER_BLANK_LEVEL,
    content: Image.Image | None = None,
) -> VisualVerdict:
    """`content`, when given, is the signed page as far as blankness goes (`before` without
    earlier signature appearances); otherwise `before` itself."""
    if before.size != after.size:
        return VisualVerdict(changed=True, allowed=False, why="page size changed")
    before, after = before.convert("L"), after.convert("L")
    changed = _mask(ImageChops.difference(before, after), tolerance, below=False)
    window = changed.getbbox()
    if window is None:
        return VisualVerdict(changed=False, allowed=True)
    # the rest only looks where something changed
    x0, y0 = window[0], window[1]
    changed = changed.crop(window)
    region = Image.new("L", changed.size, 0)
    draw = ImageDraw.Draw(region)
    for left, top, right, bottom in allowed:
        if right <= left or bottom <= top:
            continue  # a widget without area draws nothing
        draw.rectangle(
            (
                left - RECT_MARGIN_PX - x0,
                top - RECT_MARGIN_PX - y0,
                right + RECT_MARGIN_PX - 1 - x0,
                bottom + RECT_MARGIN_PX - 1 - y0,
            ),
            fill=255,
        )
    for left, top, right, bottom in forbidden:
        if right > left and bottom > top:
            draw.rectangle((left - x0, top - y0, right - 1 - x0, bottom - 1 - y0), fill=0)
    if ImageChops.subtract(changed, region).getbbox() is not None:
        return VisualVerdict(changed=True, allowed=False, why="changed outside a new signature's rectangle")
    inked = _mask((content or before).convert("L").crop(window), blank_level, below=True)
    if ImageChops.multiply(changed, inked).getbbox() is not None:
        return VisualVerdict(changed=True, allowed=False, why="drawn over signed content", over_ink=True)
    return VisualVerdict(changed=True, allowed=True)
