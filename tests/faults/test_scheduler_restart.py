"""Durable scheduling: notices wait in MongoDB with their due time, a dispatcher claims each one with an
atomic update, so a notification outage loses nothing and two replicas never send one notice twice.

8. `kill -9` both notification replicas while every offer's follow-ups (onboarding guide, HR
   confirmation reminder) are scheduled but not yet due; let them all fall due; start both again
   at once. Every follow-up goes out exactly once (one email per notice in the SMTP capture, each notice
   `sent` after one attempt), none is lost, none is left scheduled or failed.
9. `kill -9` the notification service *during* a delivery: the SMTP server has the message, the
   dispatcher waits for its `250`. That notice stays claimed (`sending`) while its lease holds, and no
   live replica takes it; once the lease has run out it is sent again, with the same Message-ID. This
   is the at-least-once edge the scheduler accepts: the receiver got the message twice, both copies
   carry one Message-ID (`<notice id@domain>`), so a mail system can drop the second. Every other notice
   is sent once.

The suite's platform runs two notification replicas and an SMTP capture in the test process that can hold
one message's answer (tests/faults/conftest.py). Time is moved, not waited for: due times (test 8) and one
lease (test 9) are set into the past in the notification database while no replica could act on them, the
only writes these tests make to a service's database. "Nothing more was sent" is checked after both
replicas' dispatchers have run twice more (their /metrics), not after a sleep.
"""

from __future__ import annotations

import json
import secrets
import signal
from collections import Counter
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from infra.smtp_capture import read_message
from tests.faults.harness import FaultPlatform, HoldingSmtp, applications_of, wait_until
from tests.support.divisions import register_over_api
from tests.support.sentinel import timer_ticks

pytestmark = [pytest.mark.integration, pytest.mark.faults]

NOTIFIERS = ("notification-1", "notification-2")
FOLLOW_UPS = ("guide", "hr_confirm_reminder")


# ----------------------------------------------------------------------------------------------------
# helpers


def offered(client: httpx.Client, division: str, count: int, policy: dict) -> dict[str, str]:
    """`count` applications driven to `offered` through the API; returns application id -> candidate email."""
    register_over_api(client, division)  # registered divisions only (issue 20)
    r = client.put(f"/v1/notification-policies/{division}", json={"rejection_delay": 0, "survey_after": 86400,
                                                                   **policy})
    assert r.status_code == 200, r.text
    # The panel names a known interviewer of the division (the interviews issue): an interviewer key.
    r = client.post("/v1/api-keys", json={"name": "ana", "role": "interviewer", "divisions": [division]})
    assert r.status_code == 201, r.text
    r = client.post("/v1/requisitions", json={"title": f"Scheduler test ({division})", "division": division,
                                              "department": "platform", "tier": "basic",
                                              "required_skills": ["Python"], "min_years": 1})
    assert r.status_code == 201, r.text
    req = r.json()
    run = secrets.token_hex(3)
    emails: dict[str, str] = {}
    for i in range(count):
        email = f"s{i}.{run}@scheduler.example"
        r = client.post("/v1/applications", headers={"Idempotency-Key": f"{run}-{i}"}, json={
            "requisition_id": req["id"], "source": "job_board",
            "candidate": {"name": f"Scheduled Candidate {i}", "email": email, "skills": ["python"],
                          "years_experience": 3, "location": "Remote"}})
        assert r.status_code == 202, r.text
        emails[r.json()["id"]] = email

    def all_in(status: str):
        def check():
            apps = applications_of(client, req["id"])
            return apps if len(apps) == count and all(a["status"] == status for a in apps) else None
        return wait_until(check, 60, f"{count} applications {status}", interval=0.3)

    all_in("shortlisted")
    when = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    interviews = []
    for app_id in emails:
        r = client.post(f"/v1/applications/{app_id}/interviews",
                        json={"interviewers": ["ana"], "scheduled_at": when, "competencies": ["craft"],
                              "allow_clash": True})
        assert r.status_code == 201, r.text
        interviews.append(r.json()["id"])
    for interview_id in interviews:
        r = client.post(f"/v1/interviews/{interview_id}/scorecards",
                        json={"interviewer": "ana", "ratings": {"craft": 4}, "recommendation": "yes"})
        assert r.status_code == 201, r.text
    all_in("interviewed")
    for app_id in emails:
        r = client.post(f"/v1/applications/{app_id}/decision", json={"outcome": "pass"})
        assert r.status_code == 200, r.text
    all_in("offered")
    return emails


