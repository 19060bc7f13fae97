"""Issue 15, findings 3 and 5, reproduced against the running platform.

3. One division's application must not change what another division sees of the same person (the same
   email in another case is still one candidate, and the group-wide talent pool still has one entry).
5. An event parked for a retry during an erasure must not bring the erased data back: the genuine event
   is held on purpose (the consumer's binding is lifted for a moment, a queue of the test's own takes the
   only copy), the candidate is erased, then the copy goes into `<service>.wait`, so it reaches the
   service after the erasure completed. It must be acked as a no-op (in the inbox, not dead-lettered) and
   leave no trace of the erased text anywhere.
"""

from __future__ import annotations

import json
import uuid
from contextlib import contextmanager

import pytest
from kombu import Connection, Exchange, Queue, binding

from shared.bus import topology
from shared.contracts.common import SERVICES
from shared.storage import mongo_client
from tests.e2e.test_hiring_loop import app_status, find_mail, interview_and_pass, make_key, portal_link
from tests.support.divisions import register_over_api
from tests.support.dump import occurrences, platform_dump
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.integration]


# ----------------------------------------------------------------------------------------------------
# 3. candidates per division


def pool_entries(client, cid: str) -> list[dict]:
    return [e for e in client.get("/v1/talent-pool", params={"limit": 500}).json()["items"] if e["candidate_id"] == cid]


def decline_offer(platform, email: str, app_id: str) -> None:
    """Decline the offer of `app_id` on the portal (an earlier offer to the same address answers 409)."""
    def attempt() -> bool:
        for mail in find_mail(platform, email, "offer"):
            token = portal_link(platform.mail_body(mail)).split("/portal/", 1)[1]
            r = platform.client().post(f"/portal/{token}/response", json={"response": "decline"})
            if r.status_code == 200 and r.json()["application_id"] == app_id:
                return True
        return False

    wait_for(attempt, lambda ok: ok, what=f"the offer of {app_id} declined")


