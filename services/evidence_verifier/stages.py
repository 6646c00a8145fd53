"""Time spent per verification stage (parse, signatures, render_check, pages), for the metrics.

Collected inside the process that verifies (a child of the worker, see isolation.py) and sent
back with the outcome; the worker records them in kiemchung_verification_stage_seconds.
`signatures` includes `render_check` (the page comparison that judges changes after signing).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

PARSE = "parse"
SIGNATURES = "signatures"
RENDER_CHECK = "render_check"
PAGES = "pages"

_spent: ContextVar[dict[str, float] | None] = ContextVar("kiemchung_verify_stages", default=None)


@contextmanager
def collecting() -> Iterator[dict[str, float]]:
    spent: dict[str, float] = {}
    token = _spent.set(spent)
    try:
        yield spent
    finally:
        _spent.reset(token)


@contextmanager
def timed(stage: str) -> Iterator[None]:
    started = time.perf_counter()
    try:
        yield
    finally:
        spent = _spent.get()
        if spent is not None:
            spent[stage] = spent.get(stage, 0.0) + time.perf_counter() - started
