"""API keys on the session's platform (gateway/keys.py): refused when missing, unknown, expired or revoked;
the last use recorded; the secret shown once and never listed; and the secret and its hash in no log line
and no span of any process.
"""

from __future__ import annotations

import hashlib
import time
from datetime import UTC, datetime, timedelta, timezone

import httpx
import pytest

from shared.tracing.files import read_spans
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

DIVISION = "keyring"


def create(admin: httpx.Client, name: str, **extra) -> dict:
    r = admin.post("/v1/api-keys", json={"name": name, "role": "recruiter", "divisions": [DIVISION], **extra})
    assert r.status_code == 201, r.text
    return r.json()


def listed(admin: httpx.Client) -> list[dict]:
    """Every key, through every page."""
    items, cursor = [], None
    while True:
        page = admin.get("/v1/api-keys", params={"limit": 100, **({"cursor": cursor} if cursor else {})})
        assert page.status_code == 200, page.text
        items += page.json()["items"]
        cursor = page.json()["next_cursor"]
        if not cursor:
            return items


def refused(response: httpx.Response) -> str:
    assert response.status_code == 401, response.text
    assert response.json()["error"]["code"] == "unauthenticated"
    return response.json()["error"]["message"]


def test_a_missing_malformed_or_unknown_key_is_401(platform):
    anonymous = httpx.Client(base_url=platform.base_url, timeout=30)
    refused(anonymous.get("/v1/requisitions"))
    refused(anonymous.get("/v1/requisitions", headers={"Authorization": "Basic dXNlcjpwYXNz"}))
    refused(anonymous.get("/v1/requisitions", headers={"Authorization": "Bearer"}))
    refused(platform.client("hl_" + "x" * 43).get("/v1/requisitions"))
    refused(platform.client(platform.admin_key + "x").get("/v1/requisitions"))  # close is not enough


def test_an_expired_key_is_refused(platform):
    admin = platform.client()
    expires = datetime.now(UTC) + timedelta(seconds=3)
    created = create(admin, "kit", expires_at=expires.isoformat().replace("+00:00", "Z"))
    assert created["expires_at"].startswith(expires.strftime("%Y-%m-%dT%H:%M:%S"))
    client = platform.client(created["key"])
    assert client.get("/v1/requisitions").status_code == 200  # valid until then
    time.sleep(max(0.0, (expires - datetime.now(UTC)).total_seconds()) + 0.5)
    assert "expired" in refused(client.get("/v1/requisitions"))
    # a time with an offset is the same instant: one already past is refused (a key dead on arrival)
    past = (datetime.now(UTC) - timedelta(minutes=1)).astimezone(timezone(timedelta(hours=8))).isoformat()
    r = admin.post("/v1/api-keys", json={"name": "late", "role": "recruiter", "divisions": [DIVISION],
                                         "expires_at": past})
    assert r.status_code == 422 and r.json()["error"]["field"] == "expires_at", r.text
    assert all(k["name"] != "late" for k in listed(admin))


def test_a_revoked_key_is_refused_at_once(platform):
    admin = platform.client()
    created = create(admin, "rex")
    client = platform.client(created["key"])
    assert client.get("/v1/requisitions").status_code == 200
    assert admin.delete(f"/v1/api-keys/{created['id']}").status_code == 204
    assert "revoked" in refused(client.get("/v1/requisitions"))  # the very next request
    assert admin.delete(f"/v1/api-keys/{created['id']}").status_code == 404
    revoked = next(k for k in listed(admin) if k["id"] == created["id"])
    assert revoked["revoked_at"] is not None


def test_last_use_is_recorded(platform):
    admin = platform.client()
    created = create(admin, "lulu")
    assert created["last_used_at"] is None
    assert next(k for k in listed(admin) if k["id"] == created["id"])["last_used_at"] is None
    before = datetime.now(UTC) - timedelta(seconds=1)
    assert platform.client(created["key"]).get("/v1/requisitions").status_code == 200
    used = next(k for k in listed(admin) if k["id"] == created["id"])["last_used_at"]
    assert used is not None
    assert before <= datetime.fromisoformat(used) <= datetime.now(UTC) + timedelta(seconds=1)


def test_the_key_is_shown_once_and_never_listed(platform):
    admin = platform.client()
    created = create(admin, "shy")
    assert created["key"].startswith("hl_") and len(created["key"]) >= 40
    keys = listed(admin)
    mine = next(k for k in keys if k["id"] == created["id"])
    assert {"key", "hash"} & set(mine) == set()
    assert all({"key", "hash"} & set(k) == set() for k in keys)
    pages = admin.get("/v1/api-keys", params={"limit": 500}).text
    assert created["key"] not in pages and hashlib.sha256(created["key"].encode()).hexdigest() not in pages


def test_keys_are_in_no_log_and_no_span(platform):
    """A key used for answered and refused requests (404, 422, 403, then 401 once revoked), and keys that
    were never valid: neither a key nor its hash is in any process's log or in the span file."""
    admin = platform.client()
    created = create(admin, "lex")
    key = created["key"]
    client = platform.client(key)
    answers = [client.get("/v1/requisitions"), client.get("/v1/applications/app_missing"),
               client.get("/v1/requisitions", params={"limit": 0}),
               client.post("/v1/requisitions", json={"title": "x"}),
               client.post("/v1/api-keys", json={"name": "sneaky", "role": "admin"})]
    assert [r.status_code for r in answers] == [200, 404, 422, 403, 403]
    assert admin.delete(f"/v1/api-keys/{created['id']}").status_code == 204
    answers.append(client.get("/v1/requisitions"))
    assert answers[-1].status_code == 401
    unknown = "hl_never_issued_" + key[-20:]
    answers.append(platform.client(unknown).get("/v1/requisitions"))
    assert answers[-1].status_code == 401
    # spans are written in batches: wait until every request above is in the span file
    traces = {r.headers["traceresponse"].split("-")[1] for r in answers}
    spans_file = platform.var_dir / "traces.jsonl"
    wait_for(lambda: {s["trace_id"] for s in read_spans(spans_file)} & traces, lambda seen: seen == traces,
             timeout=30, what="the requests' spans")

    sources = {"traces.jsonl": spans_file.read_text(errors="replace"),
               "launcher.log": (platform.var_dir / "launcher.log").read_text(errors="replace")}
    for path in sorted((platform.var_dir / "log").glob("*.log")):
        sources[path.name] = path.read_text(errors="replace")
    assert "gateway.log" in sources and len(sources) >= 8
    needles = {"key": key, "key hash": hashlib.sha256(key.encode()).hexdigest(),
               "unknown key": unknown, "unknown key hash": hashlib.sha256(unknown.encode()).hexdigest()}
    found = [(name, what) for name, text in sources.items() for what, needle in needles.items() if needle in text]
    assert found == []