def test_one_division_applying_never_changes_what_another_division_sees(platform):
    admin = platform.client()
    hr_a = platform.client(make_key(admin, "hal-a", "hr", ["dd-alpha"]))
    rec_a = platform.client(make_key(admin, "rex-a", "recruiter", ["dd-alpha"]))
    ivy_a = platform.client(make_key(admin, "ivy-a", "interviewer", ["dd-alpha"]))
    hr_b = platform.client(make_key(admin, "hal-b", "hr", ["dd-beta"]))
    rec_b = platform.client(make_key(admin, "rex-b", "recruiter", ["dd-beta"]))
    ivy_b = platform.client(make_key(admin, "ivy-b", "interviewer", ["dd-beta"]))

    def requisition(hr, division):
        r = hr.post("/v1/requisitions", json={"title": "Welder", "division": division, "department": "yard",
                                              "tier": "basic", "required_skills": ["welding"]})
        assert r.status_code == 201, r.text
        return r.json()

    req_a, req_a2, req_b = requisition(hr_a, "dd-alpha"), requisition(hr_a, "dd-alpha"), requisition(hr_b, "dd-beta")
    dana = {"name": "Dana Division", "email": "Dana.Division@example.com", "phone": "+44 20 7946 0101",
            "skills": ["welding", "rigging"], "years_experience": 6, "location": "Leeds"}
    a = rec_a.post("/v1/applications", json={"requisition_id": req_a["id"], "source": "referral",
                                             "talent_pool_consent": True, "candidate": dana})
    assert a.status_code == 202, a.text
    app_a, cid = a.json()["id"], a.json()["candidate_id"]
    seen_by_a = hr_a.get(f"/v1/candidates/{cid}").json()
    assert (seen_by_a["name"], seen_by_a["email"], seen_by_a["phone"], seen_by_a["skills"], seen_by_a["location"]) == (
        dana["name"], dana["email"], dana["phone"], dana["skills"], dana["location"])
    wait_for(lambda: app_status(hr_a, app_a), lambda x: x["status"] == "shortlisted", what="A shortlisted")
    interview_and_pass(rec_a, hr_a, ivy_a, "ivy-a", app_a, 5, "strong_yes")
    decline_offer(platform, dana["email"], app_a)
    pooled = wait_for(lambda: pool_entries(rec_a, cid), lambda e: len(e) == 1, what="pooled from division A")
    assert (pooled[0]["name"], pooled[0]["skills"]) == (dana["name"], dana["skills"])
    pool_before = pooled[0]

    # Division B: the same address in another case, another name, phone set to null, other skills and place.
    other = {"name": "Someone Else", "email": "  DANA.DIVISION@EXAMPLE.COM ", "phone": None,
             "skills": ["welding", "painting"], "years_experience": 1, "location": "Mars"}
    b = rec_b.post("/v1/applications", json={"requisition_id": req_b["id"], "source": "job_board",
                                             "talent_pool_consent": True, "candidate": other})
    assert b.status_code == 202, b.text
    app_b = b.json()["id"]
    assert b.json()["candidate_id"] == cid  # still one person across divisions (api-v1)

    # What division A sees is unchanged: the candidate, its application, the board, the pool entry.
    assert hr_a.get(f"/v1/candidates/{cid}").json() == seen_by_a
    assert hr_a.get(f"/v1/applications/{app_a}").json()["candidate_name"] == dana["name"]
    board = hr_a.get(f"/v1/requisitions/{req_a['id']}/applications").json()["items"]
    assert [x["candidate_name"] for x in board if x["id"] == app_a] == [dana["name"]]
    wait_for(lambda: app_status(hr_b, app_b), lambda x: x["status"] == "shortlisted", what="B shortlisted")
    assert pool_entries(rec_a, cid) == [pool_before]
    # Division B sees what it recorded.
    seen_by_b = hr_b.get(f"/v1/candidates/{cid}").json()
    assert (seen_by_b["name"], seen_by_b["phone"], seen_by_b["skills"], seen_by_b["location"]) == (
        other["name"], None, other["skills"], other["location"])
    assert seen_by_b["applications"] == [app_b] and seen_by_a["applications"] == [app_a]
    assert hr_b.get(f"/v1/applications/{app_b}").json()["candidate_name"] == other["name"]

    # The same division applying again still updates its own profile, as before.
    again = rec_a.post("/v1/applications", json={"requisition_id": req_a2["id"], "source": "web", "candidate": {
        "name": "Dana D. Division", "email": dana["email"].lower(), "phone": "+44 20 7946 0202", "skills": ["welding"],
        "years_experience": 7, "location": "York"}})
    assert again.status_code == 202 and again.json()["candidate_id"] == cid
    now_a = hr_a.get(f"/v1/candidates/{cid}").json()
    assert (now_a["name"], now_a["phone"], now_a["skills"], now_a["location"]) == (
        "Dana D. Division", "+44 20 7946 0202", ["welding"], "York")
    seen_by_b_again = hr_b.get(f"/v1/candidates/{cid}").json()
    assert seen_by_b_again == seen_by_b

    # Division B pools the same person too: the group-wide pool still holds one entry for them.
    interview_and_pass(rec_b, hr_b, ivy_b, "ivy-b", app_b, 4, "yes")
    decline_offer(platform, "dana.division@example.com", app_b)
    wait_for(lambda: pool_entries(rec_b, cid), lambda e: len(e) == 1 and e[0]["prior"]["division"] == "dd-beta",
             what="pooled again, from division B")

    # The right of access shows what each division holds; the admin's export has both.
    held = admin.get(f"/v1/candidates/{cid}/export").json()["services"]
    profiles = {p["division"]: p for p in held["sourcing"]["profiles"]}
    assert {p["division"]: p["name"] for p in held["talent_pool"]["profiles"]} == {
        "dd-alpha": "Dana D. Division", "dd-beta": other["name"]}
    assert profiles["dd-alpha"]["name"] == "Dana D. Division" and profiles["dd-alpha"]["phone"] == "+44 20 7946 0202"
    assert profiles["dd-beta"]["name"] == other["name"] and profiles["dd-beta"]["phone"] is None


# ----------------------------------------------------------------------------------------------------
# 5. erasure that nothing undoes


