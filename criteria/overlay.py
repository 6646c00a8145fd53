"""Amendments (overlays) applied to a base set for one year.

Seed 000 (Hồng Ngự, 2024) amends QĐ 2971/QĐ-UBND for 2023: item 2 from 3 to 4 points,
criterion 7.2 renamed with its points redistributed, criterion 7.3 no longer scored.
`resolve` returns the effective set and records each applied overlay's decision number in
`CriteriaSet.amendments`, next to the base decision.

`set_maximum` changes exactly the node named: an amendment that raises a criterion must also
say what happens to its parent or children, or validation reports the mismatch. `exclude`
takes a node out of scoring and every ancestor that states a maximum loses its points, as
with criteria that do not apply. The declared total is never touched, so validation reports
an amended set whose sum no longer equals it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from decimal import Decimal

from criteria.errors import CriteriaError, CriteriaReason
from criteria.model import CriteriaSet, Node, Overlay, OverlayChange, OverlayOp, parent_code
from criteria.validation import effective_maximum

_Edit = Callable[[Node], Node | None]


def _edit(nodes: tuple[Node, ...], code: str, edit: _Edit) -> tuple[tuple[Node, ...], bool]:
    """Apply `edit` to the node with `code` (None removes it); report whether it was found."""
    out: list[Node] = []
    found = False
    for node in nodes:
        if node.code == code:
            found = True
            replaced = edit(node)
            if replaced is not None:
                out.append(replaced)
            continue
        if not found and node.children and code.startswith(node.code + "."):
            children, found = _edit(node.children, code, edit)
            node = dataclasses.replace(node, children=children)
        out.append(node)
    return tuple(out), found


def _ancestors(code: str) -> list[str]:
    out: list[str] = []
    while (code := parent_code(code)) != "":
        out.append(code)
    return out


def _shift_ancestors(fields: tuple[Node, ...], code: str, delta: Decimal) -> tuple[Node, ...]:
    for ancestor in _ancestors(code):

        def shift(node: Node) -> Node:
            if node.maximum is None:
                return node
            return dataclasses.replace(node, maximum=node.maximum + delta)

        fields, _ = _edit(fields, ancestor, shift)
    return fields


def _apply(cset: CriteriaSet, change: OverlayChange, decision: str) -> CriteriaSet:
    current = cset.node(change.code)
    if current is None:
        raise CriteriaError(
            CriteriaReason.OVERLAY_UNKNOWN_CODE, f"{decision} changes a code the base set lacks", change.code
        )
    fields = cset.fields
    before = effective_maximum(current)
    if change.op is OverlayOp.SET_MAXIMUM:
        if change.previous_maximum is not None and before is not None and before != change.previous_maximum:
            raise CriteriaError(
                CriteriaReason.OVERLAY_BASE_MISMATCH,
                f"{decision} says the maximum was {change.previous_maximum}, the base set has {before}",
                change.code,
            )
        new_max = change.maximum
        fields, _ = _edit(fields, change.code, lambda n: dataclasses.replace(n, maximum=new_max))
    elif change.op is OverlayOp.RENAME:
        fields, _ = _edit(fields, change.code, lambda n: dataclasses.replace(n, title=change.title))
    elif change.op is OverlayOp.MARK_TEMPLATE:
        fields, _ = _edit(fields, change.code, lambda n: dataclasses.replace(n, template=True))
    elif change.op is OverlayOp.EXCLUDE:
        fields, _ = _edit(fields, change.code, lambda n: None)
        if before is not None:
            fields = _shift_ancestors(fields, change.code, -before)
    if change.note:
        fields, _ = _edit(
            fields,
            change.code,
            lambda n: dataclasses.replace(n, note=f"{n.note} {change.note}".strip()),
        )
    return dataclasses.replace(cset, fields=fields)


def resolve(base: CriteriaSet, overlays: Iterable[Overlay], year: int) -> CriteriaSet:
    """The set in force for `year`: `base` with every overlay covering that year applied in order."""
    if year not in base.years:
        raise CriteriaError(
            CriteriaReason.YEAR_NOT_COVERED, f"{base.decision} does not cover {year} (covers {base.years})"
        )
    effective = dataclasses.replace(base, years=(year,))
    for overlay in overlays:
        if overlay.base_decision != base.decision or overlay.base_level is not base.level:
            raise CriteriaError(
                CriteriaReason.OVERLAY_BASE_MISMATCH,
                f"overlay {overlay.decision} amends {overlay.base_decision} ({overlay.base_level.value}),"
                f" not {base.decision} ({base.level.value})",
            )
        if year not in overlay.years:
            continue
        for change in overlay.changes:
            effective = _apply(effective, change, overlay.decision)
        effective = dataclasses.replace(effective, amendments=(*effective.amendments, overlay.decision))
    return effective