def notices_of(fp: FaultPlatform, app_ids, kinds=None) -> list[dict]:
    query: dict = {"application_id": {"$in": list(app_ids)}}
    if kinds:
        query["kind"] = {"$in": list(kinds)}
    return list(fp.db("notification").notices.find(query))


def dispatchers_ran(fp: FaultPlatform) -> None:
    """Both replicas' dispatchers ran twice more: whatever either would still send has been sent."""
    timer_ticks([f"http://127.0.0.1:{fp.platform.metrics_ports[label]}/metrics" for label in NOTIFIERS],
                "dispatch_due")


def restart_together(fp: FaultPlatform, labels) -> None:
    """Start stopped processes at once (so their dispatchers race for the same due notices)."""
    before = {label: fp.log(label).count('"msg": "started"') for label in labels}
    for label in labels:
        fp.platform.start_process(label)
    for label in labels:
        wait_until(lambda label=label: fp.log(label).count('"msg": "started"') > before[label], 60,
                   f"{label} started")


def sent_by_replica(fp: FaultPlatform, notice_ids: set[str]) -> dict[str, int]:
    counts = {}
    for label in NOTIFIERS:
        n = 0
        for line in fp.log(label).splitlines():
            if '"notice sent"' in line:
                try:
                    n += json.loads(line).get("notice_id") in notice_ids
                except json.JSONDecodeError:
                    continue
        counts[label] = n
    return counts


def message_ids(smtp: HoldingSmtp, entries: list[dict]) -> Counter:
    """(notice id, Message-ID) -> copies captured."""
    return Counter((e["notice_id"], str(read_message(smtp.directory, e)["Message-ID"])) for e in entries)


def expected_recipient(notice: dict, emails: dict[str, str], division: str) -> str:
    return emails[notice["application_id"]] if notice["kind"] != "hr_confirm_reminder" \
        else f"hr-{division}@hireloop.local"


# ----------------------------------------------------------------------------------------------------
# 8. the whole notification service killed with follow-ups scheduled


