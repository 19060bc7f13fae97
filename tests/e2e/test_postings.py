"""Requisitions as postings and divisions as records on the running platform (the careers issue): what only
the real wire shows. A PATCH's arguments travel without the fields left out (shared/contracts/rpc.py
`SENDS_ONLY_SET`), signed as sent in the caller context, so sourcing tells "unchanged" from `null`."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

import pytest

from tests.e2e.test_hiring_loop import make_key
from tests.support.divisions import register_over_api

pytestmark = [pytest.mark.e2e, pytest.mark.integration]


def test_a_requisition_is_edited_published_and_closed_with_its_history(platform):
    admin = platform.client()
    division = f"postings-{secrets.token_hex(3)}"
    register_over_api(admin, division)  # registered divisions only (issue 20)
    hr = platform.client(make_key(admin, f"hana-{division}", "hr", [division]))
    register_over_api(admin, f"{division}-other")
    other = platform.client(make_key(admin, f"otto-{division}", "hr", [f"{division}-other"]))
    closes = (datetime.now(UTC) + timedelta(days=30)).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    created = hr.post("/v1/requisitions", json={
        "title": "Barista", "division": division, "department": "Cafe", "tier": "basic",
        "required_skills": ["espresso"], "location": "Shanghai", "description": "Pull shots.",
        "salary_range": {"min": 20, "max": 25, "currency": "CNY", "period": "hour"}, "closes_at": closes})
    assert created.status_code == 201, created.text
    req = created.json()
    assert (req["published"], req["closes_at"], req["history"][0]["by"]) == (False, closes, f"hana-{division}")

    path = f"/v1/requisitions/{req['id']}"
    headers = {"Idempotency-Key": secrets.token_hex(8)}
    body = {"description": "## The role\nPull great shots.", "location": None, "published": True}
    patched = hr.patch(path, json=body, headers=headers)
    assert patched.status_code == 200, patched.text
    edited = patched.json()
    assert edited["description"] == body["description"] and edited["location"] is None and edited["published"]
    # left out: unchanged
    assert (edited["title"], edited["salary_range"]["currency"], edited["closes_at"]) == ("Barista", "CNY", closes)
    assert [(h["action"], h["fields"]) for h in edited["history"]] == [
        ("created", []), ("edited", ["location", "description"]), ("published", [])]  # in the fields' order
    assert hr.patch(path, json=body, headers=headers).json() == edited  # replayed, not done twice
    assert hr.get(path).json()["history"] == edited["history"]

    assert other.patch(path, json={"title": "Mine"}).status_code == 404
    refused = hr.patch(path, json={"title": None})
    assert refused.status_code == 422 and refused.json()["error"]["field"] == "title"

    closed = hr.post(f"{path}/close", json={"reason": "filled"}).json()
    assert closed["published"] is False and [h["action"] for h in closed["history"]][-2:] == ["closed", "unpublished"]
    again = hr.patch(path, json={"published": True})
    assert again.status_code == 409 and again.json()["error"]["code"] == "requisition_closed"


def test_division_records(platform):
    admin = platform.client()
    division = f"records-{secrets.token_hex(3)}"
    # not registered yet: no key, requisition or policy names it (422 naming the field), and it is no division
    refused = admin.post("/v1/api-keys", json={"name": f"hedy-{division}", "role": "hr", "divisions": [division]})
    assert refused.status_code == 422 and refused.json()["error"]["field"] == "divisions.0", refused.text
    refused = admin.post("/v1/requisitions", json={"title": "Barista", "division": division, "department": "Cafe",
                                                   "tier": "basic", "required_skills": ["espresso"]})
    assert refused.status_code == 422 and refused.json()["error"]["field"] == "division", refused.text
    for path in (f"/v1/notification-policies/{division}", f"/v1/retention-policies/{division}"):
        body = {"guide_after": 60} if "notification" in path else {"rejected_days": 30, "pool_days": 30}
        refused = admin.put(path, json=body)
        assert refused.status_code == 422 and refused.json()["error"]["field"] == "division", refused.text
    assert admin.get(f"/v1/divisions/{division}").status_code == 404
    assert admin.patch(f"/v1/divisions/{division}", json={"name": "Typo"}).status_code == 404
    assert division not in [d["id"] for d in admin.get("/v1/divisions").json()["items"]]
    made = admin.post("/v1/divisions", json={"id": division, "name": "Stores China", "timezone": "Asia/Shanghai",
                                             "locale": "zh-CN", "colour": "#aa3300"})
    assert made.status_code == 201, made.text
    hr = platform.client(make_key(admin, f"hedy-{division}", "hr", [division]))
    assert admin.post("/v1/divisions", json={"id": division, "name": "Again"}).status_code == 409
    bad = admin.post("/v1/divisions", json={"id": f"{division}-x", "name": "X", "timezone": "Mars/Olympus"})
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "timezone"
    patched = admin.patch(f"/v1/divisions/{division}", json={"careers_blurb": "Coffee and people."}).json()
    assert (patched["careers_blurb"], patched["timezone"]) == ("Coffee and people.", "Asia/Shanghai")
    assert [d["id"] for d in hr.get("/v1/divisions").json()["items"]] == [division]
    assert hr.get(f"/v1/divisions/{division}").json() == patched
    assert hr.get("/v1/divisions/somewhere-else").status_code == 404