@contextmanager
def held_events(platform, consumer: str, producer: str, event_type: str):
    """Hold every `producer.event_type` meant for `consumer`: the consumer's inbox binding is lifted and a
    queue of the test's own takes the events (what the broker does with an event parked in a wait queue).
    Yields a function returning the held messages; the binding is restored on the way out."""
    exchange = topology.events_exchange(producer)
    inbox = topology.inbox_queue(consumer)
    # the inbox's own keys for that event (a status change: the transitions the consumer needs)
    row = next(r for r in topology.SUBSCRIPTIONS[consumer] if r == (producer, event_type))
    keys = topology.binding_keys(row)
    with Connection(platform.env["RABBIT_URL"]) as conn:
        channel = conn.channel()
        held = Queue(f"test.held.{uuid.uuid4().hex[:8]}", exchange=Exchange(exchange, type="topic", durable=True),
                     bindings=[binding(Exchange(exchange, type="topic", durable=True), routing_key=k) for k in keys],
                     exclusive=True, auto_delete=True)
        held(channel).declare()
        for key in keys:
            channel.queue_unbind(queue=inbox, exchange=exchange, routing_key=key)
        messages: list = []

        def take():
            while (message := held(channel).get(no_ack=True)) is not None:
                messages.append(message)
            return messages

        try:
            yield take
        finally:
            for key in keys:
                channel.queue_bind(queue=inbox, exchange=exchange, routing_key=key)
            held(channel).delete()


def text(body) -> str:
    return body.decode() if isinstance(body, bytes | bytearray) else str(body)


def park(platform, consumer: str, message) -> str:
    """Put a copy of a genuine message (body, headers, properties) into `<consumer>.wait` the way the service
    parks an event (through `hireloop.wait`); returns its event id."""
    with Connection(platform.env["RABBIT_URL"], transport_options={"confirm_publish": True}) as conn:
        conn.Producer().publish(
            message.body, exchange=Exchange(topology.WAIT_EXCHANGE, type="topic", durable=True), routing_key=consumer,
            headers=dict(message.headers or {}), content_type=message.content_type,
            content_encoding=message.content_encoding, message_id=message.properties.get("message_id"),
            correlation_id=message.properties.get("correlation_id"))
    return json.loads(text(message.body))["event_id"]


def handled(platform, service: str, event_id: str) -> bool:
    client = mongo_client(platform.env["MONGO_URL"])
    try:
        db = client[f"{platform.env['HIRELOOP_NAMESPACE']}_{service}"]
        # recorded in the inbox collection (a transaction), or on the application's document (a document write)
        return (db.inbox.find_one({"_id": event_id}) is not None
                or db.applications.find_one({"inbox": event_id}, {"_id": 1}) is not None)
    finally:
        client.close()


def applicant_in_interview(platform, division: str, person: dict, interviewers: list[str]):
    admin = platform.client()
    register_over_api(admin, division)  # registered divisions only (issue 20)
    hr = platform.client(make_key(admin, f"hr-{division}", "hr", [division]))
    rec = platform.client(make_key(admin, f"rec-{division}", "recruiter", [division]))
    for name in interviewers:
        make_key(admin, name, "interviewer", [division])
    req = hr.post("/v1/requisitions", json={"title": "Rigger", "division": division, "department": "yard",
                                            "tier": "basic", "required_skills": ["rigging"]}).json()
    app = rec.post("/v1/applications", json={"requisition_id": req["id"], "source": "web",
                                             "talent_pool_consent": True, "candidate": person}).json()
    wait_for(lambda: app_status(hr, app["id"]), lambda a: a["status"] == "shortlisted", what="shortlisted")
    interview = rec.post(f"/v1/applications/{app['id']}/interviews", json={
        "interviewers": interviewers, "scheduled_at": "2026-12-07T09:00:00Z", "competencies": ["craft"]}).json()
    wait_for(lambda: app_status(hr, app["id"]), lambda a: a["status"] == "interviewing", what="interviewing")
    return admin, hr, rec, app, interview


def erase(admin, cid: str) -> dict:
    started = admin.delete(f"/v1/candidates/{cid}")
    assert started.status_code == 202, started.text
    return wait_for(lambda: admin.get(f"/v1/erasures/{started.json()['id']}").json(),
                    lambda e: e["status"] == "completed", what="erasure completed")


