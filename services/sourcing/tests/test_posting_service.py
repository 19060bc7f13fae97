"""The careers issue in sourcing's shell, against a real MongoDB: requisitions edited and published (PATCH,
history, the posting sweep), divisions as records, and the careers site's public reads."""

from datetime import UTC, datetime, timedelta

import pytest
from nameko.testing.services import worker_factory

from services.sourcing.service import SourcingService
from services.sourcing.store import SourcingStore
from shared.config import Settings
from shared.contracts.caller import Caller
from shared.errors import Conflict, Forbidden, Invalid, NotFound
from shared.timeutil import iso, utcnow
from tests.support.divisions import register
from tests.support.shell import InProcessBus

HR = Caller(key_id="k1", name="helen", role="hr", divisions=("retail",))
RECRUITER = Caller(key_id="k2", name="rita", role="recruiter", divisions=("retail",))
OTHER_HR = Caller(key_id="k3", name="olaf", role="hr", divisions=("logistics",))
ADMIN = Caller(key_id="k4", name="ada", role="admin")
CAREERS = Caller.system("careers")

REQ = {"title": "Barista", "division": "retail", "department": "Stores", "tier": "basic",
       "required_skills": ["Coffee"], "skills": ["Latte Art"], "min_years": 1, "location": "Shanghai, Pudong",
       "knockout_questions": [{"id": "permit", "question": "Work permit?"}]}


@pytest.fixture
def svc(make_store):
    store = register(make_store(SourcingStore), "retail", "logistics")  # as HIRELOOP_DIVISIONS at start-up
    return worker_factory(SourcingService, store=store, bus=InProcessBus(store, HR), settings=Settings())


def as_(svc, caller):
    svc.bus.caller = caller
    return svc


def later(**delta) -> str:
    return iso(utcnow() + timedelta(**delta))


def test_posting_fields_on_create_and_a_patch_changes_only_what_it_sends(svc):
    created = as_(svc, HR).create_requisition(**REQ, description="Pull shots.", employment_type="part_time",
                                              salary_range={"min": 20, "max": 25, "currency": "CNY",
                                                            "period": "hour"},
                                              closes_at=later(days=30))
    assert (created["published"], created["published_at"], created["employment_type"]) == (False, None, "part_time")
    assert created["salary_range"] == {"min": 20.0, "max": 25.0, "currency": "CNY", "period": "hour"}
    assert created["closes_at"].endswith("Z") and created["updated_at"] == created["created_at"]
    assert [(h["action"], h["by"]) for h in created["history"]] == [("created", "helen")]
    stored = svc.store.get_requisition(created["id"])
    assert isinstance(stored["closes_at"], datetime)  # a time the sweep and the public reads compare

    rid = created["id"]
    patched = svc.patch_requisition(requisition_id=rid, title="Head barista", salary_range=None, published=True)
    assert (patched["title"], patched["salary_range"], patched["published"]) == ("Head barista", None, True)
    # left out: unchanged
    assert (patched["description"], patched["location"], patched["employment_type"], patched["closes_at"]) == (
        "Pull shots.", "Shanghai, Pudong", "part_time", created["closes_at"])
    assert [(h["action"], h["fields"]) for h in patched["history"]] == [
        ("created", []), ("edited", ["title", "salary_range"]), ("published", [])]
    assert patched["published_at"] and patched["updated_at"] >= created["updated_at"]
    assert svc.get_requisition(requisition_id=rid) == patched
    # the same PATCH again changes nothing and adds no history (a retry is harmless)
    assert svc.patch_requisition(requisition_id=rid, title="Head barista") == patched
    # null clears an optional field; not a required one; bad values are 422 naming the field
    assert svc.patch_requisition(requisition_id=rid, location=None)["location"] is None
    for bad, field in (({"title": None}, "title"), ({"closes_at": later(days=-1)}, "closes_at"),
                       ({"employment_type": "gig"}, "employment_type"), ({"division": "logistics"}, "division"),
                       ({"salary_range": {"min": 5, "max": 1, "currency": "CNY", "period": "hour"}},
                        "salary_range.max")):
        with pytest.raises(Invalid) as exc:
            svc.patch_requisition(requisition_id=rid, **bad)
        assert exc.value.field == field, bad
    assert svc.get_requisition(requisition_id=rid)["history"] == svc.patch_requisition(
        requisition_id=rid)["history"]  # nothing of the refused ones was stored


