"""Which traces are worth keeping: everything a request or an event causes, not the machinery's ticks.

Only root spans are decided here (children follow their parent, `ParentBased`). A root is dropped when it is
- a timer tick (`timer <service>.<method>`): the outbox sweep and the notice dispatcher run every second;
  work they do that matters starts its own span (a relayed event continues its stored trace, a scheduled
  notice opens a new trace linked to the one that scheduled it);
- a health probe (`<service>/health`), polled by `/readyz` and the platform's health checks;
- a client call with no operation around it (a MongoDB or Redis command at start-up or in a tick).

Of the other roots, a share is kept: `OTEL_TRACES_SAMPLER_ARG` (the OpenTelemetry variable for a sampler's
ratio; `Settings.traces_sample_ratio`), 1 by default, so every request is traced. Tracing every request
costs the read path a good part of its throughput (`make bench` measures both; docs/performance.md);
production sets 0.1. The choice is made by trace id at the root and followed by every span of the trace,
across every service, so a kept trace is always whole.
"""

from __future__ import annotations

from opentelemetry.sdk.trace.sampling import Decision, Sampler, SamplingResult, TraceIdRatioBased
from opentelemetry.trace import SpanKind

TIMER_PREFIX = "timer "
HEALTH_SUFFIX = "/health"


def is_quiet_root(name: str, kind: SpanKind | None) -> bool:
    return name.startswith(TIMER_PREFIX) or name.endswith(HEALTH_SUFFIX) or kind == SpanKind.CLIENT


class QuietRoots(Sampler):
    def __init__(self, ratio: float = 1.0):
        self.ratio = ratio
        self._share = None if ratio >= 1.0 else TraceIdRatioBased(ratio)

    def should_sample(self, parent_context, trace_id, name, kind=None, attributes=None, links=None,
                      trace_state=None):
        keep = not is_quiet_root(name, kind) and (
            self._share is None
            or self._share.should_sample(parent_context, trace_id, name).decision == Decision.RECORD_AND_SAMPLE)
        decision = Decision.RECORD_AND_SAMPLE if keep else Decision.DROP
        return SamplingResult(decision, attributes if keep else None)

    def get_description(self) -> str:
        return f"QuietRoots{{ratio={self.ratio:g}}}"
