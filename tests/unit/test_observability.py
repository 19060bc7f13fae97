"""Tracing helpers, the span file and its tree printer, the sampler, log lines and business counters,
without processes or a broker (the end-to-end trace test is tests/e2e/test_observability.py)."""

from __future__ import annotations

import io
import json
import logging

import pytest
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ParentBased

from shared import metrics, tracing
from shared.config import Settings
from shared.ids import new_id
from shared.logs import JsonFormatter, log_context
from shared.tracing import files, show
from shared.tracing.sampling import QuietRoots


@pytest.fixture
def spans(monkeypatch, tmp_path):
    """A tracer provider for this test only (the process-wide one can be set once), recording in memory
    and to a span file, with the same sampler as the platform."""
    memory = InMemorySpanExporter()
    provider = TracerProvider(sampler=ParentBased(root=QuietRoots()),
                              resource=Resource.create({"service.name": "sourcing"}))
    provider.add_span_processor(SimpleSpanProcessor(memory))
    provider.add_span_processor(SimpleSpanProcessor(files.JsonLinesSpanExporter(tmp_path / "traces.jsonl")))
    monkeypatch.setattr(tracing, "_provider", provider)
    memory.file = tmp_path / "traces.jsonl"
    yield memory
    provider.shutdown()


def by_name(exporter) -> dict:
    return {s.name: s for s in exporter.get_finished_spans()}


def test_events_published_from_the_outbox_continue_the_trace_of_the_worker_that_emitted_them(spans):
    with tracing.tracer().start_as_current_span("sourcing/submit_application", kind=trace.SpanKind.SERVER):
        stored = {"nameko.call_id_stack": ["x"], **tracing.nameko_headers()}  # what the outbox keeps
    # later, maybe in the sweep timer of another replica: no span is current
    with tracing.producer_span("sourcing.events", "application_received", "evt_1", stored) as headers:
        pass
    got = by_name(spans)
    server, producer = got["sourcing/submit_application"], got["publish sourcing.application_received"]
    assert producer.parent.span_id == server.context.span_id
    assert producer.context.trace_id == server.context.trace_id
    assert producer.kind == trace.SpanKind.PRODUCER
    assert producer.attributes["messaging.system"] == "rabbitmq"
    assert producer.attributes["messaging.rabbitmq.destination.routing_key"] == "application_received"
    # the consumer's parent is the producer span, carried as nameko reads it
    assert headers["nameko.traceparent"].split("-")[2] == format(producer.context.span_id, "016x")
    assert headers["nameko.call_id_stack"] == ["x"]


def test_a_failed_publish_is_an_error_span_naming_only_the_exception_type(spans):
    with pytest.raises(ConnectionError):
        with tracing.producer_span("sourcing.events", "application_received", "evt_1", {}):
            raise ConnectionError("broker at amqp://guest:secret@host is gone for lin.wei@example.com")
    span = by_name(spans)["publish sourcing.application_received"]
    assert span.status.status_code == trace.StatusCode.ERROR
    assert span.attributes["error.type"] == "ConnectionError"
    dumped = json.dumps(files.span_to_dict(span))
    assert "secret" not in dumped and "lin.wei" not in dumped


def test_work_scheduled_earlier_links_back_from_a_timer_but_nests_inside_a_worker(spans):
    with tracing.tracer().start_as_current_span("process sourcing.application_status_changed") as scheduling:
        stored = tracing.stored_context()
        with tracing.deferred_span("deliver notice offer", stored, application_id="app_1"):
            pass
    with tracing.tracer().start_as_current_span("timer notification.dispatch_due"):  # not sampled
        with tracing.deferred_span("deliver notice guide", stored, application_id="app_1", division="retail"):
            pass
    got = by_name(spans)
    assert "timer notification.dispatch_due" not in got
    offer, guide = got["deliver notice offer"], got["deliver notice guide"]
    assert offer.parent.span_id == scheduling.context.span_id and not offer.links
    assert guide.parent is None and guide.context.trace_id != scheduling.context.trace_id
    assert [link.context.span_id for link in guide.links] == [scheduling.context.span_id]
    assert guide.attributes["hireloop.application_id"] == "app_1"
    assert guide.attributes["hireloop.division"] == "retail"


