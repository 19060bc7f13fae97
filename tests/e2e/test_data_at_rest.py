"""Candidate email and phone are sealed at rest in every store: a raw dump of every database (outbox and inbox
included), Redis and the dead-letter queues shows neither in clear, while the API still answers with them."""

from __future__ import annotations

import io
import json
import uuid
from contextlib import contextmanager

import pytest
from kombu import Connection, Exchange, Queue
from reportlab.pdfgen import canvas

from shared.bus import topology
from shared.crypto import is_sealed, open_sealed
from shared.storage import mongo_client
from tests.e2e.test_hiring_loop import app_status, find_mail, interview_and_pass, make_key
from tests.e2e.test_observability import PERSONAL_DATA
from tests.support.dump import occurrences, platform_dump
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

DIVISION = "atrest"
CANDIDATE = {"name": "Rita Rest", "email": "Rita.Rest@Example.net", "phone": "+44 20 7946 0321",
             "skills": ["forklift"], "years_experience": 3}
PHONE_DIGITS = "442079460321"
STORED_EMAIL = "Rita.Rest@example.net"  # email validation lower-cases the domain, keeps the local part
CV_MARKER = "Asdfghjkl-Rest-CV-5512"  # only in Rita's CV: its bytes and its extracted text are sealed


@contextmanager
def tapped(platform, producer: str, event_type: str):
    """A queue of the test's own bound to `producer`'s events of this type (the consumers keep theirs): yields a
    function returning the events published since, as their envelopes."""
    exchange = Exchange(topology.events_exchange(producer), type="topic", durable=True)
    with Connection(platform.env["RABBIT_URL"]) as conn:
        channel = conn.channel()
        # `.#` also matches a routing key with more words after the type (or none)
        tap = Queue(f"test.tap.{uuid.uuid4().hex[:8]}", exchange=exchange, routing_key=f"{event_type}.#",
                    exclusive=True, auto_delete=True)
        tap(channel).declare()
        events: list[dict] = []

        def take():
            while (message := tap(channel).get(no_ack=True)) is not None:
                body = message.body
                events.append(json.loads(body.decode() if isinstance(body, bytes | bytearray) else body))
            return events

        try:
            yield take
        finally:
            tap(channel).delete()


def contact_details(items: list[str]) -> list[str]:
    """The emails and phone numbers among the session's personal data (names are not sealed)."""
    return [p for p in items if "@" in p or p.replace(" ", "").lstrip("+").isdigit()]


