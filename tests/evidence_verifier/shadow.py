# mypy: disable-error-code="no-untyped-call"
"""Builders for changes after signing that pyHanko's difference analysis accepts (as form filling
or as a new signature) but that change what a reader sees.

Following "Shadow Attacks: Hiding and Replacing Content in Signed PDFs" (Mainka, Mladenov,
Rohlmann, Schwenk, NDSS 2021: hide, replace, hide-and-replace) and "Breaking the Specification:
PDF Certification" (Rohlmann, Mladenov, Mainka, Schwenk, IEEE S&P 2021: Evil Annotation,
Sneaky Signature). The document is prepared before signing with pikepdf (hidden widgets, unused
objects, covers, optional content), signed by the testkit, then changed in an incremental update
written with pyHanko's IncrementalPdfFileWriter, as an attacker holding only the signed file can.

Every attack makes page 1 read "Số: 16/KH-UBND" where the signed revision says 15, except the
cover attacks, which reveal a paragraph the signed revision did not show.
"""

from __future__ import annotations

import io
from collections.abc import Callable

import pikepdf
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.generic import pdf_name
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers
from pyhanko_certvalidator.registry import SimpleCertificateStore
from reportlab.pdfbase import pdfmetrics

from services.evidence_verifier.testkit import documents as docs
from services.evidence_verifier.testkit.pki import Signer

# where the sequence number "15" of "Số: 15/KH-UBND" is drawn on page 1 (documents.DocumentSpec)
NUMBER_BASELINE = docs.PAGE_HEIGHT - docs.MARGIN - 3 * docs.LINE
NUMBER_SIZE = 10
# a box that covers the second body paragraph, for the cover attacks
PARAGRAPH_BOX = (40.0, 640.0, 560.0, 680.0)
BLANK_BOX = (360.0, 60.0, 540.0, 110.0)  # bottom right of page 1: nothing is drawn there
HEAD_BOX = (300.0, 400.0, 450.0, 470.0)  # the head's signature image, below the signature block
SEAL_BOX = (250.0, 390.0, 350.0, 480.0)  # the seal, over the left third of the head's image
OVER_TEXT_BOX = (50.0, 650.0, 300.0, 700.0)  # over the body paragraphs


def number_box() -> tuple[float, float, float, float]:
    """The rectangle over the digits "15", in page space."""
    font = docs._register_font()
    left = docs.MARGIN + pdfmetrics.stringWidth("Số: ", font, NUMBER_SIZE)
    width = pdfmetrics.stringWidth("15", font, NUMBER_SIZE)
    return (left - 1, NUMBER_BASELINE - 3, left + width + 2, NUMBER_BASELINE + NUMBER_SIZE)


def _patch_stream(box: tuple[float, float, float, float], text: str = "16") -> bytes:
    """An appearance painting white over the box and `text` in Helvetica on it."""
    width, height = box[2] - box[0], box[3] - box[1]
    return b"q 1 1 1 rg 0 0 %.2f %.2f re f Q BT /Helv %d Tf 0 g 1 3 Td (%s) Tj ET" % (
        width,
        height,
        NUMBER_SIZE,
        text.encode("ascii"),
    )


def _white_stream(box: tuple[float, float, float, float]) -> bytes:
    return b"q 1 1 1 rg 0 0 %.2f %.2f re f Q" % (box[2] - box[0], box[3] - box[1])


# --- before signing (pikepdf) -----------------------------------------------------------------


def _helvetica(pdf: pikepdf.Pdf) -> pikepdf.Dictionary:
    font = pdf.make_indirect(
        pikepdf.Dictionary(
            Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type1, BaseFont=pikepdf.Name.Helvetica
        )
    )
    return pikepdf.Dictionary(Font=pikepdf.Dictionary(Helv=font))


def _appearance(pdf: pikepdf.Pdf, box: tuple[float, float, float, float], data: bytes) -> pikepdf.Object:
    width, height = box[2] - box[0], box[3] - box[1]
    stream = pikepdf.Stream(pdf, data)
    stream.Type = pikepdf.Name.XObject
    stream.Subtype = pikepdf.Name.Form
    stream.BBox = pikepdf.Array([0, 0, width, height])
    stream.Resources = _helvetica(pdf)
    return pdf.make_indirect(stream)


