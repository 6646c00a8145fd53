"""Verification in long-lived worker processes that can be killed: time and memory bound per
document, warm caches across documents.

A `WorkerPool` starts N workers once, from a forkserver: a clean process exec'd for the
purpose, so a worker holds none of the service's broker or database connections (a forked
worker kept them open after the service died, and the broker went on delivering to a dead
consumer until heartbeats expired). A worker dies with the service: the kernel kills it when its
parent (the forkserver, which exits when the service does) dies (PR_SET_PDEATHSIG), and it exits
when the service's end of its pipe closes. Each worker verifies one document at a time and keeps its
trust and certificate-path caches between documents (a fresh child per document threw them
away and paid the fork every time). Per document:

- memory: the worker lowers its soft address-space limit to its current size plus the policy's
  budget, and restores it afterwards; a document that exceeds it gets RESOURCE_LIMIT and the
  worker is replaced (a MemoryError can leave a process in a poor state);
- time: the caller waits at most the policy's timeout, then kills the worker, starts a new one
  and returns TIMEOUT. A worker that dies mid-document yields RESOURCE_LIMIT.

The service keeps serving in every case: a lost worker is replaced before the next document.
"""

from __future__ import annotations

import asyncio
import atexit
import ctypes
import ctypes.util
import multiprocessing
import os
import queue
import resource
import signal
import threading
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from contracts.report import VerificationReport
from contracts.vocabulary import ReasonCode
from services.evidence_verifier.limits import MEBIBYTE
from services.evidence_verifier.policy import Expectations, VerifierPolicy
from services.evidence_verifier.verify import Outcome, failed_report, sha256_hex, verify_bytes

JOIN_SECONDS = 5.0
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
_OK, _MEMORY = "ok", "memory"
PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
# Imported once in the forkserver, so each worker starts warm (pyHanko, PDFium, cryptography).
_PRELOAD = ["services.evidence_verifier.verify"]


def _die_with_parent() -> None:
    """Ask the kernel to SIGKILL this process when its parent dies (Linux); elsewhere the
    closed pipe still ends the worker between documents."""
    parent = os.getppid()
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # the parent died before the request took effect
        os._exit(1)


def _address_space_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[0]) * PAGE_SIZE


def _cap_memory(budget_mb: int) -> tuple[int, int] | None:
    """Lower the soft address-space limit for one document; returns the limits to restore."""
    try:
        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        cap = _address_space_bytes() + budget_mb * MEBIBYTE
        if hard != resource.RLIM_INFINITY:
            cap = min(cap, hard)
        resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    except (OSError, ValueError):
        return None  # no /proc or not permitted: the time limit still holds
    return soft, hard


# kind, report JSON, extracted text, seconds per stage
_Answer = tuple[str, str, str, tuple[tuple[str, float], ...]]


def _read_capped(path: Path, max_bytes: int) -> bytes:
    """At most `max_bytes` + 1 bytes of `path`: enough for the verifier to say TOO_LARGE."""
    with path.open("rb") as handle:
        return handle.read(max_bytes + 1)


def _verify_one(source: bytes | Path, name: str, policy: VerifierPolicy, expected: Expectations) -> _Answer:
    previous = _cap_memory(policy.limits.memory_mb)
    try:
        # A path is read here, in the worker: the parent never holds (or pickles) the bytes.
        data = source if isinstance(source, bytes) else _read_capped(source, policy.limits.max_bytes)
        outcome = verify_bytes(data, name=name, policy=policy, expected=expected)
    except MemoryError:
        return _MEMORY, "", "", ()
    finally:
        if previous is not None:
            resource.setrlimit(resource.RLIMIT_AS, previous)
    if ReasonCode.RESOURCE_LIMIT in outcome.report.reasons:
        return _MEMORY, "", "", ()
    return _OK, outcome.report.model_dump_json(), outcome.text, outcome.stages


def _worker_main(conn: Connection) -> None:
    _die_with_parent()
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return
        if job is None:
            return
        try:
            answer = _verify_one(*job)
        except MemoryError:
            answer = (_MEMORY, "", "", ())
        try:
            conn.send(answer)
        except (OSError, ValueError):
            return
        if answer[0] == _MEMORY:
            return  # the pool replaces this worker


