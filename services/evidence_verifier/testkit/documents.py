# mypy: disable-error-code="no-untyped-call"
# (pyHanko and pyhanko-certvalidator are only partly typed)
"""Vietnamese administrative PDFs for tests, the demo and the benchmark.

Born-digital documents are drawn with reportlab; scans are page images rendered with Pillow.
Signing uses pyHanko with in-memory keys from `testkit.pki`; timestamps come from pyHanko's
in-process dummy TSA with the test PKI's TSA certificate. Every time is injected.
"""

from __future__ import annotations

import io
import os
import random
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from asn1crypto import cms as asn1_cms
from asn1crypto import crl as asn1_crl
from PIL import Image, ImageDraw, ImageFont
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.generic import pdf_name
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers
from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper
from pyhanko.sign.validation.dss import DocumentSecurityStore
from pyhanko_certvalidator.registry import SimpleCertificateStore
from reportlab.lib.pagesizes import A4
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas

from services.evidence_verifier.testkit.pki import Signer

FONT_ENV = "KIEMCHUNG_PDF_FONT"
FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
    "/Library/Fonts/Arial Unicode.ttf",
    "C:/Windows/Fonts/arial.ttf",
)
FONT_NAME = "KiemchungSans"
MOTTO_1 = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
MOTTO_2 = "Độc lập - Tự do - Hạnh phúc"

PAGE_WIDTH, PAGE_HEIGHT = A4
MARGIN = 56.0
LINE = 15.0
BODY_SIZE = 11
SCAN_DPI = 60  # low resolution keeps tests fast; still covers the whole page
POINTS_PER_INCH = 72
SIGNATURE_RESERVE = 16384


class FontNotFoundError(RuntimeError):
    pass


def find_font() -> Path:
    """The TrueType font with Vietnamese glyphs used for every generated document."""
    configured = os.environ.get(FONT_ENV)
    candidates = ((configured,) if configured else ()) + FONT_CANDIDATES
    for candidate in candidates:
        if Path(candidate).is_file():
            return Path(candidate)
    raise FontNotFoundError(
        "No TrueType font with Vietnamese glyphs found. Install the Debian package "
        f"'fonts-dejavu-core' or set {FONT_ENV} to a .ttf file."
    )


@lru_cache(maxsize=1)
def _register_font() -> str:
    pdfmetrics.registerFont(TTFont(FONT_NAME, str(find_font())))
    return FONT_NAME


@dataclass(frozen=True)
class DocumentSpec:
    """What a generated document says. Defaults give a plausible plan (kế hoạch)."""

    issuer: str = "Ủy ban nhân dân tỉnh Vĩnh Long"
    number: str = "15/KH-UBND"
    place: str = "Vĩnh Long"
    issued_on: date = date(2024, 3, 12)
    title: str = "KẾ HOẠCH Cải cách hành chính năm 2024"
    body: tuple[str, ...] = (
        "Thực hiện Quyết định số 1877/QĐ-UBND về Bộ Chỉ số cải cách hành chính, "
        "Ủy ban nhân dân ban hành Kế hoạch cải cách hành chính năm 2024 như sau.",
        "I. MỤC ĐÍCH, YÊU CẦU: nâng cao chất lượng phục vụ người dân và doanh nghiệp; "
        "100% văn bản được ký số và gửi nhận trên Hệ thống quản lý văn bản và điều hành.",
        "II. NỘI DUNG: rà soát 45 thủ tục hành chính, cắt giảm 20% thời gian giải quyết.",
    )
    pages: int = 1
    signer_title: str = "CHỦ TỊCH"
    signer_name: str = "Nguyễn Văn An"

    @property
    def date_line(self) -> str:
        d = self.issued_on
        return f"{self.place}, ngày {d.day} tháng {d.month} năm {d.year}"

    def lines(self) -> list[tuple[str, float, int]]:
        """The first page as (text, x, font size) lines in reading order."""
        left, right = MARGIN, PAGE_WIDTH / 2
        return [
            (self.issuer.upper(), left, 9),
            (MOTTO_1, right, 9),
            (MOTTO_2, right, 9),
            (f"Số: {self.number}", left, 10),
            (self.date_line, right, 10),
            ("", left, BODY_SIZE),
            (self.title, left, 13),
            ("", left, BODY_SIZE),
        ]


def _wrap(text: str, font: str, size: int, width: float) -> list[str]:
    words, lines, current = text.split(), [], ""
    for word in words:
        trial = f"{current} {word}".strip()
        if pdfmetrics.stringWidth(trial, font, size) > width and current:
            lines.append(current)
            current = word
        else:
            current = trial
    if current:
        lines.append(current)
    return lines


