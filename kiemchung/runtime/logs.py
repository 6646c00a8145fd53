"""Log lines, plain or one JSON object each, carrying the event_id and correlation_id in hand."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime

PLAIN_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"

_current: ContextVar[tuple[str, str] | None] = ContextVar("kiemchung_log_event", default=None)


@contextmanager
def event_context(event_id: object, correlation_id: object) -> Iterator[None]:
    """While a message is handled, every log line says which one (and which flow)."""
    token = _current.set((str(event_id), str(correlation_id)))
    try:
        yield
    finally:
        _current.reset(token)


class EventFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        current = _current.get()
        record.event_id, record.correlation_id = current if current else ("", "")
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in ("event_id", "correlation_id"):
            value = getattr(record, key, "")
            if value:
                line[key] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


def configure(json_lines: bool, level: int = logging.INFO) -> None:
    handler = logging.StreamHandler()
    handler.addFilter(EventFilter())
    handler.setFormatter(JsonFormatter() if json_lines else logging.Formatter(PLAIN_FORMAT))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
