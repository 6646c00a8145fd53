"""A criteria set compiled for scoring: each leaf's maximum, source, step and ancestor chain.

The ancestor chain lets a change to one leaf update only the sums of that leaf's ancestors.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from types import MappingProxyType

from criteria.model import CriteriaSet, Level, Node, Source, code_depth
from criteria.validation import validate
from services.scoring.core.errors import ScoringError, ScoringReason

ROOT = ""  # the whole set's code in the totals table


@dataclass(frozen=True, slots=True)
class LeafSpec:
    code: str
    maximum: Decimal
    source: Source
    step: Decimal | None
    # Nearest parent first, ending with ROOT.
    ancestors: tuple[str, ...]


@dataclass(frozen=True)
class ScoringTree:
    level: Level
    decisions: tuple[str, ...]
    leaves: Mapping[str, LeafSpec]
    # Every node code (ROOT included) -> the leaf codes under it.
    leaves_under: Mapping[str, tuple[str, ...]]
    # Codes of fields and criteria, the nodes that get a component index (seed 003, III.1.d).
    components: tuple[str, ...]

    def ancestors(self, code: str) -> tuple[str, ...]:
        return self.leaves[code].ancestors

    def expand(self, codes: frozenset[str] | tuple[str, ...]) -> frozenset[str]:
        """Leaf codes under any of `codes` (a field, a criterion, or a leaf)."""
        out: set[str] = set()
        for code in codes:
            if code not in self.leaves_under:
                raise ScoringError(ScoringReason.UNKNOWN_LEAF, f"{code!r} is not in the criteria set")
            out.update(self.leaves_under[code])
        return frozenset(out)


COMPONENT_MAX_DEPTH = 2


def compile_tree(cset: CriteriaSet) -> ScoringTree:
    """Compile a complete set; a set with errors or template leaves cannot be scored."""
    report = validate(cset)
    if not report.ok:
        first = report.errors[0]
        raise ScoringError(
            ScoringReason.INCOMPLETE_CRITERIA, f"{len(report.errors)} error(s): {first.render()}"
        )
    if cset.is_template:
        # A template parent (children missing, e.g. an appendix fragment) is as incomplete as a
        # template leaf: its leaves would add up to less than the set's total.
        templates = [node.code for node in cset.walk() if node.template] or ["<set>"]
        raise ScoringError(ScoringReason.INCOMPLETE_CRITERIA, f"template set: {', '.join(templates[:5])}")
    sources = cset.effective_sources()
    steps = cset.effective_steps()
    leaves: dict[str, LeafSpec] = {}
    under: dict[str, list[str]] = {ROOT: []}

    def visit(node: Node, chain: tuple[str, ...]) -> None:
        under[node.code] = []
        if node.is_leaf:
            if node.maximum is None or node.template:
                raise ScoringError(
                    ScoringReason.INCOMPLETE_CRITERIA, f"leaf {node.code} has no official maximum (template)"
                )
            leaves[node.code] = LeafSpec(node.code, node.maximum, sources[node.code], steps[node.code], chain)
            for code in (node.code, *chain):
                under[code].append(node.code)
            return
        for child in node.children:
            visit(child, (node.code, *chain))

    for top in cset.fields:
        visit(top, (ROOT,))
    components = tuple(code for code in under if code != ROOT and code_depth(code) <= COMPONENT_MAX_DEPTH)
    return ScoringTree(
        level=cset.level,
        decisions=cset.decisions,
        leaves=MappingProxyType(leaves),
        leaves_under=MappingProxyType({code: tuple(codes) for code, codes in under.items()}),
        components=components,
    )
