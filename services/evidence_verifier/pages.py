"""Reading pages with pypdf: the facts scan detection needs, and the text for search.

Content streams are scanned with regular expressions rather than a full operator parser: the
scan decision needs only where images are drawn and whether any text is drawn visibly, and a
tokenizer in Python costs more than the whole signature check on long documents.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from typing import Any

from pypdf import PdfReader
from pypdf.generic import IndirectObject

from services.evidence_verifier.fontmemo import font_memo
from services.evidence_verifier.scan import INVISIBLE_TEXT_MODE, PageFacts

_NUM = rb"[-+]?(?:\d+\.?\d*|\.\d+)"
_CM_DO = re.compile(
    rb"("
    + _NUM
    + rb")\s+("
    + _NUM
    + rb")\s+("
    + _NUM
    + rb")\s+("
    + _NUM
    + rb")\s+"
    + _NUM
    + rb"\s+"
    + _NUM
    + rb"\s+cm\s*(?:/[^\s/]+\s+gs\s*)?/([^\s/\[\]()<>{}]+)\s+Do"
)
_TEXT_OPS = re.compile(rb"(\d)\s+Tr\b|\bBT\b|(?:\)|>|\])\s*(?:Tj|TJ|'|\")")
MAX_FORM_DEPTH = 3
COVERING_SHARE = 0.9  # an image over 90% of the page hides what was drawn before it


@dataclass(frozen=True)
class PagesRead:
    pages: int
    facts: tuple[PageFacts, ...]
    first_page_text: str
    text: str


def open_pdf(data: bytes) -> PdfReader:
    return PdfReader(io.BytesIO(data), strict=False)


def read_pages(reader: PdfReader, *, text_chars: int) -> PagesRead:
    with font_memo():
        return _read_pages(reader, text_chars=text_chars)


def _read_pages(reader: PdfReader, *, text_chars: int) -> PagesRead:
    facts: list[PageFacts] = []
    texts: list[str] = []
    used = 0
    for index, page in enumerate(reader.pages):
        box = page.mediabox
        area = abs(float(box.width) * float(box.height)) or 1.0
        content = page.get_contents()
        data = content.get_data() if content is not None else b""
        resources = page.get("/Resources")
        draws = _image_draws(data, _resolve(resources), 1.0, 0)
        # OCR tools also put visible text *under* a full-page image: text drawn before a
        # covering image is as hidden as render mode 3
        covering = [pos for pos, covered in draws if covered >= COVERING_SHARE * area]
        visible, invisible = _text_ops(data, hidden_before=max(covering, default=-1))
        facts.append(PageFacts(sum(c for _, c in draws) / area, visible, invisible))
        if used < text_chars or index == 0:
            page_text = page.extract_text() or ""
            texts.append(page_text)
            used += len(page_text)
    joined = "\n".join(texts)[:text_chars]
    return PagesRead(len(facts), tuple(facts), texts[0] if texts else "", joined)


def _resolve(obj: Any) -> Any:
    return obj.get_object() if isinstance(obj, IndirectObject) else obj


def _text_ops(data: bytes, *, hidden_before: int) -> tuple[int, int]:
    mode, visible, invisible = 0, 0, 0  # the render mode is graphics state: it survives BT/ET
    for match in _TEXT_OPS.finditer(data):
        if match.group(1) is not None:
            mode = int(match.group(1))
        elif match.group(0) == b"BT":
            continue
        elif mode == INVISIBLE_TEXT_MODE or match.start() < hidden_before:
            invisible += 1
        else:
            visible += 1
    return visible, invisible


def _image_draws(data: bytes, resources: Any, scale: float, depth: int) -> list[tuple[int, float]]:
    """(position in the stream, area covered) of images drawn as `a b c d e f cm /Name Do`."""
    if resources is None or depth > MAX_FORM_DEPTH:
        return []
    xobjects = _resolve(resources.get("/XObject"))
    if not xobjects:
        return []
    draws: list[tuple[int, float]] = []
    for match in _CM_DO.finditer(data):
        a, b, c, d = (float(match.group(i)) for i in range(1, 5))
        name = "/" + match.group(5).decode("latin-1")
        xobject = _resolve(xobjects.get(name))
        if xobject is None:
            continue
        det = abs(a * d - b * c) * scale
        subtype = xobject.get("/Subtype")
        if subtype == "/Image":
            draws.append((match.start(), det))
        elif subtype == "/Form":
            # a form's own cm operators are in form space: scale them by the outer transform
            inner = _image_draws(xobject.get_data(), _resolve(xobject.get("/Resources")), det, depth + 1)
            draws.extend((match.start(), covered) for _, covered in inner)
    return draws
