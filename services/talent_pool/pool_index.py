"""An in-memory index of the talent pool for matching (docs/decisions/001-talent-pool-match-index.md).

Matching used to read every active pool entry and score each one in Python: about linear in the pool
(seconds at 100 k candidates). This index keeps, per candidate, only what ranking needs, in compact
arrays: skill postings (candidate slots per normalised skill), the prior interview average, the prior
decision time and `retain_until`. A requisition's ranking is then a few vector operations over the
candidates sharing a skill with it, and only the best ones (with everyone tied with the last of them)
are read from the store and ranked by `domain.find_matches` itself, so the rules and the order stay
exactly the domain's. The score computed here repeats domain.score's float operations in the same order
(same IEEE results), so it selects exactly the candidates domain would rank first.

The store stays the truth. Every write to the pool also records the candidate in `pool_changes` in the
same transaction; before answering, the index re-reads the entries changed since it last looked (with a
look-back for transactions that committed late), so each replica sees every change (consent withdrawal,
erasure, hire) whichever replica made it. It is built from the store when the service starts.

Per candidate about 35 bytes, every form exact: a 12-byte id, two 6-byte times (the store's
milliseconds), a 2-byte average code, and per skill 2 bytes (or 1 bit of a bitmap for a skill on more
than 1/16 of the pool): 35 MB at 1 M (`python -m bench.index_bench 1000000 50`).
"""

from __future__ import annotations

import ctypes
import gc
import re
from array import array
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

import numpy as np

from services.talent_pool import domain
from shared.contracts.common import normalize_skill

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Community members who named divisions match only those divisions' requisitions (domain.wants_division):
# postings under keys no normalised skill can have (those never start with a space) say who is limited and
# to what.
LIMITED = " community-limited"
DIVISION = " division:"
NO_TIME = np.iinfo(np.int64).min  # a missing prior decision
# Ids as new_id makes them (`cand_` + 24 hex digits) are kept as 12 raw bytes; any other id in a dict.
_COMPACT_ID = re.compile(r"cand_[0-9a-f]{24}")
_PREFIX = "cand_"


def _return_freed_memory() -> None:
    """After a load, hand the memory of the documents read back to the OS (glibc keeps freed heap
    otherwise, and the RSS would count it)."""
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: nothing to do
        pass


def micros(dt: datetime | None) -> int:
    """Exact microseconds since the epoch (timedelta arithmetic, as domain.recency_factor's)."""
    return NO_TIME if dt is None else (dt - EPOCH) // timedelta(microseconds=1)


class _Column:
    """A growable typed column: an `array` while appending (small over-allocation), numpy when read."""

    __slots__ = ("data", "dtype", "_view")

    def __init__(self, code: str, dtype):
        self.data = array(code)
        self.dtype = dtype
        self._view = None

    def append(self, value) -> None:
        self._view = None  # an exported buffer would stop the array from growing
        self.data.append(value)

    def view(self) -> np.ndarray:
        if self._view is None:
            self._view = np.frombuffer(self.data, dtype=self.dtype) if len(self.data) else np.zeros(0, self.dtype)
        return self._view

    def shrink(self) -> None:
        """Drops the over-allocation of growing (about 1/8) once a load is done."""
        self._view = None
        self.data = array(self.data.typecode, self.data)

    def set(self, i: int, value) -> None:
        self.data[i] = value

    def nbytes(self) -> int:
        return len(self.data) * self.data.itemsize


class _Averages:
    """Prior averages, exact: a 2-byte code per slot into a table of the distinct values (a mean of 1-5
    ratings takes few values), float64 per slot once there are more than 65,535 of them."""

    __slots__ = ("codes", "table", "lookup", "wide")

    def __init__(self):
        self.codes = _Column("H", np.uint16)
        self.table = array("d", [float("nan")])  # code 0: no average
        self.lookup: dict[float, int] = {}
        self.wide: _Column | None = None

    def append(self, value: float | None) -> None:
        if self.wide is not None:
            self.wide.append(float("nan") if value is None else value)
            return
        code = 0 if value is None else self.lookup.get(value)
        if code is None:
            if len(self.table) > 0xFFFF:
                self._widen()
                self.wide.append(value)
                return
            # 0.0 and -0.0 share a code: they are equal in every comparison and sum the score alike
            code = self.lookup[value] = len(self.table)
            self.table.append(value)
        self.codes.append(code)

    def _widen(self) -> None:
        wide = _Column("d", np.float64)
        wide.data = array("d", np.frombuffer(self.table)[self.codes.view()].tobytes())
        self.wide, self.codes, self.table, self.lookup = wide, _Column("H", np.uint16), array("d"), {}

    def gather(self, slots: np.ndarray) -> np.ndarray:
        """float64 per slot, NaN where there is none."""
        if self.wide is not None:
            return self.wide.view().take(slots)
        return np.frombuffer(self.table).take(self.codes.view().take(slots))

    def shrink(self) -> None:
        (self.wide or self.codes).shrink()

    def nbytes(self) -> int:
        return (self.wide or self.codes).nbytes() + len(self.table) * 8


