"""Spans as JSON lines in a local file, for a developer without Jaeger (`make run` → `make traces`).

Every process of the platform appends to the same file. Each span is one line written with a single
`write` on an O_APPEND descriptor, so lines of concurrent writers never interleave.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

KINDS = {0: "internal", 1: "server", 2: "client", 3: "producer", 4: "consumer"}


def _hex(value: int, width: int) -> str:
    return format(value, f"0{width}x")


def span_to_dict(span: ReadableSpan) -> dict:
    ctx = span.context
    parent = span.parent
    start, end = span.start_time or 0, span.end_time or span.start_time or 0
    return {
        "trace_id": _hex(ctx.trace_id, 32),
        "span_id": _hex(ctx.span_id, 16),
        "parent_id": _hex(parent.span_id, 16) if parent is not None else None,
        "name": span.name,
        "kind": KINDS.get(span.kind.value, str(span.kind.value)),
        "service": span.resource.attributes.get("service.name", "?"),
        "start_ns": start,
        "duration_ms": round((end - start) / 1e6, 3),
        "status": span.status.status_code.name.lower(),
        "attributes": dict(span.attributes or {}),
        "events": [{"name": e.name, "attributes": dict(e.attributes or {})} for e in span.events],
        "links": [{"trace_id": _hex(link.context.trace_id, 32), "span_id": _hex(link.context.span_id, 16)}
                  for link in span.links],
    }


class JsonLinesSpanExporter(SpanExporter):
    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fd: int | None = None

    def _open(self) -> int:
        if self._fd is None:
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
        return self._fd

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        try:
            fd = self._open()
            for span in spans:
                os.write(fd, (json.dumps(span_to_dict(span), default=str) + "\n").encode())
        except OSError:
            return SpanExportResult.FAILURE
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


def read_spans(path: str | os.PathLike, tail_bytes: int | None = None) -> list[dict]:
    """Spans from a JSON-lines file; with `tail_bytes`, only from its last that many bytes."""
    path = Path(path)
    if not path.exists():
        return []
    with path.open("rb") as f:
        if tail_bytes is not None:
            size = f.seek(0, os.SEEK_END)
            f.seek(max(0, size - tail_bytes))
            if size > tail_bytes:
                f.readline()  # skip a partial first line
        return list(_parse(f))


def _parse(lines: Iterable[bytes]) -> Iterable[dict]:
    for line in lines:
        line = line.strip()
        if not line:
            continue
        try:
            yield json.loads(line)
        except ValueError:
            continue  # a line cut short by a killed process