def test_who_may_patch_and_a_closed_requisition(svc):
    rid = as_(svc, HR).create_requisition(**REQ, published=True)["id"]
    with pytest.raises(NotFound):
        as_(svc, OTHER_HR).patch_requisition(requisition_id=rid, title="Mine now")
    with pytest.raises(Forbidden):
        as_(svc, RECRUITER).patch_requisition(requisition_id=rid, title="Mine now")
    assert as_(svc, ADMIN).patch_requisition(requisition_id=rid, headcount=3)["history"][-1] == {
        "at": svc.get_requisition(requisition_id=rid)["updated_at"], "by": "ada", "action": "edited",
        "fields": ["headcount"]}

    closed = as_(svc, HR).close_requisition(requisition_id=rid, reason="filled")
    assert closed["published"] is False
    assert [(h["action"], h["by"]) for h in closed["history"]][-2:] == [("closed", "helen"), ("unpublished", "helen")]
    with pytest.raises(Conflict) as exc:
        svc.patch_requisition(requisition_id=rid, published=True)
    assert exc.value.code == "requisition_closed"
    assert svc.patch_requisition(requisition_id=rid, headcount=3)["status"] == "closed"  # no change: answered
    with pytest.raises(NotFound):
        as_(svc, CAREERS).get_public_job(requisition_id=rid)


def test_the_posting_sweep_unpublishes_what_has_passed_closes_at(svc):
    soon = as_(svc, HR).create_requisition(**REQ, published=True, closes_at=later(days=1))
    stays = svc.create_requisition(**{**REQ, "title": "Cook"}, published=True, closes_at=later(days=3))
    # time passes: the data's closes_at moves into the past (as a day going by would)
    past = utcnow() - timedelta(seconds=1)
    svc.store.db.requisitions.update_one({"_id": soon["id"]}, {"$set": {"closes_at": past, "public_until": past}})
    with pytest.raises(NotFound):  # hidden from that moment, before any sweep
        as_(svc, CAREERS).get_public_job(requisition_id=soon["id"])
    svc.posting_sweep()
    swept = as_(svc, HR).get_requisition(requisition_id=soon["id"])
    assert swept["published"] is False and swept["status"] == "open"
    assert (swept["history"][-1]["action"], swept["history"][-1]["by"]) == ("unpublished", "system")
    assert svc.get_requisition(requisition_id=stays["id"])["published"] is True
    svc.posting_sweep()  # once only
    assert len(svc.get_requisition(requisition_id=soon["id"])["history"]) == len(swept["history"])