def dead_lettered(platform, event_id: str) -> list:
    return [s for s, _ in occurrences(platform_dump(platform.env), [event_id]) if s.startswith("dlq:")]


@pytest.mark.parametrize("consumer", ["sourcing", "talent_pool"])
def test_an_event_parked_during_an_erasure_brings_nothing_back(platform, consumer):
    division = f"park-{consumer.replace('_', '-')}"
    secret = f"Highlight {uuid.uuid4().hex[:10]} welded the hull in the rain"
    person = {"name": f"Parker {consumer.title()}", "email": f"parker.{consumer}@example.com",
              "skills": ["rigging"], "years_experience": 3}
    admin, hr, rec, app, interview = applicant_in_interview(platform, division, person, [f"pia-{division}"])
    # sourcing hears interview_completed; talent_pool hears the status change that carries the summary.
    producer, event_type = (("interview_feedback", "interview_completed") if consumer == "sourcing"
                            else ("sourcing", "application_status_changed"))
    with held_events(platform, consumer, producer, event_type) as take:
        card = rec.post(f"/v1/interviews/{interview['id']}/scorecards", json={
            "interviewer": f"pia-{division}", "ratings": {"craft": 5}, "recommendation": "strong_yes",
            "highlights": [secret]})
        assert card.status_code == 201, card.text

        def completed(messages):
            return [m for m in messages if secret in text(m.body)]

        held = wait_for(take, lambda ms: completed(ms), what=f"{event_type} held for {consumer}")
    assert occurrences(platform_dump(platform.env), [secret]) != []  # the scan finds the text while it is held
    erase(admin, app["candidate_id"])
    assert occurrences(platform_dump(platform.env), [secret]) == []

    # Everything held comes back now, after the erasure completed, through the wait queue.
    event_ids = [park(platform, consumer, m) for m in held]
    for event_id in event_ids:
        wait_for(lambda eid=event_id: handled(platform, consumer, eid), lambda done: done,
                 what=f"{consumer} handled the parked event")
    after = platform_dump(platform.env)
    assert occurrences(after, [secret]) == []
    assert occurrences(after, [person["name"], person["email"]]) == []
    assert all(dead_lettered(platform, eid) == [] for eid in event_ids)  # acked as a no-op, not dead-lettered
    kept = admin.get(f"/v1/applications/{app['id']}").json()
    if consumer == "sourcing":  # the parked completion did not move the erased application either
        assert kept["interview"] is None and kept["status"] == "interviewing"
    else:  # interviewed before the erasure: no decision (and its note) is recorded for it any more
        assert kept["status"] == "interviewed"
        decided = hr.post(f"/v1/applications/{app['id']}/decision", json={"outcome": "pass", "note": secret})
        assert decided.status_code == 409 and decided.json()["error"]["code"] == "application_erased", decided.text
        assert occurrences(platform_dump(platform.env), [secret]) == []


def test_a_scorecard_for_an_erased_application_is_refused(platform):
    secret = f"Note {uuid.uuid4().hex[:10]} remembered every name"
    person = {"name": "Sora Scorecard", "email": "sora.scorecard@example.com", "skills": ["rigging"],
              "years_experience": 2}
    admin, hr, rec, app, interview = applicant_in_interview(platform, "park-cards", person, ["pam-pc", "pat-pc"])
    first = rec.post(f"/v1/interviews/{interview['id']}/scorecards", json={
        "interviewer": "pam-pc", "ratings": {"craft": 4}, "recommendation": "yes"})
    assert first.status_code == 201, first.text
    erase(admin, app["candidate_id"])
    late = rec.post(f"/v1/interviews/{interview['id']}/scorecards", json={
        "interviewer": "pat-pc", "ratings": {"craft": 5}, "recommendation": "strong_yes", "highlights": [secret],
        "notes": secret})
    assert late.status_code == 409 and late.json()["error"]["code"] == "application_erased", late.text
    assert occurrences(platform_dump(platform.env), [secret, person["name"]]) == []
    assert all(dead_lettered(platform, app["id"]) == [] for _ in SERVICES)
