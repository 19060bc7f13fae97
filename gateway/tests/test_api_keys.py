"""API keys through the gateway's HTTP API (gateway/keys.py), in process against a fake of the services: refused
when missing, unknown, expired or revoked; the last use recorded; the secret shown once and never listed; and
the secret and its hash in no log line, no span and nothing sent to a service.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta, timezone

import pytest
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from gateway import keys as keys_module
from gateway.tests.inprocess import gateway_settings, namespace_of, running
from shared import tracing
from shared.contracts import sourcing
from shared.errors import NotFound
from shared.logs import NOISY_LOGGERS, JsonFormatter
from shared.tracing.files import span_to_dict

pytestmark = pytest.mark.integration

DIVISION = "keyring"
EMPTY_PAGE = {"items": [], "next_cursor": None}


@pytest.fixture(scope="module")
def gateway(data_infra):
    with namespace_of(data_infra, "keys") as namespace, running(gateway_settings(data_infra, namespace)) as gw:
        yield gw


@pytest.fixture
def gw(gateway):
    gateway.fake.reset()
    gateway.fake.answer(sourcing.ListRequisitions, EMPTY_PAGE)
    gateway.fake.registers(DIVISION)
    return gateway


@pytest.fixture
def admin(gw):
    return gw.as_("admin")


def bearer(key: str) -> dict:
    return {"Authorization": f"Bearer {key}"}


def create(gw, admin: dict, name: str, **extra) -> dict:
    r = gw.client.post("/v1/api-keys", json={"name": name, "role": "recruiter", "divisions": [DIVISION], **extra},
                       headers=admin)
    assert r.status_code == 201, r.text
    return r.json()


def listed(gw, admin: dict) -> list[dict]:
    """Every key, through every page."""
    items, cursor = [], None
    while True:
        page = gw.client.get("/v1/api-keys", params={"limit": 100, **({"cursor": cursor} if cursor else {})},
                             headers=admin)
        assert page.status_code == 200, page.text
        items += page.json()["items"]
        cursor = page.json()["next_cursor"]
        if not cursor:
            return items


def refused(response) -> str:
    assert response.status_code == 401, response.text
    assert response.json()["error"]["code"] == "unauthenticated"
    return response.json()["error"]["message"]


def test_a_missing_malformed_or_unknown_key_is_401(gw, admin):
    get = gw.client.get
    refused(get("/v1/requisitions"))
    refused(get("/v1/requisitions", headers={"Authorization": "Basic dXNlcjpwYXNz"}))
    refused(get("/v1/requisitions", headers={"Authorization": "Bearer"}))
    refused(get("/v1/requisitions", headers=bearer("hl_" + "x" * 43)))
    refused(get("/v1/requisitions", headers={"Authorization": admin["Authorization"] + "x"}))  # close is not enough
    assert gw.fake.calls == []


def test_an_expired_key_is_refused(gw, admin, monkeypatch):
    expires = datetime.now(UTC) + timedelta(seconds=3)
    created = create(gw, admin, "kit", expires_at=expires.isoformat().replace("+00:00", "Z"))
    assert created["expires_at"].startswith(expires.strftime("%Y-%m-%dT%H:%M:%S"))
    assert gw.client.get("/v1/requisitions", headers=bearer(created["key"])).status_code == 200  # valid until then
    # The key store's clock past the expiry (instead of waiting for it): the cached record is checked again.
    real = keys_module.utcnow
    monkeypatch.setattr(keys_module, "utcnow", lambda: real() + timedelta(seconds=3.5))
    assert "expired" in refused(gw.client.get("/v1/requisitions", headers=bearer(created["key"])))
    monkeypatch.undo()
    # a time with an offset is the same instant: one already past is refused (a key dead on arrival)
    past = (datetime.now(UTC) - timedelta(minutes=1)).astimezone(timezone(timedelta(hours=8))).isoformat()
    r = gw.client.post("/v1/api-keys", json={"name": "late", "role": "recruiter", "divisions": [DIVISION],
                                             "expires_at": past}, headers=admin)
    assert r.status_code == 422 and r.json()["error"]["field"] == "expires_at", r.text
    assert all(k["name"] != "late" for k in listed(gw, admin))


def test_a_revoked_key_is_refused_at_once(gw, admin):
    created = create(gw, admin, "rex")
    assert gw.client.get("/v1/requisitions", headers=bearer(created["key"])).status_code == 200
    assert gw.client.delete(f"/v1/api-keys/{created['id']}", headers=admin).status_code == 204
    assert "revoked" in refused(gw.client.get("/v1/requisitions", headers=bearer(created["key"])))  # the very next
    assert gw.client.delete(f"/v1/api-keys/{created['id']}", headers=admin).status_code == 404
    revoked = next(k for k in listed(gw, admin) if k["id"] == created["id"])
    assert revoked["revoked_at"] is not None


def test_last_use_is_recorded(gw, admin):
    created = create(gw, admin, "lulu")
    assert created["last_used_at"] is None
    assert next(k for k in listed(gw, admin) if k["id"] == created["id"])["last_used_at"] is None
    before = datetime.now(UTC) - timedelta(seconds=1)
    assert gw.client.get("/v1/requisitions", headers=bearer(created["key"])).status_code == 200
    used = next(k for k in listed(gw, admin) if k["id"] == created["id"])["last_used_at"]
    assert used is not None
    assert before <= datetime.fromisoformat(used) <= datetime.now(UTC) + timedelta(seconds=1)


def test_the_key_is_shown_once_and_never_listed(gw, admin):
    created = create(gw, admin, "shy")
    assert created["key"].startswith("hl_") and len(created["key"]) >= 40
    keys = listed(gw, admin)
    mine = next(k for k in keys if k["id"] == created["id"])
    assert {"key", "hash"} & set(mine) == set()
    assert all({"key", "hash"} & set(k) == set() for k in keys)
    pages = gw.client.get("/v1/api-keys", params={"limit": 500}, headers=admin).text
    assert created["key"] not in pages and hashlib.sha256(created["key"].encode()).hexdigest() not in pages


# ---------------------------------------------------------------------------------------------- logs and spans

@pytest.fixture
def traced(tmp_path):
    """Tracing for the gateway started in the test, as `make run` turns it on for a gateway process (a span
    file, `traces_file`): create_app sets up the process's tracer provider, sampler and MongoDB and Redis
    instrumentation (shared/tracing; once per process, so a provider already set up stays). Yields the
    settings that turn it on and an in-memory exporter to add to that provider once the app exists."""
    memory = InMemorySpanExporter()
    yield {"traces_file": str(tmp_path / "traces.jsonl")}, memory
    memory.shutdown()  # the provider keeps the processor, which exports nothing from now on


@contextmanager
def logged() -> Iterator[io.StringIO]:
    """Every log line of this process while the block runs, as `python -m gateway` writes them with
    LOG_LEVEL=DEBUG (shared/logs.py: its JSON lines, the noisy libraries at WARNING)."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter("gateway"))
    root = logging.getLogger()
    levels = {name: logging.getLogger(name).level for name in ("", *NOISY_LOGGERS)}
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    for name in NOISY_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    try:
        yield out
    finally:
        root.removeHandler(handler)
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)


