"""Turning raw facet counts into ordered buckets (most first, then by key)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping

from services.indexer.model import FacetBucket


def buckets(counts: Mapping[str, int], labels: Mapping[str, str] | None = None) -> tuple[FacetBucket, ...]:
    names = labels or {}
    ordered = sorted(Counter(counts).items(), key=lambda kv: (-kv[1], kv[0]))
    return tuple(FacetBucket(key, n, names.get(key)) for key, n in ordered if n > 0)
