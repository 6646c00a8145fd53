"""The pixel rule of the visual check on hand-drawn images (visual_diff.judge)."""

from __future__ import annotations

from PIL import Image, ImageDraw

from services.evidence_verifier.visual_diff import judge

SIZE = (100, 60)
TEXT = (10, 10, 40, 20)  # where the signed page has ink
BLANK = (60, 35, 95, 55)  # where it is white


def _page(*boxes: tuple[int, int, int, int], shade: int = 0) -> Image.Image:
    image = Image.new("L", SIZE, 255)
    draw = ImageDraw.Draw(image)
    draw.rectangle((TEXT[0], TEXT[1], TEXT[2] - 1, TEXT[3] - 1), fill=0)
    for left, top, right, bottom in boxes:
        draw.rectangle((left, top, right - 1, bottom - 1), fill=shade)
    return image


def test_identical_pages_are_unchanged() -> None:
    verdict = judge(_page(), _page())
    assert not verdict.changed
    assert verdict.allowed


def test_signature_drawn_on_blank_paper_inside_its_rectangle_is_allowed() -> None:
    verdict = judge(_page(), _page((65, 40, 90, 50)), allowed=[BLANK])
    assert verdict.changed
    assert verdict.allowed


def test_drawing_outside_the_signature_rectangle_is_not_allowed() -> None:
    verdict = judge(_page(), _page((50, 40, 90, 50)), allowed=[BLANK])
    assert not verdict.allowed


def test_drawing_over_signed_ink_is_not_allowed_even_inside_the_rectangle() -> None:
    over_text = (5, 5, 45, 25)
    verdict = judge(_page(), _page((12, 12, 30, 18), shade=255), allowed=[over_text])
    assert not verdict.allowed


def test_another_annotation_inside_the_signature_rectangle_is_not_allowed() -> None:
    verdict = judge(_page(), _page((65, 40, 90, 50)), allowed=[BLANK], forbidden=[(60, 35, 80, 55)])
    assert not verdict.allowed


def test_antialiasing_below_the_tolerance_is_no_change() -> None:
    verdict = judge(_page(), _page((70, 40, 80, 50), shade=240))
    assert not verdict.changed


def test_page_size_change_is_a_change() -> None:
    assert not judge(_page(), Image.new("L", (100, 61), 255)).allowed


def test_rectangles_without_area_are_ignored() -> None:
    """Invisible signature widgets have /Rect [0 0 0 0]."""
    verdict = judge(_page(), _page((65, 40, 90, 50)), allowed=[BLANK, (0, 0, 0, 0)], forbidden=[(5, 5, 5, 5)])
    assert verdict.allowed
