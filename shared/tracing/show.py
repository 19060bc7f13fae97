"""Print the latest traces from a span file as indented trees with durations (`make traces`).

    python -m shared.tracing.show [FILE] [--last N] [--trace ID] [--name TEXT] [--all]

By default each span's MongoDB and Redis calls are folded into one line ("mongodb ×12, 8.1 ms"); `--all`
lists every call.
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from collections.abc import Iterable

from shared.tracing.files import read_spans

DEFAULT_FILE = "var/traces.jsonl"
TAIL_BYTES = 64 * 1024 * 1024


def group_traces(spans: Iterable[dict]) -> dict[str, list[dict]]:
    traces: dict[str, list[dict]] = defaultdict(list)
    for span in spans:
        traces[span["trace_id"]].append(span)
    return traces


def roots(spans: list[dict]) -> list[dict]:
    """Spans whose parent is not in the trace: the root, and any whose parent was not recorded here."""
    ids = {s["span_id"] for s in spans}
    return sorted((s for s in spans if s.get("parent_id") not in ids), key=lambda s: s["start_ns"])


def latest(traces: dict[str, list[dict]], n: int, name: str | None = None) -> list[list[dict]]:
    """The `n` latest traces, oldest first; with `name`, only those whose root span has exactly that name
    (case and surrounding spaces aside): "GET /v1/requisitions" is not "GET /v1/requisitions/{requisition_id}"."""
    wanted = name.strip().casefold() if name else None
    chosen = []
    for spans in traces.values():
        top = roots(spans)
        if wanted and not any(s["name"].strip().casefold() == wanted for s in top):
            continue
        chosen.append((top[0]["start_ns"], spans))
    chosen.sort(key=lambda item: item[0])
    return [spans for _, spans in chosen[-n:]]


def _is_store_call(span: dict) -> bool:
    attrs = span.get("attributes", {})
    return span.get("kind") == "client" and ("db.system" in attrs or "db.system.name" in attrs)


def _store_name(span: dict) -> str:
    attrs = span.get("attributes", {})
    return str(attrs.get("db.system") or attrs.get("db.system.name") or "store")


def _duration(ms: float) -> str:
    return f"{ms / 1000:.2f} s" if ms >= 1000 else f"{ms:.1f} ms"


def _ids(span: dict) -> str:
    attrs = span.get("attributes", {})
    shown = [f"{key.split('.', 1)[1]}={attrs[key]}" for key in
             ("hireloop.application_id", "hireloop.requisition_id", "hireloop.division") if key in attrs]
    return ("  [" + " ".join(shown) + "]") if shown else ""


def render_trace(spans: list[dict], show_all: bool = False) -> str:
    children: dict[str | None, list[dict]] = defaultdict(list)
    for span in spans:
        children[span.get("parent_id")].append(span)
    for kids in children.values():
        kids.sort(key=lambda s: s["start_ns"])
    top = roots(spans)
    t0 = top[0]["start_ns"]
    services = []
    for span in sorted(spans, key=lambda s: s["start_ns"]):
        if span["service"] not in services:
            services.append(span["service"])
    root = top[0]
    lines = [f"trace {root['trace_id']}  {root['name']}  {_duration(root['duration_ms'])}  "
             f"{len(spans)} spans: {' → '.join(services)}"]

    def line(span: dict, depth: int) -> None:
        offset = (span["start_ns"] - t0) / 1e6
        status = "  ERROR " + span["attributes"].get("error.type", "") if span.get("status") == "error" else ""
        links = f"  (linked to trace {span['links'][0]['trace_id']})" if span.get("links") else ""
        lines.append(f"  {'+' + _duration(offset):>11} {_duration(span['duration_ms']):>10}  {'  ' * depth}"
                     f"{span['name']}  <{span['service']}>{_ids(span)}{status}{links}")
        kids = children.get(span["span_id"], [])
        folded: dict[str, list[dict]] = defaultdict(list)
        for kid in kids:
            if not show_all and _is_store_call(kid) and not children.get(kid["span_id"]):
                folded[_store_name(kid)].append(kid)
            else:
                line(kid, depth + 1)
        for store, calls in folded.items():
            total = sum(c["duration_ms"] for c in calls)
            first = min(c["start_ns"] for c in calls)
            lines.append(f"  {'+' + _duration((first - t0) / 1e6):>11} {_duration(total):>10}  {'  ' * (depth + 1)}"
                         f"{store} ×{len(calls)}")

    for span in top:
        line(span, 0)
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", nargs="?", default=DEFAULT_FILE)
    parser.add_argument("--last", type=int, default=5, help="how many of the latest traces (default 5)")
    parser.add_argument("--trace", help="one trace by id")
    parser.add_argument("--name", help="only traces whose root span has this whole name, e.g. 'POST /v1/applications'")
    parser.add_argument("--all", action="store_true", help="list every MongoDB/Redis call instead of folding")
    args = parser.parse_args(argv)
    spans = read_spans(args.file, tail_bytes=TAIL_BYTES)
    if not spans:
        print(f"no spans in {args.file} yet: start the platform (`make run`) and make a request", file=sys.stderr)
        return 1
    traces = group_traces(spans)
    if args.trace:
        if args.trace not in traces:
            print(f"trace {args.trace} not in {args.file}", file=sys.stderr)
            return 1
        chosen = [traces[args.trace]]
    else:
        chosen = latest(traces, args.last, args.name)
        if args.name and not chosen:
            names = sorted({s["name"] for spans in traces.values() for s in roots(spans)})
            print(f"no trace named {args.name!r} in {args.file}; the names there: " + ", ".join(
                repr(n) for n in names[:20]) + (" …" if len(names) > 20 else ""), file=sys.stderr)
            return 1
    for spans in chosen:
        print(render_trace(spans, show_all=args.all))
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
