"""The scoring worker as a FastStream app: `kiemchung worker scoring`, or
`faststream run --factory services.scoring.app:create_app`."""

from __future__ import annotations

from faststream import FastStream

from contracts.routing import Service
from kiemchung.bootstrap import build_worker_app
from kiemchung.settings import get_settings


def create_app() -> FastStream:
    return build_worker_app(Service.SCORING, get_settings())