def test_keys_are_in_no_log_and_no_span(data_infra, traced):
    """A key used for answered and refused requests (404, 422, 403, then 401 once revoked), and keys that
    were never valid: neither a key nor its hash is in any log line or span of the gateway, nor in anything
    it sent to a service (what a service could log)."""
    # A gateway started here, after tracing is on: its MongoDB and Redis clients are instrumented at creation.
    tracing_on, spans = traced
    with namespace_of(data_infra, "keys-unseen") as namespace, logged() as log, \
            running(gateway_settings(data_infra, namespace, **tracing_on)) as gw:
        assert tracing.enabled(), "the gateway did not turn tracing on"
        tracing._provider.add_span_processor(SimpleSpanProcessor(spans))
        gw.fake.answer(sourcing.ListRequisitions, EMPTY_PAGE)
        gw.fake.answer(sourcing.GetApplication, NotFound("application app_missing not found"))
        gw.fake.registers(DIVISION)
        admin = gw.as_("admin")
        created = create(gw, admin, "lex")
        key = created["key"]
        get, post = gw.client.get, gw.client.post
        answers = [get("/v1/requisitions", headers=bearer(key)),
                   get("/v1/applications/app_missing", headers=bearer(key)),
                   get("/v1/requisitions", params={"limit": 0}, headers=bearer(key)),
                   post("/v1/requisitions", json={"title": "x"}, headers=bearer(key)),
                   post("/v1/api-keys", json={"name": "sneaky", "role": "admin"}, headers=bearer(key))]
        assert [r.status_code for r in answers] == [200, 404, 422, 403, 403]
        assert gw.client.delete(f"/v1/api-keys/{created['id']}", headers=admin).status_code == 204
        answers.append(get("/v1/requisitions", headers=bearer(key)))
        assert answers[-1].status_code == 401
        unknown = "hl_never_issued_" + key[-20:]
        answers.append(get("/v1/requisitions", headers=bearer(unknown)))
        assert answers[-1].status_code == 401
        sent = json.dumps([[c.service, c.method, c.caller.model_dump() if c.caller else None, c.kwargs]
                           for c in gw.fake.calls], default=str)
    tracing._provider.force_flush()

    # every request above is in the spans, and in the log
    traces = {r.headers["traceresponse"].split("-")[1] for r in answers}
    recorded = [span_to_dict(s) for s in spans.get_finished_spans()]
    assert traces <= {s["trace_id"] for s in recorded}
    lines = [json.loads(line) for line in log.getvalue().splitlines()]
    assert {line.get("trace_id") for line in lines if line["logger"] == "hireloop.access"} >= traces
    # what reached a service: the list, and the application looked for (and sourcing asked whether the new key's
    # division is registered: no secret in that either, `sent` has it)
    assert len([c for c in gw.fake.calls if c.method != "get_division"]) == 2

    sources = {"spans": json.dumps(recorded, default=str), "log": log.getvalue(), "sent to services": sent}
    needles = {"key": key, "key hash": hashlib.sha256(key.encode()).hexdigest(),
               "unknown key": unknown, "unknown key hash": hashlib.sha256(unknown.encode()).hexdigest()}
    found = [(name, what) for name, text in sources.items() for what, needle in needles.items() if needle in text]
    assert found == []


