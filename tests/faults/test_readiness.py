"""A worker's /readyz follows its broker and database: 503 naming the one that is gone, 200 again
when it is back; /healthz stays 200 throughout (an outage is waited out, not restarted away).

Runs its own RabbitMQ node and PostgreSQL cluster on spare ports (tests/faults/own_servers.py).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa

from kiemchung.runtime.migrate import upgrade
from tests.faults.own_servers import OwnPostgres, OwnRabbit, available, spare_port

pytestmark = pytest.mark.skipif(available() is not None, reason=str(available()))

WAIT_SECONDS = 90.0
POLL_SECONDS = 0.25


@dataclass
class Worker:
    rabbit: OwnRabbit
    postgres: OwnPostgres
    port: int
    process: subprocess.Popen[bytes]


def _get(port: int, path: str) -> tuple[int, dict[str, object] | str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as response:
            status, body = int(response.status), response.read().decode("utf-8")
    except urllib.error.HTTPError as exc:
        status, body = int(exc.code), exc.read().decode("utf-8")
    except OSError:
        return 0, "not listening"
    return status, (json.loads(body) if path == "/readyz" else body)


def _wait_for(port: int, status: int, failing: str | None = None) -> dict[str, object]:
    deadline = time.monotonic() + WAIT_SECONDS
    last: tuple[int, object] = (0, "")
    while time.monotonic() < deadline:
        last = _get(port, "/readyz")
        body = last[1]
        if last[0] == status and isinstance(body, dict):
            checks = body["checks"]
            assert isinstance(checks, dict)
            if failing is None or checks[failing] != "ok":
                return checks
        time.sleep(POLL_SECONDS)
    raise AssertionError(f"/readyz never became {status} (failing: {failing}); last: {last}")


@pytest.fixture(scope="module")
def worker() -> Iterator[Worker]:
    root = Path(tempfile.mkdtemp(prefix="kiemchung-ready-"))
    root.chmod(0o711)  # the postgres user walks into its data directory
    postgres = OwnPostgres(root / "pg")
    rabbit = OwnRabbit(root / "rabbit")
    process: subprocess.Popen[bytes] | None = None
    try:
        postgres.init()
        database_url = postgres.url.rsplit("/", 1)[0] + "/kiemchung"
        admin = sa.create_engine(postgres.url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text("CREATE DATABASE kiemchung"))
        admin.dispose()
        upgrade(database_url)
        rabbit.start()
        port = spare_port()
        env = {
            **os.environ,
            "KIEMCHUNG_RUNTIME": "distributed",
            "KIEMCHUNG_DATABASE_URL": database_url,
            "KIEMCHUNG_BROKER_URL": rabbit.url,
            "KIEMCHUNG_DATA_DIR": str(root / "data"),
            "KIEMCHUNG_SEARCH_SQLITE_PATH": str(root / "data" / "search.db"),
            "KIEMCHUNG_PROBE_HOST": "127.0.0.1",
            "KIEMCHUNG_PROBE_PORT": str(port),
            "KIEMCHUNG_LOG_JSON": "true",
        }
        with open(root / "indexer.log", "wb") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "kiemchung.cli", "worker", "indexer"],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        yield Worker(rabbit, postgres, port, process)
    finally:
        if process is not None:
            process.kill()
            process.wait(timeout=30)
        rabbit.destroy()
        postgres.destroy()
        import shutil

        shutil.rmtree(root, ignore_errors=True)


def test_readiness_follows_the_broker_and_the_database(worker: Worker) -> None:
    assert _wait_for(worker.port, 200) == {"broker": "ok", "database": "ok"}

    worker.rabbit.stop()
    checks = _wait_for(worker.port, 503, failing="broker")
    assert checks["database"] == "ok"
    assert _get(worker.port, "/healthz")[0] == 200
    worker.rabbit.start()
    _wait_for(worker.port, 200)

    worker.postgres.stop_immediately()
    checks = _wait_for(worker.port, 503, failing="database")
    assert checks["broker"] == "ok"
    status, metrics = _get(worker.port, "/metrics")
    assert status == 200
    assert "kiemchung_ready 0.0" in str(metrics)
    worker.postgres.start()
    _wait_for(worker.port, 200)
    assert worker.process.poll() is None, "the worker exited during an outage"
