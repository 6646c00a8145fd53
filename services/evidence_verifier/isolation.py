"""Verification in a child process that can be killed: time and memory bound per document.

The child is forked (it inherits the parent's warm trust and chain caches), caps its own
address space with setrlimit (baseline + the policy's memory budget) and its CPU time, and sends
the report back through a pipe. The parent waits at most the time limit, then kills it.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import resource
import signal
from multiprocessing.connection import Connection
from typing import Any

from contracts.report import VerificationReport
from contracts.vocabulary import ReasonCode
from services.evidence_verifier.limits import MEBIBYTE
from services.evidence_verifier.policy import Expectations, VerifierPolicy
from services.evidence_verifier.verify import Outcome, failed_report, sha256_hex, verify_bytes

CPU_GRACE_SECONDS = 1
JOIN_SECONDS = 5.0
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
_OK, _MEMORY = "ok", "memory"


def _address_space_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[0]) * PAGE_SIZE


def _child(conn: Connection, data: bytes, name: str, policy: VerifierPolicy, expected: Expectations) -> None:
    limits = policy.limits
    try:
        cap = _address_space_bytes() + limits.memory_mb * MEBIBYTE
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    except (OSError, ValueError):
        pass  # no /proc or not permitted: the time limit still holds
    cpu = int(limits.timeout_seconds) + CPU_GRACE_SECONDS
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + CPU_GRACE_SECONDS))
    try:
        outcome = verify_bytes(data, name=name, policy=policy, expected=expected)
        conn.send((_OK, outcome.report.model_dump_json(), outcome.text))
    except MemoryError:
        conn.send((_MEMORY, "", ""))
    finally:
        conn.close()


def verify_isolated(
    data: bytes,
    *,
    name: str,
    policy: VerifierPolicy,
    expected: Expectations,
    start_method: str = "fork",
) -> Outcome:
    """Like `verify_bytes`, but a runaway document yields TIMEOUT or RESOURCE_LIMIT."""
    context: Any = multiprocessing.get_context(start_method)
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(target=_child, args=(sender, data, name, policy, expected), daemon=True)
    process.start()
    sender.close()
    try:
        if receiver.poll(policy.limits.timeout_seconds):
            try:
                kind, report_json, text = receiver.recv()
            except EOFError:
                kind, report_json, text = "died", "", ""
        else:
            kind, report_json, text = "timeout", "", ""
    finally:
        receiver.close()
        if process.is_alive() and kind != _OK:
            process.kill()
        process.join(JOIN_SECONDS)
        if process.is_alive():
            process.kill()
            process.join()
    if kind == _OK:
        return Outcome(VerificationReport.model_validate_json(report_json), text)
    digest = sha256_hex(data)
    if kind == "timeout" or process.exitcode == -signal.SIGXCPU:
        return Outcome(failed_report(name, ReasonCode.TIMEOUT, sha256=digest), "")
    return Outcome(failed_report(name, ReasonCode.RESOURCE_LIMIT, sha256=digest), "")


async def verify_isolated_async(
    data: bytes, *, name: str, policy: VerifierPolicy, expected: Expectations
) -> Outcome:
    """For asyncio services: the child runs while the event loop keeps serving."""
    return await asyncio.to_thread(verify_isolated, data, name=name, policy=policy, expected=expected)
