"""Bounds on what one search may ask of the index (listed in SECURITY.md).

A query of a thousand phrases costs the backend seconds per phrase doclist; these keep one
appraiser's query from taking the index away from everybody else.
"""

from __future__ import annotations

from dataclasses import dataclass

# Characters of the free text (`q`) and of the number prefix.
MAX_QUERY_CHARS = 512
MAX_NUMBER_PREFIX_CHARS = 64
# Distinct clauses (a word or a "quoted phrase") of the free text, and how many are phrases.
MAX_QUERY_TERMS = 32
MAX_QUERY_PHRASES = 8
# Page numbers (offset pagination reads every row before the page; cursors do not).
MAX_PAGE = 500
# A cursor longer than this is not one of ours.
MAX_CURSOR_CHARS = 512
# Seconds one search may run before it is stopped with QUERY_TIMEOUT.
QUERY_DEADLINE_SECONDS = 5.0
# The SQLite progress handler runs every this many virtual-machine instructions.
PROGRESS_INSTRUCTIONS = 1_000


@dataclass(frozen=True)
class SearchLimits:
    """The per-query deadline a backend enforces (the size bounds are constants above)."""

    deadline_seconds: float = QUERY_DEADLINE_SECONDS
    progress_instructions: int = PROGRESS_INSTRUCTIONS


DEFAULT_LIMITS = SearchLimits()
