"""Candidate-facing words (issue 15, findings 11 and 12), against the running platform over HTTP, reading the
captured mail.

- The portal showed staff data: interviewer and decider key names ("scheduled with ana, bo", "Decision: fail
  by grace"), interview ids, a rejected candidate's interview average and a screening override's reason.
- A candidate screened out for a missing skill got, within a second of applying, a rejection thanking them
  "for meeting our team"; emails said "reply to this email" from a no-reply address without Reply-To; the
  offer promised a start-date choice the portal does not offer.
- Done when: the portal pages (both languages, HTML and JSON) and every candidate email of the README's walk,
  plus a screen-out, an override with a distinctive reason and a rejection after an interview with a score,
  contain no staff key name, no internal id other than the candidate's own application reference, no
  override reason, no note and no rejected candidate's score.

Key names, reasons and notes are distinctive strings, so a scan of the rendered text cannot miss them.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest

from tests.e2e.test_hiring_loop import app_status, make_key, portal_link
from tests.support.divisions import register_over_api
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

OVERRIDE_REASON = "OVR-zq81 cousin of the store manager"
DECISION_NOTE = "DNOTE-zq81 too slow on the bar"
SCORECARD_NOTES = "SNOTES-zq81 spilled the milk twice"
# Words of the staff timeline's details (sourcing/domain.py) that have no place in the candidate's view.
STAFF_PHRASES = ["scheduled with", "Decision:", "overridden", "recorded by", "Screened out: score", "reused"]
LOCALES = ("en", "zh-CN")
# The README's skills (coffee, customer service, latte art) under names of this module's own: the talent pool
# is group-wide, and these candidates must not top other tests' matches.
SKILLS = ["cw-coffee", "cw-customer-service", "cw-latte-art"]


# ---------------------------------------------------------------------------------------------------- helpers

def message(platform, entry: dict) -> EmailMessage:
    path = Path(entry["file"])
    if not path.is_absolute():
        path = platform.var_dir / "mail" / path
    return message_from_bytes(path.read_bytes(), policy=policy.default)


def mails_to(platform, address: str) -> list[tuple[str, EmailMessage, str]]:
    """(kind, message, body) of every captured email to `address`."""
    found = []
    for entry in platform.mail():
        if address.lower() in [t.lower() for t in entry["to"]]:
            msg = message(platform, entry)
            found.append((msg["X-Hireloop-Kind"], msg, msg.get_body(preferencelist=("plain",)).get_content()))
    return found


def wait_mail(platform, address: str, kind: str, timeout: float = 30) -> tuple[EmailMessage, str]:
    found = wait_for(lambda: [(m, b) for k, m, b in mails_to(platform, address) if k == kind],
                     lambda items: len(items) > 0, timeout=timeout, what=f"{kind} mail to {address}")
    return found[-1]


def portal_pages(platform, link: str) -> dict[str, str]:
    """The page behind a portal link as the candidate can get it: HTML in both languages, and the JSON."""
    token = link.split("/portal/", 1)[1]
    anonymous = platform.client("")
    pages = {}
    for locale in LOCALES:
        r = anonymous.get(f"/portal/{token}", params={"lang": locale})
        assert r.status_code == 200, r.text
        pages[f"html {locale}"] = r.text
        r = anonymous.get(f"/portal/{token}", params={"lang": locale}, headers={"Accept": "application/json"})
        assert r.status_code == 200, r.text
        pages[f"json {locale}"] = json.dumps(r.json(), ensure_ascii=False)
    return pages


def assert_clean(where: str, text: str, forbidden: list[str]) -> None:
    """No forbidden string in `text`; a number (a score, "50%") only as a number of its own, so the seconds
    of a timestamp ("19:35:51.557") are not taken for an average of 1.5."""
    def found(word: str) -> bool:
        if re.fullmatch(r"\d+(\.\d+)?%?", word):
            return re.search(rf"(?<![\d.:]){re.escape(word)}(?![\d])", text) is not None
        return word in text

    leaked = [word for word in forbidden if word and found(word)]
    assert not leaked, f"{where} shows {leaked}:\n{text}"


def score_forms(value: float) -> list[str]:
    return sorted({f"{value:g}", f"{value:.1f}", f"{value:.2f}"})


def interview(recruiter, hr, panel: list[tuple[object, str]], app_id: str, ratings: dict, recommendation: str,
              notes: str = "", highlights: list[str] | None = None) -> dict:
    """Schedule an interview with `panel` ((client, key name) pairs), each submits a scorecard; → the interview."""
    r = recruiter.post(f"/v1/applications/{app_id}/interviews", json={
        "interviewers": [name for _, name in panel], "scheduled_at": "2026-12-01T09:00:00Z",
        "competencies": sorted(ratings), "allow_clash": True})  # one panel member may sit in two at one time
    assert r.status_code == 201, r.text
    found = r.json()
    for client, name in panel:
        card = {"interviewer": name, "ratings": ratings, "recommendation": recommendation, "notes": notes,
                "highlights": highlights or []}
        assert client.post(f"/v1/interviews/{found['id']}/scorecards", json=card).status_code == 201
    wait_for(lambda: app_status(hr, app_id), lambda a: a["status"] == "interviewed", what="interviewed")
    return hr.get(f"/v1/interviews/{found['id']}").json()


def when(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


# ---------------------------------------------------------------------------------------------- finding 11

def test_the_portal_shows_no_staff_names_interview_ids_override_reason_or_rejected_score(platform):
    """Screened out, overridden with a reason, interviewed by two named keys, failed by a named HR key with a
    note: the rejected candidate's portal page (both languages, HTML and JSON) shows none of it."""
    admin = platform.client()
    division = "cw-portal"
    hr = platform.client(make_key(admin, "hanak2w-hr", "hr", [division]))
    recruiter = platform.client(make_key(admin, "ruip5v-rec", "recruiter", [division]))
    ana = platform.client(make_key(admin, "anaq7x-int", "interviewer", [division]))
    bo = platform.client(make_key(admin, "boz9y-int", "interviewer", [division]))
    req = hr.post("/v1/requisitions", json={"title": "Roaster", "division": division, "department": "stores",
                                            "tier": "basic", "required_skills": ["roasting", "cupping"]}).json()
    email = "olu.portal@example.com"
    app = recruiter.post("/v1/applications", json={"requisition_id": req["id"], "source": "web", "candidate": {
        "name": "Olu", "email": email, "skills": ["roasting"], "years_experience": 2}}).json()
    out = wait_for(lambda: app_status(recruiter, app["id"]), lambda a: a["status"] == "screened_out",
                   what="screened out")
    r = recruiter.post(f"/v1/applications/{app['id']}/screening/override",
                       json={"passed": True, "reason": OVERRIDE_REASON})
    assert r.status_code == 200, r.text
    wait_for(lambda: app_status(recruiter, app["id"]), lambda a: a["status"] == "shortlisted", what="overridden")
    done = interview(recruiter, hr, [(ana, "anaq7x-int"), (bo, "boz9y-int")], app["id"],
                     {"craft": 2, "service": 1}, "no", notes=SCORECARD_NOTES)
    assert hr.post(f"/v1/applications/{app['id']}/decision",
                   json={"outcome": "fail", "note": DECISION_NOTE}).status_code == 200
    wait_for(lambda: app_status(hr, app["id"]), lambda a: a["status"] == "rejected", what="rejected")

    _, body = wait_mail(platform, email, "rejection")
    pages = portal_pages(platform, portal_link(body))
    staff = app_status(hr, app["id"])
    forbidden = ["hanak2w", "ruip5v", "anaq7x", "boz9y", OVERRIDE_REASON, DECISION_NOTE, SCORECARD_NOTES,
                 done["id"], req["id"], app["candidate_id"], *STAFF_PHRASES,
                 *score_forms(done["summary"]["average"]), f"{out['screening']['match']}%"]
    for where, text in pages.items():
        assert_clean(f"portal {where}", text, forbidden)
    # the candidate still sees where it stands, every step, in their words, and their own reference
    view = json.loads(pages["json en"])
    assert view["application_id"] == app["id"] and view["status"] == "rejected"
    assert [e["status"] for e in view["timeline"]] == [e["status"] for e in staff["timeline"]]
    assert "We decided not to move forward" in pages["html en"] and "我们决定暂不推进您的申请" in pages["html zh-CN"]
    # the result measured is the rejection after the interview, not the screen-out's that the override cancelled
    groups = hr.get("/v1/reports/notification-timing", params={"division": division, "from": "2020-01-01"}
                    ).json()["groups"]
    assert [(g["kind"], g["mode"], g["count"]) for g in groups] == [("rejection", "immediate", 1)], groups
    # ... and the staff view still has it all (nothing was deleted to hide it)
    details = " ".join(e["detail"] for e in staff["timeline"])
    assert OVERRIDE_REASON in details and "anaq7x-int" in details