def _add_text_field(
    pdf: pikepdf.Pdf,
    name: str,
    box: tuple[float, float, float, float],
    *,
    flags: int,
    appearance: bytes | None,
) -> None:
    page = pdf.pages[0]
    widget = pikepdf.Dictionary(
        Type=pikepdf.Name.Annot,
        Subtype=pikepdf.Name.Widget,
        FT=pikepdf.Name.Tx,
        T=pikepdf.String(name),
        Rect=pikepdf.Array(list(box)),
        F=flags,
        DA=pikepdf.String("/Helv 10 Tf 0 g"),
        P=page.obj,
    )
    if appearance is not None:
        widget.AP = pikepdf.Dictionary(N=_appearance(pdf, box, appearance))
    ref = pdf.make_indirect(widget)
    if "/Annots" not in page.obj:
        page.obj.Annots = pikepdf.Array()
    page.obj.Annots.append(ref)
    if "/AcroForm" not in pdf.Root:
        pdf.Root.AcroForm = pikepdf.Dictionary(Fields=pikepdf.Array(), DA=pikepdf.String("/Helv 0 Tf 0 g"))
    pdf.Root.AcroForm.Fields.append(ref)
    pdf.Root.AcroForm.DR = _helvetica(pdf)


def _save(pdf: pikepdf.Pdf) -> bytes:
    out = io.BytesIO()
    pdf.save(out, object_stream_mode=pikepdf.ObjectStreamMode.disable, deterministic_id=True)
    return out.getvalue()


HIDDEN = 2  # annotation flag bit 2: not displayed, not printed
PRINT = 4


def with_hidden_widget(pdf: bytes) -> bytes:
    """A hidden text field over the number whose appearance says 16."""
    with pikepdf.open(io.BytesIO(pdf)) as doc:
        box = number_box()
        _add_text_field(doc, "so_hieu", box, flags=HIDDEN, appearance=_patch_stream(box))
        return _save(doc)


def with_empty_field_over_number(pdf: bytes) -> bytes:
    """An empty, transparent text field lying over the number (draws nothing when signed)."""
    with pikepdf.open(io.BytesIO(pdf)) as doc:
        _add_text_field(doc, "so_hieu", number_box(), flags=PRINT, appearance=b"")
        return _save(doc)


def with_cover_over_paragraph(pdf: bytes) -> bytes:
    """A white, opaque text field over the second paragraph: the signed page shows it blank."""
    with pikepdf.open(io.BytesIO(pdf)) as doc:
        _add_text_field(doc, "che_phu", PARAGRAPH_BOX, flags=PRINT, appearance=_white_stream(PARAGRAPH_BOX))
        return _save(doc)


def with_hidden_layer(pdf: bytes) -> bytes:
    """Optional content, OFF by default, that paints "16" over the number."""
    with pikepdf.open(io.BytesIO(pdf)) as doc:
        ocg = doc.make_indirect(pikepdf.Dictionary(Type=pikepdf.Name.OCG, Name=pikepdf.String("Lop")))
        config = doc.make_indirect(pikepdf.Dictionary(ON=pikepdf.Array(), OFF=pikepdf.Array([ocg])))
        doc.Root.OCProperties = pikepdf.Dictionary(OCGs=pikepdf.Array([ocg]), D=config)
        page = doc.pages[0]
        resources = page.obj.Resources
        resources.Properties = pikepdf.Dictionary(oc1=ocg)
        resources.Font.Helv = _helvetica(doc).Font.Helv
        box = number_box()
        layer = b"/OC /oc1 BDC q 1 0 0 1 %.2f %.2f cm " % (box[0], box[1]) + _patch_stream(box) + b" Q EMC"
        page.contents_add(pikepdf.Stream(doc, layer), prepend=False)
        return _save(doc)


def with_unused_object(pdf: bytes) -> tuple[bytes, int]:
    """An empty field over the number, and an appearance saying 16 that nothing uses yet, added
    in an incremental update before signing (pikepdf drops unreferenced objects on save)."""
    prepared = with_empty_field_over_number(pdf)
    writer = IncrementalPdfFileWriter(io.BytesIO(prepared), strict=False)
    ref = writer.add_object(_pyhanko_appearance(number_box(), _patch_stream(number_box())))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue(), ref.idnum


# --- after signing (pyHanko incremental updates) ----------------------------------------------


