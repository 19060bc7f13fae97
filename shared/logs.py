"""Structured JSON logs, one object per line, for every process.

Each line has `ts`, `level`, `service`, `logger`, `msg`, the trace and span id of the work it belongs to
(`trace_id`, `span_id`: paste one into `make traces --trace` or Jaeger), the fields of the current unit of
work (entrypoint, event type and id, application/requisition id: see `log_context`) and the call's extras.

Personal data is not logged: code logs ids, never names, emails, phones or notes. As a safety net, email
addresses and international phone numbers that slip into a message, an extra or a traceback are masked.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

_STANDARD = set(vars(logging.makeLogRecord({})).keys()) | {"message", "asctime", "color_message"}
_EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}")
# International format only (+CC ...): bare digit runs are ids, dates and durations far more often.
_PHONE = re.compile(r"\+\d[\d\s\-().]{6,}\d")

# Fields of the unit of work a log line belongs to (set by the service shell around each worker).
_CONTEXT: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar("hireloop_log_context", default=None)


def redact(text: str) -> str:
    return _PHONE.sub("[phone]", _EMAIL.sub("[email]", text))


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def set_log_context(**fields: Any) -> contextvars.Token:
    return _CONTEXT.set({k: v for k, v in fields.items() if v is not None})


def reset_log_context(token: contextvars.Token) -> None:
    _CONTEXT.reset(token)


@contextmanager
def log_context(**fields: Any) -> Iterator[None]:
    token = set_log_context(**{**(_CONTEXT.get() or {}), **fields})
    try:
        yield
    finally:
        reset_log_context(token)


def _trace_ids() -> tuple[str, str] | None:
    try:
        from shared.tracing import current_ids
    except ImportError:  # pragma: no cover - opentelemetry is a dependency; logs must not depend on it
        return None
    return current_ids()


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str):
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        body: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "service": self.service,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        ids = _trace_ids()
        if ids:
            body["trace_id"], body["span_id"] = ids
        body.update(_CONTEXT.get() or {})
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                body[key] = value
        if record.exc_info:
            body["exc"] = self.formatException(record.exc_info)
        return json.dumps(_clean(body), default=str)


# Libraries whose INFO and DEBUG lines are noise (and can quote what they carry): warnings and above only.
NOISY_LOGGERS = ("pymongo", "amqp", "kombu", "aiormq", "aio_pika", "urllib3", "opentelemetry")


def setup_logging(service: str, level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in NOISY_LOGGERS:
        logging.getLogger(noisy).setLevel(logging.WARNING)
