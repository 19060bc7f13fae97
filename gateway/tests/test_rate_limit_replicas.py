"""Rate limits across two gateways: one API key's budget is one budget, whichever replica answers.

Two gateway apps on the same Redis and MongoDB under one namespace are two replicas of one deployment (each
its own process state: key cache, limiter, Redis and MongoDB clients, event loop), here in one test process
against a fake of the services, with small limits of this module's own.
"""

from __future__ import annotations

import math
import time

import pytest
from fastapi.testclient import TestClient

from gateway.tests.inprocess import Gateway, gateway_settings, namespace_of, running
from shared.config import Rate
from shared.contracts import sourcing

pytestmark = pytest.mark.integration

KEY_RATE, KEY_BURST = 1.0, 8  # per key: 1 request per second, bursts of 8
DIVISION_RATE, DIVISION_BURST = 1.0, 12
ANON_RATE, ANON_BURST = 0.2, 6  # per client address, on routes without a key
EMPTY_PAGE = {"items": [], "next_cursor": None}


@pytest.fixture(scope="module")
def gateways(data_infra):
    """Two gateways sharing one Redis and one key database, with RATE_LIMIT_* of this module."""
    with namespace_of(data_infra, "ratelimit") as namespace:
        settings = gateway_settings(data_infra, namespace, rate_limit_key=Rate(KEY_RATE, KEY_BURST),
                                    rate_limit_division=Rate(DIVISION_RATE, DIVISION_BURST),
                                    rate_limit_anonymous=Rate(ANON_RATE, ANON_BURST))
        with running(settings) as first, running(settings) as second:
            for gw in (first, second):
                gw.fake.answer(sourcing.ListRequisitions, EMPTY_PAGE)
            yield [first, second]


def clients(gateways: list[Gateway], key: str) -> list[tuple[TestClient, dict]]:
    return [(gw.client, {"Authorization": f"Bearer {key}"}) for gw in gateways]


def alternate(pair, path: str, count: int) -> tuple[list, float]:
    """`count` GETs, one after the other, alternating between the gateways; (gateway index, response), seconds."""
    started = time.monotonic()
    answers = [(i % 2, pair[i % 2][0].get(path, headers=pair[i % 2][1])) for i in range(count)]
    return answers, time.monotonic() - started


def rate_limited_total(gw: Gateway, scope: str) -> float:
    text = gw.client.get("/metrics").text
    for line in text.splitlines():
        if line.startswith(f'hireloop_rate_limited_total{{scope="{scope}"}} '):
            return float(line.split()[-1])
    return 0.0


def assert_refusal(r, scope_words: str) -> int:
    assert r.status_code == 429, r.text
    error = r.json()["error"]
    assert error["code"] == "rate_limited" and scope_words in error["message"], error
    retry_after = r.headers["Retry-After"]
    assert retry_after.isdigit() and int(retry_after) >= 1, retry_after
    return int(retry_after)


def test_one_keys_limit_is_shared_by_two_gateways(gateways):
    _, key = gateways[0].key("hr", ("rl-north",), name="rl-busy")
    _, other = gateways[1].key("hr", ("rl-south",), name="rl-calm")
    pair = clients(gateways, key)
    metric_before = rate_limited_total(gateways[0], "key")

    answers, elapsed = alternate(pair, "/v1/requisitions?division=rl-north", 3 * KEY_BURST)
    statuses = [r.status_code for _, r in answers]
    allowed = statuses.count(200)
    refused = [(g, r) for g, r in answers if r.status_code == 429]
    print(f"\ntwo gateways, one key (limit {KEY_RATE:g}/s, burst {KEY_BURST}): {len(answers)} requests in "
          f"{elapsed:.2f} s: {allowed} allowed, {len(refused)} refused; by gateway: "
          f"{[sum(1 for g, r in answers if g == i and r.status_code == 200) for i in (0, 1)]} allowed, "
          f"{[sum(1 for g, _ in refused if g == i) for i in (0, 1)]} refused")
    assert set(statuses) <= {200, 429}, statuses
    # One budget for both: the burst plus what refilled while the requests ran (a per-process bucket would
    # have let 2 x the burst through). The bucket starts full, so the first `burst` requests all pass.
    assert KEY_BURST <= allowed <= KEY_BURST + math.floor(KEY_RATE * elapsed), (allowed, elapsed, statuses)
    assert statuses[:KEY_BURST] == [200] * KEY_BURST
    assert {g for g, _ in refused} == {0, 1}, "both gateways refuse once the shared bucket is empty"
    retry_afters = [assert_refusal(r, f"limit of {KEY_RATE:g} requests per second per key") for _, r in refused]
    assert max(retry_afters) == math.ceil(1 / KEY_RATE)
    # Every refusal counted once, by the gateway that refused it (in one test process both gateways share one
    # metrics registry: their /metrics show the same sum, and a refusal counted by both would show twice).
    assert rate_limited_total(gateways[0], "key") - metric_before == len(refused)
    assert rate_limited_total(gateways[1], "key") == rate_limited_total(gateways[0], "key")

    # another key (of another division) is not affected, on either gateway
    other_pair = clients(gateways, other)
    assert [other_pair[i % 2][0].get("/v1/requisitions?division=rl-south", headers=other_pair[i % 2][1]).status_code
            for i in range(4)] == [200] * 4

    # after waiting Retry-After, the key passes again (on the other gateway than the one that refused last)
    last_gateway, last = refused[-1]
    time.sleep(assert_refusal(last, "per key"))
    client, headers = pair[1 - last_gateway]
    again = client.get("/v1/requisitions?division=rl-north", headers=headers)
    assert again.status_code == 200, again.text

    # unauthenticated requests and operations routes are not key-limited
    anonymous = [gateways[i % 2].client.get("/v1/requisitions").status_code for i in range(12)]
    assert anonymous == [401] * 12
    assert [gateways[i % 2].client.get("/healthz").status_code for i in range(12)] == [200] * 12


