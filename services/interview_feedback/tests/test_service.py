"""The interview_feedback shell in process (tests/support/shell.py) against a real MongoDB: roles, arguments and
answers as declared in shared/contracts/interview_feedback.py, scope by division and panel, the interview, the
decision and its approval chain, the report and the right of access. The same service as a process on the
broker: test_process.py."""

from __future__ import annotations

import pytest
from nameko.testing.services import worker_factory
from pydantic import ValidationError

from services.interview_feedback.service import InterviewFeedbackService
from services.interview_feedback.store import InterviewFeedbackStore
from shared.contracts import interview_feedback as contract
from shared.contracts import notification
from shared.contracts.caller import Caller
from shared.contracts.commands import NotificationPolicy
from shared.contracts.notification import Policy
from shared.errors import Conflict, Forbidden, Invalid, NotFound
from shared.timeutil import parse
from tests.support.shell import FakeService, InProcessBus, status_changed

HR = Caller(key_id="k1", name="alice", role="hr", divisions=("retail",))
OTHER_HR = Caller(key_id="k2", name="lou", role="hr", divisions=("logistics",))
REC = Caller(key_id="k3", name="rita", role="recruiter", divisions=("retail",))
ANN = Caller(key_id="k4", name="ann", role="interviewer", divisions=("retail",))
BOB = Caller(key_id="k5", name="bob", role="interviewer", divisions=("retail",))
ADMIN = Caller(key_id="k6", name="gina", role="admin", divisions=())

BODY = {"interviewers": ["ann", "bob"], "scheduled_at": "2026-12-01T10:00:00+01:00",
        "competencies": ["craft", "service"]}


class Platform:
    """The shell's surroundings: its store (with its copy of application statuses, fed as sourcing's
    `application_status_changed` events feed it), and notification's approval SLA."""

    def __init__(self, store):
        self.store = store
        self.sequence = 0
        self.approval_sla = 600
        self.notification = FakeService("notification").answer(notification.GetPolicy, lambda args: Policy.of(
            args.division, NotificationPolicy(approval_sla=self.approval_sla)))

    def application(self, app_id="app_1", status="shortlisted", tier="basic", division="retail") -> str:
        self.sequence += 1
        status_changed(self.shell(HR), app_id, status, self.sequence, division=division, tier=tier,
                       candidate_id=f"cand_{app_id}")
        return app_id

    def shell(self, caller: Caller):
        return worker_factory(InterviewFeedbackService, store=self.store, bus=InProcessBus(self.store, caller),
                              notification=self.notification)


@pytest.fixture
def platform(make_store):
    return Platform(make_store(InterviewFeedbackStore))


def card(who, ratings, recommendation="yes", highlights=()):
    return {"interviewer": who, "ratings": ratings, "recommendation": recommendation, "highlights": list(highlights)}


def test_an_interview_is_scheduled_scored_and_completed_with_answers_as_declared(platform):
    app_id = platform.application()
    rec = platform.shell(REC)
    interview = rec.schedule_interview(application_id=app_id, **BODY)
    assert contract.Interview.model_validate(interview).status == "scheduled"
    assert interview["scheduled_at"] == "2026-12-01T09:00:00Z" and interview["division"] == "retail"
    assert interview["scorecards"] == [] and interview["summary"] is None
    iid = interview["id"]
    [scheduled] = rec.bus.of_type("interview_scheduled")
    assert scheduled.payload["interview_id"] == iid
    with pytest.raises(Conflict) as again:
        rec.schedule_interview(application_id=app_id, **BODY)
    assert again.value.code == "already_scheduled"

    page = platform.shell(ANN).list_interviews()
    assert [i.id for i in contract.InterviewPage.model_validate(page).items] == [iid]
    assert page["items"][0]["requisition_id"] == "req_1" and page["items"][0]["submitted"] == []
    assert "scorecards" not in page["items"][0]
    with pytest.raises(Forbidden):
        platform.shell(ANN).list_interviews(interviewer="bob")
    assert platform.shell(OTHER_HR).list_interviews()["items"] == []

    first = platform.shell(ANN).submit_scorecard(interview_id=iid, **card("ann", {"craft": 5, "service": 4},
                                                                             "strong_yes", ["Calm"]))
    created = contract.ScorecardCreated.model_validate(first)
    assert (created.interview_status, created.interview_id, created.notes) == ("scheduled", iid, "")
    assert platform.shell(BOB).get_interview(interview_id=iid)["scorecards"] == []  # not before its own
    last = platform.shell(REC).submit_scorecard(interview_id=iid, **card("bob", {"craft": 3, "service": 4}))
    assert last["interview_status"] == "complete"

    done = platform.shell(BOB).get_interview(interview_id=iid)
    assert contract.Interview.model_validate(done).completed_at is not None
    assert done["summary"] == {
        "average": 4.0,
        "by_competency": {"craft": 4.0, "service": 4.0},
        "recommendations": {"strong_yes": 1, "yes": 1, "no": 0, "strong_no": 0},
        "discrepancy": {"flagged": True, "competencies": ["craft"], "spread": {"craft": 2, "service": 0}},
    }
    assert isinstance(done["summary"]["discrepancy"]["spread"]["craft"], int)  # the API answers 2, not 2.0
    with pytest.raises(NotFound):
        platform.shell(OTHER_HR).get_interview(interview_id=iid)


