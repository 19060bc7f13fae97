"""interview_feedback as a real process on RabbitMQ and MongoDB, with stand-ins for sourcing and notification
(tests/fakes.py) in their own process. Calls go through the gateway's RPC client with a signed caller, typed by
the declarations of shared/contracts/interview_feedback.py (every answer is read back into its declared model);
the applications reach the service as sourcing's signed `application_status_changed` events (its status copy).
The shell itself, in process, is tested in test_service.py."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import pytest

from shared.config import Settings
from shared.contracts import interview_feedback as contract
from shared.contracts.caller import Caller
from shared.contracts.rpc import Rpc
from shared.ids import new_id
from tests.support.event_keys import session_keys

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[3]


def _vhost_url(url: str, vhost: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + quote(vhost, safe=""), parts.query, parts.fragment))


def ctx(name="alice", role="hr", divisions=("retail",)) -> Caller:
    """A caller; the RPC client signs it for each call (`as_caller`)."""
    return Caller(key_id="k", name=name, role=role, divisions=tuple(divisions))


HR, ADMIN, REC = ctx(), ctx("gina", "admin", ()), ctx("rita", "recruiter")
ANN, BOB, CARL = ctx("ann", "interviewer"), ctx("bob", "interviewer"), ctx("carl", "interviewer")
OTHER_HR = ctx("lou", "hr", ("logistics",))


class Session:
    """One connection: RPC client plus a queue catching every event interview_feedback publishes."""

    def __init__(self, url: str, statuses):
        self.url = url
        self.statuses = statuses  # interview_feedback's status copy (its `application_status` collection)
        self.events: list[dict] = []

    async def __aenter__(self):
        import aio_pika

        from shared.bus.aio_rpc import AsyncRpcClient

        self.client = AsyncRpcClient(self.url, name="if-test", timeout=20,
                                     context_secret=Settings.from_env().context_secret)
        await self.client.connect()
        self.conn = await aio_pika.connect_robust(self.url)
        channel = await self.conn.channel()
        exchange = await channel.declare_exchange("interview_feedback.events", aio_pika.ExchangeType.TOPIC,
                                                  durable=True)
        queue = await channel.declare_queue(exclusive=True)
        await queue.bind(exchange, "#")
        await queue.consume(lambda m: self.events.append(json.loads(m.body)), no_ack=True)
        return self

    async def __aexit__(self, *exc):
        await self.client.close()
        await self.conn.close()

    async def call(self, declared: Rpc, context: Caller, **kwargs) -> dict | list:
        """A typed call; the answer, read into its declared model, as the JSON the gateway passes on."""
        answer = await self.client.rpc(declared, context, **kwargs)
        return declared.dump_result(answer)

    async def fail(self, exc_type, declared: Rpc, context: Caller, **kwargs):
        """The service's refusal: sent as given, unchecked by the client, so the service is what refuses."""
        with pytest.raises(exc_type) as info:
            await self.client.call(declared.service, declared.method, as_caller=context, **kwargs)
        return info.value

    async def put_application(self, tier="basic", status="shortlisted", division="retail") -> str:
        app_id = new_id("app")
        stored = await self.client.call("sourcing", "put_application", as_caller=HR, application={
            "id": app_id, "requisition_id": "req_1", "requisition_title": "Barista", "candidate_id": "cand_1",
            "division": division, "tier": tier, "urgent": False, "status": status, "screening": None,
            "interview": None})
        await self.copied(app_id, stored["sequence"])
        return app_id

    async def set_status(self, app_id: str, status: str, tier: str, wait: bool = True) -> None:
        stored = await self.client.call("sourcing", "put_application", as_caller=HR, application={
            "id": app_id, "requisition_id": "req_1", "candidate_id": "cand_1", "division": "retail", "tier": tier,
            "status": status})
        if wait:
            await self.copied(app_id, stored["sequence"])

    async def copied(self, app_id: str, sequence: int, timeout: float = 10) -> None:
        """Until interview_feedback has taken the change into its status copy (through its inbox)."""
        deadline = time.monotonic() + timeout
        while self.statuses.find_one({"_id": app_id, "sequence": sequence}) is None:
            assert time.monotonic() < deadline, f"{app_id}: change {sequence} never reached the status copy"
            await asyncio.sleep(0.05)

    async def events_of(self, event_type: str, min_count: int = 1, timeout: float = 10) -> list[dict]:
        deadline = time.monotonic() + timeout
        while True:
            found = [e for e in self.events if e["type"] == event_type]
            if len(found) >= min_count or time.monotonic() > deadline:
                return found
            await asyncio.sleep(0.1)


