"""The indexer worker as a FastStream app: `kiemchung worker indexer`, or
`faststream run --factory services.indexer.app:create_app`."""

from __future__ import annotations

from faststream import FastStream

from contracts.routing import Service
from kiemchung.bootstrap import build_worker_app
from kiemchung.settings import get_settings


def create_app() -> FastStream:
    return build_worker_app(Service.INDEXER, get_settings())
