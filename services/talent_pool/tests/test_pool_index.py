"""The in-memory match index picks exactly the candidates domain.find_matches ranks first: compared with
the full scan over random pools with many ties, exclusions, expired entries, updates and removals."""

import random
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from services.talent_pool import domain, pool_index
from services.talent_pool.pool_index import NO_TIME, PoolIndex, _Averages, _Postings, _Times, micros
from shared.ids import new_id

NOW = datetime(2026, 12, 1, 9, 30, 15, 123456, tzinfo=UTC)
SKILLS = [f"Skill {i}" for i in range(12)]
MANY_SKILLS = [f"Skill {i}" for i in range(60)]  # most on fewer than 1/16 of a pool: sparse postings


def entry(rng, cid, skills=SKILLS):
    decided = None if rng.random() < 0.1 else NOW - timedelta(days=rng.choice([1, 30, 200, 400]),
                                                               milliseconds=rng.choice([0, 500]))
    average = None if rng.random() < 0.1 else rng.choice([3.0, 3.5, 4.0, 4.333333333333333, 5.0, 2.6666666666666665])
    return {"_id": cid, "candidate_id": cid, "name": "N", "skills": rng.sample(skills, rng.randint(0, 5)),
            "prior": {"average": average, "decided_at": decided, "division": "retail", "requisition_title": "T"},
            "reason": "declined", "pooled_at": NOW - timedelta(days=3),
            "retain_until": NOW + timedelta(days=rng.choice([-1, 10, 300]))}


def via_index(index, req, entries, applying, hired, limit):
    best = index.best(req, NOW, exclude=applying | hired, limit=limit)
    chosen = [entries[c] for c in best]
    return domain.find_matches(req, chosen, NOW, applying=applying, hired=hired, limit=limit)


@pytest.mark.parametrize("range_", [pool_index._RANGE, 7])  # one range, and many (the best of the best)
def test_index_ranks_like_the_full_scan(range_, monkeypatch):
    monkeypatch.setattr(pool_index, "_RANGE", range_)
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


