"""What an operator sees of the hiring loop, on the platform as `make run` starts it (spans go to its local
span file, each service serves /metrics on its own port):

- traces: the trace of `POST /v1/applications` reaches sourcing and screening, the pass decision's reaches
  interview_feedback and notification (the offer is sent inside it), the candidate's decline on the portal
  reaches talent_pool; every span's parent is in its trace; a notice sent later by the scheduler starts a
  new trace linked to the one that scheduled it; `make traces` prints them as trees;
- logs of every process carry the trace ids;
- /metrics of the gateway and of every service show the figures with real values;
- no personal data of any candidate of this session is in a span or a log line.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys

import httpx
import pytest

from shared.tracing.files import read_spans
from tests.e2e.test_hiring_loop import find_mail, make_key, portal_link
from tests.support.platform import ROOT
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

DIVISION = "observatory"
CANDIDATE = {"name": "Mira Okonkwo-Tanaka", "email": "mira.okonkwo@example.net", "phone": "+44 7700 900123",
             "skills": ["forklift", "safety"], "years_experience": 4, "location": "Leeds"}
WEAK = {"name": "Piotr Zielinski-Ng", "email": "piotr.zng@example.net", "phone": "+48 601 234 567",
        "skills": ["forklift"], "years_experience": 0}
# Every named candidate of the e2e session (this module's, test_hiring_loop's, test_api_fuzz's, test_audit's): none may
# reach a span or a log.
PERSONAL_DATA = [CANDIDATE["name"], CANDIDATE["email"], CANDIDATE["phone"], "7700900123",
                 WEAK["name"], WEAK["email"], WEAK["phone"], "601234567",
                 "Lin Wei", "lin.wei@example.com", "+86 138 0000 0000", "8613800000000", "sam@example.com",
                 "noor.survey@example.com", "Quick and kind", "dana.consent@example.com", "Tenant A Person",
                 "person.a@example.org",
                 "Fay Fuzz", "fay.fuzz@example.org", "Dana Doc", "dana.doc@example.org", "+49 30 123456", "4930123456",
                 "Wes Doc", "wes.doc@example.org",
                 "Rita Rest", "rita.rest@example.net", "+44 20 7946 0321", "442079460321",
                 "Erin Erasure", "erin.erasure@example.com", "+33 1 23 45 67 89", "33123456789", "Erin Again",
                 "Reto Retention", "reto.retention@example.com", "Kira Kept", "kira.kept@example.com",
                 "Audrey Auditson", "audrey.auditson@example.net", "+33 6 12 34 56 78", "33612345678",
                 "Pavel Poolman", "pavel.poolman@example.net", "+420 601 111 222", "420601111222"]


def trace_id(response: httpx.Response) -> str:
    header = response.headers.get("traceresponse")
    assert header, f"no traceresponse header on {response.request.method} {response.request.url.path}"
    version, trace, span, flags = header.split("-")
    assert version == "00" and len(trace) == 32 and len(span) == 16
    return trace


def spans_of(platform, trace: str) -> list[dict]:
    return [s for s in read_spans(platform.var_dir / "traces.jsonl") if s["trace_id"] == trace]


def wait_for_spans(platform, trace: str, *wanted: tuple[str, str]) -> list[dict]:
    """The trace's spans, once it holds a span of each (service, name) wanted."""
    def ready(spans):
        return all(any(s["service"] == svc and s["name"] == name for s in spans) for svc, name in wanted)
    return wait_for(lambda: spans_of(platform, trace), ready, timeout=30, what=f"spans {wanted} in trace {trace}")


def assert_one_tree(spans: list[dict], root_name: str) -> dict[str, dict]:
    """Every span's parent is in the trace; one root, the gateway's server span. Returns spans by id."""
    by_id = {s["span_id"]: s for s in spans}
    roots = [s for s in spans if s["parent_id"] is None]
    assert [(r["service"], r["name"], r["kind"]) for r in roots] == [("gateway", root_name, "server")]
    orphans = [s["name"] for s in spans if s["parent_id"] is not None and s["parent_id"] not in by_id]
    assert orphans == []
    return by_id


