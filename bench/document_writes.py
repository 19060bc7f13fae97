"""One event handled, two ways, on the embedded store: the unit of work of a transaction (inbox record, state
read and replaced, outbox record; then the relay's claim and sent mark) against one document write (state,
inbox mark and events in one conditional update; the relay's batched pull). docs/decisions/004 quotes it.

    python -m bench.document_writes [--events 2000] [--batch 20]

Both run against a fresh in-memory server each, on 200 application-like documents updated in turn; the
figures are wall-clock milliseconds and MongoDB commands per handled event (client round trips, so server
CPU is included), counted by a pymongo command listener.
"""

from __future__ import annotations

import argparse
import time
from collections import Counter

from pymongo import MongoClient, monitoring

from infra.embedded_mongo import EmbeddedMongo
from shared.ids import new_id
from shared.storage import ServiceStore

DOCS = 200


class Counted(monitoring.CommandListener):
    def __init__(self):
        self.commands: Counter = Counter()

    def started(self, event):
        self.commands[event.command_name] += 1

    def succeeded(self, event):
        pass

    def failed(self, event):
        pass


class Apps(ServiceStore):
    owner = "bench"
    documents_with_outbox = ("apps",)


def _state(n: int) -> dict:
    return {"status": "received", "n": n, "timeline": [{"status": "received", "detail": "x" * 40}] * 3,
            "name": "An Applicant", "division": "retail"}


def transaction_way(store: Apps, events: int, batch: int) -> None:
    for i in range(events):
        doc_id = f"app_{i % DOCS}"

        def work(uow, doc_id=doc_id):
            app = uow.store.db.apps.find_one({"_id": doc_id}, session=uow.session)
            app["n"] += 1
            uow.store.db.apps.replace_one({"_id": doc_id}, app, session=uow.session)
            uow.emit("application_status_changed", {"application_id": doc_id, "n": app["n"]})

        _, emitted = store.transact(work, inbox_event_id=new_id("evt"), about=(["cand_1"], [doc_id]))
        for doc in store.claim_outbox(only_ids=[e.event_id for e in emitted]):
            store.mark_sent(doc["_id"])


def document_way(store: Apps, events: int, batch: int) -> None:
    relayed: list[tuple[str, str]] = []
    for i in range(events):
        doc_id = f"app_{i % DOCS}"

        def decide(state, change, doc_id=doc_id):
            state["n"] += 1
            change.emit("application_status_changed", {"application_id": doc_id, "n": state["n"]})
            return state

        _, _, entries = store.write_document("apps", doc_id, decide, event_id=new_id("evt"),
                                             about=(["cand_1"], [doc_id]))
        relayed += [(doc_id, e["_id"]) for e in entries]
        if len(relayed) >= batch:
            store.clear_relayed("apps", [d for d, _ in relayed], [e for _, e in relayed])
            relayed = []


def run(way, events: int, batch: int) -> tuple[float, dict]:
    server = EmbeddedMongo()
    server.start()
    try:
        counted = Counted()
        with MongoClient(server.url, tz_aware=True, event_listeners=[counted]) as client:
            store = Apps(client, "bench")
            store.ensure_indexes()
            store.db.apps.insert_many([{"_id": f"app_{i}", **_state(0)} for i in range(DOCS)])
            way(store, 100, batch)  # warm-up
            counted.commands.clear()
            started = time.perf_counter()
            way(store, events, batch)
            elapsed = time.perf_counter() - started
        per = {name: round(n / events, 2) for name, n in sorted(counted.commands.items())}
        return elapsed / events * 1000, per
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=20, help="relayed events pulled off per batch")
    args = parser.parse_args()
    print(f"one handled event that changes one document and emits one event; {args.events} events, embedded store")
    print("| way | ms per event | commands per event | by command |\n|---|---|---|---|")
    for name, way in (("transaction (inbox + state + outbox, claim + mark sent)", transaction_way),
                      (f"one document write (+ pull in batches of {args.batch})", document_way)):
        ms, per = run(way, args.events, args.batch)
        by = ", ".join(f"{k} {v:g}" for k, v in per.items())
        print(f"| {name} | {ms:.2f} | {sum(per.values()):.2f} | {by} |", flush=True)


if __name__ == "__main__":
    main()
