"""Rate limits across two gateway processes: one API key's budget is one budget, whichever replica answers.

Two more gateways (`python -m gateway`) join the session's platform with the same environment as its own
gateway (Redis, MongoDB, RabbitMQ vhost, namespace, secrets) and small limits of their own; the session
gateway keeps the default limits that the other e2e tests run under.
"""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import time

import httpx
import pytest

from infra.embedded_mongo import free_port
from tests.e2e.test_hiring_loop import make_key
from tests.support.platform import ROOT
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

KEY_RATE, KEY_BURST = 1.0, 8  # per key: 1 request per second, bursts of 8
DIVISION_RATE, DIVISION_BURST = 1.0, 12
ANON_RATE, ANON_BURST = 0.2, 6  # per client address, on routes without a key


@pytest.fixture(scope="module")
def gateways(platform, tmp_path_factory):
    """Base URLs of two gateway processes sharing the platform's Redis, with RATE_LIMIT_* of this module."""
    log_dir = tmp_path_factory.mktemp("ratelimit-gateways")
    procs, urls = [], []
    try:
        for n in (1, 2):
            port = free_port()
            env = {**platform.env, "GATEWAY_PORT": str(port),
                   "RATE_LIMIT_KEY": f"{KEY_RATE:g}/{KEY_BURST}",
                   "RATE_LIMIT_DIVISION": f"{DIVISION_RATE:g}/{DIVISION_BURST}",
                   "RATE_LIMIT_ANONYMOUS": f"{ANON_RATE:g}/{ANON_BURST}"}
            log = open(log_dir / f"gateway-{n}.log", "ab")  # noqa: SIM115 - closed with the process
            procs.append(subprocess.Popen([sys.executable, "-m", "gateway"], cwd=ROOT, env=env, stdout=log,
                                          stderr=subprocess.STDOUT, start_new_session=True))
            urls.append(f"http://127.0.0.1:{port}")
        for n, (proc, url) in enumerate(zip(procs, urls, strict=True), 1):
            def ready(p=proc, u=url, n=n):
                assert p.poll() is None, (log_dir / f"gateway-{n}.log").read_text()[-3000:]
                try:
                    return httpx.get(u + "/readyz", timeout=5).status_code
                except httpx.TransportError:
                    return None
            wait_for(ready, lambda status: status == 200, timeout=60, interval=0.3, what=f"gateway {n} ready")
        yield urls
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def clients(urls: list[str], key: str) -> list[httpx.Client]:
    return [httpx.Client(base_url=u, headers={"Authorization": f"Bearer {key}"}, timeout=30) for u in urls]


def alternate(pair: list[httpx.Client], path: str, count: int) -> tuple[list[tuple[int, httpx.Response]], float]:
    """`count` GETs, one after the other, alternating between the gateways; (gateway index, response), seconds."""
    started = time.monotonic()
    answers = [(i % 2, pair[i % 2].get(path)) for i in range(count)]
    return answers, time.monotonic() - started


def rate_limited_total(url: str, scope: str) -> float:
    text = httpx.get(url + "/metrics", timeout=10).text
    for line in text.splitlines():
        if line.startswith(f'hireloop_rate_limited_total{{scope="{scope}"}} '):
            return float(line.split()[-1])
    return 0.0


def assert_refusal(r: httpx.Response, scope_words: str) -> int:
    assert r.status_code == 429, r.text
    error = r.json()["error"]
    assert error["code"] == "rate_limited" and scope_words in error["message"], error
    retry_after = r.headers["Retry-After"]
    assert retry_after.isdigit() and int(retry_after) >= 1, retry_after
    return int(retry_after)


def test_one_keys_limit_is_shared_by_two_gateways(platform, gateways):
    admin = platform.client()
    key = make_key(admin, "rl-busy", "hr", ["rl-north"])
    other = make_key(admin, "rl-calm", "hr", ["rl-south"])
    pair = clients(gateways, key)
    metric_before = [rate_limited_total(u, "key") for u in gateways]

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

    # each gateway counted its own refusals
    for i, url in enumerate(gateways):
        assert rate_limited_total(url, "key") - metric_before[i] == sum(1 for g, _ in refused if g == i)

    # another key (of another division) is not affected, on either gateway
    other_pair = clients(gateways, other)
    assert [other_pair[i % 2].get("/v1/requisitions?division=rl-south").status_code for i in range(4)] == [200] * 4

    # after waiting Retry-After, the key passes again (on the other gateway than the one that refused last)
    last_gateway, last = refused[-1]
    time.sleep(assert_refusal(last, "per key"))
    again = pair[1 - last_gateway].get("/v1/requisitions?division=rl-north")
    assert again.status_code == 200, again.text

    # unauthenticated requests and operations routes are not key-limited
    anonymous = [httpx.get(gateways[i % 2] + "/v1/requisitions", timeout=10).status_code for i in range(12)]
    assert anonymous == [401] * 12
    assert [httpx.get(gateways[i % 2] + "/healthz", timeout=10).status_code for i in range(12)] == [200] * 12


def test_a_divisions_limit_is_shared_by_its_keys_across_gateways(platform, gateways):
    admin = platform.client()
    first = clients(gateways, make_key(admin, "rl-first", "recruiter", ["rl-east"]))
    second = clients(gateways, make_key(admin, "rl-second", "recruiter", ["rl-east"]))

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


def test_routes_without_a_key_are_limited_per_client_address_across_gateways(platform, gateways):
    """Finding 11: /portal/... and /console/login answered every request, however many. Now each client
    address has one budget on both gateways; X-Forwarded-For from a client that is not a trusted proxy
    changes nothing (no TRUSTED_PROXIES here); routes with a key keep their own limits."""
    metric_before = [rate_limited_total(u, "anonymous") for u in gateways]
    answers = []
    for i in range(2 * ANON_BURST):
        url = gateways[i % 2] + ("/portal/forged.token" if i % 3 else "/console/login")
        # a client trying to pass as many addresses
        answers.append((i % 2, httpx.get(url, headers={"X-Forwarded-For": f"198.51.100.{i}"}, timeout=10)))
    statuses = [r.status_code for _, r in answers]
    assert statuses[:ANON_BURST] == [404 if i % 3 else 200 for i in range(ANON_BURST)], statuses
    # at 0.2 per second nothing refills while the loop runs (under 5 s) more than one token
    assert statuses[ANON_BURST + 1:] == [429] * (ANON_BURST - 1), statuses
    refused = [(g, r) for g, r in answers if r.status_code == 429]
    for _, r in refused:
        assert_refusal(r, "per client address")
    assert {g for g, _ in refused} == {0, 1}
    for i, url in enumerate(gateways):
        assert rate_limited_total(url, "anonymous") - metric_before[i] == sum(1 for g, _ in refused if g == i)
    # a refused sign-in or portal request did nothing: a POST is refused before the route reads it
    post = httpx.post(gateways[0] + "/console/login", data={"key": "x"}, timeout=10)
    assert post.status_code == 429 and "set-cookie" not in post.headers
    # a keyed route is not drawn from the address's bucket
    key = make_key(platform.client(), "rl-keyed", "hr", ["rl-west"])
    assert clients(gateways, key)[0].get("/v1/requisitions?division=rl-west").status_code == 200