def test_roles_are_the_declarations(platform):
    app_id = platform.application(status="interviewed", tier="core")
    refused = [
        (ANN, "schedule_interview", {"application_id": app_id, **BODY}),
        (REC, "decide", {"application_id": app_id, "outcome": "pass"}),
        (ANN, "list_approvals", {"application_id": app_id}),
        (REC, "approval_queue", {}),
        (REC, "decide_approval", {"approval_id": "apr_1", "decision": "approve"}),
        (ANN, "interviewer_report", {}),
        (HR, "export_candidate", {"candidate_id": "cand_1", "application_ids": [app_id]}),
    ]
    for caller, method, kwargs in refused:
        with pytest.raises(Forbidden):
            getattr(platform.shell(caller), method)(**kwargs)
    assert platform.store.get_decision(app_id) is None  # refused before acting
    # What the declarations say, for whoever reads them (the gateway's routes check the same roles).
    assert contract.Decide.roles == ("hr", "admin") and contract.ExportCandidate.roles == ("admin",)
    assert set(contract.SubmitScorecard.roles) == {"admin", "hr", "recruiter", "interviewer"}


def test_arguments_are_parsed_as_declared_naming_the_field(platform):
    app_id = platform.application()
    rec = platform.shell(REC)
    cases = [
        (lambda: rec.schedule_interview(application_id=app_id, **{**BODY, "interviewers": []}), "interviewers", ""),
        (lambda: rec.schedule_interview(application_id=app_id, **BODY, data=BODY), "data", "unknown field"),
        (lambda: rec.schedule_interview(application_id="", **BODY), "application_id", ""),
        (lambda: rec.list_interviews(limit=501), "limit", "500"),
        (lambda: rec.list_interviews(limit=0), "limit", "1"),
        (lambda: rec.list_interviews(status="done"), "status", "scheduled"),
        (lambda: rec.list_interviews(cursor="c" * 201), "cursor", "200"),
        (lambda: platform.shell(HR).decide(application_id=app_id, outcome="maybe"), "outcome", ""),
        (lambda: rec.submit_scorecard(interview_id="int_1", **card("ann", {"craft": 6})), "ratings.craft", "5"),
        (lambda: platform.shell(HR).decide_approval(approval_id="apr_1", decision="ok"), "decision", ""),
        (lambda: platform.shell(HR).interviewer_report(start="2026-12-01", end="2026-11-01"), "to", "after"),
        (lambda: platform.shell(ADMIN).export_candidate(candidate_id="c", application_ids=["a"] * 1001),
         "application_ids", "1000"),
    ]
    for call, field, words in cases:
        with pytest.raises(Invalid) as err:
            call()
        assert err.value.field == field and field in err.value.message and words in err.value.message, err.value
    assert platform.store.interview_for_application(app_id) is None


def test_an_answer_with_an_undeclared_field_fails_in_the_service(platform, monkeypatch):
    from services.interview_feedback import service

    app_id = platform.application()
    iid = platform.shell(REC).schedule_interview(application_id=app_id, **BODY)["id"]
    fields = service._interview_fields
    monkeypatch.setattr(service, "_interview_fields", lambda doc: {**fields(doc), "candidate_id": doc["candidate_id"]})
    with pytest.raises(ValidationError, match="candidate_id"):
        platform.shell(HR).get_interview(interview_id=iid)


