"""Per-document memo of pypdf's font decoding tables, active only inside `font_memo()`.

pypdf rebuilds every font's encoding and ToUnicode map on every page it extracts text from;
a document's pages share their fonts, so on a 20-page document that was about 40% of text
extraction. Inside the scope, `Font.from_font_resource` returns the object already built for
the same font dictionary (pypdf resolves an indirect font to one object per reader). Outside it
pypdf behaves as shipped.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from pypdf.generic._font import Font

_MEMO: contextvars.ContextVar[dict[int, tuple[Any, Font]] | None] = contextvars.ContextVar(
    "pypdf_font_memo", default=None
)
_stock = Font.from_font_resource.__func__  # type: ignore[attr-defined]


@contextmanager
def font_memo() -> Iterator[None]:
    token = _MEMO.set({})
    try:
        yield
    finally:
        _MEMO.reset(token)


def _from_font_resource(cls: type[Font], pdf_font_dict: Any) -> Font:
    memo = _MEMO.get()
    if memo is None:
        font: Font = _stock(cls, pdf_font_dict)
        return font
    found = memo.get(id(pdf_font_dict))
    if found is not None and found[0] is pdf_font_dict:  # the dict is kept alive: ids stay unique
        return found[1]
    font = _stock(cls, pdf_font_dict)
    memo[id(pdf_font_dict)] = (pdf_font_dict, font)
    return font


Font.from_font_resource = classmethod(_from_font_resource)  # type: ignore[method-assign,assignment]