def test_email_and_phone_are_sealed_in_every_store_and_open_through_the_api(platform):
    admin = platform.client()
    hr = platform.client(make_key(admin, "rhea", "hr", [DIVISION]))
    recruiter = platform.client(make_key(admin, "rob", "recruiter", [DIVISION]))
    ian = platform.client(make_key(admin, "ian", "interviewer", [DIVISION]))
    req = hr.post("/v1/requisitions", json={"title": "Driver", "division": DIVISION, "department": "logistics",
                                            "tier": "basic", "required_skills": ["forklift"]}).json()
    with tapped(platform, "sourcing", "application_received") as received:
        app = recruiter.post("/v1/applications", json={"requisition_id": req["id"], "source": "referral",
                                                       "talent_pool_consent": True, "candidate": CANDIDATE}).json()
        [event] = wait_for(lambda: [e for e in received() if e["payload"]["application_id"] == app["id"]],
                           lambda found: len(found) == 1, what="application_received published")
    wait_for(lambda: app_status(hr, app["id"]), lambda a: a["status"] == "shortlisted", what="shortlisted")
    interview_and_pass(recruiter, hr, ian, "ian", app["id"], 4, "yes", "2026-12-04T09:00:00Z")
    find_mail(platform, CANDIDATE["email"], "offer")  # the offer went out: the address was opened to send it

    # The API answers in clear ...
    candidate = hr.get(f"/v1/candidates/{app['candidate_id']}").json()
    assert (candidate["email"], candidate["phone"]) == (STORED_EMAIL, CANDIDATE["phone"])
    notices = hr.get(f"/v1/applications/{app['id']}/notifications").json()
    assert any(n["kind"] == "offer" and n["recipient"] == STORED_EMAIL for n in notices)
    # ... a second application with the same address, written differently, is the same candidate (keyed hash)
    other = hr.post("/v1/requisitions", json={"title": "Driver II", "division": DIVISION, "department": "logistics",
                                              "tier": "basic", "required_skills": ["forklift"]}).json()
    again = recruiter.post("/v1/applications", json={"requisition_id": other["id"], "source": "web", "candidate": {
        **CANDIDATE, "email": "  rita.rest@EXAMPLE.net "}}).json()
    assert again["candidate_id"] == app["candidate_id"]

    # A CV (a real PDF, its text uncompressed) read by sourcing: the text comes back through the API ...
    buf = io.BytesIO()
    pdf = canvas.Canvas(buf, pageCompression=0)
    pdf.drawString(72, 720, f"Rita Rest {CV_MARKER} forklift")
    pdf.save()
    assert CV_MARKER.encode() in buf.getvalue()
    attached = recruiter.post(f"/v1/applications/{app['id']}/documents", data={"kind": "cv"},
                              files={"file": ("Rita Rest.pdf", buf.getvalue(), "application/pdf")})
    assert attached.status_code == 201, attached.text
    wait_for(lambda: recruiter.get(f"/v1/applications/{app['id']}/documents").json()["items"][0],
             lambda d: d["text_status"] == "extracted" and CV_MARKER in d["text"], what="the CV read")

    # ... but nothing stores them in clear: not the services' records, outboxes, inboxes, Redis or dead letters.
    dump = platform_dump(platform.env)
    # The CV neither: not its text in any collection, not its bytes in any GridFS chunk, not its name.
    assert any(source.endswith("fs.chunks:bytes") for source in dump)
    assert occurrences(dump, [CV_MARKER, "Rita Rest.pdf"]) == []
    assert any(source.endswith(".outbox") for source in dump) and any(source.endswith(".notices") for source in dump)
    needles = [CANDIDATE["email"], CANDIDATE["email"].lower(), CANDIDATE["phone"], PHONE_DIGITS]
    assert occurrences(dump, needles) == []
    # They are there, sealed, and open to the original with the platform's key.
    client = mongo_client(platform.env["MONGO_URL"])
    try:
        ns = platform.env["HIRELOOP_NAMESPACE"]
        # the candidate is the identity; what the division recorded is its profile (docs/decisions/002)
        core = client[f"{ns}_sourcing"].candidates.find_one({"_id": app["candidate_id"]})
        assert core["email_key"].startswith("h1:") and "email" not in core
        stored = client[f"{ns}_sourcing"].candidate_profiles.find_one({"candidate_id": app["candidate_id"],
                                                                       "division": DIVISION})
        assert is_sealed(stored["email"]) and is_sealed(stored["phone"])
        # the second application's address (same person, other spelling) is the division's latest profile
        assert (open_sealed(stored["email"]), open_sealed(stored["phone"])) == (STORED_EMAIL.lower(),
                                                                                CANDIDATE["phone"])
        # The event kept on the application until relayed (write_document) went out with the address sealed:
        # read as published (sourcing keeps no copy once the broker confirmed it).
        assert is_sealed(event["payload"]["candidate"]["email"])
        assert open_sealed(event["payload"]["candidate"]["email"]) == STORED_EMAIL
        offer = client[f"{ns}_notification"].notices.find_one({"application_id": app["id"], "kind": "offer"})
        assert is_sealed(offer["recipient"]) and is_sealed(offer["body"])
    finally:
        client.close()


@pytest.mark.after_all_e2e
def test_no_email_or_phone_of_any_session_candidate_in_clear_in_any_store(platform):
    # Runs after every other end-to-end test: whatever they stored, published or dead-lettered.
    dump = platform_dump(platform.env)
    assert len(dump) >= 20
    assert occurrences(dump, contact_details(PERSONAL_DATA + [CANDIDATE["email"], CANDIDATE["phone"]])) == []
