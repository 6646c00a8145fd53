"""Scan detection on hand-drawn pages: what a page shows decides, not how its stream is written."""

from __future__ import annotations

import pytest

from contracts.vocabulary import TextLayer
from services.evidence_verifier import scan
from services.evidence_verifier.pages import read_pages
from tests.evidence_verifier import minipdf as m

NUMBER_LINE = "So: 15/KH-UBND"
TEXT_CHARS = 10_000


@pytest.mark.parametrize(
    ("content", "scanned", "layer"),
    [
        pytest.param(m.FULL_PAGE_IMAGE, True, TextLayer.NONE, id="page-image"),
        pytest.param(m.INLINE_FULL_PAGE_IMAGE, True, TextLayer.NONE, id="inline-page-image"),
        pytest.param(m.form(0.8), True, TextLayer.NONE, id="page-image-in-a-scaled-form"),
        pytest.param(m.FULL_PAGE_IMAGE + m.text(NUMBER_LINE, mode=3), True, TextLayer.OCR, id="ocr-layer"),
        pytest.param(
            m.FULL_PAGE_IMAGE + m.text(NUMBER_LINE, mode=7), True, TextLayer.OCR, id="clip-only-text"
        ),
        pytest.param(m.text(NUMBER_LINE) + m.FULL_PAGE_IMAGE, True, TextLayer.OCR, id="text-under-image"),
        pytest.param(m.form(0.5), False, TextLayer.NONE, id="quarter-page-picture"),
        pytest.param(m.LOGO + m.text(NUMBER_LINE), False, TextLayer.BORN_DIGITAL, id="logo-and-text"),
        pytest.param(
            m.FULL_PAGE_IMAGE + m.text(NUMBER_LINE), False, TextLayer.BORN_DIGITAL, id="text-on-image"
        ),
        pytest.param(m.text(NUMBER_LINE), False, TextLayer.BORN_DIGITAL, id="text-only"),
    ],
)
def test_scan_verdicts(content: str, scanned: bool, layer: TextLayer) -> None:
    verdict = scan.classify(read_pages(m.one_page(content), text_chars=TEXT_CHARS).facts)
    assert verdict.scanned is scanned
    assert verdict.text_layer is layer


def test_hidden_text_is_still_searchable() -> None:
    pages = read_pages(m.one_page(m.FULL_PAGE_IMAGE + m.text(NUMBER_LINE, mode=3)), text_chars=TEXT_CHARS)
    assert pages.first_page_text.strip() == NUMBER_LINE
    assert pages.text.strip() == NUMBER_LINE
