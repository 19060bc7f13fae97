"""Requisitions as postings and divisions as records (the careers issue): the rules, no I/O."""

from datetime import UTC, datetime, timedelta

import pytest

from services.sourcing import domain
from shared.errors import Conflict, Invalid

T0 = datetime(2026, 1, 1, tzinfo=UTC)
FIELDS = {"title": "Barista", "division": "retail", "department": "Stores", "tier": "basic", "urgent": False,
          "required_skills": ["Coffee"], "skills": ["Latte Art"], "min_years": 1.0, "location": "Shanghai",
          "headcount": 1, "knockout_questions": [], "description": "Pull **great** shots.",
          "employment_type": "full_time", "salary_range": None, "remote": False, "closes_at": None,
          "published": False}


def new(**fields):
    return domain.new_requisition("req_1", {**FIELDS, **fields}, "helen", T0)


def test_a_new_requisition_is_created_in_its_history_and_published_only_when_asked():
    draft = new()
    assert draft["history"] == [{"at": T0, "by": "helen", "action": "created", "fields": []}]
    assert draft["published_at"] is None and draft["updated_at"] == T0 and not domain.posted(draft, T0)
    live = new(published=True)
    assert [h["action"] for h in live["history"]] == ["created", "published"] and live["published_at"] == T0
    assert domain.posted(live, T0) and live["public_until"] == domain.NEVER
    # what the careers site searches: lower-cased title, department, skills and description
    assert live["search_text"] == "barista\nstores\ncoffee\nlatte art\npull **great** shots."
    assert live["location_key"] == "shanghai"


def test_closes_at_must_be_in_the_future_and_hides_the_job_once_passed():
    with pytest.raises(Invalid) as exc:
        new(closes_at=T0)
    assert exc.value.field == "closes_at"
    live = new(published=True, closes_at=T0 + timedelta(days=2))
    assert live["public_until"] == T0 + timedelta(days=2)
    assert domain.posted(live, T0 + timedelta(days=1)) and not domain.posted(live, T0 + timedelta(days=2))
    assert not domain.posted({**live, "status": "closed"}, T0)


def test_a_patch_changes_only_what_it_sends_and_records_the_fields_that_changed():
    req = new()
    later = T0 + timedelta(hours=1)
    patched, changed = domain.patch_requisition(req, {"title": "Head barista", "location": None, "urgent": False,
                                                      "description": "New text"}, "olga", later)
    assert changed == ["title", "location", "description"]  # urgent was already false: not a change
    assert patched["title"] == "Head barista" and patched["location"] is None and patched["skills"] == ["Latte Art"]
    assert patched["history"][-1] == {"at": later, "by": "olga", "action": "edited",
                                      "fields": ["title", "location", "description"]}
    assert patched["updated_at"] == later and patched["search_text"].startswith("head barista")
    assert req["title"] == "Barista" and len(req["history"]) == 1  # the stored one is not changed in place
    # nothing changed: nothing to write, no history
    same, changed = domain.patch_requisition(patched, {"title": "Head barista"}, "olga", later)
    assert changed == [] and same is patched


def test_publishing_and_unpublishing_are_their_own_history_entries():
    req = new()
    published, changed = domain.patch_requisition(req, {"published": True, "remote": True}, "olga", T0)
    assert changed == ["published", "remote"]
    assert [(h["action"], h["fields"]) for h in published["history"]] == [
        ("created", []), ("edited", ["remote"]), ("published", [])]
    assert published["published_at"] == T0
    hidden, _ = domain.patch_requisition(published, {"published": False}, "olga", T0 + timedelta(1))
    assert hidden["history"][-1]["action"] == "unpublished" and hidden["published_at"] == T0


@pytest.mark.parametrize("field", ["title", "required_skills", "description", "published", "employment_type"])
def test_null_clears_only_optional_fields(field):
    with pytest.raises(Invalid) as exc:
        domain.patch_requisition(new(), {field: None}, "olga", T0)
    assert exc.value.field == field


def test_a_closed_requisition_takes_no_edit_but_a_patch_that_changes_nothing_answers_it():
    closed = {**new(), "status": "closed"}
    with pytest.raises(Conflict) as exc:
        domain.patch_requisition(closed, {"published": True}, "olga", T0)
    assert exc.value.code == "requisition_closed"
    assert domain.patch_requisition(closed, {"title": "Barista"}, "olga", T0) == (closed, [])


def test_publishing_again_after_closes_at_passed_needs_a_new_closes_at():
    live = new(published=True, closes_at=T0 + timedelta(days=1))
    expired = {**live, "published": False}
    after = T0 + timedelta(days=2)
    with pytest.raises(Invalid) as exc:
        domain.patch_requisition(expired, {"published": True}, "olga", after)
    assert exc.value.field == "closes_at"
    with pytest.raises(Invalid):
        domain.patch_requisition(expired, {"closes_at": T0}, "olga", after)  # a new one in the past neither
    again, changed = domain.patch_requisition(expired, {"published": True, "closes_at": None}, "olga", after)
    assert changed == ["published", "closes_at"] and domain.posted(again, after)


def test_closing_adds_closed_and_unpublished_when_it_was_published():
    assert [e["action"] for e in domain.closing_entries(new(), "helen", T0)] == ["closed"]
    assert [(e["action"], e["by"]) for e in domain.closing_entries(new(published=True), "helen", T0)] == [
        ("closed", "helen"), ("unpublished", "helen")]


def test_division_records_default_and_check_their_time_zone():
    assert domain.default_division("retail") == {
        "_id": "retail", "name": "retail", "timezone": "UTC", "locale": "en", "careers_blurb": "",
        "colour": "#1f6f5c", "meeting_url_template": None, "created_at": None, "updated_at": None}
    made = domain.new_division({"id": "cn", "name": "China", "timezone": "Asia/Shanghai", "locale": "zh-CN",
                                "careers_blurb": "", "colour": "#aa0000"}, T0)
    assert made["_id"] == "cn" and made["timezone"] == "Asia/Shanghai" and made["created_at"] == T0
    for bad in ("Mars/Olympus", "../../etc/passwd", "Asia/", "UTC+8"):
        with pytest.raises(Invalid) as exc:
            domain.new_division({"id": "x", "name": "X", "timezone": bad}, T0)
        assert exc.value.field == "timezone", bad
    patched = domain.patch_division(made, {"careers_blurb": "Join us"}, T0 + timedelta(1))
    assert patched["careers_blurb"] == "Join us" and patched["name"] == "China" and patched["created_at"] == T0
    with pytest.raises(Invalid) as exc:
        domain.patch_division(made, {"timezone": "Nowhere/Else"}, T0)
    assert exc.value.field == "timezone"
    with pytest.raises(Invalid) as exc:
        domain.patch_division(made, {"name": None}, T0)
    assert exc.value.field == "name"