def test_sampler_drops_ticks_probes_and_bare_client_calls_but_keeps_their_meaningful_children(spans):
    t = tracing.tracer()
    with t.start_as_current_span("timer sourcing.relay_outbox"):
        with t.start_as_current_span("hireloop_sourcing.find", kind=trace.SpanKind.CLIENT):
            pass
    with t.start_as_current_span("sourcing/health", kind=trace.SpanKind.SERVER):
        pass
    with t.start_as_current_span("hireloop_gateway.createIndexes", kind=trace.SpanKind.CLIENT):
        pass
    with t.start_as_current_span("POST /v1/applications", kind=trace.SpanKind.SERVER):
        with t.start_as_current_span("hireloop_gateway.find", kind=trace.SpanKind.CLIENT):
            pass
    assert sorted(by_name(spans)) == ["POST /v1/applications", "hireloop_gateway.find"]


def test_ids_come_from_payloads_and_nested_requisitions_never_other_fields():
    payload = {"application_id": "app_1", "requisition": {"id": "req_1", "division": "retail"},
               "candidate": {"name": "Lin Wei", "email": "lin@example.com"}}
    assert tracing.ids_of(payload) == {"hireloop.application_id": "app_1", "hireloop.requisition_id": "req_1",
                                       "hireloop.division": "retail"}
    assert tracing.ids_of({"data": 1}, None, "text") == {}


