"""The gateway against its own OpenAPI document, in process (the ASGI app) against services faked from their
declarations: every declared RPC answers a valid answer of its declared type for the objects below, and
NotFound for any other id (gateway/testing.py `answer_declared`).

Schemathesis fuzzes every operation of `/openapi.json` (a bounded, deterministic number of examples, valid
and invalid ones) and checks: no 5xx; every status and content type is documented and every body matches its
documented schema; invalid input is refused. Twice: as the admin, with random ids (mostly the 404 and
validation paths), and as a division-scoped hr key with the path ids (and a portal token) pinned to the
objects the fake services hold, so valid input goes all the way through the gateway to an answer.

What only the real services can show stays end to end (tests/e2e/test_api_fuzz.py): their real answers along
a scripted hiring loop checked against the document, and that valid requests leave no dead letter behind.

`HIRELOOP_FUZZ_EXAMPLES` raises the number of examples for a longer local run (e.g. 200).
"""

from __future__ import annotations

import asyncio
import os

import pytest
import redis.asyncio as aioredis
import schemathesis
from pymongo import AsyncMongoClient
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from gateway.app import create_app
from gateway.keys import KeyStore
from gateway.tests.inprocess import forget, gateway_settings, holding
from shared.config import Rate
from shared.tokens import portal_token

pytestmark = pytest.mark.integration

# Per operation and generation phase; the coverage phase adds its own deterministic boundary cases.
MAX_EXAMPLES = int(os.environ.get("HIRELOOP_FUZZ_EXAMPLES", "12"))  # `make test-fuzz`: 50
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
          negative_data_rejection]
FUZZ_DIVISION = "fuzzing"
# The objects the fake services hold: one of each kind, in the fuzzing division.
HELD = {"requisition_id": "req_fuzz", "application_id": "app_fuzz", "candidate_id": "cand_fuzz",
        "interview_id": "int_fuzz", "approval_id": "apr_fuzz", "reengagement_id": "reg_fuzz",
        "erasure_id": "era_fuzz", "division": FUZZ_DIVISION}


def fuzz_config(key: str, pinned: dict[str, str] | None = None) -> schemathesis.Config:
    return schemathesis.Config.from_dict({
        "seed": 20261122,
        "headers": {"Authorization": f"Bearer {key}"},
        "request-timeout": 20,
        "parameters": pinned or {},
        # Valid and invalid data; the same generated cases on every run (CI-stable); no shrinking and no
        # example database: a failure is reported as found, with its curl line.
        "generation": {"mode": "all", "max-examples": MAX_EXAMPLES, "deterministic": True, "no-shrink": True,
                       "database": "none"},
        # Stateful sequences are not bounded by max-examples (and parametrize does not run them anyway).
        "phases": {"stateful": {"enabled": False}},
    })


@pytest.fixture(scope="module")
def fuzzed_gateway(data_infra):
    """The gateway app on fake services holding HELD, and an admin and an hr key of the fuzzing division. The
    app is started (lifespan) by Schemathesis on its own event loop, for each test that sends it requests."""
    namespace = f"{data_infra.namespace}-fuzz"
    # The fuzzer sends thousands of requests with one key: limits well above that (the limiter still runs).
    lots = Rate(1000, 10000)
    settings = gateway_settings(data_infra, namespace, rate_limit_key=lots, rate_limit_division=lots,
                                rate_limit_anonymous=lots)
    fake = holding(HELD)

    async def keys():
        mongo, redis = AsyncMongoClient(settings.mongo_url, tz_aware=True), aioredis.Redis.from_url(settings.redis_url)
        try:
            store = KeyStore(mongo, settings.database_name("gateway"), redis, settings.redis_key("keys", "generation"))
            await store.setup()
            admin = await store.create("fuzz-admin", "admin", [], None)
            hr = await store.create("fuzz-hr", "hr", [FUZZ_DIVISION], None)
            return admin["key"], hr["key"]
        finally:
            await redis.aclose()
            await mongo.close()

    try:
        admin_key, hr_key = asyncio.run(keys())
        yield create_app(settings, services=fake), admin_key, hr_key, settings
    finally:
        forget(data_infra, namespace)


@pytest.fixture(scope="module")
def admin_api(fuzzed_gateway):
    app, admin_key, _, _ = fuzzed_gateway
    return schemathesis.openapi.from_asgi("/openapi.json", app, config=fuzz_config(admin_key))


@pytest.fixture(scope="module")
def hr_api(fuzzed_gateway):
    """The hr key, whose path ids point at the objects the services hold (and a portal token at the held
    application); `POST /v1/applications` with valid data applies to the held requisition."""
    app, _, hr_key, settings = fuzzed_gateway
    # Path parameters only: the query's `division` filters stay fuzzed.
    pinned = {f"path.{name}": value for name, value in HELD.items()}
    pinned["path.token"] = portal_token("a", HELD["application_id"], settings.portal_secret)
    api = schemathesis.openapi.from_asgi("/openapi.json", app, config=fuzz_config(hr_key, pinned))

    @api.hook
    def map_case(context, case):
        # Valid applications go to the held requisition (a random requisition_id is a 404 before any of the
        # application's data is looked at). Invalid ones keep what the fuzzer made: it is what is refused.
        if (case.operation.label == "POST /v1/applications" and isinstance(case.body, dict)
                and case.meta is not None and case.meta.generation.mode.is_positive):
            case.body["requisition_id"] = HELD["requisition_id"]
        return case

    return api


def fuzzed(fixture: str):
    # DELETE /v1/api-keys/{key_id}: revoking keys is not fuzzed. An id the fuzzer picked up from a response
    # could be the fuzzing key itself, and every later request would be a 401; the documented 204 and 404
    # answers are checked on a throwaway key end to end (tests/e2e/test_api_fuzz.py, the scripted loop).
    return schemathesis.pytest.from_fixture(fixture).exclude(method="DELETE", path="/v1/api-keys/{key_id}")


@fuzzed("admin_api").parametrize()
def test_fuzzed_as_admin(case):
    case.call_and_validate(checks=CHECKS)


@fuzzed("hr_api").parametrize()
def test_fuzzed_as_division_hr(case):
    case.call_and_validate(checks=CHECKS)
