# mypy: disable-error-code="no-untyped-call"
"""Changes after signing that pyHanko's difference analysis allows (form filling, a new signature
field) but that change what a reader sees. Each must be MODIFIED_AFTER_SIGNING.

- "Shadow Attacks: Hiding and Replacing Content in Signed PDFs" (Mainka, Mladenov, Rohlmann,
  Schwenk, NDSS 2021): hide (a widget's hidden flag cleared; a cover's appearance emptied;
  optional content switched on), replace (a field filled with an appearance painting over the
  number; a field whose value is 16 but whose appearance is empty, then /NeedAppearances set
  so that viewers draw the value), hide-and-replace (an appearance pointed at an object already
  in the signed revision, unused).
- "Breaking the Specification: PDF Certification" (Rohlmann, Mladenov, Mainka, Schwenk, IEEE S&P
  2021): Sneaky Signature (a new signature field whose appearance covers signed content: left
  unsigned, signed by another trusted signer, or holding a document timestamp from an unknown
  TSA). Evil Annotation (a FreeText over the number) is `test_verify::overlay_annotation`.
- The check generalises EU DSS's visual comparison of the signed revision with the final file:
  only new signature appearances on blank paper may change pixels.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass, replace

import pytest
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import signers

from contracts.vocabulary import Decision, ModifiedAfter, ReasonCode
from services.evidence_verifier.limits import Limits
from services.evidence_verifier.policy import Expectations, VerifierPolicy
from services.evidence_verifier.testkit import documents as docs
from services.evidence_verifier.testkit.evidence import spec_for
from services.evidence_verifier.testkit.pki import TestPKI
from services.evidence_verifier.testkit.timestamps import dummy_tsa, untrusted_tsa
from services.evidence_verifier.verify import Outcome, verify_bytes
from services.evidence_verifier.visual_check import VisualCheck
from tests.evidence_verifier import shadow
from tests.evidence_verifier.conftest import PKI_NOW


@dataclass(frozen=True)
class Kit:
    pki: TestPKI
    stamped: docs.SignOptions

    @property
    def plain(self) -> bytes:
        return docs.make_document(spec_for(self.pki.units[0]))

    def sign(self, pdf: bytes) -> bytes:
        return docs.sign_pdf(pdf, self.pki.units[0].organisation, self.stamped)


@pytest.fixture(scope="module")
def kit(pki: TestPKI, stamped: docs.SignOptions) -> Kit:
    return Kit(pki, stamped)


def _unhide(kit: Kit) -> bytes:
    return shadow.unhide_widget(kit.sign(shadow.with_hidden_widget(kit.plain)))


def _fill_over_number(kit: Kit) -> bytes:
    return shadow.fill_field_over_number(kit.sign(shadow.with_empty_field_over_number(kit.plain)))


def _unused_object(kit: Kit) -> bytes:
    prepared, unused = shadow.with_unused_object(kit.plain)
    return shadow.point_appearance_at(kit.sign(prepared), unused)


def _redraw_fields(kit: Kit) -> bytes:
    return shadow.ask_viewers_to_redraw_fields(kit.sign(shadow.with_value_not_shown(kit.plain)))


def _empty_cover(kit: Kit) -> bytes:
    return shadow.empty_cover(kit.sign(shadow.with_cover_over_paragraph(kit.plain)))


def _toggle_layer(kit: Kit) -> bytes:
    return shadow.toggle_layer(kit.sign(shadow.with_hidden_layer(kit.plain)))


def _unsigned_signature_field(kit: Kit) -> bytes:
    return shadow.add_signature_field(
        kit.sign(kit.plain), "ChuKyMoi", shadow.number_box(), shadow.patch_over_number()
    )


def _signed_by_another(kit: Kit) -> bytes:
    """A second trusted signer (the unit's head) signs into a visible field placed over the
    number, with a stamp appearance drawn over it."""
    signed = kit.sign(kit.plain)
    with_field = shadow.add_signature_field(
        signed, "ChuKyCaNhan", shadow.number_box(), shadow.patch_over_number()
    )
    return docs.sign_pdf(
        with_field,
        kit.pki.units[0].person,
        docs.SignOptions(field_name="ChuKyCaNhan", signing_time=PKI_NOW, tsa=kit.pki.tsa),
    )


def _timestamp_unknown_tsa(kit: Kit) -> bytes:
    """A document timestamp from an unknown TSA in a visible field over the number."""
    signed = kit.sign(kit.plain)
    with_field = shadow.add_signature_field(
        signed, "DauThoiGian", shadow.number_box(), shadow.patch_over_number()
    )
    writer = IncrementalPdfFileWriter(io.BytesIO(with_field), strict=False)
    stamper = signers.PdfTimeStamper(dummy_tsa(untrusted_tsa(kit.pki), PKI_NOW), field_name="DauThoiGian")
    return bytes(stamper.timestamp_pdf(writer, "sha256").getvalue())


ATTACKS: dict[str, Callable[[Kit], bytes]] = {
    "shadow_hide_widget_flag_cleared": _unhide,
    "shadow_replace_field_filled_over_number": _fill_over_number,
    "shadow_hide_and_replace_unused_object": _unused_object,
    "shadow_hide_cover_emptied": _empty_cover,
    "shadow_replace_need_appearances_set": _redraw_fields,
    "shadow_hide_optional_content_on": _toggle_layer,
    "sneaky_signature_unsigned_field": _unsigned_signature_field,
    "sneaky_signature_signed_by_another_trusted_signer": _signed_by_another,
    "sneaky_signature_timestamp_from_unknown_tsa": _timestamp_unknown_tsa,
}


@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_visible_change_after_signing_is_modified(
    attack: str, kit: Kit, verify: Callable[..., Outcome]
) -> None:
    report = verify(ATTACKS[attack](kit)).report
    assert report.decision is Decision.REJECTED
    assert ReasonCode.MODIFIED_AFTER_SIGNING in report.reasons
    organisation = report.signatures[0]
    assert organisation.intact  # the signature itself is fine: what was done after it is not
    assert organisation.modified_after is ModifiedAfter.DISALLOWED


def test_optional_content_switched_on_is_a_visible_change(kit: Kit) -> None:
    """pyHanko already refuses a changed /OCProperties; the render check sees it on its own."""
    signed = kit.sign(shadow.with_hidden_layer(kit.plain))
    toggled = shadow.toggle_layer(signed)
    reader = PdfFileReader(io.BytesIO(toggled), strict=False)
    embedded = reader.embedded_signatures[0]
    check = VisualCheck(reader, Limits())
    assert not check.unchanged_after(embedded.signed_revision, len(signed))
    untouched = PdfFileReader(
        io.BytesIO(shadow.add_signature_field(signed, "Trong", shadow.BLANK_BOX, b"")), strict=False
    )
    assert VisualCheck(untouched, Limits()).unchanged_after(0, len(signed)) is True


# --- honest workflows stay accepted ------------------------------------------------------------


def test_second_visible_signature_on_blank_paper_is_accepted(
    kit: Kit, verify: Callable[..., Outcome]
) -> None:
    signed = kit.sign(kit.plain)
    approved = shadow.sign_visible(
        signed, kit.pki.units[1].organisation, field="PheDuyet", box=shadow.BLANK_BOX, options=kit.stamped
    )
    report = verify(approved).report
    assert report.decision is Decision.ACCEPTED, report.reasons
    assert report.signatures[0].modified_after is ModifiedAfter.ALLOWED


def test_form_filled_then_signed_again_is_accepted(kit: Kit, verify: Callable[..., Outcome]) -> None:
    """The head signs the form, an officer fills in a field on blank paper, the organisation
    signs the filled form: the fill is attested by the later signature."""
    unit = kit.pki.units[0]
    form = shadow.with_empty_field_on_blank(kit.plain)
    first = docs.sign_pdf(
        form, unit.person, docs.SignOptions(field_name="ChuKyCaNhan", signing_time=PKI_NOW, tsa=kit.pki.tsa)
    )
    filled = shadow.fill_field(first)
    sealed = docs.sign_pdf(filled, unit.organisation, kit.stamped)
    report = verify(sealed).report
    assert report.decision is Decision.ACCEPTED, report.reasons
    assert [s.modified_after for s in report.signatures] == [ModifiedAfter.ALLOWED, ModifiedAfter.NONE]


def test_form_filled_after_the_last_signature_is_modified(kit: Kit, verify: Callable[..., Outcome]) -> None:
    """Filling a field on blank paper after the last signature is a visible change nobody signed."""
    signed = kit.sign(shadow.with_empty_field_on_blank(kit.plain))
    report = verify(shadow.fill_field(signed)).report
    assert report.decision is Decision.REJECTED
    assert report.reasons == [ReasonCode.MODIFIED_AFTER_SIGNING]


def test_past_the_object_walk_bound_every_page_is_compared(kit: Kit) -> None:
    """More objects than `revision_walk_objects`: no page is skipped, the attack still shows."""
    attacked = _fill_over_number(kit)
    reader = PdfFileReader(io.BytesIO(attacked), strict=False)
    embedded = reader.embedded_signatures[0]
    end = int(embedded.byte_range[2]) + int(embedded.byte_range[3])
    check = VisualCheck(reader, Limits(revision_walk_objects=1))
    assert not check.unchanged_after(embedded.signed_revision, end)
    assert check.rendered == 2


def test_past_the_render_budget_a_person_decides(
    kit: Kit, policy: VerifierPolicy, expected: Expectations
) -> None:
    tight = replace(policy, limits=Limits(render_pages=1))
    report = verify_bytes(_fill_over_number(kit), name="t.pdf", policy=tight, expected=expected).report
    assert report.reasons == [ReasonCode.RESOURCE_LIMIT]
    assert report.decision is Decision.NEEDS_REVIEW


def test_seal_overlapping_the_heads_visible_signature_is_accepted(
    kit: Kit, verify: Callable[..., Outcome]
) -> None:
    """Decree 30/2020/NĐ-CP: the organisation's seal image covers about a third of the head's
    signature image, on its left. A later signature may draw over an earlier signature's
    appearance (not document content) as long as what is under both is blank paper."""
    unit = kit.pki.units[0]
    head = shadow.sign_visible(
        kit.plain, unit.person, field="ChuKyCaNhan", box=shadow.HEAD_BOX, options=kit.stamped
    )
    sealed = shadow.sign_visible(
        head, unit.organisation, field="ChuKyToChuc", box=shadow.SEAL_BOX, options=kit.stamped
    )
    report = verify(sealed).report
    assert report.decision is Decision.ACCEPTED, report.reasons
    assert [s.modified_after for s in report.signatures] == [ModifiedAfter.ALLOWED, ModifiedAfter.NONE]


def test_seal_over_the_signed_text_is_modified(kit: Kit, verify: Callable[..., Outcome]) -> None:
    unit = kit.pki.units[0]
    head = docs.sign_pdf(
        kit.plain,
        unit.person,
        docs.SignOptions(field_name="ChuKyCaNhan", signing_time=PKI_NOW, tsa=kit.pki.tsa),
    )
    sealed = shadow.sign_visible(
        head, unit.organisation, field="ChuKyToChuc", box=shadow.OVER_TEXT_BOX, options=kit.stamped
    )
    report = verify(sealed).report
    assert ReasonCode.MODIFIED_AFTER_SIGNING in report.reasons
    assert report.signatures[0].modified_after is ModifiedAfter.DISALLOWED


def test_several_visible_signatures_side_by_side_are_accepted(
    kit: Kit, verify: Callable[..., Outcome]
) -> None:
    """Approval rounds: each signer's stamp on blank paper beside the previous ones, each
    earlier signature compared with the final page through every later stamp."""
    signers_in_turn = [kit.pki.units[0].person, kit.pki.units[1].organisation, kit.pki.units[0].organisation]
    data = kit.plain
    for i, signer in enumerate(signers_in_turn):
        left = 60.0 + 170.0 * i
        data = shadow.sign_visible(
            data, signer, field=f"Ky{i}", box=(left, 150.0, left + 160.0, 200.0), options=kit.stamped
        )
    report = verify(data).report
    assert report.decision is Decision.ACCEPTED, report.reasons
    assert [s.modified_after for s in report.signatures] == [ModifiedAfter.ALLOWED] * 2 + [ModifiedAfter.NONE]


def test_unsigned_signature_field_drawing_on_blank_paper_is_modified(
    kit: Kit, verify: Callable[..., Outcome]
) -> None:
    """Only a signature's appearance may be new: an unsigned field saying "ĐÃ HỦY" (cancelled)
    on blank paper is a change nobody signed."""
    stamp = b"BT /Helv 10 Tf 0 g 2 10 Td (DA HUY) Tj ET"
    added = shadow.add_signature_field(kit.sign(kit.plain), "Trong", shadow.BLANK_BOX, stamp)
    report = verify(added).report
    assert report.reasons == [ReasonCode.MODIFIED_AFTER_SIGNING]