@pytest.fixture(scope="module")
def running(test_infra, tmp_path_factory):
    from pymongo import MongoClient

    from tests.support.infra import VhostAdmin

    vhost = f"{test_infra.namespace}-interview-feedback"
    admin = VhostAdmin(test_infra.rabbit_url)
    admin.create(vhost)
    url = _vhost_url(test_infra.rabbit_url, vhost)
    namespace = f"{test_infra.namespace}if"
    env = {**os.environ, "RABBIT_URL": url, "MONGO_URL": test_infra.mongo_url, "HIRELOOP_NAMESPACE": namespace,
           "LOG_LEVEL": "WARNING", "SHUTDOWN_GRACE": "3"}
    logs = tmp_path_factory.mktemp("interview_feedback")
    procs = []
    for name, module in (("fakes", "services.interview_feedback.tests.fakes"),
                         ("service", "services.interview_feedback")):
        out = open(logs / f"{name}.log", "wb")  # noqa: SIM115 - closed with the process
        # Each process gets its own event-signing key (the fakes stand in for sourcing and notification).
        keys = session_keys().env_for("sourcing" if name == "fakes" else "interview_feedback")
        procs.append((subprocess.Popen([sys.executable, "-m", module], cwd=ROOT, env={**env, **keys}, stdout=out,
                                       stderr=subprocess.STDOUT, start_new_session=True), out))

    async def ready():
        from shared.bus.aio_rpc import AsyncRpcClient, ServiceUnavailable

        client = AsyncRpcClient(url, name="if-ready", timeout=2, context_secret=Settings.from_env().context_secret)
        await client.connect()
        try:
            deadline = time.monotonic() + 60
            for service, method, kwargs in (("interview_feedback", "health", {}),
                                             ("notification", "get_policy", {"division": "x"})):
                while True:
                    try:
                        await client.call(service, method, as_caller=HR, **kwargs)
                        break
                    except ServiceUnavailable:
                        if time.monotonic() > deadline:
                            raise
                        await asyncio.sleep(0.5)
        finally:
            await client.close()

    statuses = MongoClient(test_infra.mongo_url)
    try:
        asyncio.run(ready())
        yield url, statuses[f"{namespace}_interview_feedback"].application_status
    finally:
        statuses.close()
        for proc, out in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            out.close()
        admin.delete(vhost)
        with MongoClient(test_infra.mongo_url) as client:
            client.drop_database(f"{namespace}_interview_feedback")


def run(running, scenario):
    async def go():
        async with Session(*running) as s:
            await scenario(s)
    asyncio.run(go())


def card(who, ratings, recommendation="yes", highlights=()):
    return {"interviewer": who, "ratings": ratings, "recommendation": recommendation, "highlights": list(highlights)}


# allow_clash: the module's scenarios share one service and seat one panel at one time more than once
BODY = {"interviewers": ["ann", "bob"], "scheduled_at": "2026-12-01T10:00:00+01:00",
        "competencies": ["craft", "service"], "allow_clash": True}


def test_unknown_ids_are_not_found(running):
    from shared.errors import NotFound

    async def scenario(s):
        await s.fail(NotFound, contract.GetInterview, HR, interview_id="int_nope")
        await s.fail(NotFound, contract.DecideApproval, HR, approval_id="apr_nope", decision="approve")
        await s.fail(NotFound, contract.SubmitScorecard, HR, interview_id="int_nope", **card("ann", {"craft": 1}))
        await s.fail(NotFound, contract.ListApprovals, HR, application_id="app_nope")
    run(running, scenario)


