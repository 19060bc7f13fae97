"""The in-memory match index picks exactly the candidates domain.find_matches ranks first: compared with
the full scan over random pools with many ties, exclusions, expired entries, updates and removals."""

import random
from datetime import UTC, datetime, timedelta

from services.talent_pool import domain
from services.talent_pool.pool_index import PoolIndex
from shared.ids import new_id

NOW = datetime(2026, 12, 1, 9, 30, 15, 123456, tzinfo=UTC)
SKILLS = [f"Skill {i}" for i in range(12)]


def entry(rng, cid):
    decided = None if rng.random() < 0.1 else NOW - timedelta(days=rng.choice([1, 30, 200, 400]),
                                                               milliseconds=rng.choice([0, 500]))
    average = None if rng.random() < 0.1 else rng.choice([3.0, 3.5, 4.0, 4.333333333333333, 5.0, 2.6666666666666665])
    return {"_id": cid, "candidate_id": cid, "name": "N", "skills": rng.sample(SKILLS, rng.randint(0, 5)),
            "prior": {"average": average, "decided_at": decided, "division": "retail", "requisition_title": "T"},
            "reason": "declined", "pooled_at": NOW - timedelta(days=3),
            "retain_until": NOW + timedelta(days=rng.choice([-1, 10, 300]))}


def via_index(index, req, entries, applying, hired, limit):
    best = index.best(req, NOW, exclude=applying | hired, limit=limit)
    chosen = [entries[c] for c in best]
    return domain.find_matches(req, chosen, NOW, applying=applying, hired=hired, limit=limit)


def test_index_ranks_like_the_full_scan():
    rng = random.Random(8)
    for round_ in range(30):
        ids = [new_id("cand") for _ in range(rng.randint(0, 300))] + ["c-odd-1", "c-odd-2"]
        entries = {c: entry(rng, c) for c in ids}
        index = PoolIndex()
        index.load(sorted(entries.values(), key=lambda e: e["_id"]))
        # changes after the load: updates, removals, new candidates
        for c in rng.sample(ids, len(ids) // 5):
            if rng.random() < 0.5:
                entries[c] = entry(rng, c)
                index.add(entries[c])
            else:
                del entries[c]
                assert index.remove(c)
        for c in [new_id("cand") for _ in range(10)]:
            entries[c] = entry(rng, c)
            index.add(entries[c])
        for _ in range(5):
            req = {"required_skills": rng.sample(SKILLS, rng.randint(0, 3)), "skills": rng.sample(SKILLS, 2)}
            applying = set(rng.sample(sorted(entries), min(3, len(entries))))
            hired = set(rng.sample(sorted(entries), min(2, len(entries))))
            limit = rng.choice([1, 5, 50])
            expected = domain.find_matches(req, list(entries.values()), NOW, applying=applying, hired=hired,
                                           limit=limit)
            assert via_index(index, req, entries, applying, hired, limit) == expected, round_


def test_slots_are_found_and_removed():
    index = PoolIndex()
    a, b = new_id("cand"), new_id("cand")
    rng = random.Random(1)
    index.load([entry(rng, a), entry(rng, b)])
    assert index.slot(a) == 0 and index.slot(b) == 1 and index.candidate_id(1) == b
    index.add(entry(rng, a))  # replaced: a new slot, the old one dead
    assert index.slot(a) == 2 and index.live == 2
    assert index.remove(a) and index.slot(a) is None and not index.remove(a)
    assert index.slot("cand_unknown") is None
