"""py-spy profiles of platform processes while a benchmark runs: a flamegraph SVG and the collapsed
stacks (text), plus a short "top functions by own samples" summary that the results quote."""

from __future__ import annotations

import collections
import shutil
import subprocess
import sys
from pathlib import Path

PROFILES = Path(__file__).resolve().parent / "profiles"


def py_spy() -> str | None:
    return shutil.which("py-spy", path=str(Path(sys.executable).parent)) or shutil.which("py-spy")


class Profiler:
    """`with Profiler({"gateway": pid}, "read", seconds=8):` records each pid for `seconds` (or until the
    block ends) into bench/profiles/<name>-<label>.{svg,txt}."""

    def __init__(self, pids: dict[str, int], name: str, seconds: float, enabled: bool = True):
        self.pids, self.name, self.seconds = pids, name, seconds
        self.exe = py_spy() if enabled else None
        self.procs: list[tuple[str, subprocess.Popen, Path]] = []

    def __enter__(self) -> Profiler:
        if not self.exe:
            return self
        PROFILES.mkdir(exist_ok=True)
        for label, pid in self.pids.items():
            base = PROFILES / f"{self.name}-{label}"
            raw = base.with_suffix(".txt")
            # Raw (collapsed) stacks: a flamegraph is drawn from them afterwards, and they can be grepped.
            cmd = [self.exe, "record", "--pid", str(pid), "--duration", str(int(self.seconds)), "--rate", "50",
                   "--format", "raw", "--output", str(raw), "--nonblocking"]
            self.procs.append((label, subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
                               base))
        return self

    def __exit__(self, *exc) -> None:
        for _, proc, _ in self.procs:
            try:
                proc.wait(self.seconds + 30)  # py-spy runs for `seconds`, whatever the block took
            except subprocess.TimeoutExpired:
                proc.terminate()
                proc.wait()

    def top(self, n: int = 12) -> dict[str, list]:
        """Per process: the functions with the most samples anywhere on the stack (inclusive), in percent."""
        found = {}
        for label, _, base in self.procs:
            raw = base.with_suffix(".txt")
            if raw.exists():
                ours = ("secantus/",) if label == "mongo" else ("gateway/", "services/", "shared/")
                found[label] = top_functions(raw.read_text(), n, ours)
        return found


def _frame(f: str) -> str:
    """`func (path/file.py:123)` -> `func (path/file.py)`."""
    name, _, where = f.partition(" (")
    return f"{name} ({where.rsplit(':', 1)[0]})" if where else name


def top_functions(collapsed: str, n: int, ours: tuple[str, ...] = ("gateway/", "services/", "shared/")) -> dict:
    """`own`: where the samples were (leaf frames); `ours`: hireloop's own functions anywhere on the stack,
    inclusive (what in our code the time is spent under). Percent of the process's active samples."""
    own: collections.Counter = collections.Counter()
    inclusive: collections.Counter = collections.Counter()
    total = 0
    for line in collapsed.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        c = int(count)
        total += c
        frames = [_frame(f) for f in stack.split(";")]
        own[frames[-1]] += c
        for frame in set(frames):
            if any(f"({p}" in frame or f"/{p}" in frame for p in ours):
                inclusive[frame] += c
    if not total:
        return {}
    pct = lambda items: [(frame, round(100 * c / total, 1)) for frame, c in items]  # noqa: E731
    return {"samples": total, "own": pct(own.most_common(n)), "ours": pct(inclusive.most_common(n))}