def test_a_core_pass_opens_the_approval_chain_decided_in_order(platform):
    app_id = platform.application(status="interviewing", tier="core")
    hr = platform.shell(HR)
    with pytest.raises(Conflict) as early:
        hr.decide(application_id=app_id, outcome="pass")
    assert early.value.code == "invalid_status"
    platform.application(app_id, status="interviewed", tier="core")
    with pytest.raises(NotFound):
        platform.shell(OTHER_HR).decide(application_id=app_id, outcome="pass")

    decision = hr.decide(application_id=app_id, outcome="pass", note="strong")
    parsed = contract.Decision.model_validate(decision)
    assert (parsed.next_status, parsed.note, parsed.decided_by) == ("awaiting_approval", "strong", "alice")
    step1, step2 = decision["approvals"]
    assert [(s["step"], s["role"], s["status"]) for s in (step1, step2)] == [(1, "hr", "pending"),
                                                                            (2, "admin", "pending")]
    decided_at = parse(decision["decided_at"]).timestamp()
    assert parse(step2["expected_by"]).timestamp() - decided_at == 1200  # two of notification's SLA
    assert [a.division for a in platform.notification.calls_to(notification.GetPolicy)] == ["retail"]
    assert [e.payload["next_status"] for e in hr.bus.of_type("decision_recorded")] == ["awaiting_approval"]
    with pytest.raises(Conflict) as twice:
        hr.decide(application_id=app_id, outcome="fail")
    assert twice.value.code == "already_decided"
    assert platform.shell(REC).list_approvals(application_id=app_id) == decision["approvals"]

    queue = platform.shell(ADMIN).approval_queue()
    assert [(q.id, q.can_decide, q.overdue) for q in contract.ApprovalQueue.model_validate(queue).items] == \
        [(step1["id"], False, False)]
    assert hr.approval_queue(division="logistics") == {"items": []}  # a division it cannot see: nothing
    with pytest.raises(Conflict) as order:
        platform.shell(ADMIN).decide_approval(approval_id=step2["id"], decision="approve")
    assert order.value.code == "out_of_order"
    with pytest.raises(Forbidden):
        platform.shell(ADMIN).decide_approval(approval_id=step1["id"], decision="approve")

    approved = hr.decide_approval(approval_id=step1["id"], decision="approve", note="ok")
    assert contract.ApprovalStep.model_validate(approved).note == "ok" and approved["decided_by"] == "alice"
    assert [q["id"] for q in platform.shell(ADMIN).approval_queue()["items"]] == [step2["id"]]
    admin = platform.shell(ADMIN)
    assert admin.decide_approval(approval_id=step2["id"], decision="approve")["status"] == "approved"
    [decided] = admin.bus.of_type("approval_step_decided")
    assert decided.payload["chain_status"] == "approved_all" and decided.payload["next_step"] is None
    assert hr.approval_queue()["items"] == []
    assert [s["status"] for s in hr.list_approvals(application_id=app_id)] == ["approved", "approved"]


def test_the_interviewers_report_and_the_right_of_access(platform):
    app_id = platform.application()
    iid = platform.shell(REC).schedule_interview(application_id=app_id, **BODY)["id"]
    for who in ("ann", "bob"):
        platform.shell(REC).submit_scorecard(interview_id=iid, **card(who, {"craft": 4, "service": 4},
                                                                          highlights=["kind"]))
    platform.application(app_id, status="interviewed")
    platform.shell(HR).decide(application_id=app_id, outcome="pass", note="hire")

    report = platform.shell(HR).interviewer_report(division="retail", start="2000-01-01")
    assert set(report) == {"division", "from", "to", "items"}  # `from`, as the API names it
    assert report["from"] == "2000-01-01T00:00:00Z" and report["to"] is None
    parsed = contract.InterviewersReport.model_validate(report)
    assert [(f.interviewer, f.scorecards, f.mean_rating) for f in parsed.items] == [("ann", 1, 4.0), ("bob", 1, 4.0)]

    exported = platform.shell(ADMIN).export_candidate(candidate_id="cand_app_1", application_ids=[app_id, "app_x"])
    held = contract.InterviewFeedbackExport.model_validate(exported)
    assert [c.highlights for c in held.interviews[0].scorecards] == [["kind"], ["kind"]]
    assert held.interviews[0].summary is None  # every card, no summary
    assert [(d.application_id, d.outcome, d.note) for d in held.decisions] == [(app_id, "pass", "hire")]
