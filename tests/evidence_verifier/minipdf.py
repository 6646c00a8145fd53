"""Hand-written one-page PDFs for scan-detection tests: each content stream says exactly what
is drawn, so a test names the drawing it is about (a page image, a logo, a hidden OCR layer)."""

from __future__ import annotations

PAGE_WIDTH, PAGE_HEIGHT = 595, 842
# one grey pixel, an image XObject; `/Im` draws it over the unit square mapped by the CTM
_IMAGE = b"<< /Type /XObject /Subtype /Image /Width 1 /Height 1 /ColorSpace /DeviceGray"
_IMAGE += b" /BitsPerComponent 8 /Length 1 >>\nstream\n\x80\nendstream"
# a form XObject that draws the image over the whole page, in the form's own space
_FORM_CONTENT = f"q {PAGE_WIDTH} 0 0 {PAGE_HEIGHT} 0 0 cm /Im Do Q".encode()
_FONT = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"

FULL_PAGE_IMAGE = f"q {PAGE_WIDTH} 0 0 {PAGE_HEIGHT} 0 0 cm /Im Do Q\n"
LOGO = "q 40 0 0 40 50 740 cm /Im Do Q\n"
INLINE_FULL_PAGE_IMAGE = f"q {PAGE_WIDTH} 0 0 {PAGE_HEIGHT} 0 0 cm BI /W 1 /H 1 /CS /G /BPC 8 ID \x80 EI Q\n"


def text(line: str, *, mode: int = 0, y: int = 780) -> str:
    return f"BT /F1 12 Tf {mode} Tr 50 {y} Td ({line}) Tj ET\n"


def form(scale: float) -> str:
    """The page image drawn through a form XObject, scaled about the origin."""
    return f"q {scale} 0 0 {scale} 0 0 cm /Fm Do Q\n"


def one_page(content: str) -> bytes:
    stream = content.encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {PAGE_WIDTH} {PAGE_HEIGHT}] /Contents 4 0 R".encode()
        + b" /Resources << /XObject << /Im 5 0 R /Fm 6 0 R >> /Font << /F1 7 0 R >> >> >>",
        f"<< /Length {len(stream)} >>\nstream\n".encode() + stream + b"\nendstream",
        _IMAGE,
        f"<< /Type /XObject /Subtype /Form /BBox [0 0 {PAGE_WIDTH} {PAGE_HEIGHT}]".encode()
        + f" /Resources << /XObject << /Im 5 0 R >> >> /Length {len(_FORM_CONTENT)} >>\nstream\n".encode()
        + _FORM_CONTENT
        + b"\nendstream",
        _FONT,
    ]
    out = bytearray(b"%PDF-1.7\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)
