"""Transient infrastructure failures, told apart from failures of a message, and back-off.

A message's own failure (it breaks its contract, its handler crashes on that document) is
retried a bounded number of times and then dead-lettered. A transient failure (the database or
broker does not answer, a connection is reset, a serialization failure or deadlock, a timeout)
says nothing about the message: it never counts toward the message's attempts and never
dead-letters it; the consumer pauses, backs off and resumes once its dependencies answer.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass

# PostgreSQL SQLSTATE classes/codes that describe the server or the transaction, not the data:
# 08 connection exception, 40 transaction rollback (40001 serialization, 40P01 deadlock),
# 57P operator intervention (admin/crash shutdown, cannot connect now), 53 insufficient resources.
TRANSIENT_SQLSTATE_PREFIXES = ("08", "40", "57P", "53")
# SQLite's busy/locked answers: another writer holds the file.
TRANSIENT_SQLITE_MESSAGES = ("database is locked", "database table is locked", "disk i/o error")
MAX_CAUSE_DEPTH = 16


def _sqlstate(exc: BaseException) -> str | None:
    state = getattr(exc, "sqlstate", None) or getattr(exc, "pgcode", None)
    return str(state) if state else None


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """The exception and what caused it (SQLAlchemy wraps the driver's error in `orig`)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen and len(seen) < MAX_CAUSE_DEPTH:
        seen.add(id(current))
        yield current
        orig = getattr(current, "orig", None)
        if isinstance(orig, BaseException) and id(orig) not in seen:
            yield orig
            seen.add(id(orig))
        current = current.__cause__ or current.__context__


def _is_transient_one(exc: BaseException) -> bool:
    # Imported here so that the pure parts of the runtime do not pull in every driver.
    from sqlalchemy import exc as sa_exc

    if isinstance(exc, TimeoutError | ConnectionError):  # asyncio.TimeoutError is TimeoutError
        return True
    if isinstance(exc, sa_exc.DBAPIError):
        # SQLAlchemy's wrapper: the driver's own error (`orig`, also walked) decides, unless the
        # pool saw the connection die.
        return exc.connection_invalidated or (exc.orig is None and isinstance(exc, sa_exc.OperationalError))
    if isinstance(exc, sa_exc.TimeoutError | sa_exc.PendingRollbackError):
        return True  # pool exhausted while the server is slow; a session whose connection died
    state = _sqlstate(exc)
    if state is not None:
        return state.startswith(TRANSIENT_SQLSTATE_PREFIXES)
    module = type(exc).__module__
    name = type(exc).__name__
    if module.startswith("psycopg") and name in ("OperationalError", "InterfaceError"):
        return True  # no SQLSTATE: the server could not be reached, or the connection is gone
    if module == "sqlite3" and name == "OperationalError":
        return str(exc).lower().startswith(TRANSIENT_SQLITE_MESSAGES)
    if module.startswith(("aiormq", "aio_pika")):
        return _is_transient_amqp(exc)
    if module.startswith("opensearchpy"):
        return name in ("ConnectionError", "ConnectionTimeout", "SSLError") or _status(exc) >= 500
    return isinstance(exc, OSError) and not isinstance(exc, FileNotFoundError | PermissionError)


def _is_transient_amqp(exc: BaseException) -> bool:
    from aiormq import exceptions as amqp

    # A closed channel because a queue is missing or declared differently is not transient.
    return isinstance(exc, amqp.AMQPConnectionError | amqp.ChannelInvalidStateError)


def _status(exc: BaseException) -> int:
    status = getattr(exc, "status_code", None)
    return status if isinstance(status, int) else 0


def is_transient(exc: BaseException) -> bool:
    """True when `exc` (or what caused it) is infrastructure trouble that retrying later cures."""
    return any(_is_transient_one(e) for e in _chain(exc))


@dataclass(frozen=True)
class Backoff:
    """Exponential back-off with full jitter: attempt n waits uniform(0, min(cap, base·2ⁿ)).

    Full jitter spreads replicas that lost the same database at the same moment, so they do not
    come back in lockstep. `floor` keeps a minimum pause so a tight loop cannot spin.
    """

    base_seconds: float = 0.5
    cap_seconds: float = 30.0
    floor_seconds: float = 0.05

    def delay(self, attempt: int, rand: Callable[[], float] = random.random) -> float:
        ceiling = min(self.cap_seconds, self.base_seconds * float(2 ** min(attempt, 32)))
        return max(self.floor_seconds, ceiling * float(rand()))