def test_divisions_as_records(svc):
    with pytest.raises(Forbidden):
        as_(svc, HR).create_division(id="cafe", name="Cafe")
    made = as_(svc, ADMIN).create_division(id="cafe", name="Cafe China", timezone="Asia/Shanghai",
                                           locale="zh-CN", careers_blurb="Coffee and people.", colour="#aa3300")
    assert made["created_at"] and made["timezone"] == "Asia/Shanghai"
    for taken in ("cafe", "retail"):  # retail: registered at start-up
        with pytest.raises(Conflict) as exc:
            svc.create_division(id=taken, name="Again")
        assert exc.value.code == "division_exists"
    with pytest.raises(Invalid) as exc:
        svc.create_division(id="mars", name="Mars", timezone="Mars/Olympus")
    assert exc.value.field == "timezone" and svc.store.get_division("mars") is None
    with pytest.raises(Invalid) as exc:
        svc.create_division(id="moon", name="Moon", colour="red")
    assert exc.value.field == "colour"

    # staff read their divisions' records, never another's; one registered at start-up has the defaults
    cafe_hr = Caller(key_id="k6", name="cleo", role="hr", divisions=("cafe",))
    assert as_(svc, cafe_hr).get_division(division_id="cafe") == made
    with pytest.raises(NotFound):
        as_(svc, OTHER_HR).get_division(division_id="cafe")
    [logistics] = as_(svc, OTHER_HR).list_divisions()["items"]
    assert (logistics["id"], logistics["name"], logistics["timezone"], logistics["locale"]) == (
        "logistics", "logistics", "UTC", "en") and logistics["created_at"]
    assert [d["id"] for d in as_(svc, ADMIN).list_divisions()["items"]] == ["cafe", "logistics", "retail"]

    # a division with no record is not one: not read, not patched (404), no requisition in it (422, even for
    # the HR of another division: a typo, not a refusal), and nothing stored
    for caller in (ADMIN, HR):
        with pytest.raises(NotFound):
            as_(svc, caller).get_division(division_id="retial")
        with pytest.raises(Invalid) as exc:
            as_(svc, caller).create_requisition(**{**REQ, "division": "retial"})
        assert exc.value.field == "division" and "retial" in str(exc.value)
    with pytest.raises(NotFound):
        as_(svc, ADMIN).patch_division(division_id="retial", name="Typo")
    assert svc.store.db.requisitions.count_documents({}) == 0 and svc.store.get_division("retial") is None
    as_(svc, cafe_hr).create_requisition(**{**REQ, "division": "cafe"})

    patched = as_(svc, ADMIN).patch_division(division_id="cafe", careers_blurb="Join us.")
    assert (patched["careers_blurb"], patched["name"], patched["created_at"]) == (
        "Join us.", "Cafe China", made["created_at"])
    with pytest.raises(Invalid) as exc:
        svc.patch_division(division_id="cafe", timezone="Nowhere")
    assert exc.value.field == "timezone"
    assert svc.patch_division(division_id="logistics", colour="#000000")["name"] == "logistics"
    with pytest.raises(Forbidden):
        as_(svc, HR).patch_division(division_id="retail", name="Mine")


def test_start_up_registers_the_configured_divisions_and_those_in_use(make_store):
    """HIRELOOP_DIVISIONS registers what has no record; a deployment from before registration keeps its
    divisions (every one a requisition names); a record already there is left as it is; running it again (a
    second replica, a restart) changes nothing."""
    store = make_store(SourcingStore)
    store.insert_division({"_id": "retail", "name": "Retail China", "timezone": "Asia/Shanghai", "locale": "zh-CN",
                           "careers_blurb": "", "colour": "#aa3300", "created_at": None, "updated_at": None})
    store.db.requisitions.insert_many([{"_id": "req_old", "division": "legacy"},
                                       {"_id": "req_old2", "division": "retail"}])
    store.bootstrap(Settings(divisions=("bakery", "retail")))
    assert {d["_id"]: d["name"] for d in store.divisions(None)} == {
        "bakery": "bakery", "legacy": "legacy", "retail": "Retail China"}
    before = store.divisions(None)
    store.bootstrap(Settings(divisions=("bakery", "retail")))
    assert store.divisions(None) == before
    with pytest.raises(ValueError, match="HIRELOOP_DIVISIONS"):
        Settings.from_env({"HIRELOOP_DIVISIONS": "retail, no spaces"})
    assert Settings.from_env({"HIRELOOP_DIVISIONS": " retail,bakery,,retail "}).divisions == ("retail", "bakery")