def ancestors(span: dict, by_id: dict[str, dict]) -> list[dict]:
    chain = []
    while span["parent_id"] is not None:
        span = by_id[span["parent_id"]]
        chain.append(span)
    return chain


def find(spans: list[dict], service: str, name: str) -> dict:
    found = [s for s in spans if s["service"] == service and s["name"] == name]
    assert found, f"no span {name} of {service} in {sorted({(s['service'], s['name']) for s in spans})}"
    return found[0]


def app_status(client, app_id):
    return client.get(f"/v1/applications/{app_id}").json()


@pytest.fixture(scope="module")
def loop(platform):
    """One application through the loop in its own division, remembering the trace of each request."""
    admin = platform.client()
    hr = platform.client(make_key(admin, "hedda", "hr", [DIVISION]))
    recruiter = platform.client(make_key(admin, "rafe", "recruiter", [DIVISION]))
    ivy = platform.client(make_key(admin, "ivy", "interviewer", [DIVISION]))
    jun = platform.client(make_key(admin, "jun", "interviewer", [DIVISION]))
    # The onboarding guide follows the offer after 1 s: sent by the scheduler, in a trace of its own.
    policy = hr.put(f"/v1/notification-policies/{DIVISION}", json={"guide_after": 1})
    assert policy.status_code == 200, policy.text
    req = hr.post("/v1/requisitions", json={
        "title": "Forklift Lead", "division": DIVISION, "department": "depot", "tier": "basic",
        "required_skills": ["forklift", "safety"], "min_years": 1}).json()

    applied = recruiter.post("/v1/applications", json={"requisition_id": req["id"], "source": "referral",
                                                       "candidate": CANDIDATE, "talent_pool_consent": True})
    assert applied.status_code == 202, applied.text
    app = applied.json()
    weak = recruiter.post("/v1/applications", json={"requisition_id": req["id"], "source": "job_board",
                                                    "candidate": WEAK})
    assert weak.status_code == 202, weak.text
    # bad input on the way: refused, and its message must not put the address into a log either
    bad = recruiter.post("/v1/applications", json={"requisition_id": req["id"], "source": "job_board",
                                                   "candidate": {**CANDIDATE, "email": CANDIDATE["name"]}})
    assert bad.status_code == 422
    dup = recruiter.post("/v1/applications", json={"requisition_id": req["id"], "source": "job_board",
                                                   "candidate": CANDIDATE})
    assert dup.status_code == 409

    wait_for(lambda: app_status(recruiter, app["id"]), lambda a: a["status"] == "shortlisted", what="shortlisted")
    interview = recruiter.post(f"/v1/applications/{app['id']}/interviews", json={
        "interviewers": ["ivy", "jun"], "scheduled_at": "2026-12-02T09:00:00Z", "competencies": ["safety"]}).json()
    for client, name in ((ivy, "ivy"), (jun, "jun")):
        r = client.post(f"/v1/interviews/{interview['id']}/scorecards", json={
            "interviewer": name, "ratings": {"safety": 4}, "recommendation": "yes",
            "highlights": ["Careful"], "notes": f"{CANDIDATE['name']} was great"})
        assert r.status_code == 201, r.text
    wait_for(lambda: app_status(hr, app["id"]), lambda a: a["status"] == "interviewed", what="interviewed")
    decided = hr.post(f"/v1/applications/{app['id']}/decision", json={"outcome": "pass"})
    assert decided.status_code == 200, decided.text
    offer = find_mail(platform, CANDIDATE["email"], "offer")[0]
    # the guide goes out (1 s later) before the candidate declines, which would cancel it
    wait_for(lambda: hr.get(f"/v1/applications/{app['id']}/notifications").json(),
             lambda notices: any(n["kind"] == "guide" and n["status"] == "sent" for n in notices), what="guide sent")
    path = portal_link(platform.mail_body(offer)).split("/portal/", 1)[1]
    declined = platform.client().post(f"/portal/{path}/response", json={"response": "decline"})
    assert declined.status_code == 200, declined.text
    wait_for(lambda: recruiter.get("/v1/talent-pool", params={"skill": "forklift"}).json()["items"],
             lambda items: any(e["candidate_id"] == app["candidate_id"] for e in items), what="pooled")
    urgent = hr.post("/v1/requisitions", json={
        "title": "Night Forklift Lead", "division": DIVISION, "department": "depot", "tier": "basic",
        "urgent": True, "required_skills": ["forklift"]}).json()
    wait_for(lambda: recruiter.get(f"/v1/requisitions/{urgent['id']}/matches").json(),
             lambda m: isinstance(m, list) and len(m) > 0, what="matches")
    reengaged = recruiter.post(f"/v1/requisitions/{urgent['id']}/matches/{app['candidate_id']}/reengage")
    assert reengaged.status_code == 202, reengaged.text
    return {"application": app, "requisition": req, "apply": trace_id(applied), "decision": trace_id(decided),
            "decline": trace_id(declined), "portal_token": path}