def test_a_command_right_after_a_status_change_waits_for_the_copy(running):
    """The client saw the new status through sourcing; the signed event carrying it reaches interview_feedback's
    copy a moment later: the command waits for it instead of answering 409."""
    async def scenario(s):
        app_id = await s.put_application(status="received")
        await s.set_status(app_id, "shortlisted", "basic", wait=False)
        interview = await s.call(contract.ScheduleInterview, REC, application_id=app_id, **BODY)
        assert interview["status"] == "scheduled" and interview["application_id"] == app_id
    run(running, scenario)


def test_interview_scorecards_and_completion(running):
    from shared.errors import Conflict, Forbidden, Invalid, NotFound

    async def scenario(s):
        app_id = await s.put_application()
        received = await s.put_application(status="received")
        elsewhere = await s.put_application(division="logistics")
        err = await s.fail(Conflict, contract.ScheduleInterview, REC, application_id=received, **BODY)
        assert err.code == "invalid_status" and "received" in err.message
        await s.fail(NotFound, contract.ScheduleInterview, REC, application_id=elsewhere, **BODY)
        await s.fail(Forbidden, contract.ScheduleInterview, ANN, application_id=app_id, **BODY)
        err = await s.fail(Invalid, contract.ScheduleInterview, REC, application_id=app_id,
                           **{**BODY, "interviewers": []})
        assert err.field == "interviewers"

        interview = await s.call(contract.ScheduleInterview, REC, application_id=app_id, **BODY)
        assert interview["id"].startswith("int_") and interview["status"] == "scheduled"
        assert interview["scheduled_at"] == "2026-12-01T09:00:00Z"
        assert interview["scorecards"] == [] and interview["summary"] is None
        await s.fail(Conflict, contract.ScheduleInterview, REC, application_id=app_id, **BODY)
        iid = interview["id"]
        scheduled = await s.events_of("interview_scheduled")
        assert any(e["payload"]["interview_id"] == iid and e["payload"]["division"] == "retail" for e in scheduled)

        await s.fail(NotFound, contract.GetInterview, CARL, interview_id=iid)  # not on the panel
        mine = (await s.call(contract.ListInterviews, ANN))["items"]
        assert iid in [i["id"] for i in mine] and all("ann" in i["interviewers"] for i in mine)
        assert iid not in [i["id"] for i in (await s.call(contract.ListInterviews, CARL))["items"]]
        await s.fail(Forbidden, contract.ListInterviews, CARL, interviewer="ann")
        assert iid in [i["id"] for i in (await s.call(contract.ListInterviews, HR, interviewer="ann"))["items"]]
        assert iid not in [i["id"] for i in (await s.call(contract.ListInterviews, OTHER_HR))["items"]]
        assert iid not in [i["id"] for i in (await s.call(contract.ListInterviews, HR, status="complete"))["items"]]
        await s.fail(Invalid, contract.ListInterviews, HR, status="done")
        assert [i["id"] for i in (await s.call(contract.ListInterviews, HR, application_id=app_id))["items"]] == [iid]
        await s.fail(NotFound, contract.GetInterview, OTHER_HR, interview_id=iid)  # other division
        await s.fail(Forbidden, contract.SubmitScorecard, ANN, interview_id=iid,
                     **card("bob", {"craft": 1, "service": 1}))
        err = await s.fail(Invalid, contract.SubmitScorecard, ANN, interview_id=iid, **card("ann", {"craft": 5}))
        assert err.field == "ratings" and "service" in err.message
        err = await s.fail(Invalid, contract.SubmitScorecard, ANN, interview_id=iid,
                           **card("ann", {"craft": 5, "service": 4, "golf": 1}))
        assert err.field == "ratings" and "golf" in err.message
        err = await s.fail(Invalid, contract.SubmitScorecard, HR, interview_id=iid,
                           **card("zed", {"craft": 1, "service": 1}))
        assert err.field == "interviewer"

        first = await s.call(contract.SubmitScorecard, ANN, interview_id=iid,
                             **card("ann", {"craft": 5, "service": 4}, "strong_yes", ["Perfect milk", "Calm"]))
        assert first["interview_status"] == "scheduled" and first["ratings"] == {"craft": 5, "service": 4}
        err = await s.fail(Conflict, contract.SubmitScorecard, ANN, interview_id=iid,
                           **card("ann", {"craft": 5, "service": 4}))
        assert err.code == "duplicate_scorecard"

        hidden = await s.call(contract.GetInterview, BOB, interview_id=iid)
        assert hidden["scorecards"] == [] and hidden["summary"] is None
        mine = await s.call(contract.GetInterview, ANN, interview_id=iid)
        assert [c["interviewer"] for c in mine["scorecards"]] == ["ann"] and mine["summary"]["average"] == 4.5

        # a recruiter may file bob's card for him
        last = await s.call(contract.SubmitScorecard, REC, interview_id=iid,
                            **card("bob", {"service": 4, "craft": 3}, "yes", ["perfect  MILK", "Tidy"]))
        assert last["interview_status"] == "complete"
        done = await s.call(contract.GetInterview, BOB, interview_id=iid)
        assert done["status"] == "complete" and len(done["scorecards"]) == 2
        assert done["summary"] == {
            "average": 4.0,
            "by_competency": {"craft": 4.0, "service": 4.0},
            "recommendations": {"strong_yes": 1, "yes": 1, "no": 0, "strong_no": 0},
            "discrepancy": {"flagged": True, "competencies": ["craft"], "spread": {"craft": 2, "service": 0}},
        }
        completed = [e for e in await s.events_of("interview_completed")
                     if e["payload"]["summary"]["interview_id"] == iid]
        assert len(completed) == 1
        summary = completed[0]["payload"]["summary"]
        assert completed[0]["payload"]["application_id"] == app_id
        assert summary["average"] == 4.0 and summary["highlights"] == ["Perfect milk", "Calm", "Tidy"]
        assert len([e for e in await s.events_of("scorecard_submitted", 2)
                    if e["payload"]["interview_id"] == iid]) == 2
    run(running, scenario)


