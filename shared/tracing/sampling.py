"""Which traces are worth keeping: everything a request or an event causes, not the machinery's ticks.

Only root spans are decided here (children follow their parent, `ParentBased`). A root is dropped when it is
- a timer tick (`timer <service>.<method>`): the outbox sweep and the notice dispatcher run every second;
  work they do that matters starts its own span (a relayed event continues its stored trace, a scheduled
  notice opens a new trace linked to the one that scheduled it);
- a health probe (`<service>/health`), polled by `/readyz` and the platform's health checks;
- a client call with no operation around it (a MongoDB or Redis command at start-up or in a tick).
"""

from __future__ import annotations

from opentelemetry.sdk.trace.sampling import Decision, Sampler, SamplingResult
from opentelemetry.trace import SpanKind

TIMER_PREFIX = "timer "
HEALTH_SUFFIX = "/health"


def is_quiet_root(name: str, kind: SpanKind | None) -> bool:
    return name.startswith(TIMER_PREFIX) or name.endswith(HEALTH_SUFFIX) or kind == SpanKind.CLIENT


class QuietRoots(Sampler):
    def should_sample(self, parent_context, trace_id, name, kind=None, attributes=None, links=None,
                      trace_state=None):
        decision = Decision.DROP if is_quiet_root(name, kind) else Decision.RECORD_AND_SAMPLE
        return SamplingResult(decision, attributes if decision == Decision.RECORD_AND_SAMPLE else None)

    def get_description(self) -> str:
        return "QuietRoots"
