"""Verification workers hold none of the service's connections and die with the service.

A service process connects to a server (standing for the broker), starts its verification
workers and is killed with SIGKILL: the server must see the connection close at once (no worker
inherited it) and every worker must be gone.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

WAIT_SECONDS = 20.0
POLL_SECONDS = 0.1
WORKERS = 2

_SERVICE = """
import json, socket, sys, time
from datetime import UTC, datetime
from services.evidence_verifier.isolation import WorkerPool
from services.evidence_verifier.limits import Limits
from services.evidence_verifier.policy import Expectations, VerifierPolicy

broker = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
pool = WorkerPool({workers})
policy = VerifierPolicy(trust_roots=(), now=datetime.now(UTC), limits=Limits(timeout_seconds=60))
import threading
# Verifications at once, so the pool starts every worker.
threads = [
    threading.Thread(
        target=pool.verify, args=(b"not a pdf",),
        kwargs=dict(name=f"x{{i}}", policy=policy, expected=Expectations()),
    )
    for i in range({workers})
]
for t in threads: t.start()
for t in threads: t.join()
# Keep the workers referenced: a dropped worker's pipe closes and the worker exits on EOF.
workers = []
while not pool._idle.empty():
    w = pool._idle.get()
    if w is not None:
        workers.append(w)
print(json.dumps([w.process.pid for w in workers]), flush=True)
time.sleep(600)
"""


def _gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return True
    return state in ("Z", "X")  # a zombie has exited; only its parent's reaping is left


def test_killed_service_leaves_no_worker_and_no_inherited_connection() -> None:
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(WAIT_SECONDS)
    port = server.getsockname()[1]
    service = subprocess.Popen(
        [sys.executable, "-c", _SERVICE.format(workers=WORKERS), str(port)],
        stdout=subprocess.PIPE,
        cwd=Path(__file__).resolve().parents[2],
    )
    try:
        broker_side, _ = server.accept()
        assert service.stdout is not None
        pids = json.loads(service.stdout.readline())
        assert len(pids) == WORKERS
        assert all(not _gone(pid) for pid in pids)

        os.kill(service.pid, signal.SIGKILL)
        service.wait(timeout=WAIT_SECONDS)

        broker_side.settimeout(WAIT_SECONDS)
        assert broker_side.recv(1) == b""  # closed: no worker holds the service's connection
        deadline = time.monotonic() + WAIT_SECONDS
        while not all(_gone(pid) for pid in pids) and time.monotonic() < deadline:
            time.sleep(POLL_SECONDS)
        assert [pid for pid in pids if not _gone(pid)] == []
    finally:
        if service.poll() is None:
            service.kill()
        server.close()
