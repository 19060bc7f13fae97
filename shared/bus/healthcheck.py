"""`python -m shared.bus.healthcheck <service>`: exit 0 when the service answers its health RPC (for
container health checks and probes)."""

from __future__ import annotations

import asyncio
import sys

from shared.bus.aio_rpc import AsyncRpcClient
from shared.config import Settings
from shared.contracts.rpc import HEALTH


async def check(service: str, timeout: float, settings: Settings) -> dict:
    client = AsyncRpcClient(settings.rabbit_url, name=f"healthcheck-{service}", timeout=timeout,
                            predeclared=settings.predeclared_topology)
    await client.connect()
    try:
        return (await client.rpc(HEALTH[service], None)).model_dump()
    finally:
        await client.close()


def main() -> int:
    service = sys.argv[1]
    try:
        health = asyncio.run(check(service, float(sys.argv[2]) if len(sys.argv) > 2 else 5.0, Settings.from_env()))
    except Exception as exc:  # noqa: BLE001 - any failure is unhealthy
        print(f"{service}: unhealthy: {exc}", file=sys.stderr)
        return 1
    print(health)
    return 0 if health.get("store") == "ok" else 1


if __name__ == "__main__":
    sys.exit(main())