# ---------------------------------------------------------------------------------------------- finding 12

def test_a_screen_out_waits_a_day_by_default_then_gets_its_own_words_with_reply_to(platform):
    admin = platform.client()
    hr = platform.client(make_key(admin, "cw-hr-screen", "hr", ["cw-screen", "cw-screen-fast"]))
    # default policy: the screen-out's rejection waits a day, nothing is sent now
    req = hr.post("/v1/requisitions", json={"title": "Cashier", "division": "cw-screen", "department": "stores",
                                            "tier": "basic", "required_skills": ["cash handling"]}).json()
    email = "sam.screen@example.com"
    app = hr.post("/v1/applications", json={"requisition_id": req["id"], "source": "web", "candidate": {
        "name": "Sam", "email": email, "skills": ["baking"], "years_experience": 1}}).json()
    wait_for(lambda: app_status(hr, app["id"]), lambda a: a["status"] == "screened_out", what="screened out")
    notices = wait_for(lambda: hr.get(f"/v1/applications/{app['id']}/notifications").json(),
                       lambda items: any(n["kind"] == "rejection" for n in items), what="rejection planned")
    rejection = next(n for n in notices if n["kind"] == "rejection")
    created = when(app_status(hr, app["id"])["created_at"])
    assert rejection["status"] == "scheduled" and rejection["sent_at"] is None, rejection
    assert when(rejection["scheduled_for"]) >= created + timedelta(hours=23), rejection
    survey = next(n for n in notices if n["kind"] == "survey")
    assert when(survey["scheduled_for"]) >= when(rejection["scheduled_for"])
    assert [k for k, _, _ in mails_to(platform, email)] == []  # the notice is stored unsent: nothing went out

    # a short delay (policy), and a reply address: the screen-out's own words, with Reply-To
    r = hr.put("/v1/notification-policies/cw-screen-fast", json={
        "screen_out_rejection_delay": 1, "survey_after": 1, "hr_email": "hiring@cw-screen-fast.example"})
    assert r.status_code == 200, r.text
    assert r.json()["screen_out_rejection_delay"] == 1 and r.json()["share_evidence"] is True
    req = hr.post("/v1/requisitions", json={"title": "Cashier", "division": "cw-screen-fast",
                                            "department": "stores", "tier": "basic",
                                            "required_skills": ["cash handling"]}).json()
    email = "sam.fast@example.com"
    app = hr.post("/v1/applications", json={"requisition_id": req["id"], "source": "web", "candidate": {
        "name": "Sam", "email": email, "skills": ["baking"], "years_experience": 1}}).json()
    msg, body = wait_mail(platform, email, "rejection")
    assert "meeting our team" not in body and "We have read your application carefully" in body
    assert msg["Reply-To"] == "hiring@cw-screen-fast.example"
    assert "reply to this email" in body.lower()
    sent = wait_for(lambda: next(n for n in hr.get(f"/v1/applications/{app['id']}/notifications").json()
                                 if n["kind"] == "rejection"),
                    lambda n: n["sent_at"] is not None, what="rejection marked sent")  # mailed, then marked
    assert when(sent["sent_at"]) - when(app_status(hr, app["id"])["created_at"]) >= timedelta(seconds=1)