def test_span_file_prints_as_an_indented_tree_with_durations_and_folded_store_calls(spans, capsys):
    t = tracing.tracer()
    with t.start_as_current_span("POST /v1/applications", kind=trace.SpanKind.SERVER):
        with t.start_as_current_span("sourcing/submit_application", kind=trace.SpanKind.SERVER) as server:
            server.set_attribute("hireloop.requisition_id", "req_9")
            for _ in range(3):
                with t.start_as_current_span("hireloop_sourcing.insert", kind=trace.SpanKind.CLIENT,
                                             attributes={"db.system": "mongodb"}):
                    pass
    assert show.main([str(spans.file), "--last", "1"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("trace ") and "POST /v1/applications" in out[0] and "5 spans: sourcing" in out[0]
    root = next(line for line in out if line.endswith("POST /v1/applications  <sourcing>"))
    child = next(line for line in out if "sourcing/submit_application" in line)
    folded = next(line for line in out if "mongodb ×3" in line)
    indent = [len(line) - len(line.lstrip()) for line in (root, child, folded)]
    assert "[requisition_id=req_9]" in child
    assert " ms" in child
    assert child.index("sourcing/") > root.index("POST") and folded.index("mongodb") > child.index("sourcing/")
    assert indent == sorted(indent)
    assert show.main([str(spans.file), "--all", "--last", "1"]) == 0
    assert capsys.readouterr().out.count("hireloop_sourcing.insert") == 3


def test_span_file_survives_a_line_cut_short_and_says_when_empty(tmp_path, capsys):
    path = tmp_path / "t.jsonl"
    good = {"trace_id": "a" * 32, "span_id": "b" * 16, "parent_id": None, "name": "GET /x", "kind": "server",
            "service": "gateway", "start_ns": 1, "duration_ms": 2.0, "status": "unset", "attributes": {},
            "events": [], "links": []}
    path.write_text(json.dumps(good) + "\n" + '{"trace_id": "cut')
    assert [s["name"] for s in files.read_spans(path)] == ["GET /x"]
    assert show.main([str(tmp_path / "missing.jsonl")]) == 1
    assert "no spans" in capsys.readouterr().err


def test_name_selects_traces_by_their_whole_root_name_not_a_part_of_it(tmp_path, capsys):
    path = tmp_path / "t.jsonl"

    def root(trace: str, name: str, start: int) -> str:
        return json.dumps({"trace_id": trace * 32, "span_id": trace * 16, "parent_id": None, "name": name,
                           "kind": "server", "service": "gateway", "start_ns": start, "duration_ms": 1.0,
                           "status": "unset", "attributes": {}, "events": [], "links": []})

    path.write_text("\n".join([root("a", "GET /v1/requisitions", 1),
                               root("b", "GET /v1/requisitions/{requisition_id}", 2),
                               root("c", "GET /v1/requisitions/{requisition_id}/applications", 3),
                               root("d", "GET /v1/requisitions", 4)]) + "\n")
    assert show.main([str(path), "--name", "GET /v1/requisitions", "--last", "10"]) == 0
    shown = [line.split()[1] for line in capsys.readouterr().out.splitlines() if line.startswith("trace ")]
    assert shown == ["a" * 32, "d" * 32]
    assert show.main([str(path), "--name", " get /V1/requisitions/{requisition_id} "]) == 0
    shown = [line.split()[1] for line in capsys.readouterr().out.splitlines() if line.startswith("trace ")]
    assert shown == ["b" * 32]
    assert show.main([str(path), "--name", "/v1/requisitions"]) == 1
    out, err = capsys.readouterr()
    assert "trace " not in out and err.startswith("no trace named '/v1/requisitions' in ")
    assert "'GET /v1/requisitions', 'GET /v1/requisitions/{requisition_id}'" in err


def _log_line(record_msg: str, **extra) -> dict:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter("sourcing"))
    logger = logging.getLogger("test.observability")
    logger.handlers[:] = [handler]
    logger.propagate = False
    logger.setLevel(logging.INFO)
    logger.info(record_msg, extra=extra)
    return json.loads(stream.getvalue())


def test_log_lines_carry_the_trace_the_unit_of_work_and_no_contact_details(spans):
    with tracing.tracer().start_as_current_span("process sourcing.application_received") as span:
        with log_context(event_type="application_received", application_id="app_1"):
            line = _log_line("mail to Lin.Wei@Example.com or +86 138 0000 0000 failed", attempt=2,
                             detail={"to": ["a.b@example.org"]})
    ctx = span.get_span_context()
    assert line["trace_id"] == format(ctx.trace_id, "032x") and line["span_id"] == format(ctx.span_id, "016x")
    assert line["event_type"] == "application_received" and line["application_id"] == "app_1"
    assert line["service"] == "sourcing" and line["level"] == "info" and line["ts"].endswith("Z")
    assert line["msg"] == "mail to [email] or [phone] failed"
    assert line["detail"] == {"to": ["[email]"]} and line["attempt"] == 2
    outside = _log_line("no trace here, on 2026-12-01 after 1500 ms")
    assert "trace_id" not in outside and "event_type" not in outside
    assert outside["msg"] == "no trace here, on 2026-12-01 after 1500 ms"  # dates and numbers stay


def test_business_counters_follow_committed_events():
    assert metrics.business_names("application_received", {"fast_track": None}) == ["applications_received"]
    assert metrics.business_names("application_screened", {"result": {"passed": False}}) == ["screened_out"]
    assert metrics.business_names("application_status_changed", {"status": "offered"}) == ["applications_offered"]
    assert metrics.business_names("application_status_changed", {"status": "interviewing"}) == []
    assert metrics.business_names("notice_sent", {"kind": "offer"}) == ["notices_sent", "offers_sent"]
    assert metrics.business_names("reengagement_requested", {}) == ["reengagements_requested"]
    assert metrics.business_names("reengagement_answered", {"response": "decline"}) == ["reengagements_declined"]


def test_ids_increase_strictly_within_a_millisecond():
    ids = [new_id("req") for _ in range(2000)]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert all(len(i) == len("req_") + 24 for i in ids)


COLLECTOR_AND_SERVICE = """
import http.server, json, os, sys, threading
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

received = []

class Collector(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if self.path == "/v1/traces":
            request = ExportTraceServiceRequest()
            request.ParseFromString(body)
            received.append(request)
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.end_headers()

    def log_message(self, *args):
        pass

server = http.server.HTTPServer(("127.0.0.1", 0), Collector)
threading.Thread(target=server.serve_forever, daemon=True).start()
os.environ["OTEL_EXPORTER_OTLP_ENDPOINT"] = f"http://127.0.0.1:{server.server_port}"

from shared import tracing
from shared.config import Settings
assert tracing.setup_tracing("screening", Settings.from_env()) is not None
with tracing.tracer().start_as_current_span("process sourcing.application_received"):
    tracing.set_ids(application_id="app_9")
tracing.shutdown()
server.shutdown()
print(json.dumps([
    {"service": {a.key: a.value.string_value for a in rs.resource.attributes}.get("service.name"),
     "name": span.name, "attributes": {a.key: a.value.string_value for a in span.attributes}}
    for request in received for rs in request.resource_spans for ss in rs.scope_spans for span in ss.spans]))
"""


def test_spans_go_over_otlp_http_when_an_endpoint_is_set(tmp_path):
    """A process with OTEL_EXPORTER_OTLP_ENDPOINT sends its spans over OTLP/HTTP (protobuf) to that collector:
    here a minimal one in the same child process (the test process may be eventlet-patched)."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "HIRELOOP_TRACES_FILE": str(tmp_path / "unused.jsonl")}
    done = subprocess.run([sys.executable, "-c", COLLECTOR_AND_SERVICE], env=env, capture_output=True, text=True,
                          timeout=60, cwd=str(files.Path(__file__).resolve().parents[2]))
    assert done.returncode == 0, done.stderr
    assert not (tmp_path / "unused.jsonl").exists()  # OTLP wins over the local file
    spans = json.loads(done.stdout.strip().splitlines()[-1])
    assert [(s["service"], s["name"]) for s in spans] == [("screening", "process sourcing.application_received")]
    assert spans[0]["attributes"]["hireloop.application_id"] == "app_9"


def test_a_sample_ratio_keeps_that_share_of_whole_traces_and_never_a_quiet_root(monkeypatch):
    monkeypatch.setenv("OTEL_TRACES_SAMPLER_ARG", "0.25")
    memory = InMemorySpanExporter()
    provider = TracerProvider(sampler=ParentBased(root=QuietRoots(Settings.from_env().traces_sample_ratio)))
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("t")
    for _ in range(2000):
        with tracer.start_as_current_span("GET /v1/applications/{id}", kind=trace.SpanKind.SERVER):
            with tracer.start_as_current_span("sourcing/get_application", kind=trace.SpanKind.CLIENT):
                pass
        with tracer.start_as_current_span("timer sourcing.sweep_outbox"):
            pass
    finished = memory.get_finished_spans()
    roots = [s for s in finished if s.parent is None]
    assert 400 <= len(roots) <= 600  # a quarter of 2000, give or take what chance allows
    assert all(s.name.startswith("GET") for s in roots)
    kept = {s.context.trace_id for s in roots}
    children = [s for s in finished if s.parent is not None]
    assert {s.context.trace_id for s in children} == kept  # every kept trace whole, no orphan children
    provider.shutdown()


@pytest.mark.parametrize("raw", ["2", "-0.1", "some"])
def test_a_sample_ratio_outside_0_to_1_is_refused_by_name(monkeypatch, raw):
    monkeypatch.setenv("OTEL_TRACES_SAMPLER_ARG", raw)
    with pytest.raises(ValueError, match="OTEL_TRACES_SAMPLER_ARG"):
        Settings.from_env()


@pytest.mark.parametrize("asked", [False, True])
def test_a_span_per_mongodb_command_only_when_asked(data_infra, asked):
    """Per-command PyMongo spans cost every command (issue 17): off unless HIRELOOP_TRACE_DB_COMMANDS asks;
    Redis calls are traced either way."""
    import dataclasses

    from opentelemetry.instrumentation.pymongo import PymongoInstrumentor
    from opentelemetry.instrumentation.redis import RedisInstrumentor

    from shared.storage import mongo_client

    settings = Settings.from_env({"HIRELOOP_TRACE_DB_COMMANDS": "true"} if asked else {})
    assert settings.trace_db_commands is asked
    settings = dataclasses.replace(settings, mongo_url=data_infra.mongo_url)
    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracing._instrument_clients(provider, settings)
    try:
        assert PymongoInstrumentor().is_instrumented_by_opentelemetry is asked
        assert RedisInstrumentor().is_instrumented_by_opentelemetry
        client = mongo_client(settings.mongo_url)  # after instrumenting: listeners are fixed at creation
        try:
            client[f"{data_infra.namespace}_spans"].things.find_one({"_id": "x"})
        finally:
            client.close()
        db_spans = [s.name for s in memory.get_finished_spans() if s.attributes.get("db.system") == "mongodb"]
        assert any("find" in name for name in db_spans) if asked else db_spans == []
    finally:
        if PymongoInstrumentor().is_instrumented_by_opentelemetry:
            PymongoInstrumentor().uninstrument()
        RedisInstrumentor().uninstrument()
        provider.shutdown()
