"""NotificationStore against a real MongoDB (the session's test infrastructure)."""

import threading
from datetime import timedelta

import pytest
from pymongo.errors import DuplicateKeyError

from services.notification import domain
from services.notification.domain import Planned
from services.notification.store import NotificationStore
from shared.crypto import is_sealed, open_sealed
from shared.ids import new_id
from shared.storage import mongo_client
from shared.timeutil import utcnow


@pytest.fixture(scope="module")
def client(test_infra):
    c = mongo_client(test_infra.mongo_url)
    yield c
    c.close()


@pytest.fixture
def store(client, test_infra):
    name = f"{test_infra.namespace}_notification_store_{new_id('t')}"
    s = NotificationStore(client, name)
    s.ensure_indexes()
    yield s
    client.drop_database(name)


def notice(kind="offer", step=0, delay=0, application_id="app_1", division="retail", candidate_id="cand_1",
           now=None, reengagement_id=None):
    return domain.build_notice(
        Planned(kind, domain.CANDIDATE, delay, step=step), notice_id=new_id("ntc"), now=now or utcnow(),
        recipient="li@example.com", rendered=domain.Rendered("Subject", "Body\n"), application_id=application_id,
        candidate_id=candidate_id, reengagement_id=reengagement_id, division=division, tier="basic", urgent=False)


def test_dedupe_key_is_unique_and_a_duplicate_is_a_no_op(store):
    first, again = notice(), notice()
    assert first["dedupe_key"] == again["dedupe_key"] and first["_id"] != again["_id"]
    assert store.add_notice(first) is True
    assert store.add_notice(again) is False
    assert store.db.notices.count_documents({}) == 1
    assert store.get_notice(first["_id"])["subject"] == "Subject"
    with pytest.raises(DuplicateKeyError):  # the index itself guarantees it, not only the upsert
        store.db.notices.insert_one({**again, "_id": new_id("ntc")})
    assert store.add_notice(notice(step=1)) is True  # another step is another notice


def test_a_cancelled_notice_can_be_planned_again_and_keeps_its_record(store):
    """A screen-out's rejection waits its delay; an override cancels it; the rejection after the interviews
    that follow is a new notice of the same kind and step, not swallowed by the cancelled one."""
    first = notice("rejection", delay=86400)
    assert store.add_notice(first) is True
    assert store.cancel_scheduled("app_1", now=utcnow()) == 1
    second = notice("rejection")
    assert store.add_notice(second) is True
    assert store.add_notice(notice("rejection")) is False  # the live one still dedupes
    assert store.get_notice(first["_id"])["status"] == "cancelled"
    assert store.get_notice(second["_id"])["status"] == "scheduled"
    assert store.db.notices.count_documents({"application_id": "app_1"}) == 2


def test_an_unsent_result_is_forgotten_a_sent_one_is_kept(store):
    now = utcnow()
    record = domain.timing_record(application_id="app_1", kind="rejection", tier="basic", urgent=False,
                                  division="retail", policy=domain.NotificationPolicy(), decided_at=now, now=now,
                                  status="screened_out")
    store.add_timing(record)
    store.drop_unsent_timing("app_1")
    assert store.get_timing("app_1") is None
    store.add_timing(record)
    store.timing_sent("app_1", "rejection", now, 0.0)
    store.drop_unsent_timing("app_1")
    assert store.get_timing("app_1")["sent_at"] is not None


def test_duplicates_inside_transactions_do_not_abort_the_unit_of_work(store):
    def work(uow):
        created = [uow.store.add_notice(notice(), session=uow.session) for _ in range(2)]
        uow.store.upsert_contact("app_1", {"candidate_id": "cand_1", "received_at": utcnow()}, session=uow.session)
        return created

    assert store.transact(work)[0] == [True, False]
    assert store.transact(work)[0] == [False, False]
    assert store.db.notices.count_documents({}) == 1 and store.get_contact("app_1") is not None


def test_claim_takes_due_notices_once_and_leaves_future_ones(store):
    now = utcnow()
    due, later = notice("offer", now=now), notice("guide", delay=3600, now=now)
    store.add_notice(due)
    store.add_notice(later)
    claimed = store.claim_due(now + timedelta(seconds=1), 60)
    assert claimed["_id"] == due["_id"]
    assert claimed["status"] == "sending" and claimed["attempts"] == 1
    assert claimed["lease_until"] > now + timedelta(seconds=59)
    assert store.claim_due(now + timedelta(seconds=1), 60) is None
    assert store.mark_notice_sent(due["_id"], 1, now) is True
    assert store.claim_due(now + timedelta(hours=1, seconds=1), 60)["_id"] == later["_id"]


