"""Each service as a FastStream app, for `faststream run --factory kiemchung.workers:<service>`.

`kiemchung worker <service>` is the usual way; these factories live in the application layer
because wiring a worker (bootstrap) knows every adapter, and services never import it.
"""

from __future__ import annotations

from faststream import FastStream

from contracts.routing import Service
from kiemchung.bootstrap import build_worker_app
from kiemchung.runtime.settings import get_settings


def evidence_verifier() -> FastStream:
    return build_worker_app(Service.EVIDENCE_VERIFIER, get_settings())


def indexer() -> FastStream:
    return build_worker_app(Service.INDEXER, get_settings())


def scoring() -> FastStream:
    return build_worker_app(Service.SCORING, get_settings())
