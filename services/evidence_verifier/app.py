"""The evidence-verifier worker as a FastStream app: `kiemchung worker evidence-verifier`, or
`faststream run --factory services.evidence_verifier.app:create_app`."""

from __future__ import annotations

from faststream import FastStream

from contracts.routing import Service
from kiemchung.bootstrap import build_worker_app
from kiemchung.settings import get_settings


def create_app() -> FastStream:
    return build_worker_app(Service.EVIDENCE_VERIFIER, get_settings())