def test_a_notice_with_files_keeps_their_names_and_types_through_the_claim(store):
    described = [{"filename": "invite.ics", "content_type": "text/calendar; method=REQUEST; charset=utf-8"}]
    with_files = domain.build_notice(
        Planned("offer", domain.CANDIDATE, 0), notice_id=new_id("ntc"), now=utcnow(), recipient="li@example.com",
        rendered=domain.Rendered("Subject", "Body\n"), application_id="app_1", candidate_id="cand_1",
        reengagement_id=None, division="retail", tier="basic", urgent=False, attachments=described)
    without = notice("guide")
    store.add_notice(with_files)
    store.add_notice(without)
    # what the dispatcher reads: the list, to make the files
    assert store.claim_due(utcnow(), 60, only_ids=[with_files["_id"]])["attachments"] == described
    assert "attachments" not in store.claim_due(utcnow(), 60, only_ids=[without["_id"]])


def test_claim_can_be_limited_to_given_ids(store):
    a, b = notice("offer"), notice("rejection")
    store.add_notice(a)
    store.add_notice(b)
    assert store.claim_due(utcnow(), 60, only_ids=[b["_id"]])["_id"] == b["_id"]
    assert store.claim_due(utcnow(), 60, only_ids=[b["_id"]]) is None
    assert store.claim_due(utcnow(), 60)["_id"] == a["_id"]