def test_without_a_reply_address_no_email_carries_reply_to_or_invites_a_reply(platform):
    """No `reply_to`, no `hr_email`, no CANDIDATE_REPLY_TO: the mail comes from no-reply and says nothing of
    replying (it used to say "reply to this email")."""
    admin = platform.client()
    hr = platform.client(make_key(admin, "cw-hr-silent", "hr", ["cw-silent"]))
    ana = platform.client(make_key(admin, "cw-int-silent", "interviewer", ["cw-silent"]))
    req = hr.post("/v1/requisitions", json={"title": "Baker", "division": "cw-silent", "department": "stores",
                                            "tier": "basic", "required_skills": ["baking"]}).json()
    email = "noa.silent@example.com"
    app = hr.post("/v1/applications", json={"requisition_id": req["id"], "source": "web", "candidate": {
        "name": "Noa", "email": email, "skills": ["baking"], "years_experience": 2}}).json()
    wait_for(lambda: app_status(hr, app["id"]), lambda a: a["status"] == "shortlisted", what="shortlisted")
    interview(hr, hr, [(ana, "cw-int-silent")], app["id"], {"craft": 5}, "strong_yes")
    assert hr.post(f"/v1/applications/{app['id']}/decision", json={"outcome": "pass"}).status_code == 200
    msg, body = wait_mail(platform, email, "offer")
    assert msg["Reply-To"] is None
    assert "reply" not in body.lower()
    assert "pick your start date" not in body.lower() and "start date that suits you" not in body


# ------------------------------------------------------------------------------------------------ done when