@pytest.mark.timeout(240)
def test_kill_9_notification_with_follow_ups_scheduled_sends_every_due_notice_once(fault_platform):
    fp, smtp = fault_platform, fault_platform.smtp
    client = fp.client()
    division = f"sched{secrets.token_hex(3)}"
    # An hour and two ahead: certainly not due at the kill, however slow the machine; made due below.
    count, guide_after, confirm_after = 12, 3600, 7200
    emails = offered(client, division, count, {"guide_after": guide_after, "hr_confirm_after": confirm_after})
    ids = set(emails)

    # Every offer sent, every follow-up stored: then the outage.
    wait_until(lambda: len([n for n in notices_of(fp, ids) if n["kind"] == "offer" and n["status"] == "sent"])
               == count and len(notices_of(fp, ids, FOLLOW_UPS)) == 2 * count or None, 30, "offers sent")
    for label in NOTIFIERS:
        fp.platform.stop_process(label, signal.SIGKILL)
    killed_at = datetime.now(UTC)
    follow_ups = notices_of(fp, ids, FOLLOW_UPS)
    first_due = min(n["scheduled_for"] for n in follow_ups)
    last_due = max(n["scheduled_for"] for n in follow_ups)
    assert first_due > killed_at, "the kill came too late: a follow-up was already due"
    assert {n["status"] for n in follow_ups} == {"scheduled"}

    # Down until every follow-up is past due (the clock moved for them: due a second ago, in their order);
    # nothing goes out meanwhile.
    follow_up_ids = {n["_id"] for n in follow_ups}
    shift = datetime.now(UTC) - timedelta(seconds=1) - last_due
    for n in follow_ups:
        moved = fp.db("notification").notices.update_one({"_id": n["_id"], "status": "scheduled"},
                                                          {"$set": {"scheduled_for": n["scheduled_for"] + shift}})
        assert moved.modified_count == 1
    assert max(n["scheduled_for"] for n in notices_of(fp, ids, FOLLOW_UPS)) < datetime.now(UTC)
    down_for = (datetime.now(UTC) - killed_at).total_seconds()
    assert {n["status"] for n in notices_of(fp, ids, FOLLOW_UPS)} == {"scheduled"}
    assert not [m for m in fp.mail() if m["notice_id"] in follow_up_ids]

    restarted_at = datetime.now(UTC)
    restart_together(fp, NOTIFIERS)
    try:
        wait_until(lambda: len([m for m in fp.mail() if m["notice_id"] in follow_up_ids]) >= 2 * count
                   and all(n["status"] == "sent" for n in notices_of(fp, ids, FOLLOW_UPS)) or None,
                   30, f"{2 * count} follow-ups sent")
    except AssertionError:
        pass  # counted as missing below
    waited = (datetime.now(UTC) - restarted_at).total_seconds()
    dispatchers_ran(fp)  # room for a duplicate to show up

    notices = {n["_id"]: n for n in notices_of(fp, ids)}
    captured = [m for m in fp.mail() if m["notice_id"] in notices]
    copies = Counter(m["notice_id"] for m in captured)
    follow_up_copies = {nid: copies.get(nid, 0) for nid in follow_up_ids}
    duplicates = sum(n - 1 for n in follow_up_copies.values() if n > 1)
    missing = sum(1 for n in follow_up_copies.values() if n == 0)
    offer_copies = Counter(n for nid, n in copies.items() if notices[nid]["kind"] == "offer")
    statuses = Counter(notices[nid]["status"] for nid in follow_up_ids)
    attempts = Counter(notices[nid]["attempts"] for nid in follow_up_ids)
    per_app = Counter((notices[m["notice_id"]]["application_id"], notices[m["notice_id"]]["kind"],
                       m["to"][0].lower()) for m in captured)
    wrong = [m for m in captured
             if m["to"] != [expected_recipient(notices[m["notice_id"]], emails, division)]]
    print(f"[kill -9 notification, follow-ups scheduled] due={2 * count} "
          f"sent={sum(1 for n in follow_up_copies.values() if n)} emails={sum(follow_up_copies.values())} "
          f"duplicates={duplicates} missing={missing} failed={statuses.get('failed', 0)} "
          f"still-scheduled={statuses.get('scheduled', 0) + statuses.get('sending', 0)}")
    print(f"  killed {(first_due - killed_at).total_seconds():.1f}s before the first was due (then made due); "
          f"both replicas down {down_for:.1f}s; settled {waited:.1f}s after the restart; statuses={dict(statuses)} "
          f"attempts={dict(attempts)}; sent by {sent_by_replica(fp, follow_up_ids)}; "
          f"offer emails (before the kill) per offer: {dict(offer_copies)}")

    assert (duplicates, missing) == (0, 0)
    assert statuses == Counter({"sent": 2 * count}) and attempts == Counter({1: 2 * count})
    assert all(notices[nid]["sent_at"] >= restarted_at for nid in follow_up_ids)
    assert not wrong, wrong
    for app_id, email in emails.items():
        assert per_app[(app_id, "offer", email)] == 1
        assert per_app[(app_id, "guide", email)] == 1
        assert per_app[(app_id, "hr_confirm_reminder", f"hr-{division}@hireloop.local")] == 1
    # One Message-ID per notice, derived from its id, and the one stored with the notice.
    assert all(mid.startswith(f"<{nid}@") and mid == notices[nid]["message_id"]
               for nid, mid in message_ids(smtp, captured))


# ----------------------------------------------------------------------------------------------------
# 9. killed during a delivery: the claimed notice is sent again after its lease, with the same Message-ID