def to_ms(dt):
    return None if dt is None else dt.replace(microsecond=dt.microsecond // 1000 * 1000)


def test_store_precision_times_rank_like_the_full_scan_and_stay_compact():
    # What the store returns (BSON dates hold milliseconds) is held in 6 bytes a time, still exact.
    rng = random.Random(3)
    for round_ in range(10):
        entries = {}
        for _ in range(rng.randint(1, 400)):
            c = new_id("cand")
            e = entry(rng, c, MANY_SKILLS)
            e["retain_until"] = to_ms(e["retain_until"])
            e["prior"]["decided_at"] = to_ms(e["prior"]["decided_at"])
            entries[c] = e
        index = PoolIndex()
        index.load(sorted(entries.values(), key=lambda e: e["_id"]))
        assert index.decided.wide is None and index.retain.wide is None
        assert {p.bits is None for p in index.postings.values()} == {True, False} or len(entries) < 50
        now = to_ms(NOW)  # a retain_until equal to now is out, one millisecond later is in
        for c in rng.sample(sorted(entries), 3):
            entries[c]["retain_until"] = now + timedelta(milliseconds=rng.choice([0, 1]))
            index.add(entries[c])
        for _ in range(5):
            req = {"required_skills": rng.sample(MANY_SKILLS, rng.randint(0, 3)),
                   "skills": rng.sample(MANY_SKILLS, 2)}
            limit = rng.choice([1, 5, 50])
            best = index.best(req, now, limit=limit)
            expected = domain.find_matches(req, list(entries.values()), now, limit=limit)
            assert domain.find_matches(req, [entries[c] for c in best], now, limit=limit) == expected, round_


def test_a_finer_time_widens_the_column_exactly():
    index = PoolIndex()
    times = [NOW - timedelta(days=1, milliseconds=3), None, NOW - timedelta(microseconds=7), NOW]
    for t in times:
        index.decided.append(micros(t))
    assert index.decided.wide is not None
    assert index.decided.gather(np.arange(4)).tolist() == [micros(t) for t in times]
    assert micros(None) == NO_TIME


def test_averages_keep_their_exact_values_past_65535_distinct():
    averages = _Averages()
    values = [None, 4.333333333333333, 2.6666666666666665] + [1 + i / 70_000 for i in range(66_000)]
    for v in values:
        averages.append(v)
    assert averages.wide is not None
    got = averages.gather(np.arange(len(values)))
    assert np.isnan(got[0]) and got[1:].tolist() == values[1:]
    small = _Averages()
    for v in values[:3]:
        small.append(v)
    assert small.wide is None and small.nbytes() < 40


def test_postings_across_blocks_and_as_a_bitmap_give_the_same_slots():
    rng = np.random.default_rng(5)
    size = 200_000  # four blocks of 65,536 slots
    for share in (0.01, 0.5):  # sparse, then dense enough for a bitmap
        slots = np.flatnonzero(rng.random(size) < share)
        postings = _Postings()
        for s in slots.tolist():
            postings.append(s)
        assert postings.slots().tolist() == slots.tolist()
        postings.settle(size)
        assert (postings.bits is not None) == (share == 0.5)
        assert postings.slots().tolist() == slots.tolist()
        assert postings.nbytes() <= min(2 * len(slots), size // 8) + 64
        postings.append(size + 70_000)  # a slot added after the load, past the bitmap's end
        matched = np.zeros(size + 70_001, np.int16)
        postings.count_into(matched)
        assert np.flatnonzero(matched).tolist() == slots.tolist() + [size + 70_000]
        for start, length in ((0, 65_536), (65_536, 65_536), (65_530, 70_003), (131_075, 7), (199_990, 70_011)):
            part = np.zeros(length, np.int16)
            postings.count_into(part, start)  # one range of slots only, as `best` reads them
            assert part.tolist() == matched[start:start + length].tolist(), (share, start)


def test_ids_round_trip_through_compact_codes_and_the_odd_ones():
    rng = random.Random(2)
    ids = sorted(new_id("cand") for _ in range(500))
    index = PoolIndex()
    index.load([entry(rng, c) for c in ids])
    assert index.order is None and not index.recent and len(index.codes) == 12 * len(ids)  # no id dict
    for slot, c in enumerate(ids):
        assert index.slot(c) == slot and index.candidate_id(slot) == c
    ids += ["c-odd-1", "cand_ABC"]  # not made by new_id: kept by name
    shuffled = PoolIndex()  # not in id order: found through `order`
    mixed = rng.sample(ids, len(ids))
    shuffled.load([entry(rng, c) for c in mixed])
    assert shuffled.order is not None
    assert [shuffled.candidate_id(shuffled.slot(c)) for c in mixed] == mixed


@pytest.mark.parametrize("range_", [pool_index._RANGE, 100])
def test_the_benchmark_pool_ranks_like_the_full_scan(range_, monkeypatch):
    monkeypatch.setattr(pool_index, "_RANGE", range_)
    # The generated pool `make bench` ranks at 1 M (Zipf-like skills: bitmaps and sparse postings).
    from bench import pool_gen

    entries = {e["candidate_id"]: {**e, "_id": e["candidate_id"], "reason": "declined", "pooled_at": NOW}
               for e in pool_gen.index_entries(4000, seed=4)}
    index = PoolIndex()
    index.load(entries.values())
    assert {p.bits is None for p in index.postings.values()} == {True, False}
    rng = np.random.default_rng(9)
    now = max(e["prior"]["decided_at"] for e in entries.values()) + timedelta(days=1)
    for _ in range(4):
        req = pool_gen.urgent_requisition(rng)
        expected = domain.find_matches(req, list(entries.values()), now)
        assert len(expected) == domain.MAX_MATCHES
        best = index.best(req, now)
        assert domain.find_matches(req, [entries[c] for c in best], now) == expected


def test_later_than_is_exact_in_both_forms():
    at = micros(to_ms(NOW))
    for finer in (False, True):
        times = _Times()
        for us in (at, at + 1000, NO_TIME) + ((at + 1,) if finer else ()):
            times.append(us)
        assert (times.wide is not None) == finer
        slots = np.arange(3)
        assert times.later_than(slots, at + 999).tolist() == [False, True, False]
        assert times.later_than(slots, at - 1).tolist() == [True, True, False]
        assert times.later_than(slots, at).tolist() == [False, True, False]
        assert times.gather(slots).tolist() == [at, at + 1000, NO_TIME]


def test_a_removed_slot_is_dead_in_both_time_forms():
    for retain in (to_ms(NOW) + timedelta(days=9), NOW + timedelta(days=9, microseconds=1)):
        index = PoolIndex()
        a, b = new_id("cand"), new_id("cand")
        rng = random.Random(4)
        entries = [entry(rng, a), entry(rng, b)]
        for e in entries:
            e["retain_until"], e["skills"] = retain, ["Skill 1"]
        index.load(entries)
        assert index.best({"required_skills": ["Skill 1"]}, NOW) == [a, b]
        assert index.remove(a) and index.slot(a) is None and index.slot(b) == 1 and index.live == 1
        assert index.best({"required_skills": ["Skill 1"]}, NOW) == [b]