def test_a_divisions_limit_is_shared_by_its_keys_across_gateways(gateways):
    first = clients(gateways, gateways[0].key("recruiter", ("rl-east",), name="rl-first")[1])
    second = clients(gateways, gateways[1].key("recruiter", ("rl-east",), name="rl-second")[1])

    started = time.monotonic()
    one, _ = alternate(first, "/v1/requisitions?division=rl-east", KEY_BURST + 2)
    two, _ = alternate(second, "/v1/requisitions?division=rl-east", DIVISION_BURST)
    elapsed = time.monotonic() - started
    allowed_one = [r.status_code for _, r in one].count(200)
    allowed_two = [r.status_code for _, r in two].count(200)
    print(f"\ntwo keys of one division (key {KEY_RATE:g}/{KEY_BURST}, division {DIVISION_RATE:g}/{DIVISION_BURST}) "
          f"in {elapsed:.2f} s: first key {allowed_one} allowed, second key {allowed_two} allowed")
    assert {r.status_code for _, r in one + two} <= {200, 429}
    refill = math.floor(DIVISION_RATE * elapsed)
    # the first key is stopped by its own limit, the second by what the first left of the division's
    assert KEY_BURST <= allowed_one <= KEY_BURST + refill
    assert any("per key" in r.json()["error"]["message"] for _, r in one if r.status_code == 429)
    assert DIVISION_BURST <= allowed_one + allowed_two <= DIVISION_BURST + refill, (allowed_one, allowed_two)
    for _, r in two:
        if r.status_code == 429:
            assert_refusal(r, "requests per second for division 'rl-east'")


def test_routes_without_a_key_are_limited_per_client_address_across_gateways(gateways):
    """Finding 11: /portal/... and /console/login answered every request, however many. Now each client
    address has one budget on both gateways; X-Forwarded-For from a client that is not a trusted proxy
    changes nothing (no TRUSTED_PROXIES here); routes with a key keep their own limits."""
    metric_before = rate_limited_total(gateways[0], "anonymous")
    answers = []
    for i in range(2 * ANON_BURST):
        path = "/portal/forged.token" if i % 3 else "/console/login"
        # a client trying to pass as many addresses
        answers.append((i % 2, gateways[i % 2].client.get(path, headers={"X-Forwarded-For": f"198.51.100.{i}"})))
    statuses = [r.status_code for _, r in answers]
    assert statuses[:ANON_BURST] == [404 if i % 3 else 200 for i in range(ANON_BURST)], statuses
    # at 0.2 per second nothing refills while the loop runs (under 5 s) more than one token
    assert statuses[ANON_BURST + 1:] == [429] * (ANON_BURST - 1), statuses
    refused = [(g, r) for g, r in answers if r.status_code == 429]
    for _, r in refused:
        assert_refusal(r, "per client address")
    assert {g for g, _ in refused} == {0, 1}
    assert rate_limited_total(gateways[0], "anonymous") - metric_before == len(refused)  # each counted once
    # a refused sign-in or portal request did nothing: a POST is refused before the route reads it
    post = gateways[0].client.post("/console/login", data={"key": "x"})
    assert post.status_code == 429 and "set-cookie" not in post.headers
    # a keyed route is not drawn from the address's bucket
    _, key = gateways[0].key("hr", ("rl-west",), name="rl-keyed")
    assert gateways[0].client.get("/v1/requisitions?division=rl-west",
                                  headers={"Authorization": f"Bearer {key}"}).status_code == 200
