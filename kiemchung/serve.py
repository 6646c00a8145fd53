"""`kiemchung serve` and `kiemchung openapi`: the HTTP API built from the settings (application layer)."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from kiemchung.runtime.settings import get_settings

if TYPE_CHECKING:
    from fastapi import FastAPI

EXIT_OK = 0
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000


def _build_app_from_settings() -> FastAPI:
    # Imported here: FastAPI and the API routes are heavy, and most commands never need them.
    from kiemchung.api import serving_app
    from kiemchung.runtime.clock import system_clock

    return serving_app(get_settings(), clock=system_clock)


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from kiemchung.runtime import logs

    logs.configure(json_lines=get_settings().log_json)
    if get_settings().api_keys_file is None:
        logging.getLogger("kiemchung.api").warning(
            "KIEMCHUNG_API_KEYS_FILE is not set: every request gets 401"
        )
    uvicorn.run(_build_app_from_settings(), host=args.host, port=args.port)
    return EXIT_OK


def _openapi(args: argparse.Namespace) -> int:
    from kiemchung.api import openapi_text

    text = openapi_text(_build_app_from_settings())
    if args.write:
        Path(args.write).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return EXIT_OK


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    serve = subparsers.add_parser("serve", help="run the HTTP API (scores, rankings, evidence, export)")
    serve.add_argument("--host", default=DEFAULT_HOST)
    serve.add_argument("--port", type=int, default=DEFAULT_PORT)
    serve.set_defaults(func=_serve)

    openapi = subparsers.add_parser("openapi", help="print the HTTP API's OpenAPI document")
    openapi.add_argument("--write", help="write it to this file instead")
    openapi.set_defaults(func=_openapi)