@dataclass
class _Worker:
    process: Any  # multiprocessing.Process from the forkserver context
    conn: Connection

    def stop(self) -> None:
        if self.process.is_alive():
            self.process.kill()
        self.process.join(JOIN_SECONDS)
        self.conn.close()


class WorkerPool:
    """`size` verification workers; `verify` is thread-safe and blocks for a free one."""

    def __init__(self, size: int | None = None) -> None:
        self.size = max(1, size or os.cpu_count() or 1)
        self._context: Any = multiprocessing.get_context("forkserver")
        self._context.set_forkserver_preload(_PRELOAD)
        self._idle: queue.Queue[_Worker | None] = queue.Queue()
        self._lock = threading.Lock()
        self._closed = False
        for _ in range(self.size):
            self._idle.put(None)  # started on first use

    def _start(self) -> _Worker:
        parent, child = self._context.Pipe(duplex=True)
        process = self._context.Process(target=_worker_main, args=(child,), daemon=True)
        process.start()
        child.close()
        return _Worker(process, parent)

    def verify(
        self, data: bytes | Path, *, name: str, policy: VerifierPolicy, expected: Expectations
    ) -> Outcome:
        worker = self._idle.get()
        try:
            if worker is None or not worker.process.is_alive():
                if worker is not None:
                    worker.stop()
                worker = self._start()
            kind, report_json, text, spent = self._run(worker, (data, name, policy, expected), policy)
            if kind != _OK:
                worker.stop()
                worker = None
        except BaseException:
            if worker is not None:
                worker.stop()
            worker = None
            raise
        finally:
            self._idle.put(worker)
        if kind == _OK:
            return Outcome(VerificationReport.model_validate_json(report_json), text, spent)
        reason = ReasonCode.TIMEOUT if kind == "timeout" else ReasonCode.RESOURCE_LIMIT
        digest = sha256_hex(data) if isinstance(data, bytes) else None
        return Outcome(failed_report(name, reason, sha256=digest), "")

    @staticmethod
    def _run(worker: _Worker, job: tuple[Any, ...], policy: VerifierPolicy) -> _Answer:
        try:
            worker.conn.send(job)
            if not worker.conn.poll(policy.limits.timeout_seconds):
                return "timeout", "", "", ()
            answer: _Answer = worker.conn.recv()
            return answer
        except (EOFError, OSError):
            return "died", "", "", ()

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
        for _ in range(self.size):
            worker = self._idle.get()
            if worker is not None:
                worker.stop()


_POOLS: dict[int, WorkerPool] = {}
_POOLS_LOCK = threading.Lock()


def shared_pool(size: int | None = None) -> WorkerPool:
    """The process-wide pool of `size` workers (default: one per CPU)."""
    wanted = max(1, size or os.cpu_count() or 1)
    with _POOLS_LOCK:
        pool = _POOLS.get(wanted)
        if pool is None:
            pool = _POOLS[wanted] = WorkerPool(wanted)
        return pool


@atexit.register
def _close_pools() -> None:
    with _POOLS_LOCK:
        pools = list(_POOLS.values())
        _POOLS.clear()
    for pool in pools:
        pool.close()


def verify_isolated(
    data: bytes | Path,
    *,
    name: str,
    policy: VerifierPolicy,
    expected: Expectations,
    pool: WorkerPool | None = None,
) -> Outcome:
    """Like `verify_bytes`, but a runaway document yields TIMEOUT or RESOURCE_LIMIT. `data` may
    be a path: the worker reads it (at most the size limit + 1 bytes).

    Without `pool`, the shared pool sized by `policy.limits.workers` (0: one per CPU) is used."""
    chosen = pool or shared_pool(policy.limits.workers or None)
    return chosen.verify(data, name=name, policy=policy, expected=expected)


async def verify_isolated_async(
    data: bytes,
    *,
    name: str,
    policy: VerifierPolicy,
    expected: Expectations,
    pool: WorkerPool | None = None,
) -> Outcome:
    """For asyncio services: a worker verifies while the event loop keeps serving."""
    return await asyncio.to_thread(
        verify_isolated, data, name=name, policy=policy, expected=expected, pool=pool
    )
