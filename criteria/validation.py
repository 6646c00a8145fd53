"""Checks on a criteria set. Every problem is reported, each with its code path and reason.

Sums that involve a `template` node (points the seeds do not give) are reported as warnings:
the data is known to be incomplete there, and an error would only repeat that fact.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from criteria.errors import CriteriaReason, Issue, Severity
from criteria.model import (
    COUNT_DEPTH,
    STANDARD_TOTAL,
    CountKind,
    CriteriaSet,
    FieldTable,
    Node,
    Source,
    code_depth,
    is_valid_code,
    parent_code,
)

ZERO = Decimal(0)


@dataclass(frozen=True)
class ValidationReport:
    issues: tuple[Issue, ...]

    @property
    def errors(self) -> tuple[Issue, ...]:
        return tuple(i for i in self.issues if i.severity is Severity.ERROR)

    @property
    def warnings(self) -> tuple[Issue, ...]:
        return tuple(i for i in self.issues if i.severity is Severity.WARNING)

    @property
    def ok(self) -> bool:
        return not self.errors

    def reasons(self) -> set[tuple[str, CriteriaReason]]:
        """(path, reason) pairs, convenient for callers and tests."""
        return {(i.path, i.reason) for i in self.issues}


def effective_maximum(node: Node) -> Decimal | None:
    """A node's own maximum, or the sum of its children's when it states none and all are known."""
    if node.maximum is not None:
        return node.maximum
    if not node.children:
        return None
    parts = [effective_maximum(child) for child in node.children]
    if any(p is None for p in parts):
        return None
    return sum((p for p in parts if p is not None), ZERO)


def _has_template(node: Node) -> bool:
    return any(n.template for n in node.walk())


def _severity(incomplete: bool) -> Severity:
    return Severity.WARNING if incomplete else Severity.ERROR


class _Checker:
    def __init__(self, cset: CriteriaSet) -> None:
        self.cset = cset
        self.issues: list[Issue] = []
        self.set_incomplete = cset.is_template

    def add(
        self, reason: CriteriaReason, path: str, message: str, severity: Severity = Severity.ERROR
    ) -> None:
        self.issues.append(Issue(reason, path, message, severity))

    def run(self) -> ValidationReport:
        cset = self.cset
        if not cset.fields:
            self.add(CriteriaReason.EMPTY_SET, "", "the set has no fields")
        if cset.template:
            self.add(
                CriteriaReason.TEMPLATE_NODE,
                "",
                f"template set (incomplete source): {cset.note or 'no reason given'}",
                Severity.WARNING,
            )
        self.check_codes()
        for top in cset.fields:
            self.check_node(top, parent="", explicit_source=None)
        self.check_total()
        self.check_sources()
        self.check_steps()
        self.check_counts(
            "", cset.declared_counts, list(cset.walk()), depth=0, incomplete=self.set_incomplete
        )
        return ValidationReport(tuple(self.issues))

    def check_codes(self) -> None:
        counts = Counter(node.code for node in self.cset.walk())
        for code, count in counts.items():
            if count > 1:
                self.add(CriteriaReason.DUPLICATE_CODE, code, f"code appears {count} times")

    def check_node(self, node: Node, parent: str, explicit_source: Source | None) -> None:
        path = node.code
        if not is_valid_code(node.code):
            self.add(CriteriaReason.BAD_CODE_FORMAT, path, f"{node.code!r} is not like 1, 1.1 or 8.4.1.1")
        elif parent_code(node.code) != parent:
            where = f"under {parent!r}" if parent else "at the top level"
            self.add(CriteriaReason.CODE_NOT_NESTED, path, f"code {node.code!r} does not belong {where}")
        if node.template:
            self.add(
                CriteriaReason.TEMPLATE_NODE,
                path,
                "template: official points not given by the source document",
                Severity.WARNING,
            )
        if node.maximum is not None and node.maximum <= ZERO:
            self.add(CriteriaReason.NON_POSITIVE_MAXIMUM, path, f"maximum {node.maximum} must be above 0")
        if node.is_leaf and node.maximum is None and not node.template:
            self.add(CriteriaReason.MISSING_MAXIMUM, path, "a leaf needs 'max' (or template: true)")
        if node.source is not None and explicit_source is not None and node.source is not explicit_source:
            self.add(
                CriteriaReason.SOURCE_CONFLICT,
                path,
                f"source {node.source.value} inside a {explicit_source.value} node",
            )
        if node.children and node.maximum is not None:
            parts = [effective_maximum(child) for child in node.children]
            if all(p is not None for p in parts):
                total = sum((p for p in parts if p is not None), ZERO)
                if total != node.maximum:
                    self.add(
                        CriteriaReason.PARENT_SUM_MISMATCH,
                        path,
                        f"maximum {node.maximum} but children sum to {total}",
                        _severity(_has_template(node)),
                    )
        self.check_counts(
            path, node.declared_counts, list(node.walk()), code_depth(node.code), _has_template(node)
        )
        inherited = node.source if node.source is not None else explicit_source
        for child in node.children:
            self.check_node(child, node.code, inherited)

    def check_total(self) -> None:
        cset = self.cset
        if cset.total != STANDARD_TOTAL and not cset.total_basis.strip():
            self.add(
                CriteriaReason.TOTAL_NOT_100,
                "",
                f"declared total {cset.total}, the index scale is 100;"
                " a decision that fixes another total is cited in 'total_basis'",
            )
        parts = [effective_maximum(top) for top in cset.fields]
        if cset.fields and all(p is not None for p in parts):
            total = sum((p for p in parts if p is not None), ZERO)
            if total != cset.total:
                self.add(
                    CriteriaReason.TOTAL_MISMATCH,
                    "",
                    f"fields sum to {total}, declared total is {cset.total}",
                    _severity(self.set_incomplete),
                )

    def check_sources(self) -> None:
        cset = self.cset
        if not cset.source_totals:
            return
        declared = dict(cset.source_totals)
        declared_sum = sum(declared.values(), ZERO)
        if declared_sum != cset.total:
            self.add(
                CriteriaReason.SOURCE_TOTAL_MISMATCH,
                "",
                f"source totals sum to {declared_sum}, declared total is {cset.total}",
            )
        sources = cset.effective_sources()
        actual: dict[Source, Decimal] = dict.fromkeys(Source, ZERO)
        unknown = False
        for leaf in cset.leaves():
            if leaf.maximum is None:
                unknown = True
                continue
            actual[sources[leaf.code]] += leaf.maximum
        for src, amount in declared.items():
            if actual[src] != amount:
                self.add(
                    CriteriaReason.SOURCE_TOTAL_MISMATCH,
                    "",
                    f"{src.value} leaves sum to {actual[src]}, declared {amount}"
                    + (" (some leaves have no points yet)" if unknown else ""),
                    _severity(unknown or self.set_incomplete),
                )

    def check_steps(self) -> None:
        cset = self.cset
        sources = cset.effective_sources()
        steps = cset.effective_steps()
        if cset.step is not None and cset.step <= ZERO:
            self.add(CriteriaReason.NON_POSITIVE_STEP, "", f"step {cset.step} must be above 0")
        for node in cset.walk():
            if node.step is not None and node.step <= ZERO:
                self.add(CriteriaReason.NON_POSITIVE_STEP, node.code, f"step {node.step} must be above 0")
            if not node.is_leaf:
                continue
            step = steps[node.code]
            if node.step is not None and sources[node.code] is Source.SURVEY:
                self.add(
                    CriteriaReason.STEP_ON_SURVEY,
                    node.code,
                    "survey points are imported as computed; a step is not enforced",
                    Severity.WARNING,
                )
            if step is not None and step > ZERO and node.maximum is not None and node.maximum % step != ZERO:
                self.add(
                    CriteriaReason.MAXIMUM_NOT_ON_STEP,
                    node.code,
                    f"maximum {node.maximum} is not a multiple of step {step}",
                )

    def check_counts(
        self,
        path: str,
        declared: Iterable[tuple[CountKind, int]],
        subtree: list[Node],
        depth: int,
        incomplete: bool,
    ) -> None:
        for kind, expected in declared:
            target = COUNT_DEPTH[kind]
            if target <= depth:
                continue
            found = sum(1 for n in subtree if code_depth(n.code) == target)
            if found != expected:
                self.add(
                    CriteriaReason.COUNT_MISMATCH,
                    path,
                    f"declared {expected} {kind.value} but the tree has {found}",
                    _severity(incomplete),
                )


def validate(cset: CriteriaSet) -> ValidationReport:
    return _Checker(cset).run()


def validate_field_table(table: FieldTable) -> ValidationReport:
    """A national field table: fields only, each with a positive maximum, adding up to the total.
    Per-field counts of criteria and sub-criteria that do not add up to the counts the source
    states for the whole table are warnings: the source itself is inconsistent (2948/QĐ-BNV's
    provincial page lists 39 criteria by field but states 38), and it is kept as published."""
    issues: list[Issue] = []
    if not table.fields:
        issues.append(Issue(CriteriaReason.EMPTY_SET, "", "the table has no fields"))
    for code, count in Counter(f.code for f in table.fields).items():
        if count > 1:
            issues.append(Issue(CriteriaReason.DUPLICATE_CODE, code, f"code appears {count} times"))
    total = ZERO
    for node in table.fields:
        if not is_valid_code(node.code) or code_depth(node.code) != 1:
            issues.append(
                Issue(CriteriaReason.BAD_CODE_FORMAT, node.code, "a field table holds fields: 1, 2, 3")
            )
        if node.children:
            issues.append(Issue(CriteriaReason.BAD_VALUE, node.code, "a field table holds no criteria"))
        if node.maximum is None:
            issues.append(Issue(CriteriaReason.MISSING_MAXIMUM, node.code, "a field needs 'max'"))
        elif node.maximum <= ZERO:
            issues.append(Issue(CriteriaReason.NON_POSITIVE_MAXIMUM, node.code, f"maximum {node.maximum}"))
        else:
            total += node.maximum
    if table.fields and total != table.total:
        issues.append(
            Issue(
                CriteriaReason.TOTAL_MISMATCH, "", f"fields sum to {total}, declared total is {table.total}"
            )
        )
    declared = dict(table.declared_counts)
    if CountKind.FIELDS in declared and declared[CountKind.FIELDS] != len(table.fields):
        issues.append(
            Issue(
                CriteriaReason.COUNT_MISMATCH,
                "",
                f"declared {declared[CountKind.FIELDS]} fields but the table has {len(table.fields)}",
            )
        )
    for kind in (CountKind.CRITERIA, CountKind.SUBCRITERIA):
        per_field = [dict(f.declared_counts).get(kind) for f in table.fields]
        if kind not in declared or any(n is None for n in per_field):
            continue
        listed = sum(n for n in per_field if n is not None)
        if listed != declared[kind]:
            issues.append(
                Issue(
                    CriteriaReason.COUNT_MISMATCH,
                    "",
                    f"the fields list {listed} {kind.value}, the source states {declared[kind]} in all"
                    " (kept as published)",
                    Severity.WARNING,
                )
            )
    return ValidationReport(tuple(issues))
