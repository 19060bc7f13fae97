"""What retryable writes cost on the embedded store (secantusdb): time per `update_one` as writes pile up,
with PyMongo's default `retryWrites=true` and with `retryWrites=false` (what infra/embedded_mongo.py asks for).

    python -m bench.embedded_writes [--writes 6000] [--window 500]

Each mode gets a fresh in-memory server; the figure is the mean milliseconds per update of the first and of
the last `window` writes (client round trip, so server CPU included), and their ratio.
"""

from __future__ import annotations

import argparse
import time

from pymongo import MongoClient

from infra.embedded_mongo import EmbeddedMongo


def run(retry_writes: bool, writes: int, window: int) -> tuple[float, float]:
    server = EmbeddedMongo()
    server.start()
    try:
        url = server.url.replace("retryWrites=false", f"retryWrites={'true' if retry_writes else 'false'}")
        with MongoClient(url) as client:
            coll = client.bench.counters
            coll.insert_many([{"_id": i, "n": 0} for i in range(100)])
            times = []
            for i in range(writes):
                started = time.perf_counter()
                coll.update_one({"_id": i % 100}, {"$inc": {"n": 1}})
                times.append(time.perf_counter() - started)
        first = sum(times[:window]) / window * 1000
        last = sum(times[-window:]) / window * 1000
        return first, last
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--writes", type=int, default=6000)
    parser.add_argument("--window", type=int, default=500)
    args = parser.parse_args()
    print(f"update_one on the embedded store, {args.writes} writes, mean ms per write of the first/last {args.window}")
    print("| retryWrites | first | last | last / first |\n|---|---|---|---|")
    for retry in (True, False):
        first, last = run(retry, args.writes, args.window)
        print(f"| {str(retry).lower()} | {first:.2f} | {last:.2f} | {last / first:.1f}x |", flush=True)


if __name__ == "__main__":
    main()