def _pyhanko_appearance(box: tuple[float, float, float, float], data: bytes) -> generic.StreamObject:
    helv = generic.DictionaryObject(
        {
            pdf_name("/Type"): pdf_name("/Font"),
            pdf_name("/Subtype"): pdf_name("/Type1"),
            pdf_name("/BaseFont"): pdf_name("/Helvetica"),
        }
    )
    return generic.StreamObject(
        {
            pdf_name("/Type"): pdf_name("/XObject"),
            pdf_name("/Subtype"): pdf_name("/Form"),
            pdf_name("/BBox"): generic.ArrayObject(
                [
                    generic.FloatObject(0),
                    generic.FloatObject(0),
                    generic.FloatObject(box[2] - box[0]),
                    generic.FloatObject(box[3] - box[1]),
                ]
            ),
            pdf_name("/Resources"): generic.DictionaryObject(
                {pdf_name("/Font"): generic.DictionaryObject({pdf_name("/Helv"): helv})}
            ),
        },
        stream_data=data,
    )


def _update(pdf: bytes, change: Callable[[IncrementalPdfFileWriter], None]) -> bytes:
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
    change(writer)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _field(writer: IncrementalPdfFileWriter, name: str) -> generic.DictionaryObject:
    for ref in writer.root["/AcroForm"]["/Fields"]:
        field = ref.get_object()
        if isinstance(field, generic.DictionaryObject) and field.get("/T") == name:
            return field
    raise KeyError(name)


def unhide_widget(pdf: bytes) -> bytes:
    """Shadow "hide" via the annotation flags: clear the hidden flag of the signed widget."""

    def change(writer: IncrementalPdfFileWriter) -> None:
        widget = _field(writer, "so_hieu")
        widget[pdf_name("/F")] = generic.NumberObject(PRINT)
        writer.update_container(widget)

    return _update(pdf, change)


def fill_field_over_number(pdf: bytes) -> bytes:
    """Shadow "replace": fill the field lying over the number, its new appearance saying 16."""

    def change(writer: IncrementalPdfFileWriter) -> None:
        widget = _field(writer, "so_hieu")
        widget[pdf_name("/V")] = generic.TextStringObject("16")
        ap = writer.add_object(_pyhanko_appearance(number_box(), _patch_stream(number_box())))
        widget[pdf_name("/AP")] = generic.DictionaryObject({pdf_name("/N"): ap})
        writer.update_container(widget)

    return _update(pdf, change)


def point_appearance_at(pdf: bytes, existing: int) -> bytes:
    """Shadow "hide-and-replace": point the field's appearance at an object that was already in
    the signed revision, unused."""

    def change(writer: IncrementalPdfFileWriter) -> None:
        widget = _field(writer, "so_hieu")
        widget[pdf_name("/AP")] = generic.DictionaryObject(
            {pdf_name("/N"): generic.IndirectObject(existing, 0, writer)}
        )
        writer.update_container(widget)

    return _update(pdf, change)


def empty_cover(pdf: bytes) -> bytes:
    """Shadow "hide": the signed cover's appearance replaced by an empty one."""

    def change(writer: IncrementalPdfFileWriter) -> None:
        widget = _field(writer, "che_phu")
        widget[pdf_name("/V")] = generic.TextStringObject("")
        ap = writer.add_object(_pyhanko_appearance(PARAGRAPH_BOX, b""))
        widget[pdf_name("/AP")] = generic.DictionaryObject({pdf_name("/N"): ap})
        writer.update_container(widget)

    return _update(pdf, change)


def toggle_layer(pdf: bytes) -> bytes:
    """Optional content switched on after signing: only the default configuration changes."""

    def change(writer: IncrementalPdfFileWriter) -> None:
        properties = writer.root["/OCProperties"]
        config = properties["/D"]
        config[pdf_name("/ON")] = generic.ArrayObject(list(properties["/OCGs"]))
        config[pdf_name("/OFF")] = generic.ArrayObject()
        writer.update_container(config)

    return _update(pdf, change)


def add_signature_field(
    pdf: bytes, name: str, box: tuple[float, float, float, float], appearance: bytes
) -> bytes:
    """Sneaky Signature: a new, unsigned signature field whose visible appearance is `appearance`."""

    def change(writer: IncrementalPdfFileWriter) -> None:
        spec = fields.SigFieldSpec(name, on_page=0, box=tuple(int(v) for v in box))  # type: ignore[arg-type]
        fields.append_signature_field(writer, spec)
        widget = _field(writer, name)
        ap = writer.add_object(_pyhanko_appearance(_int_box(box), appearance))
        widget[pdf_name("/AP")] = generic.DictionaryObject({pdf_name("/N"): ap})
        writer.update_container(widget)

    return _update(pdf, change)


