"""A worker's own small HTTP endpoint: /metrics (Prometheus), /healthz (alive), /readyz (ready).

Readiness runs every check (the broker answers, the database answers) with a deadline; any
failure or timeout makes /readyz 503 with the failing checks named, so Kubernetes stops sending
work and KEDA/alerts see it, while /healthz stays 200 as long as the event loop turns (a worker
waiting for its broker to come back must not be killed for it).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable, Mapping

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from kiemchung.runtime import metrics

log = logging.getLogger(__name__)

Check = Callable[[], Awaitable[bool]]

CHECK_TIMEOUT_SECONDS = 3.0
READ_TIMEOUT_SECONDS = 5.0
MAX_REQUEST_LINE = 2048
MAX_HEADER_LINES = 100


async def run_checks(checks: Mapping[str, Check], deadline: float = CHECK_TIMEOUT_SECONDS) -> dict[str, str]:
    """Each check's result: "ok", "failed", "timeout" or the exception's type name."""

    async def one(check: Check) -> str:
        try:
            return "ok" if await asyncio.wait_for(check(), deadline) else "failed"
        except TimeoutError:
            return "timeout"
        except Exception as exc:  # a probe reports, it never raises
            return type(exc).__name__

    names = list(checks)
    results = await asyncio.gather(*(one(checks[name]) for name in names))
    return dict(zip(names, results, strict=True))


class Probes:
    def __init__(self, checks: Mapping[str, Check]) -> None:
        self.checks = dict(checks)
        self._server: asyncio.Server | None = None

    async def start(self, host: str, port: int) -> int:
        """Listen; returns the bound port (pass 0 for any free one)."""
        self._server = await asyncio.start_server(self._serve, host, port)
        bound: int = self._server.sockets[0].getsockname()[1]
        log.info("probes and metrics on http://%s:%d (/healthz /readyz /metrics)", host, bound)
        return bound

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            status, content_type, body = await asyncio.wait_for(self._respond(reader), READ_TIMEOUT_SECONDS)
        except (TimeoutError, ValueError, ConnectionError):
            status, content_type, body = 400, "text/plain", b"bad request\n"
        head = (
            f"HTTP/1.1 {status} {'OK' if status == 200 else 'Error'}\r\n"
            f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        )
        with contextlib.suppress(ConnectionError):
            writer.write(head.encode("ascii") + body)
            await writer.drain()
        writer.close()

    async def _respond(self, reader: asyncio.StreamReader) -> tuple[int, str, bytes]:
        line = await reader.readline()
        if len(line) > MAX_REQUEST_LINE:
            raise ValueError("request line too long")
        for _ in range(MAX_HEADER_LINES):
            header = await reader.readline()
            if header in (b"\r\n", b"\n", b""):
                break
        parts = line.decode("latin-1").split()
        if len(parts) < 2 or parts[0] != "GET":
            return 405, "text/plain", b"only GET\n"
        path = parts[1].split("?", 1)[0]
        if path == "/healthz":
            return 200, "text/plain", b"ok\n"
        if path == "/readyz":
            results = await run_checks(self.checks)
            ready = all(result == "ok" for result in results.values())
            metrics.READY.set(1 if ready else 0)
            body = json.dumps({"ready": ready, "checks": results}).encode("utf-8") + b"\n"
            return (200 if ready else 503), "application/json", body
        if path == "/metrics":
            return 200, CONTENT_TYPE_LATEST, generate_latest()
        return 404, "text/plain", b"not found\n"