def test_a_key_names_only_registered_divisions(gw, admin):
    """`divisions` are checked with sourcing (GetDivision, as the system): an unregistered one (a typo) is 422
    naming its place in the list, and no key is made; a division registered a moment later counts at once (a
    refusal is never kept), a registered one is not asked again for a while."""
    before = len(listed(gw, admin))
    typo = gw.client.post("/v1/api-keys", json={"name": "tia", "role": "hr", "divisions": [DIVISION, "retial"]},
                          headers=admin)
    assert typo.status_code == 422 and typo.json()["error"]["field"] == "divisions.1", typo.text
    assert "retial" in typo.json()["error"]["message"] and len(listed(gw, admin)) == before
    asked = gw.fake.calls_to(sourcing.GetDivision)
    assert {c.kwargs["division_id"] for c in asked} <= {DIVISION, "retial"}
    assert all(c.caller.role == "system" for c in asked)

    gw.fake.registers(DIVISION, "retial")  # group HR registers it after all
    made = gw.client.post("/v1/api-keys", json={"name": "tia", "role": "hr", "divisions": [DIVISION, "retial"]},
                          headers=admin)
    assert made.status_code == 201 and made.json()["divisions"] == sorted([DIVISION, "retial"])
    calls = len(gw.fake.calls_to(sourcing.GetDivision))
    create(gw, admin, "tom")  # DIVISION again: known registered, not asked
    assert len(gw.fake.calls_to(sourcing.GetDivision)) == calls