def test_public_jobs_are_published_open_and_current_searched_literally_and_paged(svc):
    as_(svc, ADMIN).patch_division(division_id="retail", name="Retail China", colour="#aa3300")
    as_(svc, HR)
    draft = svc.create_requisition(**{**REQ, "title": "Draft role"})
    barista = svc.create_requisition(**REQ, published=True, description="Espresso (1+ years) at C.O.F.F.E.E.")
    cook = svc.create_requisition(**{**REQ, "title": "Line Cook", "required_skills": ["Knife work"],
                                     "location": "Beijing"}, published=True)
    closed = svc.create_requisition(**{**REQ, "title": "Closed role"}, published=True)
    svc.close_requisition(requisition_id=closed["id"], reason="cancelled")
    truck = as_(svc, OTHER_HR).create_requisition(**{**REQ, "division": "logistics", "title": "Driver",
                                                      "department": "Fleet", "location": "Wuhan",
                                                      "required_skills": ["Driving"]}, published=True)

    site = as_(svc, CAREERS)
    page = site.list_public_jobs()
    assert [j["id"] for j in page["items"]] == [barista["id"], cook["id"], truck["id"]]
    assert [(d["id"], d["name"]) for d in page["divisions"]] == [("logistics", "logistics"),
                                                                 ("retail", "Retail China")]
    job = page["items"][0]
    assert job["division_profile"]["colour"] == "#aa3300"
    assert job["knockout_questions"] == [{"id": "permit", "question": "Work permit?"}]  # never the answer
    assert "headcount" not in job and "history" not in job and "tier" not in job

    def ids(**filters):
        return [j["id"] for j in site.list_public_jobs(**filters)["items"]]

    assert ids(division="logistics") == [truck["id"]]
    assert ids(q="LINE cook") == [cook["id"]] and ids(q="knife") == [cook["id"]]  # title, skills
    assert ids(q="stores") == [barista["id"], cook["id"]]  # department
    assert ids(q="(1+ years)") == [barista["id"]] and ids(q="c.o.f.f.e.e.") == [barista["id"]]  # literal text
    assert ids(q=".*") == [] and ids(q="c.o.f.f.e.e") == [barista["id"]] and ids(q="cxoxfxfxexe") == []
    assert ids(location="beijing") == [cook["id"]] and ids(location="PUDONG") == [barista["id"]]
    first = site.list_public_jobs(limit=2)
    assert len(first["items"]) == 2 and first["next_cursor"]
    assert [j["id"] for j in site.list_public_jobs(limit=2, cursor=first["next_cursor"])["items"]] == [truck["id"]]

    assert site.get_public_job(requisition_id=cook["id"])["title"] == "Line Cook"
    for hidden in (draft, closed, {"id": "req_nothing"}):
        with pytest.raises(NotFound):
            site.get_public_job(requisition_id=hidden["id"])
    # the careers site's reads are the system's: no staff key reads them
    with pytest.raises(Forbidden):
        as_(svc, HR).list_public_jobs()
    # an edit shows at once; unpublishing hides
    as_(svc, HR).patch_requisition(requisition_id=cook["id"], title="Sous chef")
    assert as_(svc, CAREERS).get_public_job(requisition_id=cook["id"])["title"] == "Sous chef"
    assert ids(q="line cook") == [] and ids(q="sous") == [cook["id"]]
    as_(svc, HR).patch_requisition(requisition_id=cook["id"], published=False)
    with pytest.raises(NotFound):
        as_(svc, CAREERS).get_public_job(requisition_id=cook["id"])


def test_a_requisition_stored_before_the_careers_issue_reads_with_the_posting_defaults(svc):
    svc.store.db.requisitions.insert_one({
        "_id": "req_old", "status": "open", "title": "Old", "division": "retail", "department": "d", "tier": "basic",
        "urgent": False, "required_skills": ["x"], "skills": [], "min_years": 0, "location": None, "headcount": 1,
        "knockout_questions": [], "created_at": datetime(2025, 1, 1, tzinfo=UTC), "closed_at": None,
        "close_reason": None})
    old = as_(svc, HR).get_requisition(requisition_id="req_old")
    assert (old["published"], old["description"], old["history"], old["updated_at"]) == (False, "", [], None)
    published = svc.patch_requisition(requisition_id="req_old", published=True)
    assert [h["action"] for h in published["history"]] == ["published"]
    assert as_(svc, CAREERS).get_public_job(requisition_id="req_old")["title"] == "Old"


def test_a_division_keeps_its_meeting_link_template_and_a_patch_clears_it(svc):
    admin = as_(svc, ADMIN)
    made = admin.create_division(id="video-div", name="Video", meeting_url_template="https://meet.jit.si/hl-{interview_id}")
    assert made["meeting_url_template"] == "https://meet.jit.si/hl-{interview_id}"
    assert admin.get_division(division_id="video-div")["meeting_url_template"] == made["meeting_url_template"]
    assert admin.patch_division(division_id="video-div", meeting_url_template=None)["meeting_url_template"] is None
