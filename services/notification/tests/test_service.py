"""The notification shell in process (tests/support/shell.py): events through its handlers, notices sent by a
recording mailer, and its RPCs with the roles, arguments and answers shared/contracts/notification.py
declares. (test_process.py runs the same service as a real process on the broker.)"""

from __future__ import annotations

import pytest
from nameko.testing.services import worker_factory

from services.notification.service import NotificationService, Retries
from services.notification.store import NotificationStore
from services.notification.webhook import WebhookSender
from shared.config import Settings
from shared.contracts import notification as contract
from shared.contracts.caller import Caller
from shared.contracts.envelope import EventEnvelope
from shared.contracts.events import EVENT_MODELS
from shared.errors import Conflict, Forbidden, Invalid, NotFound
from shared.timeutil import iso, utcnow
from tests.support.shell import InProcessBus

HR = Caller(key_id="k1", name="alice", role="hr", divisions=("retail",))
OTHER_HR = Caller(key_id="k2", name="bob", role="hr", divisions=("logistics",))
RECRUITER = Caller(key_id="k3", name="rita", role="recruiter", divisions=("retail",))
INTERVIEWER = Caller(key_id="k4", name="ivan", role="interviewer", divisions=("retail",))
ADMIN = Caller(key_id="k5", name="root", role="admin", divisions=())
PORTAL = Caller.system("portal")


class RecordingMailer:
    """The SMTP sender's contract (send a notice, return its Message-ID), keeping what was sent."""

    def __init__(self):
        self.sent: list[dict] = []

    def send(self, notice: dict) -> str:
        self.sent.append(notice)
        return f"<{notice['_id']}@test>"


@pytest.fixture
def store(make_store):
    return make_store(NotificationStore)


@pytest.fixture
def mailer():
    return RecordingMailer()


@pytest.fixture
def shell(store, mailer):
    """A shell acting for `caller` (the same store and mailer for every caller of a test)."""

    def make(caller=HR):
        return worker_factory(NotificationService, store=store, bus=InProcessBus(store, caller), mailer=mailer,
                              webhooks=WebhookSender(), retries=Retries(backoff_base=5, max_attempts=5),
                              reply_to_fallback=None, settings=Settings())
    return make


def deliver(svc, producer, event_type, payload):
    env = EventEnvelope(type=event_type, producer=producer, payload=payload)
    handler = {"application_received": svc.on_application_received,
               "application_status_changed": svc.on_status_changed}[event_type]
    handler(EVENT_MODELS[(producer, event_type)].model_validate(env.payload), env)


def rejected_and_surveyed(shell, app_id="app_1", division="retail"):
    """An application received and rejected, with a policy that sends the rejection and the survey at once."""
    shell(ADMIN).put_policy(division=division, rejection_delay=0, survey_after=0)
    deliver(shell(), "sourcing", "application_received", {
        "application_id": app_id, "candidate_id": "cand_1", "source": "referral", "received_at": iso(utcnow()),
        "requisition": {"id": "req_1", "title": "Barista", "division": division, "department": "stores",
                        "tier": "basic", "urgent": False, "required_skills": ["Coffee"]},
        "candidate": {"name": "Li Wei", "email": "li@example.com", "skills": ["Coffee"]}})
    deliver(shell(), "sourcing", "application_status_changed", {
        "application_id": app_id, "candidate_id": "cand_1", "requisition_id": "req_1",
        "requisition_title": "Barista", "division": division, "tier": "basic", "urgent": False,
        "source": "referral", "previous_status": "interviewed", "status": "rejected", "at": iso(utcnow()),
        "decision": {"outcome": "fail", "decided_by": "hana", "decided_at": iso(utcnow())}})
    return app_id


def test_policy_round_trip_roles_and_scope(shell):
    default = contract.Policy.model_validate(shell().get_policy(division="retail"))
    assert (default.division, default.guide_after, default.hr_webhook_secret_set) == ("retail", 3600, False)
    stored = shell().put_policy(division="retail", guide_after=1, hr_email="people@x.io")
    assert stored["guide_after"] == 1 and stored["hr_email"] == "people@x.io" and stored["survey_after"] == 172800
    # a GET's answer sent back as is (its division, its read-only flag) is accepted; PUT replaces
    assert shell().put_policy(**{**stored, "hr_email": None}) == {**stored, "hr_email": None}
    assert shell(RECRUITER).get_policy(division="retail")["hr_email"] is None
    with pytest.raises(Forbidden):
        shell(RECRUITER).put_policy(division="retail", guide_after=5)
    with pytest.raises(Forbidden):
        shell().put_policy(division="logistics", guide_after=5)
    with pytest.raises(NotFound):
        shell().get_policy(division="logistics")
    assert shell().get_policy(division="retail")["guide_after"] == 1  # nothing a refused call did stuck


