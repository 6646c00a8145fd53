"""The criteria-set model: a tree of fields, criteria and sub-criteria with Decimal maxima.

Criteria are data, versioned by issuer, decision and year (DOMAIN.md). A node whose official
points the seeds do not give is marked `template=True` and may have no maximum; validation
reports such nodes as warnings instead of letting invented numbers pass as official.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum

# One vocabulary for levels across criteria sets and events.
from contracts.vocabulary import Level as Level

# "1", "1.1", "1.1.1", "8.4.1.1": positive integers joined by dots.
CODE_PATTERN = re.compile(r"^[1-9][0-9]*(\.[1-9][0-9]*)*$")
CODE_SEPARATOR = "."
# The index is on a 100-point scale (seed 003, III.1.b).
STANDARD_TOTAL = Decimal(100)
# Depths named by the seeds: field (lĩnh vực), criterion (tiêu chí), sub-criterion (thành phần).
FIELD_DEPTH = 1
CRITERION_DEPTH = 2
SUBCRITERION_DEPTH = 3


class Source(StrEnum):
    """Where a leaf's points come from (seed 003, III.1.c)."""

    SELF_ASSESSED = "self_assessed"
    SURVEY = "survey"


class CountKind(StrEnum):
    """Counts a decision states ("8 lĩnh vực, 34 tiêu chí, 99 tiêu chí thành phần")."""

    FIELDS = "fields"
    CRITERIA = "criteria"
    SUBCRITERIA = "subcriteria"


COUNT_DEPTH: dict[CountKind, int] = {
    CountKind.FIELDS: FIELD_DEPTH,
    CountKind.CRITERIA: CRITERION_DEPTH,
    CountKind.SUBCRITERIA: SUBCRITERION_DEPTH,
}


def code_depth(code: str) -> int:
    return code.count(CODE_SEPARATOR) + 1


def parent_code(code: str) -> str:
    """ "1.2.3" -> "1.2"; a field's parent is the set root, ""."""
    head, _, _ = code.rpartition(CODE_SEPARATOR)
    return head


def is_valid_code(code: str) -> bool:
    return bool(CODE_PATTERN.match(code))


@dataclass(frozen=True)
class Node:
    """A field, criterion or sub-criterion. A node without children is a leaf (scored)."""

    code: str
    title: str
    maximum: Decimal | None = None
    # Explicit source; None inherits from the parent (default self-assessed).
    source: Source | None = None
    # Explicit allowed step for points (0.25, 0.5); None inherits from the parent.
    step: Decimal | None = None
    template: bool = False
    children: tuple[Node, ...] = ()
    note: str = ""
    # Counts the decision states for this node's subtree, checked by validation.
    declared_counts: tuple[tuple[CountKind, int], ...] = ()

    @property
    def is_leaf(self) -> bool:
        return not self.children

    def walk(self) -> Iterator[Node]:
        yield self
        for child in self.children:
            yield from child.walk()


_Inherited = tuple[str, Source, Decimal | None]


@dataclass(frozen=True)
class CriteriaSet:
    issuer: str
    decision: str
    level: Level
    years: tuple[int, ...]
    fields: tuple[Node, ...]
    title: str = ""
    decision_date: str = ""
    total: Decimal = STANDARD_TOTAL
    # Where the decision fixes a total other than 100 (e.g. a 60-point set for central agencies
    # located in the province); without it such a total is refused as a typo.
    total_basis: str = ""
    source_totals: tuple[tuple[Source, Decimal], ...] = ()
    step: Decimal | None = None
    declared_counts: tuple[tuple[CountKind, int], ...] = ()
    # Decision numbers of the overlays applied by `resolve`, in order.
    amendments: tuple[str, ...] = ()
    note: str = ""
    # The whole set is known to be incomplete (an appendix fragment: fields missing); its `note`
    # says why. Such a set, like one with any template node, is never scored.
    template: bool = False

    @property
    def is_template(self) -> bool:
        """Incomplete: the set or any node is a template (official points or parts missing)."""
        return self.template or any(node.template for node in self.walk())

    def walk(self) -> Iterator[Node]:
        for node in self.fields:
            yield from node.walk()

    def leaves(self) -> Iterator[Node]:
        return (node for node in self.walk() if node.is_leaf)

    def node(self, code: str) -> Node | None:
        return next((node for node in self.walk() if node.code == code), None)

    @property
    def decisions(self) -> tuple[str, ...]:
        """The base decision followed by every amending decision."""
        return (self.decision, *self.amendments)

    def effective_sources(self) -> dict[str, Source]:
        """Each node's source after inheritance (default self-assessed)."""
        return {code: src for code, src, _ in self._inherited()}

    def effective_steps(self) -> dict[str, Decimal | None]:
        return {code: step for code, _, step in self._inherited()}

    def _inherited(self) -> Iterator[tuple[str, Source, Decimal | None]]:
        def visit(
            node: Node, src: Source, step: Decimal | None
        ) -> Iterator[tuple[str, Source, Decimal | None]]:
            own_src = node.source or src
            own_step = node.step if node.step is not None else step
            yield node.code, own_src, own_step
            for child in node.children:
                yield from visit(child, own_src, own_step)

        for top in self.fields:
            yield from visit(top, Source.SELF_ASSESSED, self.step)


class Scope(StrEnum):
    """Whom a national PAR INDEX field table assesses. Not a `Level`: the project scores sở,
    huyện and xã units of a province; provinces and ministries are ranked by Bộ Nội vụ."""

    PROVINCE = "province"  # UBND tỉnh, thành phố trực thuộc Trung ương
    MINISTRY = "ministry"  # bộ, cơ quan ngang bộ


@dataclass(frozen=True)
class FieldTable:
    """A field-level template of a national scheme (QĐ 2948/QĐ-BNV): each field (lĩnh vực) with
    its maximum and the counts of criteria and sub-criteria the source states, nothing below.
    Reference data for whoever transcribes a full set: never a `CriteriaSet`, never scored."""

    issuer: str
    decision: str
    scope: Scope
    years: tuple[int, ...]
    fields: tuple[Node, ...]
    decision_date: str = ""
    title: str = ""
    total: Decimal = STANDARD_TOTAL
    declared_counts: tuple[tuple[CountKind, int], ...] = ()
    note: str = ""


class OverlayOp(StrEnum):
    SET_MAXIMUM = "set_maximum"
    RENAME = "rename"
    EXCLUDE = "exclude"
    MARK_TEMPLATE = "mark_template"


@dataclass(frozen=True)
class OverlayChange:
    op: OverlayOp
    code: str
    maximum: Decimal | None = None
    # The value the amending document says it replaces ("từ 03 điểm"), checked on resolve.
    previous_maximum: Decimal | None = None
    title: str = ""
    note: str = ""


@dataclass(frozen=True)
class Overlay:
    """An amendment to a base set for some years (seed 000 amends QĐ 2971/QĐ-UBND for 2023)."""

    issuer: str
    decision: str
    base_decision: str
    base_level: Level
    years: tuple[int, ...]
    changes: tuple[OverlayChange, ...] = field(default_factory=tuple)
    note: str = ""
