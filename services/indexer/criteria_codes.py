"""Criterion codes ("1", "1.1", "1.1.2", "8.4.1.1") and their subtrees."""

from __future__ import annotations

import re

CODE_RE = re.compile(r"^\d+(\.\d+)*$")
SEPARATOR = "."


def is_valid_code(code: str) -> bool:
    return CODE_RE.fullmatch(code) is not None


def in_subtree(code: str, root: str) -> bool:
    """True when `code` is `root` or below it: "1" holds 1.1 and 1.1.2 but not 10.1."""
    return code == root or code.startswith(root + SEPARATOR)


def ancestors(code: str) -> tuple[str, ...]:
    """The code and every code above it: "1.1.2" → ("1", "1.1", "1.1.2")."""
    parts = code.split(SEPARATOR)
    return tuple(SEPARATOR.join(parts[: i + 1]) for i in range(len(parts)))


def sort_key(code: str) -> tuple[int, ...]:
    """Numeric order: 1.2 before 1.10, 2 before 10."""
    return tuple(int(p) for p in code.split(SEPARATOR) if p.isdigit())