def test_basic_decision(running):
    from shared.errors import Conflict, Forbidden, NotFound

    async def scenario(s):
        app_id = await s.put_application(status="interviewing")
        err = await s.fail(Conflict, contract.Decide, HR, application_id=app_id, outcome="pass")
        assert err.code == "invalid_status" and "interviewing" in err.message
        await s.set_status(app_id, "interviewed", "basic")
        await s.fail(Forbidden, contract.Decide, REC, application_id=app_id, outcome="pass")
        await s.fail(NotFound, contract.Decide, OTHER_HR, application_id=app_id, outcome="pass")
        decision = await s.call(contract.Decide, HR, application_id=app_id, outcome="pass", note="hire")
        assert decision["next_status"] == "offered" and decision["approvals"] == []
        assert decision["decided_by"] == "alice" and decision["note"] == "hire"
        err = await s.fail(Conflict, contract.Decide, HR, application_id=app_id, outcome="fail")
        assert err.code == "already_decided"
        assert await s.call(contract.ListApprovals, HR, application_id=app_id) == []
        await s.fail(NotFound, contract.ListApprovals, OTHER_HR, application_id=app_id)

        rejected = await s.put_application(status="interviewed", tier="core")
        assert (await s.call(contract.Decide, ADMIN, application_id=rejected, outcome="fail"))["next_status"] == \
            "rejected"
        recorded = {e["payload"]["application_id"]: e["payload"] for e in await s.events_of("decision_recorded", 2)}
        assert recorded[app_id]["next_status"] == "offered" and recorded[app_id]["decision"]["decided_by"] == "alice"
        assert recorded[rejected]["next_status"] == "rejected"
        assert not [e for e in s.events if e["type"] == "approvals_requested"
                    and e["payload"]["application_id"] in (app_id, rejected)]
    run(running, scenario)


