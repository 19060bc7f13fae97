"""A raw dump of everything a running platform keeps, as text, for tests that search it for personal data:
every document of every database of the platform's namespace (outbox and inbox included; GridFS chunks also as
their raw bytes, so a file's text in clear would be found), every Redis key
under its prefix, and every message waiting in its dead-letter queues. Read straight from the stores, not
through any service, so nothing is opened or filtered on the way."""

from __future__ import annotations

import json

import redis
from bson import json_util

from shared.bus.dlq import DeadLetterQueues
from shared.contracts.common import SERVICES
from shared.storage import mongo_client


def mongo_dump(mongo_url: str, namespace: str) -> dict[str, str]:
    """`{"<database>.<collection>": text}` for every collection of the namespace's databases."""
    client = mongo_client(mongo_url)
    try:
        out = {}
        for db_name in client.list_database_names():
            if not db_name.startswith(namespace + "_"):
                continue
            db = client[db_name]
            for coll in db.list_collection_names():
                docs = list(db[coll].find())
                out[f"{db_name}.{coll}"] = "\n".join(json_util.dumps(d, ensure_ascii=False) for d in docs)
                if coll.endswith(".chunks"):  # GridFS: a file's bytes as they are (JSON would show base64)
                    out[f"{db_name}.{coll}:bytes"] = "\n".join(bytes(d.get("data") or b"").decode("utf-8", "replace")
                                                               for d in docs)
        return out
    finally:
        client.close()


def redis_dump(redis_url: str, namespace: str) -> dict[str, str]:
    client = redis.Redis.from_url(redis_url)
    try:
        out = {}
        for key in client.scan_iter(match=f"{namespace}:*", count=500):
            kind = client.type(key).decode()
            if kind == "string":
                value = client.get(key)
            elif kind == "hash":
                value = client.hgetall(key)
            elif kind == "list":
                value = client.lrange(key, 0, -1)
            elif kind == "set":
                value = client.smembers(key)
            elif kind == "zset":
                value = client.zrange(key, 0, -1, withscores=True)
            else:
                value = f"<{kind}>"
            out[f"redis:{key.decode()}"] = repr(value) if not isinstance(value, bytes) else value.decode(
                errors="replace")
        return out
    finally:
        client.close()


def dead_letter_dump(rabbit_url: str) -> dict[str, str]:
    with DeadLetterQueues(rabbit_url) as queues:
        return {f"dlq:{service}": "\n".join(dl.body.decode(errors="replace") + json.dumps(dl.headers, default=str)
                                            for dl in queues.list(service))
                for service in SERVICES}


def platform_dump(env: dict) -> dict[str, str]:
    """Everything, from a platform's environment (MONGO_URL, HIRELOOP_NAMESPACE, REDIS_URL, RABBIT_URL)."""
    namespace = env["HIRELOOP_NAMESPACE"]
    return {**mongo_dump(env["MONGO_URL"], namespace), **redis_dump(env["REDIS_URL"], namespace),
            **dead_letter_dump(env["RABBIT_URL"])}


def occurrences(dump: dict[str, str], needles: list[str]) -> list[tuple[str, str]]:
    """(source, needle) for every needle found, case-insensitively."""
    return [(source, needle) for source, text in dump.items() for needle in needles
            if needle and needle.lower() in text.lower()]