@pytest.mark.timeout(240)
def test_kill_9_during_a_delivery_resends_that_notice_once_after_its_lease_with_the_same_message_id(
        fault_platform):
    """Deterministic: the SMTP capture stores the first guide email and holds back its `250`, so the
    dispatcher is certainly between claim and mark-sent when it is killed (well within the 10 s SMTP
    timeout). Only notification-1 runs at that moment, so no other delivery is cut short.

    The lease is 60 s (`CLAIM_LEASE_SECONDS`, longer than the SMTP timeout). The test checks that two
    live replicas leave the claimed notice alone after the restart, then moves that one notice's
    `lease_until` into the past instead of waiting a minute: the only write this test makes to a
    service's database besides test 8's due times. From there the production path (a claim of an expired
    lease) resends it."""
    fp, smtp = fault_platform, fault_platform.smtp
    client = fp.client()
    division = f"sched{secrets.token_hex(3)}"
    count = 3
    fp.stop_process("notification-2")
    try:
        smtp.handler.hold_next(lambda entry, msg: msg["X-Hireloop-Kind"] == "guide"
                               and entry["to"][0].endswith("@scheduler.example"))
        emails = offered(client, division, count, {"guide_after": 3, "hr_confirm_after": 3})
        ids = set(emails)
        assert smtp.handler.holding.wait(30), "no guide email reached the SMTP server"
        fp.kill("notification-1")
    finally:
        smtp.handler.release.set()  # its answer goes to a dead connection
    held = smtp.handler.held["notice_id"]
    follow_ups = {n["_id"]: n for n in notices_of(fp, ids, FOLLOW_UPS)}
    assert len(follow_ups) == 2 * count and held in follow_ups, "the held email is not one of this test's"
    at_kill = follow_ups[held]
    assert (at_kill["status"], at_kill["attempts"]) == ("sending", 1)
    others = {nid: n for nid, n in follow_ups.items() if nid != held}
    assert {(n["status"], n["attempts"]) for n in others.values()} == {("scheduled", 0)}

    restart_together(fp, NOTIFIERS)

    def captured():
        return [m for m in fp.mail() if m["notice_id"] in follow_ups]

    notices = fp.db("notification").notices
    wait_until(lambda: notices.count_documents({"_id": {"$in": list(others)}, "status": "sent"}) == len(others)
               or None, 30, "the other follow-ups sent")
    dispatchers_ran(fp)  # both live replicas had their chance at the leased notice
    leased = notices.find_one({"_id": held})
    copies_while_leased = Counter(m["notice_id"] for m in captured())[held]
    lease_left = (leased["lease_until"] - datetime.now(UTC)).total_seconds()
    assert (leased["status"], leased["attempts"], copies_while_leased) == ("sending", 1, 1), \
        "a live replica took a notice whose lease still holds"

    moved = notices.update_one(
        {"_id": held, "status": "sending", "attempts": 1},
        {"$set": {"lease_until": datetime.now(UTC) - timedelta(seconds=1)}})
    assert moved.modified_count == 1
    wait_until(lambda: notices.find_one({"_id": held})["status"] == "sent"
               and Counter(m["notice_id"] for m in captured())[held] >= 2 or None, 30, "the held notice resent")
    dispatchers_ran(fp)  # room for a third copy to show up

    final = {n["_id"]: n for n in notices_of(fp, ids, FOLLOW_UPS)}
    mail = captured()
    copies = Counter(m["notice_id"] for m in mail)
    by_message_id = message_ids(smtp, mail)
    message_ids_of = {}
    for nid, mid in by_message_id:
        message_ids_of.setdefault(nid, set()).add(mid)
    duplicates = sum(n - 1 for n in copies.values() if n > 1)
    missing = sum(1 for nid in final if copies.get(nid, 0) == 0)
    print(f"[kill -9 during a delivery] due={len(final)} "
          f"sent={sum(1 for n in final.values() if n['status'] == 'sent')} emails={len(mail)} "
          f"duplicates={duplicates} (the interrupted notice, same Message-ID) missing={missing}")
    print(f"  held {held} ({at_kill['kind']}); after the restart it stayed claimed with {lease_left:.0f}s of "
          f"lease left; attempts={ {nid: n['attempts'] for nid, n in final.items()} }")

    assert missing == 0
    assert copies[held] == 2 and duplicates == 1, copies
    assert len(message_ids_of[held]) == 1, "the re-send must carry the first attempt's Message-ID"
    assert all(len(mids) == 1 for mids in message_ids_of.values())
    assert len({mid for mids in message_ids_of.values() for mid in mids}) == len(final)
    assert (final[held]["status"], final[held]["attempts"]) == ("sent", 2)
    assert final[held]["message_id"] in message_ids_of[held]
    assert {(n["status"], n["attempts"]) for nid, n in final.items() if nid != held} == {("sent", 1)}
    for m in mail:
        assert m["to"] == [expected_recipient(final[m["notice_id"]], emails, division)]