def test_core_approval_chain_uses_the_division_sla(running):
    from shared.errors import Conflict, Forbidden, NotFound

    async def scenario(s):
        await s.client.call("notification", "set_policy", as_caller=HR, division="retail",
                            policy={"approval_sla": 600})
        app_id = await s.put_application(tier="core", status="interviewed")  # fast-tracked: no interview here
        decision = await s.call(contract.Decide, HR, application_id=app_id, outcome="pass")
        assert decision["next_status"] == "awaiting_approval"
        step1, step2 = decision["approvals"]
        assert (step1["step"], step1["role"], step1["status"]) == (1, "hr", "pending")
        assert (step2["step"], step2["role"], step2["status"]) == (2, "admin", "pending")
        assert step1["id"].startswith("apr_") and step1["decided_at"] is None
        decided_at = _t(decision["decided_at"])
        assert _t(step1["expected_by"]) - decided_at == 600 and _t(step2["expected_by"]) - decided_at == 1200
        assert await s.call(contract.ListApprovals, REC, application_id=app_id) == decision["approvals"]
        # the queues: division HR has step 1; group HR sees it waiting there but cannot decide it yet
        hr_queue = [q for q in (await s.call(contract.GetApprovalQueue, HR))["items"] if q["application_id"] == app_id]
        assert [(q["id"], q["can_decide"], q["overdue"], q["division"]) for q in hr_queue] == \
            [(step1["id"], True, False, "retail")]
        admin_queue = [q for q in (await s.call(contract.GetApprovalQueue, ADMIN))["items"]
                       if q["application_id"] == app_id]
        assert [(q["id"], q["can_decide"]) for q in admin_queue] == [(step1["id"], False)]
        assert not [q for q in (await s.call(contract.GetApprovalQueue, OTHER_HR))["items"]
                    if q["application_id"] == app_id]
        assert (await s.call(contract.GetApprovalQueue, HR, division="logistics"))["items"] == []
        await s.fail(Forbidden, contract.GetApprovalQueue, REC)

        err = await s.fail(Conflict, contract.DecideApproval, ADMIN, approval_id=step2["id"], decision="approve")
        assert err.code == "out_of_order"
        await s.fail(Forbidden, contract.DecideApproval, ADMIN, approval_id=step1["id"], decision="approve")
        await s.fail(NotFound, contract.DecideApproval, OTHER_HR, approval_id=step1["id"], decision="approve")

        done1 = await s.call(contract.DecideApproval, HR, approval_id=step1["id"], decision="approve", note="ok")
        assert done1["status"] == "approved" and done1["decided_by"] == "alice" and done1["note"] == "ok"
        steps = await s.call(contract.ListApprovals, HR, application_id=app_id)
        assert steps[0] == done1
        assert not [q for q in (await s.call(contract.GetApprovalQueue, HR))["items"] if q["application_id"] == app_id]
        admin_queue = [q for q in (await s.call(contract.GetApprovalQueue, ADMIN))["items"]
                       if q["application_id"] == app_id]
        assert [(q["id"], q["role"], q["can_decide"]) for q in admin_queue] == [(step2["id"], "admin", True)]
        assert _t(steps[1]["expected_by"]) - _t(done1["decided_at"]) == 600  # re-based
        err = await s.fail(Conflict, contract.DecideApproval, HR, approval_id=step1["id"], decision="reject")
        assert err.code == "already_decided"
        done2 = await s.call(contract.DecideApproval, ADMIN, approval_id=step2["id"], decision="approve")
        assert done2["status"] == "approved"

        requested = [e for e in await s.events_of("approvals_requested") if e["payload"]["application_id"] == app_id]
        assert [st["role"] for st in requested[0]["payload"]["steps"]] == ["hr", "admin"]
        decided = [e["payload"] for e in await s.events_of("approval_step_decided", 2)
                   if e["payload"]["application_id"] == app_id]
        assert [(d["step"]["step"], d["chain_status"]) for d in decided] == [(1, "pending"), (2, "approved_all")]
        assert decided[0]["next_step"]["id"] == step2["id"] and decided[1]["next_step"] is None
    run(running, scenario)


