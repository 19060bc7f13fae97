"""A caller context is good for one call: the service, method and arguments it was signed for, once, for at
most 30 s (shared/context.py); services re-sign it for every call they make (shared/bus/callers.py)."""

from __future__ import annotations

import ast
import datetime as dt
import json
import time
from pathlib import Path

import pytest

from shared.context import (
    CALLER_TTL_SECONDS,
    REPLAY_TTL_SECONDS,
    arguments_digest,
    sign_caller,
    verify_caller,
    verify_once,
    wire_form,
)
from shared.contracts.caller import Caller
from shared.errors import Unauthenticated
from shared.signing import verify

ROOT = Path(__file__).resolve().parents[2]
SECRET = "s3cret"
ADMIN = Caller(key_id="k1", name="ada", role="admin", divisions=("*",))
READ = ("sourcing", "get_retention_policy", {"division": "retail"})


class SeenIds:
    """The replay cache's contract, in memory (the service's is Redis SET NX EX)."""

    def __init__(self):
        self.seen: set[str] = set()

    def first_use(self, jti: str) -> bool:
        if jti in self.seen:
            return False
        self.seen.add(jti)
        return True


def test_a_token_verifies_for_the_call_it_was_signed_for():
    token = sign_caller(ADMIN, *READ, secret=SECRET)
    signed = verify_caller(token, *READ, secret=SECRET)
    assert signed.caller == ADMIN and len(signed.jti) == 32


@pytest.mark.parametrize("service, method, kwargs", [
    ("sourcing", "put_retention_policy", {"division": "retail"}),  # the finding: a read's context on a write
    ("sourcing", "put_retention_policy", {"division": "retail", "rejected_days": 0, "pool_days": 0}),
    ("notification", "get_retention_policy", {"division": "retail"}),  # another service
    ("sourcing", "get_retention_policy", {"division": "logistics"}),  # other arguments
    ("sourcing", "get_retention_policy", {"division": "retail", "extra": None}),
    ("sourcing", "get_retention_policy", {}),
])
def test_a_token_is_refused_for_any_other_call(service, method, kwargs):
    token = sign_caller(ADMIN, *READ, secret=SECRET)
    with pytest.raises(Unauthenticated, match="caller context rejected"):
        verify_caller(token, service, method, kwargs, secret=SECRET)


def test_positional_arguments_are_covered_too():
    token = sign_caller(ADMIN, "sourcing", "get_requisition", {}, args=("req_1",), secret=SECRET)
    assert verify_caller(token, "sourcing", "get_requisition", {}, args=["req_1"], secret=SECRET).caller == ADMIN
    with pytest.raises(Unauthenticated):
        verify_caller(token, "sourcing", "get_requisition", {}, args=["req_2"], secret=SECRET)
    with pytest.raises(Unauthenticated):
        verify_caller(token, "sourcing", "get_requisition", {"requisition_id": "req_1"}, secret=SECRET)


def test_a_seen_id_is_refused():
    seen = SeenIds()
    token = sign_caller(ADMIN, *READ, secret=SECRET)
    assert verify_once(token, *READ, seen, secret=SECRET) == ADMIN
    with pytest.raises(Unauthenticated, match="already used"):
        verify_once(token, *READ, seen, secret=SECRET)
    # A fresh token for the same call is a new call.
    assert verify_once(sign_caller(ADMIN, *READ, secret=SECRET), *READ, seen, secret=SECRET) == ADMIN


def test_a_token_that_fails_the_binding_does_not_spend_its_id():
    seen = SeenIds()
    token = sign_caller(ADMIN, *READ, secret=SECRET)
    with pytest.raises(Unauthenticated):
        verify_once(token, "sourcing", "put_retention_policy", {"division": "retail"}, seen, secret=SECRET)
    assert seen.seen == set()


def test_tokens_live_at_most_30_seconds_and_ids_are_remembered_longer():
    token = sign_caller(ADMIN, *READ, secret=SECRET, ttl=3600)  # a longer life asked for is capped
    exp = json.loads(__import__("base64").urlsafe_b64decode(token.split(".")[0] + "==")).get("exp")
    assert exp <= time.time() + CALLER_TTL_SECONDS + 1
    assert CALLER_TTL_SECONDS <= 30 and REPLAY_TTL_SECONDS > CALLER_TTL_SECONDS
    expired = sign_caller(ADMIN, *READ, secret=SECRET, ttl=-1)
    with pytest.raises(Unauthenticated, match="expired"):
        verify_caller(expired, *READ, secret=SECRET)


def test_the_digest_is_the_same_before_and_after_the_json_round_trip():
    """The gateway digests what it publishes, the service what it decoded: equal for values that JSON
    changes on the way (tuples, non-string keys, datetimes, floats, unicode) and independent of key order."""
    sent = {"data": {"b": 1.5, "a": ("x", "y"), 10: "ten", 9: "nine"}, "when": dt.datetime(2026, 1, 2, 3, 4, 5),
            "name": "Zoë 🙂", "big": 2**70, "tiny": 1e-300}
    received = json.loads(json.dumps(sent, default=str))
    assert arguments_digest((), sent) == arguments_digest((), received)
    assert arguments_digest((), {"a": 1, "b": 2}) == arguments_digest((), {"b": 2, "a": 1})
    assert wire_form(received) == received
    assert arguments_digest((), {"a": 1}) != arguments_digest((), {"a": 1.0})  # 1 and 1.0 differ on the wire
    assert arguments_digest((), {"a": "1"}) != arguments_digest((), {"a": 1})


def test_the_token_names_the_call_it_is_for():
    body = verify(sign_caller(ADMIN, *READ, secret=SECRET), SECRET, "caller-call")
    assert (body["service"], body["method"]) == READ[:2]
    assert body["digest"] == arguments_digest((), READ[2])


def test_no_service_calls_another_with_plain_service_rpc():
    """nameko's ServiceRpc forwards the worker's incoming token, which the next service refuses (it was
    signed for another call); CallerRpc signs each call."""
    for path in sorted((ROOT / "services").glob("*/service.py")):
        tree = ast.parse(path.read_text())
        names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
        names |= {a.attr for a in ast.walk(tree) if isinstance(a, ast.Attribute)}
        assert not names & {"ServiceRpc", "ClusterRpc"}, path


def test_the_broker_users_allow_exactly_the_rpcs_the_services_make():
    """Each service's broker user may publish RPC requests only to the services it has a CallerRpc for."""
    import importlib

    from shared.bus import topology
    from shared.bus.callers import CallerRpc
    from shared.contracts.common import SERVICES

    for service in SERVICES:
        module = importlib.import_module(f"services.{service}.service")
        cls = next(v for v in vars(module).values() if isinstance(v, type) and getattr(v, "name", None) == service)
        targets = {v.target_service for v in vars(cls).values() if isinstance(v, CallerRpc)}
        assert set(topology.RPC_CALLS[service]) == targets, service