_MS_LIMIT = (1 << 48) - 1  # the compact form's largest millisecond, also its "no time"


class _Times:
    """Instants in exact microseconds since the epoch (NO_TIME: none). The store keeps milliseconds, so
    they are held as 48-bit milliseconds (4 + 2 bytes); one value finer than that (or before 1970)
    turns the column into int64 microseconds, still exact."""

    __slots__ = ("low", "high", "wide")

    def __init__(self):
        self.low = _Column("I", np.uint32)
        self.high = _Column("H", np.uint16)
        self.wide: _Column | None = None

    def append(self, us: int) -> None:
        if self.wide is None:
            if us == NO_TIME:
                ms = _MS_LIMIT
            elif us % 1000 == 0 and 0 <= us // 1000 < _MS_LIMIT:
                ms = us // 1000
            else:
                wide = _Column("q", np.int64)
                wide.data = array("q", self.gather(np.arange(len(self.low.data))).tobytes())
                self.wide, self.low, self.high = wide, _Column("I", np.uint32), _Column("H", np.uint16)
            if self.wide is None:
                self.low.append(ms & 0xFFFFFFFF)
                self.high.append(ms >> 32)
                return
        self.wide.append(us)

    def _ms(self, slots: np.ndarray) -> np.ndarray:
        ms = self.high.view().take(slots).astype(np.int64)
        ms <<= 32
        ms |= self.low.view().take(slots)
        return ms

    def gather(self, slots: np.ndarray) -> np.ndarray:
        """int64 microseconds per slot."""
        if self.wide is not None:
            return self.wide.view().take(slots)
        us = self._ms(slots)
        none = us == _MS_LIMIT
        us *= 1000
        us[none] = NO_TIME
        return us

    def get(self, slot: int) -> int:
        if self.wide is not None:
            return self.wide.data[slot]
        ms = self.high.data[slot] << 32 | self.low.data[slot]
        return NO_TIME if ms == _MS_LIMIT else ms * 1000

    def clear(self, slot: int) -> None:
        """Sets a slot to NO_TIME."""
        if self.wide is not None:
            self.wide.set(slot, NO_TIME)
        else:
            self.low.set(slot, _MS_LIMIT & 0xFFFFFFFF)
            self.high.set(slot, _MS_LIMIT >> 32)

    def later_than(self, slots: np.ndarray, us: int) -> np.ndarray:
        """Per slot: is its time after `us`? (No time is not.)"""
        if self.wide is not None:
            return self.wide.view().take(slots) > us
        ms = self._ms(slots)
        return (ms > us // 1000) & (ms != _MS_LIMIT)  # ms * 1000 > us exactly when ms > floor(us / 1000)

    def shrink(self) -> None:
        for column in (self.wide,) if self.wide is not None else (self.low, self.high):
            column.shrink()

    def nbytes(self) -> int:
        return self.wide.nbytes() if self.wide is not None else self.low.nbytes() + self.high.nbytes()


_BLOCK = 16  # a sparse posting keeps the low 16 bits of a slot; the blocks of 65,536 slots are counted


class _Postings:
    """The slots holding one skill, in increasing order (slots are only ever appended). Sparse: 2 bytes a
    slot (its low 16 bits) plus where each block of 65,536 slots starts. A skill on more than 1/16 of the
    pool becomes a bitmap after a load (1 bit per slot of the pool, smaller from there on)."""

    __slots__ = ("lows", "starts", "bits", "count")

    def __init__(self):
        self.lows: _Column | None = _Column("H", np.uint16)
        self.starts = array("i")  # starts[b]: the first position in `lows` of a slot in block b
        self.bits: bytearray | None = None
        self.count = 0

    def append(self, slot: int) -> None:
        self.count += 1
        if self.bits is not None:
            byte = slot >> 3
            if byte >= len(self.bits):
                self.bits.extend(bytes(byte + 1 - len(self.bits)))
            self.bits[byte] |= 0x80 >> (slot & 7)
            return
        while len(self.starts) <= slot >> _BLOCK:
            self.starts.append(len(self.lows.data))
        self.lows.append(slot & 0xFFFF)

    def slots(self) -> np.ndarray:
        if self.bits is not None:
            return np.flatnonzero(np.unpackbits(np.frombuffer(self.bits, np.uint8))).astype(np.int32)
        lows = self.lows.view()
        sizes = np.diff(np.append(np.frombuffer(self.starts, np.int32), len(lows)))
        return lows.astype(np.int32) + np.repeat(np.arange(len(sizes), dtype=np.int32) << _BLOCK, sizes)

    def count_into(self, matched: np.ndarray, start: int = 0) -> None:
        """Adds 1 to `matched` (slots start .. start + len(matched)) at each of this skill's slots there (a
        slot holds a skill once). Only that range is read: a bitmap's bytes, a sparse list's blocks."""
        stop = start + len(matched)
        if self.bits is not None:
            bits = np.unpackbits(np.frombuffer(self.bits, np.uint8)[start >> 3:(stop + 7) >> 3])
            bits = bits[start & 7:(start & 7) + len(matched)]
            matched[:len(bits)] += bits
            return
        first, last = start >> _BLOCK, min((stop - 1) >> _BLOCK, len(self.starts) - 1)
        if first > last:
            return
        lows = self.lows.view()
        bounds = np.append(np.frombuffer(self.starts, np.int32)[first:last + 1],
                           self.starts[last + 1] if last + 1 < len(self.starts) else len(lows))
        slots = lows[bounds[0]:bounds[-1]].astype(np.int64) + np.repeat(
            np.arange(first, last + 1, dtype=np.int64) << _BLOCK, np.diff(bounds))
        if start & 0xFFFF or stop & 0xFFFF:  # a range not on block bounds
            slots = slots[(slots >= start) & (slots < stop)]
        matched[slots - start] += 1

    def settle(self, size: int) -> None:
        """After a load: the smaller of the two forms for a pool of `size` slots, without slack."""
        if self.bits is None and self.count * 16 > size:
            bits = np.zeros(size, np.uint8)
            bits[self.slots()] = 1
            self.bits = bytearray(np.packbits(bits).tobytes())
            self.lows, self.starts = None, array("i")
        elif self.bits is None:
            self.lows.shrink()

    def nbytes(self) -> int:
        if self.bits is not None:
            return len(self.bits)
        return self.lows.nbytes() + len(self.starts) * 4


class PoolIndex:
    def __init__(self):
        self.average = _Averages()
        self.decided = _Times()  # NO_TIME: unknown
        self.retain = _Times()  # NO_TIME: a dead slot (a stored entry always has one), so no live flag
        self.codes = bytearray()  # 12 bytes per slot: the hex part of a compact id (zeros otherwise)
        self.postings: dict[str, _Postings] = {}
        self.size = 0
        self.live = 0
        # Finding a candidate's slot without a dict of every id (that alone would be ~150 MB at 1 M): the
        # slots indexed by `load` are found by binary search over `order` (their compact ids, sorted);
        # later slots and ids that are not compact are in `recent`.
        self.order: np.ndarray | None = np.zeros(0, np.int32)
        self.loaded = 0  # slots indexed by `load`
        self.recent: dict[str, int] = {}

    # -- building and keeping up -----------------------------------------------------------------------
    def load(self, entries: Iterable[dict]) -> None:
        """Index every entry of an empty index (each candidate once), the way `add` would, in less memory."""
        assert self.size == 0, "load fills an empty index"
        for entry in entries:
            self._append(entry, track=False)
        self.loaded = self.size
        # One column at a time, so that the copy that drops a column's slack is the only one alive.
        for column in (self.average, self.decided, self.retain):
            column.shrink()
        for postings in self.postings.values():
            postings.settle(self.size)
        codes = np.frombuffer(self.codes, dtype="S12") if self.size else np.zeros(0, "S12")
        compact = np.ones(self.size, bool)
        compact[[s for s in self.recent.values()]] = False
        if compact.all() and (self.size < 2 or bool(np.all(codes[:-1] < codes[1:]))):
            self.order = None  # loaded in id order (as the store reads it): slot order is id order
            slots = None
        else:
            slots = np.flatnonzero(compact).astype(np.int32)
            self.order = slots[np.argsort(codes[slots], kind="stable")]
        del codes, compact, slots
        _return_freed_memory()

    def nbytes(self) -> int:
        """What the index's arrays hold (without the interpreter's own overhead)."""
        parts = [self.average, self.decided, self.retain, *self.postings.values()]
        return sum(p.nbytes() for p in parts) + len(self.codes) + (
            self.order.nbytes if self.order is not None else 0)

    def add(self, entry: dict) -> None:
        """Index a pool entry (a stored document); a candidate already indexed is replaced."""
        self.remove(entry["candidate_id"])
        self._append(entry, track=True)

    def _append(self, entry: dict, track: bool) -> None:
        cid = entry["candidate_id"]
        slot = self.size
        prior = entry.get("prior") or {}
        average = prior.get("average")
        self.average.append(None if average is None else float(average))
        self.decided.append(micros(prior.get("decided_at")))
        self.retain.append(micros(entry["retain_until"]))
        compact = _COMPACT_ID.fullmatch(cid) is not None
        self.codes += bytes.fromhex(cid[len(_PREFIX):]) if compact else bytes(12)
        if track or not compact:
            self.recent[cid] = slot
        keys = {normalize_skill(s) for s in entry.get("skills") or []}
        if entry.get("reason") == domain.COMMUNITY and entry.get("divisions"):
            keys |= {LIMITED, *(DIVISION + d for d in entry["divisions"])}
        for skill in keys:
            postings = self.postings.get(skill)
            if postings is None:
                postings = self.postings[skill] = _Postings()
            postings.append(slot)
        self.size += 1
        self.live += 1

    def slot(self, candidate_id: str) -> int | None:
        """The live slot of a candidate, or None."""
        slot = self.recent.get(candidate_id)
        if slot is None and _COMPACT_ID.fullmatch(candidate_id):
            key = bytes.fromhex(candidate_id[len(_PREFIX):])
            order = self.order
            at = (lambda i: i) if order is None else (lambda i: int(order[i]))
            lo, hi = 0, self.loaded if order is None else len(order)
            end = hi
            while lo < hi:  # binary search over the loaded slots' sorted ids
                mid = (lo + hi) // 2
                if bytes(self.codes[12 * at(mid): 12 * at(mid) + 12]) < key:
                    lo = mid + 1
                else:
                    hi = mid
            if lo < end and bytes(self.codes[12 * at(lo): 12 * at(lo) + 12]) == key:
                slot = at(lo)
        if slot is None or self.retain.get(slot) == NO_TIME:
            return None
        return slot

    def remove(self, candidate_id: str) -> bool:
        slot = self.slot(candidate_id)
        self.recent.pop(candidate_id, None)
        if slot is None:
            return False
        self.retain.clear(slot)
        self.live -= 1
        return True

    def candidate_id(self, slot: int) -> str:
        code = bytes(self.codes[12 * slot: 12 * slot + 12])
        if code == bytes(12):  # not compact: look it up (rare)
            for cid, s in self.recent.items():
                if s == slot:
                    return cid
        return _PREFIX + code.hex()

    # -- matching ------------------------------------------------------------------------------------
    def best(self, requisition: dict, now: datetime, exclude: Iterable[str] = (), limit: int = domain.MAX_MATCHES
             ) -> list[str]:
        """The candidate ids domain.find_matches would rank in its first `limit` (and everyone tied with the
        last of them on all but the id), leaving out `exclude`, inactive entries and candidates sharing no
        skill with the requisition. Hired candidates are the caller's to leave out (they are in the store)."""
        required, nice = domain.split_skills(requisition)
        req_norm = [normalize_skill(s) for s in required]
        nice_norm = [normalize_skill(s) for s in nice]
        n = self.size
        if n == 0:
            return []
        limited = self.postings.get(LIMITED)
        allowed = self.postings.get(DIVISION + str(requisition.get("division")))
        req_postings = [self.postings[k] for k in req_norm if k in self.postings]
        nice_postings = [self.postings[k] for k in nice_norm if k in self.postings]
        excluded = np.array(sorted({s for c in exclude if (s := self.slot(c)) is not None}), np.int64)
        now_us = micros(now)
        # By ranges of slots: a candidate among the best of the whole pool is among the best of its range
        # (fewer are better than it there), so the best of each range, then the best of those, are the
        # best of all; and no array is as long as the pool. Ranking the whole pool at once left ~90 MB of
        # freed temporaries at 1 M in glibc's heap (RSS), which it keeps.
        kept = []
        for start in range(0, n, _RANGE):
            stop = min(n, start + _RANGE)
            matched_req = np.zeros(stop - start, np.int16)
            matched_nice = np.zeros(stop - start, np.int16)
            for postings in req_postings:
                postings.count_into(matched_req, start)
            for postings in nice_postings:
                postings.count_into(matched_nice, start)
            out = excluded[(excluded >= start) & (excluded < stop)] - start
            matched_req[out] = matched_nice[out] = 0
            if limited is not None:  # members limited to divisions other than the requisition's
                elsewhere = np.zeros(stop - start, np.int16)
                limited.count_into(elsewhere, start)
                if allowed is not None:
                    wanted = np.zeros(stop - start, np.int16)
                    allowed.count_into(wanted, start)
                    elsewhere -= wanted
                matched_req[elsewhere > 0] = 0
                matched_nice[elsewhere > 0] = 0
            slots = np.flatnonzero(matched_req + matched_nice > 0)
            slots = slots[self.retain.later_than(slots + start, now_us)]  # dead slots too
            if len(slots):
                keys = self._keys(slots + start, matched_req[slots], len(req_norm), matched_nice[slots],
                                  len(nice_norm), now_us)
                kept.append(_best_of(slots + start, *keys, limit))
        if not kept:
            return []
        slots, primary, avg_key, dec_key = (np.concatenate(part) for part in zip(*kept, strict=True))
        slots, *_ = _best_of(slots, primary, avg_key, dec_key, limit)
        return [self.candidate_id(int(s)) for s in slots]

    def _keys(self, slots, matched_req, required: int, matched_nice, nice: int, now_us: int):
        """domain.find_matches's order for these slots but the id: (all required, score), average, decision."""
        has_all = matched_req == required
        average = self.average.gather(slots)
        decided = self.decided.gather(slots)
        score = _scores(matched_req, required, matched_nice, nice, average, decided, now_us)
        primary = has_all.astype(np.int16) * 128 + score
        avg_key = np.where(np.isnan(average), -1.0, average)
        # decided.timestamp() orders as the microseconds do; unknown sorts last (domain: 0)
        dec_key = np.where(decided == NO_TIME, 0, decided)
        return primary, avg_key, dec_key


_RANGE = 1 << 15  # 32,768 slots: half a postings block (1 << 16 kept 4-7 MB more of heap after rankings at 1 M)


def _best_of(slots, primary, avg_key, dec_key, limit: int):
    """The first `limit` by the keys and everyone tied with the last of them (in slot order): those
    fewer than `limit` others are better than."""
    if len(slots) > limit:
        cut = np.partition(primary, len(primary) - limit)[len(primary) - limit]
        keep = primary >= cut
        slots, primary, avg_key, dec_key = slots[keep], primary[keep], avg_key[keep], dec_key[keep]
    if len(slots) > limit:
        order = np.lexsort((-dec_key, -avg_key, -primary))
        last = order[limit - 1]
        boundary = (primary == primary[last]) & (avg_key == avg_key[last]) & (dec_key == dec_key[last])
        chosen = np.zeros(len(slots), bool)
        chosen[order[:limit]] = True
        keep = chosen | boundary
        slots, primary, avg_key, dec_key = slots[keep], primary[keep], avg_key[keep], dec_key[keep]
    return slots, primary, avg_key, dec_key


def _scores(matched_req, required: int, matched_nice, nice: int, average, decided, now_us: int) -> np.ndarray:
    """domain.score for arrays, with the same float operations in the same order (bit-identical)."""
    value = domain.W_REQUIRED * (matched_req / required) if required else np.full(len(matched_req),
                                                                                  float(domain.W_REQUIRED))
    value = value + domain.W_NICE * (matched_nice / nice if nice else 1)
    clipped = np.minimum(np.maximum(average, 0), domain.MAX_AVERAGE)
    value = value + np.where(np.isnan(average), 0.0, domain.W_AVERAGE * (clipped / domain.MAX_AVERAGE))
    known = decided != NO_TIME
    age_seconds = np.where(known, now_us - np.where(known, decided, 0), 0).astype(np.float64) / 1e6
    age_days = np.maximum(age_seconds, 0) / 86400
    recency = np.where(known, np.maximum(0.0, 1 - age_days / domain.RECENCY_DAYS), 0.0)
    value = value + domain.W_RECENCY * recency
    return np.clip(np.rint(value), 0, 100).astype(np.int16)