def test_rejection_ends_the_chain_and_policy_failure_falls_back(running):
    from shared.errors import Conflict

    async def scenario(s):
        await s.client.call("notification", "set_policy", as_caller=HR, division="retail", policy={"mode": "fail"})
        app_id = await s.put_application(tier="core", status="interviewed")
        decision = await s.call(contract.Decide, HR, application_id=app_id, outcome="pass")
        step1, step2 = decision["approvals"]
        assert _t(step1["expected_by"]) - _t(decision["decided_at"]) == 86400  # NotificationPolicy default
        rejected = await s.call(contract.DecideApproval, HR, approval_id=step1["id"], decision="reject")
        assert rejected["status"] == "rejected"
        err = await s.fail(Conflict, contract.DecideApproval, ADMIN, approval_id=step2["id"], decision="approve")
        assert err.code == "already_decided"
        decided = [e["payload"] for e in await s.events_of("approval_step_decided")
                   if e["payload"]["application_id"] == app_id]
        assert decided[0]["chain_status"] == "rejected" and decided[0]["next_step"] is None

        # a policy that never answers costs a bounded wait, then the default applies
        await s.client.call("notification", "set_policy", as_caller=HR, division="retail", policy={"mode": "hang"})
        slow = await s.put_application(tier="core", status="interviewed")
        started = time.monotonic()
        decision = await s.call(contract.Decide, HR, application_id=slow, outcome="pass")
        assert time.monotonic() - started < 8
        assert _t(decision["approvals"][0]["expected_by"]) - _t(decision["decided_at"]) == 86400
        await s.client.call("notification", "set_policy", as_caller=HR, division="retail", policy={})
    run(running, scenario)


def test_concurrent_last_scorecards_complete_the_interview_once(running):
    async def scenario(s):
        app_id = await s.put_application()
        panel = [f"p{i}" for i in range(6)]
        interview = await s.call(contract.ScheduleInterview, REC, application_id=app_id,
                                 interviewers=panel, scheduled_at="2026-12-01T10:00:00Z", competencies=["craft"])
        results = await asyncio.gather(*[
            s.call(contract.SubmitScorecard, REC, interview_id=interview["id"], **card(p, {"craft": 3}))
            for p in panel + panel], return_exceptions=True)
        ok = [r for r in results if isinstance(r, dict)]
        assert len(ok) == 6
        assert {getattr(r, "code", None) for r in results if not isinstance(r, dict)} == {"duplicate_scorecard"}
        assert [r["interview_status"] for r in ok].count("complete") == 1
        # Sentinel, not a sleep: another interview completed after this one; once its event is caught, a
        # second completion of this one would have been too.
        later = await s.call(contract.ScheduleInterview, REC, application_id=await s.put_application(),
                             interviewers=["p0"], scheduled_at="2026-12-01T11:00:00Z", competencies=["craft"])
        await s.call(contract.SubmitScorecard, REC, interview_id=later["id"], **card("p0", {"craft": 3}))

        def completions(interview_id):
            return [e for e in s.events if e["type"] == "interview_completed"
                    and e["payload"]["summary"]["interview_id"] == interview_id]

        deadline = time.monotonic() + 10
        while not completions(later["id"]) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        assert len(completions(later["id"])) == 1, "the sentinel's interview_completed never came"
        assert len(completions(interview["id"])) == 1
    run(running, scenario)


def _t(iso: str) -> float:
    from shared.timeutil import parse

    return parse(iso).timestamp()