def test_trace_of_an_application_reaches_sourcing_and_screening(platform, loop):
    spans = wait_for_spans(platform, loop["apply"],
                           ("gateway", "POST /v1/applications"), ("sourcing", "sourcing/submit_application"),
                           ("screening", "process sourcing.application_received"),
                           ("sourcing", "process screening.application_screened"))
    by_id = assert_one_tree(spans, "POST /v1/applications")
    root = find(spans, "gateway", "POST /v1/applications")
    assert root["attributes"]["http.request.method"] == "POST"
    assert root["attributes"]["http.route"] == "/v1/applications"
    assert root["attributes"]["http.response.status_code"] == 202

    client = find(spans, "gateway", "sourcing/submit_application")
    server = find(spans, "sourcing", "sourcing/submit_application")
    assert client["kind"] == "client" and server["kind"] == "server" and server["parent_id"] == client["span_id"]
    assert server["attributes"]["rpc.system"] == "nameko" and server["attributes"]["rpc.method"] == "submit_application"
    assert server["attributes"]["hireloop.requisition_id"] == loop["requisition"]["id"]

    screened = find(spans, "screening", "process sourcing.application_received")
    assert screened["kind"] == "consumer"
    assert screened["attributes"]["messaging.system"] == "rabbitmq"
    assert screened["attributes"]["messaging.destination.name"] == "sourcing.events"
    assert screened["attributes"]["hireloop.application_id"] == loop["application"]["id"]
    assert screened["attributes"]["hireloop.division"] == DIVISION
    publish = by_id[screened["parent_id"]]
    assert (publish["service"], publish["kind"], publish["name"]) == (
        "sourcing", "producer", "publish sourcing.application_received")
    assert server in ancestors(screened, by_id) and root in ancestors(screened, by_id)
    # the screening result travels back to sourcing in the same trace
    back = find(spans, "sourcing", "process screening.application_screened")
    assert screened in ancestors(back, by_id)
    # down to the store
    mongo = [s for s in spans if s["service"] == "screening" and s["attributes"].get("db.system") == "mongodb"]
    assert any(screened in ancestors(s, by_id) for s in mongo)
    # every store call of screening's belongs to an event it consumed in this trace (the application, or a
    # status change for its copy of statuses)
    consumed = {s["span_id"] for s in spans if s["service"] == "screening" and s["kind"] == "consumer"}
    assert all(consumed & {a["span_id"] for a in ancestors(s, by_id)} for s in mongo)


def test_trace_of_the_pass_decision_reaches_interview_feedback_and_the_offer_notice(platform, loop):
    spans = wait_for_spans(platform, loop["decision"],
                           ("interview_feedback", "interview_feedback/decide"),
                           ("notification", "deliver notice offer"))
    by_id = assert_one_tree(spans, "POST /v1/applications/{application_id}/decision")
    decide = find(spans, "interview_feedback", "interview_feedback/decide")
    offer = find(spans, "notification", "deliver notice offer")
    chain = ancestors(offer, by_id)
    assert decide in chain
    assert [s["name"] for s in chain if s["kind"] == "consumer"] == [
        "process sourcing.application_status_changed", "process interview_feedback.decision_recorded"]
    assert offer["attributes"]["hireloop.application_id"] == loop["application"]["id"]
    assert offer["attributes"]["hireloop.notice.kind"] == "offer"