def test_concurrent_claims_never_return_the_same_notice(store):
    for i in range(30):
        store.add_notice(notice("progress", step=i))
    claimed: list[str] = []
    lock = threading.Lock()

    def claimer():
        while True:
            doc = store.claim_due(utcnow(), 60)
            if doc is None:
                return
            with lock:
                claimed.append(doc["_id"])

    threads = [threading.Thread(target=claimer) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(claimed) == 30 and len(set(claimed)) == 30
    assert store.db.notices.count_documents({"status": "sending", "attempts": 1}) == 30


def test_an_expired_lease_lets_another_dispatcher_reclaim(store):
    now = utcnow()
    store.add_notice(notice(now=now))
    first = store.claim_due(now, 60)
    assert store.claim_due(now + timedelta(seconds=30), 60) is None  # lease still running
    again = store.claim_due(now + timedelta(seconds=61), 60)
    assert again["_id"] == first["_id"] and again["attempts"] == 2
    # The first claimant finishing late cannot overwrite the newer claim; the newer one can.
    assert store.mark_notice_sent(first["_id"], 1, now) is False
    assert store.mark_notice_sent(first["_id"], 2, now, "<m@x>") is True
    sent = store.get_notice(first["_id"])
    assert sent["status"] == "sent" and sent["sent_at"] is not None and sent["lease_until"] is None
    assert store.claim_due(now + timedelta(hours=1), 60) is None  # sent is never claimed again


def test_failure_reschedules_or_fails(store):
    now = utcnow()
    store.add_notice(notice(now=now))
    doc = store.claim_due(now, 60)
    assert store.record_failure(doc["_id"], doc["attempts"], domain.after_failure(1, "boom", now))
    back = store.get_notice(doc["_id"])
    assert back["status"] == "scheduled" and back["error"] == "boom"
    assert store.claim_due(now + timedelta(seconds=1), 60) is None  # backing off
    doc = store.claim_due(now + timedelta(seconds=6), 60)
    assert doc["attempts"] == 2
    assert store.record_failure(doc["_id"], 2, domain.after_failure(5, "still down", now))
    assert store.get_notice(doc["_id"])["status"] == "failed"


def test_cancel_scheduled_only_touches_waiting_notices_of_that_application(store):
    now = utcnow()
    offer = notice("offer", now=now)
    guide, reminder = notice("guide", delay=60, now=now), notice("hr_confirm_reminder", delay=60, now=now)
    escalation = notice("confirm_escalation", delay=60, now=now)
    other = notice("guide", delay=60, application_id="app_2", now=now)
    for n in (offer, guide, reminder, escalation, other):
        store.add_notice(n)
    store.claim_due(now, 60)  # the offer is being sent
    assert store.cancel_scheduled("app_1", domain.cancels_on_confirmation("confirmed"), now=now) == 2
    assert store.get_notice(guide["_id"])["status"] == "scheduled"
    assert store.cancel_scheduled("app_1", now=now) == 1
    status = {n["_id"]: store.get_notice(n["_id"])["status"] for n in (offer, guide, reminder, escalation, other)}
    assert status == {offer["_id"]: "sending", guide["_id"]: "cancelled", reminder["_id"]: "cancelled",
                      escalation["_id"]: "cancelled", other["_id"]: "scheduled"}


def test_lists_are_scoped_by_division_and_oldest_first(store):
    docs = [notice("offer"), notice("guide"), notice("reengagement", application_id=None, reengagement_id="reg_1",
                                                     division="logistics")]
    for d in docs:
        store.add_notice(d)
    items, cursor = store.notices_for_application("app_1", None, 500, None)
    assert [i["_id"] for i in items] == sorted(d["_id"] for d in docs[:2]) and cursor is None
    assert store.notices_for_application("app_1", ["logistics"], 500, None)[0] == []
    assert len(store.notices_for_candidate("cand_1", None, 500, None)[0]) == 3
    assert [i["kind"] for i in store.notices_for_candidate("cand_1", ["logistics"], 500, None)[0]] == ["reengagement"]
    page, cursor = store.notices_for_candidate("cand_1", None, 2, None)
    assert len(page) == 2 and cursor
    assert len(store.notices_for_candidate("cand_1", None, 2, cursor)[0]) == 1


def test_contacts_latest_by_candidate_and_policies(store):
    now = utcnow()
    store.upsert_contact("app_old", {"candidate_id": "c1", "email": "old@x.io", "received_at": now - timedelta(days=9)})
    store.upsert_contact("app_new", {"candidate_id": "c1", "email": "new@x.io", "received_at": now})
    store.upsert_contact("app_z", {"candidate_id": "c2", "email": "z@x.io", "received_at": now})
    assert store.latest_contact_for_candidate("c1")["email"] == "new@x.io"
    assert store.latest_contact_for_candidate("nobody") is None
    store.update_contact("app_new", {"status": "offered", "status_at": now})
    assert store.get_contact("app_new")["status"] == "offered"

    assert store.get_policy("retail") is None
    store.put_policy("retail", {"guide_after": 5, "locale": "zh-CN"})
    store.put_policy("retail", {"guide_after": 7})  # PUT replaces
    assert store.get_policy("retail") == {"_id": "retail", "guide_after": 7}
    assert "retail_dup" not in [d["_id"] for d in store.db.policies.find()]


def test_webhook_secret_is_sealed_at_rest_and_a_clear_one_from_before_still_reads(store):
    secret = "whsec-0123456789abcdef"
    store.put_policy("retail", {"hr_webhook_url": "https://hr.example.com/h", "hr_webhook_secret": secret})
    raw = store.db.policies.find_one({"_id": "retail"})
    assert is_sealed(raw["hr_webhook_secret"]) and secret not in str(raw)
    assert store.get_policy("retail")["hr_webhook_secret"] == secret
    assert domain.effective_policy(store.get_policy("retail")).hr_webhook_secret == secret

    # A secret stored in clear by an older version reads as it is ...
    store.db.policies.insert_one({"_id": "legacy", "hr_webhook_url": "https://hr.example.com/l",
                                  "hr_webhook_secret": "clear-legacy-secret-1"})
    store.db.policies.insert_one({"_id": "nohook", "guide_after": 5})
    assert store.get_policy("legacy")["hr_webhook_secret"] == "clear-legacy-secret-1"
    # ... and is sealed by the start-up migration (once; sealed ones are left alone).
    assert store.seal_clear_secrets() == 1
    assert store.seal_clear_secrets() == 0
    legacy = store.db.policies.find_one({"_id": "legacy"})
    assert is_sealed(legacy["hr_webhook_secret"]) and open_sealed(legacy["hr_webhook_secret"]) == \
        "clear-legacy-secret-1"
    assert store.db.policies.find_one({"_id": "retail"})["hr_webhook_secret"] == raw["hr_webhook_secret"]
    assert store.get_policy("nohook") == {"_id": "nohook", "guide_after": 5}


def test_notice_methods_leave_the_outbox_of_the_base_store_working(store):
    """The unit of work's outbox (claim, mark sent) must not be shadowed by notice methods."""
    from shared.contracts.events import NoticeSent

    def work(uow):
        uow.emit("notice_sent", NoticeSent(notice_id="ntc_1", application_id="app_1", candidate_id="c1",
                                           division="retail", kind="offer", channel="email", sent_at=utcnow()))

    _, emitted = store.transact(work)
    [claimed] = store.claim_outbox(only_ids=[emitted[0].event_id])
    store.mark_sent(claimed["_id"])
    assert store.outbox_backlog() == 0
