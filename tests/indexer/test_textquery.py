from __future__ import annotations

from services.indexer.textquery import any_diacritics, parse_text


def test_words_become_terms_in_both_forms() -> None:
    parsed = parse_text("Kế hoạch 2024")
    assert parsed.exact == (("kế",), ("hoạch",), ("2024",))
    assert parsed.folded == (("ke",), ("hoach",), ("2024",))


def test_quotes_make_a_phrase() -> None:
    parsed = parse_text('báo cáo "cải cách hành chính" quý')
    assert parsed.folded == (("bao",), ("cao",), ("cai", "cach", "hanh", "chinh"), ("quy",))


def test_unclosed_quote_runs_to_the_end() -> None:
    assert parse_text('kế "hoạch năm').folded == (("ke",), ("hoach", "nam"))


def test_punctuation_only_is_empty() -> None:
    assert parse_text(' " - / "').empty


def test_diacritics_are_detected() -> None:
    assert any_diacritics(parse_text("thể"))
    assert not any_diacritics(parse_text("the che"))