def test_trace_of_the_decline_on_the_portal_reaches_talent_pool_without_the_token(platform, loop):
    spans = wait_for_spans(platform, loop["decline"],
                           ("talent_pool", "process sourcing.application_status_changed"))
    by_id = assert_one_tree(spans, "POST /portal/{token}/response")
    pooled = find(spans, "talent_pool", "process sourcing.application_status_changed")
    assert find(spans, "gateway", "POST /portal/{token}/response") in ancestors(pooled, by_id)
    assert pooled["attributes"]["hireloop.application_id"] == loop["application"]["id"]
    assert loop["portal_token"] not in json.dumps(spans)


def test_a_notice_sent_later_by_the_scheduler_links_back_to_the_trace_that_scheduled_it(platform, loop):
    def guide_spans():
        return [s for s in read_spans(platform.var_dir / "traces.jsonl") if s["name"] == "deliver notice guide"
                and s["attributes"].get("hireloop.application_id") == loop["application"]["id"]]
    guide = wait_for(guide_spans, lambda found: len(found) > 0, timeout=30, what="guide delivered")[0]
    assert guide["parent_id"] is None and guide["trace_id"] != loop["decision"]
    assert [link["trace_id"] for link in guide["links"]] == [loop["decision"]]


def test_make_traces_prints_the_loop_as_readable_trees(platform, loop):
    out = subprocess.run([sys.executable, "-m", "shared.tracing.show", str(platform.var_dir / "traces.jsonl"),
                          "--trace", loop["apply"]], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].startswith(f"trace {loop['apply']}  POST /v1/applications")
    assert "gateway → sourcing" in lines[0] and "screening" in lines[0]
    step = {name: next(line for line in lines if name in line) for name in (
        "POST /v1/applications  <gateway>", "sourcing/submit_application  <sourcing>",
        "process sourcing.application_received  <screening>")}
    depth = [len(re.match(r"^\s*\+\S+ m?s\s+\S+ m?s  ( *)\S", line).group(1)) for line in step.values()]
    assert depth == sorted(depth) and len(set(depth)) == 3
    assert all(re.search(r"\d+\.\d (ms|s)", line) for line in step.values())


def test_logs_of_every_process_on_the_path_carry_the_trace_id(platform, loop):
    for process in ("gateway", "sourcing-1"):
        lines = [json.loads(line) for line in platform.log(process).splitlines() if line.startswith("{")]
        assert any(line.get("trace_id") == loop["apply"] for line in lines), process
    screening = [json.loads(line) for name in ("screening-1", "screening-2")
                 for line in platform.log(name).splitlines() if line.startswith("{")]
    handled = [line for line in screening if line.get("trace_id") == loop["apply"]]
    assert handled and handled[0]["event_type"] == "application_received"
    assert handled[0]["application_id"] == loop["application"]["id"] and handled[0]["span_id"]
    access = next(json.loads(line) for line in platform.log("gateway").splitlines()
                  if '"trace_id": "' + loop["decline"] in line)
    assert access["route"] == "/portal/{token}/response" and loop["portal_token"] not in json.dumps(access)


def _scrape(url: str) -> dict[tuple[str, frozenset], float]:
    text = httpx.get(url, timeout=10).text
    samples = {}
    for line in text.splitlines():
        match = re.match(r"^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? ([-+\d.eE]+|NaN|[+-]Inf)$", line)
        if match:
            labels = frozenset(re.findall(r'(\w+)="([^"]*)"', match.group(2) or ""))
            samples[(match.group(1), labels)] = float(match.group(3))
    return samples


def total(samples, metric: str, /, **labels: str) -> float:
    want = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == metric and want <= ls)


