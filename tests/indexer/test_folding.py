from __future__ import annotations

import unicodedata

from hypothesis import given
from hypothesis import strategies as st

from services.indexer.folding import fold, has_diacritics, lower_exact, nfc, tokens


def test_fold_strips_vietnamese_marks_and_case() -> None:
    assert fold("Kế hoạch Cải cách Hành chính") == "ke hoach cai cach hanh chinh"
    assert fold("ỦY BAN NHÂN DÂN") == "uy ban nhan dan"


def test_fold_maps_d_stroke_which_unicode_does_not_decompose() -> None:
    assert unicodedata.normalize("NFD", "đ") == "đ"
    assert fold("Đồng Tháp đề án") == "dong thap de an"


def test_fold_accepts_decomposed_input() -> None:
    decomposed = unicodedata.normalize("NFD", "Quyết định")
    assert decomposed != "Quyết định"
    assert fold(decomposed) == "quyet dinh"
    assert nfc(decomposed) == "Quyết định"


def test_exact_form_keeps_marks() -> None:
    assert lower_exact("THỂ CHẾ") == "thể chế"
    assert has_diacritics("thể")
    assert not has_diacritics("The")


def test_tokens_split_document_numbers() -> None:
    assert tokens("15/KH-UBND ngày 05/01/2024") == ["15", "KH", "UBND", "ngày", "05", "01", "2024"]


@given(st.text())
def test_fold_keeps_one_character_per_nfc_character(text: str) -> None:
    assert len(fold(text)) == len(nfc(text))


@given(st.text())
def test_fold_is_idempotent(text: str) -> None:
    assert fold(fold(text)) == fold(text)