def _page_lines(spec: DocumentSpec, page: int, font: str) -> list[tuple[str, float, int]]:
    lines = spec.lines() if page == 0 else [(f"- {page + 1} -", PAGE_WIDTH / 2, 9)]
    width = PAGE_WIDTH - 2 * MARGIN
    paragraphs = spec.body if page == 0 else tuple(f"({page + 1}.{i}) {p}" for i, p in enumerate(spec.body))
    for paragraph in paragraphs:
        lines.extend((line, MARGIN, BODY_SIZE) for line in _wrap(paragraph, font, BODY_SIZE, width))
    if page == spec.pages - 1:
        lines.extend([("", MARGIN, BODY_SIZE), (spec.signer_title, PAGE_WIDTH / 2 + 40, 11)])
        lines.append((spec.signer_name, PAGE_WIDTH / 2 + 40, 11))
    return lines


def _draw_text(
    c: canvas.Canvas, lines: Sequence[tuple[str, float, int]], font: str, *, mode: int = 0
) -> None:
    y = PAGE_HEIGHT - MARGIN
    for text, x, size in lines:
        if text:
            t = c.beginText(x, y)
            t.setTextRenderMode(mode)
            t.setFont(font, size)
            t.textLine(text)
            c.drawText(t)
        y -= LINE


def make_document(
    spec: DocumentSpec = DocumentSpec(), *, logo: bool = False, form_field: bool = False
) -> bytes:
    """A born-digital document; `logo` adds a small emblem image (still not a scan), `form_field`
    adds an empty text field that can be filled after signing."""
    font = _register_font()
    out = io.BytesIO()
    c = canvas.Canvas(out, pagesize=A4, invariant=True)
    c.setTitle(spec.title)
    for page in range(spec.pages):
        if logo and page == 0:
            c.drawImage(ImageReader(_logo_image()), MARGIN, PAGE_HEIGHT - MARGIN - 60, width=40, height=40)
        _draw_text(c, _page_lines(spec, page, font), font)
        if form_field and page == spec.pages - 1:
            c.acroForm.textfield(name="ghi_chu", x=MARGIN, y=MARGIN, width=200, height=20, value="")
        c.showPage()
    c.save()
    return out.getvalue()


@lru_cache(maxsize=1)
def _logo_image() -> Image.Image:
    img = Image.new("RGB", (64, 64), "white")
    draw = ImageDraw.Draw(img)
    draw.ellipse((4, 4, 60, 60), fill=(200, 16, 46))
    draw.polygon(
        [(32, 14), (38, 30), (54, 30), (41, 40), (46, 56), (32, 46), (18, 56), (23, 40), (10, 30), (26, 30)],
        fill=(255, 205, 0),
    )
    return img


