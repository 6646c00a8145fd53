from __future__ import annotations

from services.indexer.model import Snippet
from services.indexer.snippets import ELLIPSIS, body_snippet, title_snippet
from services.indexer.textquery import parse_text

LONG = (
    "Căn cứ Luật Tổ chức chính quyền địa phương, " * 12
    + "Ủy ban nhân dân tỉnh ban hành Kế hoạch cải cách hành chính năm 2024. "
    + "Các sở, ban, ngành tổ chức thực hiện nghiêm túc. " * 12
)


def test_title_marks_folded_matches_on_original_letters() -> None:
    snippet = title_snippet("Đề án chuyển đổi số", parse_text("de an chuyen doi"))
    assert snippet.marked() == "[Đề] [án] [chuyển] [đổi] số"


def test_phrase_marks_only_the_words_in_sequence() -> None:
    snippet = title_snippet("hành chính, cải cách hành chính", parse_text('"cai cach hanh chinh"'))
    assert snippet.matched() == ("cải", "cách", "hành", "chính")
    assert snippet.spans[0][0] == len("hành chính, ")


def test_body_snippet_is_a_window_around_the_first_match() -> None:
    snippet = body_snippet(LONG, parse_text("ke hoach"))
    assert snippet.text.startswith(ELLIPSIS)
    assert snippet.text.endswith(ELLIPSIS)
    assert "[Kế] [hoạch] cải cách" in snippet.marked()
    assert len(snippet.text) <= 240 + 2 * len(ELLIPSIS)


def test_body_snippet_without_match_is_the_beginning() -> None:
    snippet = body_snippet(LONG, parse_text(""))
    assert snippet.spans == ()
    assert snippet.text.startswith("Căn cứ Luật")


def test_marked_with_custom_tags() -> None:
    assert Snippet("kế hoạch", ((0, 2),)).marked("<mark>", "</mark>") == "<mark>kế</mark> hoạch"