@pytest.mark.parametrize(("method", "kwargs", "field", "message"), [
    ("get_policy", {"division": "not a division"}, "division",
     "division: letters, digits, '_', '-' or '.', 1 to 80 characters"),
    ("put_policy", {"division": "retail", "guide_after": -1}, "guide_after", None),
    ("put_policy", {"division": "retail", "bogus": 1}, "bogus", "bogus: unknown field"),
    ("put_policy", {"division": "retail", "data": {"guide_after": 1}}, "data", "data: unknown field"),
    ("list_for_application", {"application_id": "app_1", "limit": 0}, "limit",
     "limit: must be an integer from 1 to 500"),
    ("list_for_application", {"application_id": "app_1", "cursor": 7}, "cursor",
     "cursor: not a cursor returned by this API"),
    ("list_for_candidate", {"candidate_id": ""}, "candidate_id", None),
    ("export_candidate", {"candidate_id": "cand_1", "application_ids": [""]}, "application_ids.0", None),
    ("timing_report", {"start": "yesterday"}, "from", "from: an ISO-8601 date or time, e.g. 2026-11-01 or "
                                                     "2026-11-01T00:00:00Z"),
])
def test_arguments_are_parsed_as_declared_naming_the_field(shell, method, kwargs, field, message):
    with pytest.raises(Invalid) as err:
        getattr(shell(ADMIN), method)(**kwargs)
    assert err.value.field == field
    if message:
        assert err.value.message == message
    assert shell(ADMIN).get_policy(division="retail")["guide_after"] == 3600  # nothing changed


def test_notices_of_an_application_and_a_candidate(shell, mailer):
    app_id = rejected_and_surveyed(shell)
    assert sorted(n["kind"] for n in mailer.sent) == ["rejection", "survey"]
    page = contract.NoticePage.model_validate(shell().list_for_application(application_id=app_id))
    assert {(n.kind, n.status, n.recipient) for n in page.items} == {("rejection", "sent", "li@example.com"),
                                                                     ("survey", "sent", "li@example.com")}
    assert page.next_cursor is None and all(n.division == "retail" and n.step == 0 for n in page.items)
    first = shell().list_for_application(application_id=app_id, limit=1)
    assert len(first["items"]) == 1 and first["next_cursor"]
    rest = shell().list_for_application(application_id=app_id, limit=1, cursor=first["next_cursor"])
    assert [n["id"] for n in first["items"] + rest["items"]] == [n.id for n in page.items]
    assert [n["id"] for n in shell().list_for_candidate(candidate_id="cand_1")["items"]] == [n.id for n in page.items]
    assert shell(OTHER_HR).list_for_candidate(candidate_id="cand_1")["items"] == []
    with pytest.raises(NotFound):
        shell(OTHER_HR).list_for_application(application_id=app_id)
    with pytest.raises(Forbidden):
        shell(INTERVIEWER).list_for_application(application_id=app_id)
    with pytest.raises(Forbidden):
        shell(INTERVIEWER).list_for_candidate(candidate_id="cand_1")


def test_the_survey_is_the_portals_once_and_only_after_it_was_sent(shell):
    app_id = rejected_and_surveyed(shell)
    portal = shell(PORTAL)
    assert portal.get_survey(application_id=app_id) == {"sent": True, "answered": False}
    assert portal.get_survey(application_id="app_none") == {"sent": False, "answered": False}
    with pytest.raises(Forbidden):
        shell(HR).get_survey(application_id=app_id)
    with pytest.raises(Forbidden):
        shell(ADMIN).record_survey(application_id=app_id, score=5)
    with pytest.raises(Invalid) as bad:
        portal.record_survey(application_id=app_id, score=6)
    assert bad.value.field == "score"
    with pytest.raises(Conflict) as none:
        portal.record_survey(application_id="app_none", score=5)
    assert none.value.code == "no_survey"
    answered = portal.record_survey(application_id=app_id, score=4, comment="kind")
    assert contract.SurveyAnswered.model_validate(answered).model_dump() == {
        "application_id": app_id, "score": 4, "answered": True}
    with pytest.raises(Conflict) as again:
        portal.record_survey(application_id=app_id, score=1)
    assert again.value.code == "already_answered"
    assert portal.get_survey(application_id=app_id) == {"sent": True, "answered": True}

    report = contract.NotificationTimingReport.model_validate(shell().timing_report(division="retail"))
    [group] = report.groups
    assert (group.kind, group.tier, group.count, group.surveys, group.average_survey_score) == (
        "rejection", "basic", 1, 1, 4.0)
    assert shell().timing_report(division="retail", start="2020-01-01")["from"] == "2020-01-01T00:00:00Z"
    with pytest.raises(NotFound):
        shell(OTHER_HR).timing_report(division="retail")
    with pytest.raises(Forbidden):
        shell(INTERVIEWER).timing_report()

    with pytest.raises(Forbidden):
        shell(HR).export_candidate(candidate_id="cand_1", application_ids=[app_id])
    exported = contract.NotificationExport.model_validate(
        shell(ADMIN).export_candidate(candidate_id="cand_1", application_ids=[app_id]))
    assert sorted(n.kind for n in exported.notices) == ["rejection", "survey"]
    assert [(s.application_id, s.score, s.comment) for s in exported.surveys] == [(app_id, 4, "kind")]