def test_metrics_show_real_figures_after_the_loop(platform, loop):
    gateway = _scrape(f"{platform.base_url}/metrics")
    assert total(gateway, "hireloop_http_requests_total", route="/v1/applications", status="202") >= 1
    assert total(gateway, "hireloop_http_requests_total", route="/v1/applications", status="422") >= 1
    assert total(gateway, "hireloop_http_request_duration_seconds_count", route="/v1/applications") >= 3
    assert total(gateway, "hireloop_rpc_calls_total", service="sourcing", method="submit_application") >= 3
    for service in ("sourcing", "screening", "interview_feedback", "notification", "talent_pool"):
        assert (("hireloop_queue_messages", frozenset({("service", service), ("queue", f"rpc-{service}"),
                                                       ("role", "rpc")})) in gateway)
        assert total(gateway, "hireloop_queue_consumers", service=service, role="rpc") >= 1

    health = platform.client().get("/v1/admin/services").json()["items"]
    ports = {h["service"]: h["metrics_port"] for h in health}
    assert all(isinstance(p, int) for p in ports.values()), health
    scraped = {s: _scrape(f"http://127.0.0.1:{p}/metrics") for s, p in ports.items()}

    sourcing = scraped["sourcing"]
    assert total(sourcing, "hireloop_worker_calls_total", entrypoint="rpc", name="submit_application",
                 outcome="ok") >= 2
    assert total(sourcing, "hireloop_worker_calls_total", name="submit_application", outcome="domain_error") >= 1
    assert total(sourcing, "hireloop_worker_duration_seconds_count", name="submit_application") >= 3
    assert total(sourcing, "hireloop_messages_consumed_total", queue="sourcing.inbox") >= 1
    assert total(sourcing, "hireloop_events_published_total", type="application_received") >= 2
    assert ("hireloop_outbox_backlog", frozenset({("service", "sourcing")})) in sourcing
    assert total(sourcing, "hireloop_business_events_total", event="applications_received") >= 2
    assert total(sourcing, "hireloop_business_events_total", event="applications_declined") >= 1
    # screening runs two replicas: each has its own port, the one health answered is enough for the figure
    assert total(scraped["notification"], "hireloop_business_events_total", event="offers_sent") >= 1
    assert total(scraped["notification"], "hireloop_worker_calls_total", entrypoint="event") >= 3
    backlog = {dict(labels)["state"] for (n, labels) in scraped["notification"] if n == "hireloop_scheduler_backlog"}
    assert backlog == {"due", "later", "sending"}
    assert total(scraped["talent_pool"], "hireloop_business_events_total", event="reengagements_requested") >= 1
    assert total(scraped["talent_pool"], "hireloop_business_events_total", event="candidates_pooled") >= 1
    assert total(scraped["interview_feedback"], "hireloop_business_events_total", event="decisions_pass") >= 1
    assert all(total(m, "process_resident_memory_bytes") > 0 for m in scraped.values())


def test_screened_out_is_counted_by_the_screening_replicas(platform, loop):
    targets = json.loads((platform.var_dir / "metrics-targets.json").read_text())
    screening = [t["targets"][0] for t in targets if t["labels"].get("process", "").startswith("screening")]
    assert len(screening) == 2
    figures = [_scrape(f"http://{target}/metrics") for target in screening]
    assert sum(total(f, "hireloop_business_events_total", event="screened_out") for f in figures) >= 1
    assert sum(total(f, "hireloop_business_events_total", event="screened_in") for f in figures) >= 1


@pytest.mark.after_all_e2e
def test_no_personal_data_in_spans_or_logs(platform):
    # Runs after every other end-to-end test, so it sees what they all left behind.
    sources = {"traces.jsonl": (platform.var_dir / "traces.jsonl").read_text(errors="replace")}
    for path in sorted((platform.var_dir / "log").glob("*.log")):
        if path.stem in ("smtp", "mongo"):
            continue  # the SMTP capture stands in for a mail server, mongo.log is the database's own
        sources[path.name] = path.read_text(errors="replace")
    assert len(sources) >= 8 and len(sources["traces.jsonl"]) > 10_000
    found = [(name, needle) for name, text in sources.items() for needle in PERSONAL_DATA
             if needle.lower() in text.lower()]
    assert found == []