def _int_box(box: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
    return tuple(float(int(v)) for v in box)  # type: ignore[return-value]


def patch_over_number() -> bytes:
    return _patch_stream(_int_box(number_box()))


# --- honest workflows the check must keep accepting --------------------------------------------

FIELD_BOX = (56.0, 60.0, 300.0, 84.0)  # bottom left of page 1: blank


def with_empty_field_on_blank(pdf: bytes) -> bytes:
    """An empty text field on blank paper, to be filled in after a first signature."""
    with pikepdf.open(io.BytesIO(pdf)) as doc:
        _add_text_field(doc, "ghi_chu", FIELD_BOX, flags=PRINT, appearance=b"")
        return _save(doc)


def fill_field(pdf: bytes, name: str = "ghi_chu", text: str = "Da xem xet") -> bytes:
    """Fill a text field as a viewer does: the value and a new appearance showing it."""

    def change(writer: IncrementalPdfFileWriter) -> None:
        widget = _field(writer, name)
        widget[pdf_name("/V")] = generic.TextStringObject(text)
        box = tuple(float(v) for v in widget["/Rect"])
        data = b"BT /Helv %d Tf 0 g 2 6 Td (%s) Tj ET" % (NUMBER_SIZE, text.encode("ascii"))
        ap = writer.add_object(_pyhanko_appearance(box, data))  # type: ignore[arg-type]
        widget[pdf_name("/AP")] = generic.DictionaryObject({pdf_name("/N"): ap})
        writer.update_container(widget)

    return _update(pdf, change)


def sign_visible(
    pdf: bytes,
    signer: Signer,
    *,
    field: str,
    box: tuple[float, float, float, float],
    options: docs.SignOptions,
) -> bytes:
    """Sign into a new visible field with pyHanko's default stamp (signer name, time)."""
    if options.signing_time is None:
        raise ValueError("signing_time is required (time is injected)")
    cred = signer.credential
    simple = signers.SimpleSigner(
        signing_cert=cred.asn1_cert,
        signing_key=cred.asn1_key,
        cert_registry=SimpleCertificateStore.from_certs([c.asn1_cert for c in signer.chain]),
    )
    meta = signers.PdfSignatureMetadata(field_name=field)
    spec = fields.SigFieldSpec(field, on_page=0, box=tuple(int(v) for v in box))  # type: ignore[arg-type]
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
    pdf_signer = docs._TimedPdfSigner(meta, simple, new_field_spec=spec, signing_time=options.signing_time)
    out = pdf_signer.sign_pdf(writer, bytes_reserved=docs.SIGNATURE_RESERVE)
    return bytes(out.getvalue())


def with_free_text_over_number(pdf: bytes) -> bytes:
    """A FreeText annotation whose appearance paints "16" over the number, added before signing
    (so the signature covers it: the signed document shows 16)."""
    with pikepdf.open(io.BytesIO(pdf)) as doc:
        box = number_box()
        page = doc.pages[0]
        annot = pikepdf.Dictionary(
            Type=pikepdf.Name.Annot,
            Subtype=pikepdf.Name.FreeText,
            Rect=pikepdf.Array(list(box)),
            Contents=pikepdf.String("16"),
            DA=pikepdf.String("/Helv 10 Tf 0 g"),
            F=PRINT,
            AP=pikepdf.Dictionary(N=_appearance(doc, box, _patch_stream(box))),
        )
        page.obj.Annots = pikepdf.Array([doc.make_indirect(annot)])
        return _save(doc)


def with_value_not_shown(pdf: bytes) -> bytes:
    """A field over the number whose value is "16" but whose appearance draws nothing."""
    with pikepdf.open(io.BytesIO(pdf)) as doc:
        _add_text_field(doc, "so_hieu", number_box(), flags=PRINT, appearance=b"")
        doc.Root.AcroForm.Fields[0].V = pikepdf.String("16")
        return _save(doc)


def ask_viewers_to_redraw_fields(pdf: bytes) -> bytes:
    """Set /NeedAppearances: viewers then draw fields from their values."""

    def change(writer: IncrementalPdfFileWriter) -> None:
        form = writer.root["/AcroForm"]
        form[pdf_name("/NeedAppearances")] = generic.BooleanObject(True)
        writer.update_container(form)

    return _update(pdf, change)