def _scan_image(lines: Sequence[tuple[str, float, int]], seed: int) -> Image.Image:
    """A page photo: greyish paper, noise, and the text drawn as pixels."""
    scale = SCAN_DPI / POINTS_PER_INCH
    width, height = int(PAGE_WIDTH * scale), int(PAGE_HEIGHT * scale)
    img = Image.new("L", (width, height), 235)
    rng = random.Random(seed)
    pixels = img.load()
    assert pixels is not None
    for _ in range(width * height // 40):
        pixels[rng.randrange(width), rng.randrange(height)] = rng.randrange(180, 255)
    draw = ImageDraw.Draw(img)
    y = MARGIN
    for text, x, size in lines:
        if text:
            font = ImageFont.truetype(str(find_font()), max(6, int(size * scale)))
            draw.text((x * scale, y * scale), text, fill=30, font=font)
        y += LINE
    # a red-ink stamp circle, typical of a signed paper original
    draw.ellipse((width * 0.55, height * 0.70, width * 0.80, height * 0.87), outline=90, width=3)
    return img


def make_scanned_document(spec: DocumentSpec = DocumentSpec(), *, ocr_layer: bool = False) -> bytes:
    """Image-only pages of a paper original; `ocr_layer` adds an invisible OCR text layer
    (text render mode 3), as scanners with OCR produce."""
    font = _register_font()
    out = io.BytesIO()
    c = canvas.Canvas(out, pagesize=A4, invariant=True)
    for page in range(spec.pages):
        lines = _page_lines(spec, page, font)
        c.drawImage(ImageReader(_scan_image(lines, page)), 0, 0, width=PAGE_WIDTH, height=PAGE_HEIGHT)
        if ocr_layer:
            _draw_text(c, lines, font, mode=3)
        c.showPage()
    c.save()
    return out.getvalue()


# --- signing ----------------------------------------------------------------------------------


class _TimedPdfSigner(signers.PdfSigner):
    """PdfSigner with an injected signing time (pyHanko otherwise reads the clock)."""

    def __init__(self, *args: Any, signing_time: datetime, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._signing_time = signing_time

    def init_signing_session(self, pdf_out: Any, existing_fields_only: bool = False) -> Any:
        session = super().init_signing_session(pdf_out, existing_fields_only)
        session.system_time = self._signing_time
        return session


@dataclass(frozen=True)
class SignOptions:
    field_name: str = "ChuKyToChuc"
    signing_time: datetime | None = None  # None: the signer's PKI `now` must be passed explicitly
    tsa: Signer | None = None  # with a TSA: an RFC 3161 timestamp at `timestamp_time`
    timestamp_time: datetime | None = None  # defaults to signing_time
    md_algorithm: str = "sha256"
    # adbe.pkcs7.detached (most e-office systems) or ETSI.CAdES.detached (PAdES baseline)
    pades: bool = False
    reason: str | None = None
    extra: dict[str, str] = field(default_factory=dict)


def sign_pdf(pdf: bytes, signer: Signer, options: SignOptions) -> bytes:
    """Sign `pdf` (incrementally, so a second call adds a second signature)."""
    if options.signing_time is None:
        raise ValueError("signing_time is required (time is injected, never read from the clock)")
    cred = signer.credential
    simple = signers.SimpleSigner(
        signing_cert=cred.asn1_cert,
        signing_key=cred.asn1_key,
        cert_registry=SimpleCertificateStore.from_certs([c.asn1_cert for c in signer.chain]),
    )
    timestamper = None
    if options.tsa is not None:
        tsa = options.tsa
        timestamper = DummyTimeStamper(
            tsa_cert=tsa.credential.asn1_cert,
            tsa_key=tsa.credential.asn1_key,
            certs_to_embed=SimpleCertificateStore.from_certs([c.asn1_cert for c in tsa.chain]),
            fixed_dt=options.timestamp_time or options.signing_time,
        )
    meta = signers.PdfSignatureMetadata(
        field_name=options.field_name,
        md_algorithm=options.md_algorithm,
        subfilter=(
            fields.SigSeedSubFilter.PADES if options.pades else fields.SigSeedSubFilter.ADOBE_PKCS7_DETACHED
        ),
        reason=options.reason,
    )
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
    if writer.prev.encrypted:
        writer.encrypt(b"")  # files that open without a password (permissions only) can be signed
    pdf_signer = _TimedPdfSigner(meta, simple, timestamper=timestamper, signing_time=options.signing_time)
    out = pdf_signer.sign_pdf(writer, bytes_reserved=SIGNATURE_RESERVE)
    return bytes(out.getvalue())


def sign_organisation_and_person(
    pdf: bytes, organisation: Signer, person: Signer, options: SignOptions
) -> bytes:
    """The usual e-office pattern: the head signs, then the office applies the unit's seal."""
    signed = sign_pdf(pdf, person, replace(options, field_name="ChuKyCaNhan"))
    return sign_pdf(signed, organisation, replace(options, field_name="ChuKyToChuc"))


def add_revocation_data(pdf: bytes, *, crl_der: bytes) -> bytes:
    """Append a DSS update carrying a CRL (an allowed, LTV-style incremental update)."""
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
    last_signature = writer.prev.embedded_signatures[-1]
    DocumentSecurityStore.supply_dss_in_writer(
        writer, last_signature.pkcs7_content, crls=[asn1_crl.CertificateList.load(crl_der)]
    )
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


# --- changes after signing --------------------------------------------------------------------


def fill_form_field(pdf: bytes, value: str = "Đã xem") -> bytes:
    """Allowed change after signing: fill the text field made by `make_document(form_field=True)`."""
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
    acroform = writer.root["/AcroForm"]
    for ref in acroform["/Fields"]:
        fld = ref.get_object()
        if fld.get("/FT") == "/Tx":
            fld[pdf_name("/V")] = generic.TextStringObject(value)
            writer.update_container(fld)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def change_page_content(pdf: bytes, new_text: str = "Số: 15a/KH-UBND") -> bytes:
    """Disallowed: replace the first page's content stream in an incremental update."""
    replacement = make_document(DocumentSpec(number=new_text.removeprefix("Số: ")))
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
    page_ref = writer.root["/Pages"]["/Kids"][0]
    page = page_ref.get_object()
    from pyhanko.pdf_utils.reader import PdfFileReader

    other = PdfFileReader(io.BytesIO(replacement)).root["/Pages"]["/Kids"][0].get_object()
    data = other["/Contents"].get_object().data
    stream = generic.StreamObject(stream_data=data)
    page[pdf_name("/Contents")] = writer.add_object(stream)
    writer.update_container(page)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def add_overlay_annotation(pdf: bytes, text: str = "15a") -> bytes:
    """Disallowed: add a FreeText annotation drawn over the document number."""
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
    page = writer.root["/Pages"]["/Kids"][0].get_object()
    annot = generic.DictionaryObject(
        {
            pdf_name("/Type"): pdf_name("/Annot"),
            pdf_name("/Subtype"): pdf_name("/FreeText"),
            pdf_name("/Rect"): generic.ArrayObject(
                [generic.FloatObject(v) for v in (MARGIN, 700.0, MARGIN + 80, 720.0)]
            ),
            pdf_name("/Contents"): generic.TextStringObject(text),
            pdf_name("/DA"): generic.TextStringObject("/Helv 10 Tf 0 g"),
        }
    )
    annots = page.get("/Annots")
    ref = writer.add_object(annot)
    if annots is None:
        page[pdf_name("/Annots")] = generic.ArrayObject([ref])
    else:
        annots.get_object().append(ref)
    writer.update_container(page)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def replace_first_page(pdf: bytes, spec: DocumentSpec | None = None) -> bytes:
    """Disallowed: swap the first page object for a newly drawn one."""
    from pyhanko.pdf_utils.reader import PdfFileReader

    replacement = make_document(spec or DocumentSpec(number="99/KH-UBND"))
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
    other_page = PdfFileReader(io.BytesIO(replacement)).root["/Pages"]["/Kids"][0].get_object()
    pages = writer.root["/Pages"]
    kids = pages["/Kids"]
    old = kids[0].get_object()
    new_page = generic.DictionaryObject(
        {
            pdf_name("/Type"): pdf_name("/Page"),
            pdf_name("/Parent"): old.raw_get("/Parent"),
            pdf_name("/MediaBox"): old["/MediaBox"],
            pdf_name("/Resources"): old.raw_get("/Resources"),
            pdf_name("/Contents"): writer.add_object(
                generic.StreamObject(stream_data=other_page["/Contents"].get_object().data)
            ),
        }
    )
    kids[0] = writer.add_object(new_page)
    writer.update_container(kids)
    writer.update_container(pages)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def alter_signed_byte(pdf: bytes, marker: bytes = b"ReportLab Generated") -> bytes:
    """Flip one byte inside the signed byte range (in the header comment, so the file still
    parses and only the signature notices)."""
    position = pdf.index(marker) + 1
    return pdf[:position] + bytes([pdf[position] ^ 0x01]) + pdf[position + 1 :]


def alter_signature_value(pdf: bytes) -> bytes:
    """Flip one bit of the last signature's value inside /Contents: the only bytes outside the
    signed ranges, so the document digest still matches but the signature no longer verifies."""
    start = pdf.rindex(b"/Contents <") + len(b"/Contents <")
    end = pdf.index(b">", start)
    blob = bytes.fromhex(pdf[start:end].decode("ascii"))
    info = asn1_cms.ContentInfo.load(blob.rstrip(b"\x00"))
    value = info["content"]["signer_infos"][0]["signature"].native
    at = blob.index(value) + len(value) // 2
    altered = blob[:at] + bytes([blob[at] ^ 0x01]) + blob[at + 1 :]
    return pdf[:start] + altered.hex().encode("ascii") + pdf[end:]


def truncate(pdf: bytes, keep: float = 0.5) -> bytes:
    return pdf[: int(len(pdf) * keep)]


def garbage(size: int = 4096, seed: int = 0) -> bytes:
    rng = random.Random(seed)
    return bytes(rng.randrange(256) for _ in range(size))


def decompression_bomb(inflated_bytes: int = 64 * 1024 * 1024) -> bytes:
    """A one-page PDF whose content stream inflates to `inflated_bytes` of spaces: a few
    hundred kilobytes on disk, enough to hit a per-document memory cap when read."""
    import zlib

    compressed = zlib.compress(b" " * inflated_bytes, 9)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>",
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(compressed) + compressed + b"\nendstream",
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.7\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref))
    return out.getvalue()