def test_an_answer_that_drifts_from_its_declaration_fails_in_the_service(shell, store):
    app_id = rejected_and_surveyed(shell)
    store.db.notices.update_many({"application_id": app_id}, {"$set": {"status": "bounced"}})
    with pytest.raises(ValueError, match="status"):
        shell().list_for_application(application_id=app_id)


def _received(shell, app_id, division="retail"):
    deliver(shell(), "sourcing", "application_received", {
        "application_id": app_id, "candidate_id": "cand_1", "source": "referral", "received_at": iso(utcnow()),
        "requisition": {"id": "req_1", "title": "Barista", "division": division, "department": "stores",
                        "tier": "basic", "urgent": False, "required_skills": ["Coffee"]},
        "candidate": {"name": "Li Wei", "email": "li@example.com", "skills": ["Coffee"]}})


def _status(shell, app_id, status, sequence, division="retail"):
    deliver(shell(), "sourcing", "application_status_changed", {
        "sequence": sequence, "application_id": app_id, "candidate_id": "cand_1", "requisition_id": "req_1",
        "requisition_title": "Barista", "division": division, "tier": "basic", "urgent": False,
        "source": "referral", "previous_status": "received", "status": status, "at": iso(utcnow()),
        "screening": {"passed": False, "score": 20, "match": 20, "matched_skills": [], "missing_skills": ["Coffee"],
                      "reasons": ["Missing Coffee."]}})


def test_a_screen_out_before_its_application_is_told_when_the_address_comes(shell, store, mailer):
    shell(ADMIN).put_policy(division="retail", screen_out_rejection_delay=0, survey_after=3600)
    _status(shell, "app_early", "screened_out", 2)  # no waiting: kept on the contact
    assert store.db.notices.count_documents({}) == 0 and mailer.sent == []
    assert store.get_contact("app_early")["pending"]["status"] == "screened_out"
    _received(shell, "app_early")
    [rejection] = mailer.sent
    assert rejection["kind"] == "rejection" and rejection["recipient"] == "li@example.com"
    assert sorted(n["kind"] for n in store.db.notices.find({"application_id": "app_early"})) == ["rejection",
                                                                                                  "survey"]
    contact = store.get_contact("app_early")
    assert "pending" not in contact and contact["notices"] == 2 and contact["status"] == "screened_out"
    assert store.get_timing("app_early")["kind"] == "rejection"


def test_an_override_cancels_the_waiting_rejection_and_forgets_its_timing(shell, store, mailer):
    _received(shell, "app_o")
    _status(shell, "app_o", "screened_out", 2)  # the default policy: the rejection waits a day
    assert store.get_timing("app_o") is not None
    _status(shell, "app_o", "shortlisted", 3)
    assert {n["status"] for n in store.db.notices.find({"application_id": "app_o"})} == {"cancelled"}
    assert store.get_timing("app_o") is None and mailer.sent == []
    _status(shell, "app_o", "screened_out", 2)  # the older change again, late: nothing
    assert {n["status"] for n in store.db.notices.find({"application_id": "app_o"})} == {"cancelled"}
    _status(shell, "app_o", "screened_out", 4)  # a new screen-out plans its rejection again
    assert sorted(n["status"] for n in store.db.notices.find({"application_id": "app_o"})) == [
        "cancelled", "cancelled", "scheduled", "scheduled"]


def test_an_erased_contact_takes_no_more_changes(shell, store, mailer):
    _received(shell, "app_e")
    store.transact(lambda uow: uow.store.anonymise("cand_1", ["app_e"], uow.session))
    contact = store.get_contact("app_e")
    assert contact["erased"] is True and contact["email"] is None
    _status(shell, "app_e", "screened_out", 2)
    assert store.get_contact("app_e").get("status") is None and store.db.notices.count_documents({}) == 0
