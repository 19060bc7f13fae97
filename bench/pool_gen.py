"""A talent pool of N candidates with realistic skills, written straight into talent_pool's own store.

Seeding a million candidates through the API (apply, interview, pass, decline) would take hours, so the
benchmark writes the pool documents directly, in exactly the shape the service writes them
(`domain.build_pool_entry`), then restarts talent_pool so it builds its match index from them.
- Skill popularity is Zipf-like (s = 1.1) over a vocabulary of 400 skills: a few skills (customer
  service, sales) are everywhere, most are rare. Each candidate has 3-12 distinct skills.
- Prior interview averages from 3 to 5 (a mean of 1-5 ratings, two decimals); the prior decision in the
  last year; pooled a few days after it, kept for 365 days.
"""

from __future__ import annotations

import threading
from datetime import timedelta

import numpy as np
from pymongo import MongoClient

from services.talent_pool import domain
from shared.ids import new_id
from shared.timeutil import utcnow

VOCABULARY = 400
ZIPF_S = 1.1
REASONS = ("declined", "no_show", "withdrawn", "requisition_closed")


def skill_names() -> list[str]:
    return [f"skill {i:03d}" for i in range(VOCABULARY)]


def skill_weights() -> np.ndarray:
    w = 1 / np.arange(1, VOCABULARY + 1) ** ZIPF_S
    return w / w.sum()


def candidates(n: int, seed: int):
    """Yields n pool entries (the stored documents)."""
    rng = np.random.default_rng(seed)
    names, weights = skill_names(), skill_weights()
    now = utcnow()
    counts = rng.integers(3, 13, n)
    averages = np.round(rng.uniform(3, 5, n), 2)
    ages = rng.uniform(0, 365, n)
    for i in range(n):
        picked = rng.choice(VOCABULARY, size=counts[i], replace=False, p=weights)
        decided = now - timedelta(days=float(ages[i]))
        cid = new_id("cand")
        candidate = {"candidate_id": cid, "name": f"Pooled Candidate {i}", "skills": [names[k] for k in picked]}
        app = {"_id": new_id("app"), "application_id": None, "requisition_id": "req_bench_prior",
               "requisition_title": "Store Associate", "division": "retail",
               "interview": {"average": float(averages[i]), "by_competency": {"craft": float(averages[i])}},
               "decision": {"outcome": "pass", "decided_at": decided}}
        app["application_id"] = app["_id"]
        yield domain.build_pool_entry(candidate, app, REASONS[i % 4], decided + timedelta(days=3), 365)


def seed(mongo_url: str, database: str, n: int, seed: int, threads: int = 2, batch: int = 2000) -> None:
    """Inserts n generated entries into <database>.pool with a few writer threads."""
    client = MongoClient(mongo_url, tz_aware=True)
    pool = client[database].pool
    lock = threading.Lock()
    source = candidates(n, seed)

    def writer():
        while True:
            with lock:
                docs = [d for _, d in zip(range(batch), source, strict=False)]
            if not docs:
                return
            pool.insert_many(docs, ordered=False)

    workers = [threading.Thread(target=writer) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    client.close()


def urgent_requisition(rng: np.random.Generator) -> dict:
    """An urgent role asking for 1-3 required and 0-3 nice-to-have skills, as popular as candidates' are."""
    names, weights = skill_names(), skill_weights()
    k = int(rng.integers(2, 7))
    picked = [names[i] for i in rng.choice(VOCABULARY, size=k, replace=False, p=weights)]
    n_req = int(rng.integers(1, min(3, k) + 1))
    return {"title": "Urgent Store Associate", "division": "retail", "department": "stores", "tier": "basic",
            "urgent": True, "required_skills": picked[:n_req], "skills": picked[n_req:], "min_years": 0}


def index_entries(n: int, seed: int):
    """n pool entries with only the fields the match index reads (same distributions as `candidates`),
    generated fast enough for a million: the in-process index benchmark. Times are whole milliseconds, as
    the index always gets them (it reads them from the store, and BSON dates hold milliseconds)."""
    rng = np.random.default_rng(seed)
    names = skill_names()
    cumulative = np.cumsum(skill_weights())
    now = utcnow()
    chunk = 100_000
    for start in range(0, n, chunk):
        m = min(chunk, n - start)
        counts = rng.integers(3, 13, m)
        draws = np.minimum(np.searchsorted(cumulative, rng.random((m, 40))), VOCABULARY - 1)
        averages = np.round(rng.uniform(3, 5, m), 2)
        ages = rng.uniform(0, 365 * 86400, m)
        for i in range(m):
            skills = list(dict.fromkeys(draws[i].tolist()))[: counts[i]]
            decided = now - timedelta(seconds=float(ages[i]))
            decided = decided.replace(microsecond=decided.microsecond // 1000 * 1000)  # as the store returns it
            yield {"candidate_id": new_id("cand"), "skills": [names[k] for k in skills],
                   "prior": {"average": float(averages[i]), "decided_at": decided},
                   "retain_until": decided + timedelta(days=368)}