@pytest.mark.parametrize("locale", LOCALES)
def test_no_portal_page_or_candidate_email_of_the_readme_walk_shows_staff_data(platform, locale):
    """The README's curl walk (Lin: apply, two interviewers, pass, offer, decline on the portal, pooled,
    re-engaged, accepts) plus Sam (screened out), Olu (passed screening, overridden out with a reason) and
    Kim (rejected after an interview with a score), with distinctive staff key names; every portal page
    (both languages, HTML and JSON) and every email to these candidates is scanned."""
    admin = platform.client()
    division = f"cw-walk-{locale.lower()}"
    register_over_api(admin, division)  # registered divisions only (issue 20)
    tag = locale.lower().replace("-", "")
    names = {role: f"{role}{tag}-x7k" for role in ("hana", "rui", "ana", "bo")}
    hr = platform.client(make_key(admin, names["hana"], "hr", [division]))
    rec = platform.client(make_key(admin, names["rui"], "recruiter", [division]))
    ana = platform.client(make_key(admin, names["ana"], "interviewer", [division]))
    bo = platform.client(make_key(admin, names["bo"], "interviewer", [division]))
    reply_to = f"hiring@{division}.example"
    r = hr.put(f"/v1/notification-policies/{division}", json={
        "locale": locale, "hr_email": reply_to, "guide_after": 1, "survey_after": 2,
        "screen_out_rejection_delay": 1})
    assert r.status_code == 200, r.text

    # 1. a requisition, 2. Lin's application (README), Sam's (screened out), Olu's and Kim's
    req = hr.post("/v1/requisitions", json={
        "title": "Barista", "division": division, "department": "stores", "tier": "basic",
        "required_skills": SKILLS[:2], "skills": SKILLS[2:], "min_years": 1}).json()

    def apply(name: str, skills: list[str]) -> tuple[str, dict]:
        address = f"{name.lower()}.{tag}@example.com"
        r = rec.post("/v1/applications", json={
            "requisition_id": req["id"], "source": "referral", "talent_pool_consent": True,
            "candidate": {"name": name, "email": address, "skills": skills, "years_experience": 3}})
        assert r.status_code == 202, r.text
        return address, r.json()

    lin_email, lin = apply("Lin", SKILLS)
    sam_email, sam = apply("Sam", SKILLS[:1])
    olu_email, olu = apply("Olu", SKILLS[:2])
    kim_email, kim = apply("Kim", SKILLS[:2])
    for a in (lin, olu, kim):
        wait_for(lambda a=a: app_status(rec, a["id"]), lambda s: s["status"] == "shortlisted", what="shortlisted")
    sam_staff = wait_for(lambda: app_status(rec, sam["id"]), lambda s: s["status"] == "screened_out",
                         what="screened out")

    # Olu: a recruiter overrides the screening to "out", with a reason
    r = rec.post(f"/v1/applications/{olu['id']}/screening/override", json={"passed": False, "reason": OVERRIDE_REASON})
    assert r.status_code == 200, r.text

    # 3. Lin's interview with two interviewers (README), Kim's with a low score and notes
    lin_interview = interview(rec, hr, [(ana, names["ana"]), (bo, names["bo"])], lin["id"],
                              {"craft": 5, "service": 4}, "yes", notes=SCORECARD_NOTES,
                              highlights=["Perfect milk texturing"])
    kim_interview = interview(rec, hr, [(bo, names["bo"])], kim["id"], {"craft": 2, "service": 1}, "strong_no",
                              notes=SCORECARD_NOTES)
    # 4. HR passes Lin (the offer with its evidence), fails Kim with a note
    assert hr.post(f"/v1/applications/{lin['id']}/decision", json={"outcome": "pass", "note": DECISION_NOTE}
                   ).status_code == 200
    assert hr.post(f"/v1/applications/{kim['id']}/decision", json={"outcome": "fail", "note": DECISION_NOTE}
                   ).status_code == 200

    pages: dict[str, dict[str, str]] = {}  # candidate -> {where: text}

    def look(who: str, link: str, moment: str) -> None:
        for where, text in portal_pages(platform, link).items():
            pages.setdefault(who, {})[f"portal {moment} {where}"] = text

    offer_msg, offer_body = wait_mail(platform, lin_email, "offer")
    assert "4.5" in offer_body and "Perfect milk texturing" in offer_body  # the evidence stays (share_evidence)
    lin_link = portal_link(offer_body)
    look("lin", lin_link, "offered")
    wait_mail(platform, lin_email, "guide")  # after guide_after (1 s); a decline would cancel it
    # 5. Lin declines on the portal
    token = lin_link.split("/portal/", 1)[1]
    assert platform.client("").post(f"/portal/{token}/response", json={"response": "decline"}).status_code == 200
    look("lin", lin_link, "declined")

    # 6-7. pooled; an urgent requisition; Lin re-engaged
    wait_for(lambda: rec.get("/v1/talent-pool", params={"skill": SKILLS[0], "division": division}).json()["items"],
             lambda items: any(e["candidate_id"] == lin["candidate_id"] for e in items), what="pooled")
    urgent = hr.post("/v1/requisitions", json={
        "title": "Head Barista", "division": division, "department": "flagship", "tier": "basic", "urgent": True,
        "required_skills": SKILLS[:1]}).json()
    wait_for(lambda: rec.get(f"/v1/requisitions/{urgent['id']}/matches").json(),
             lambda m: isinstance(m, list) and any(x["candidate_id"] == lin["candidate_id"] for x in m),
             what="matches")
    reengagement = rec.post(f"/v1/requisitions/{urgent['id']}/matches/{lin['candidate_id']}/reengage").json()
    _, reengage_body = wait_mail(platform, lin_email, "reengagement")
    r_link = portal_link(reengage_body)
    look("lin", r_link, "re-engaged")
    # 8. Lin accepts: a fast-tracked application
    r = platform.client("").post(f"/portal/{r_link.split('/portal/', 1)[1]}/response", json={"response": "accept"})
    assert r.status_code == 200, r.text
    new_app_id = r.json()["application_id"]
    wait_for(lambda: app_status(hr, new_app_id), lambda a: a["status"] == "interviewed", what="fast track")
    look("lin", r_link, "accepted")

    # the rejected: Sam (screen-out), Olu (overridden out), Kim (after the interview); each with a survey
    for who, address in (("sam", sam_email), ("olu", olu_email), ("kim", kim_email)):
        _, body = wait_mail(platform, address, "rejection")
        wait_mail(platform, address, "survey")
        look(who, portal_link(body), "rejected")

    emails = {"lin": mails_to(platform, lin_email), "sam": mails_to(platform, sam_email),
              "olu": mails_to(platform, olu_email), "kim": mails_to(platform, kim_email)}
    assert {k for k, _, _ in emails["lin"]} >= {"offer", "reengagement", "guide"}
    for who in ("sam", "olu"):
        assert {k for k, _, _ in emails[who]} == {"rejection", "survey"}, who
    # Kim was interviewed: invited first (the .ics), then rejected (scanned with the rest below)
    assert {k for k, _, _ in emails["kim"]} == {"interview_invitation", "rejection", "survey"}

    # --- the scan
    own = {"lin": {lin["id"], new_app_id}, "sam": {sam["id"]}, "olu": {olu["id"]}, "kim": {kim["id"]}}
    every_id = {lin["id"], new_app_id, sam["id"], olu["id"], kim["id"], lin["candidate_id"], sam["candidate_id"],
                olu["candidate_id"], kim["candidate_id"], req["id"], urgent["id"], lin_interview["id"],
                kim_interview["id"], reengagement["id"]}
    staff_words = [*names.values(), OVERRIDE_REASON, DECISION_NOTE, SCORECARD_NOTES, *STAFF_PHRASES]
    rejected_scores = {"kim": score_forms(kim_interview["summary"]["average"]),
                       "sam": [f"{sam_staff['screening']['match']}%"],
                       "olu": [f"{app_status(rec, olu['id'])['screening']['match']}%"]}
    scanned = 0
    for who in ("lin", "sam", "olu", "kim"):
        forbidden = [*staff_words, *sorted(every_id - own[who]), *rejected_scores.get(who, [])]
        for where, text in pages[who].items():
            assert_clean(f"{who}'s {where}", text, forbidden)
            scanned += 1
        for kind, msg, body in emails[who]:
            assert_clean(f"{who}'s {kind} email", f"{msg['Subject']}\n{body}", forbidden)
            # every candidate email says where a reply goes, and no id of its own beyond the portal link
            assert msg["Reply-To"] == reply_to, (who, kind)
            assert msg["From"] and "no-reply" in msg["From"]
            scanned += 1
    assert scanned >= 4 * 6 + 7  # pages (4 views each) and emails of four candidates were all read

    # the offer promises nothing the portal does not offer, and a screen-out is not thanked for a meeting
    assert "start date that suits you" not in offer_body and "选择合适的入职日期" not in offer_body
    sam_rejection = next(b for k, _, b in emails["sam"] if k == "rejection")
    assert "meeting our team" not in sam_rejection and "与我们的团队交流" not in sam_rejection
    kim_rejection = next(b for k, _, b in emails["kim"] if k == "rejection")
    assert ("meeting our team" if locale == "en" else "与我们的团队交流") in kim_rejection
