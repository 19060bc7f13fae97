"""Finding 2: a caller context sniffed from one RPC must not authorise any other (issue 15).

Straight on the broker, as an attacker who can read and publish on the vhost would: a queue of ours bound to
`nameko-rpc` copies the request the gateway sends for an admin's read of a retention policy, with its
signed caller context. Republished with that context, (a) on `put_retention_policy` (the finding: a read's
admin context used for a write), (b) on the same read with other arguments, (c) verbatim, after the genuine
call was answered, and (d) a context past its expiry: every one is refused as Unauthenticated and the
retention policy is what it was. The genuine read and write through the gateway keep working.
"""

from __future__ import annotations

import asyncio
import json

import aio_pika
import pytest

from shared.bus.aio_rpc import AsyncRpcClient
from shared.bus.topology import RPC_EXCHANGE
from shared.config import Settings
from shared.context import CALLER_CONTEXT_KEY, sign_caller
from shared.contracts.caller import Caller
from shared.errors import Unauthenticated

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

DIVISION = "replay-target"
OTHER = "replay-other"
HEADER = f"nameko.{CALLER_CONTEXT_KEY}"


async def _sniff_admin_read(platform, admin) -> aio_pika.abc.AbstractIncomingMessage:
    """The admin reads the policy through the gateway; our queue on `nameko-rpc` gets a copy of the RPC."""
    connection = await aio_pika.connect_robust(platform.env["RABBIT_URL"])
    try:
        channel = await connection.channel()
        exchange = await channel.declare_exchange(RPC_EXCHANGE, aio_pika.ExchangeType.TOPIC, durable=True)
        queue = await channel.declare_queue(exclusive=True, auto_delete=True)
        await queue.bind(exchange, routing_key="sourcing.get_retention_policy")
        response = await asyncio.to_thread(admin.get, f"/v1/retention-policies/{DIVISION}")
        assert response.status_code == 200, response.text
        async with asyncio.timeout(10):
            while True:  # other tests may read retention policies too: take the copy of ours
                message = await queue.get(fail=False)
                if message is None:
                    await asyncio.sleep(0.05)
                    continue
                if json.loads(message.body)["kwargs"] == {"division": DIVISION}:
                    return message
    finally:
        await connection.close()


def test_a_sniffed_caller_context_cannot_be_replayed(platform):
    admin = platform.client()
    policy = {"rejected_days": 400, "pool_days": 500}
    assert admin.put(f"/v1/retention-policies/{DIVISION}", json=policy).status_code == 200
    before = admin.get(f"/v1/retention-policies/{DIVISION}").json()
    assert before == {"division": DIVISION, **policy}
    secret = Settings.from_env(platform.env).context_secret  # the platform's own (its default when unset)

    async def attack():
        sniffed = await _sniff_admin_read(platform, admin)
        token = sniffed.headers[HEADER]
        read_args = json.loads(sniffed.body)["kwargs"]

        def expired():  # as an attacker would hold it 30 s later (signed here: the platform's secret is ours)
            return sign_caller(Caller(key_id="k", name="ada", role="admin", divisions=("*",)), "sourcing",
                               "get_retention_policy", read_args, secret=secret, ttl=-1)

        client = AsyncRpcClient(platform.env["RABBIT_URL"], name="intruder", timeout=8)
        await client.connect()
        outcomes = {}
        try:
            for label, method, context, kwargs in (
                    ("(a) other method", "put_retention_policy", lambda: token,
                     {"division": DIVISION, "rejected_days": 0, "pool_days": 0}),
                    ("(b) other arguments", "get_retention_policy", lambda: token, {"division": OTHER}),
                    ("(c) verbatim", "get_retention_policy", lambda: token, read_args),
                    ("(d) expired", "get_retention_policy", expired, read_args)):
                try:
                    outcomes[label] = await client.call("sourcing", method, context={CALLER_CONTEXT_KEY: context()},
                                                        **kwargs)
                except Exception as exc:  # noqa: BLE001 - the kind of refusal is the result
                    outcomes[label] = type(exc).__name__
        finally:
            await client.close()
        return outcomes

    outcomes = asyncio.run(attack())
    assert outcomes == {label: Unauthenticated.__name__ for label in outcomes}, outcomes
    assert len(outcomes) == 4
    assert admin.get(f"/v1/retention-policies/{DIVISION}").json() == before  # nothing changed
    # The genuine path still works, and a write is answered with what it wrote.
    changed = {"rejected_days": 401, "pool_days": 500}
    assert admin.put(f"/v1/retention-policies/{DIVISION}", json=changed).json() == {"division": DIVISION, **changed}
