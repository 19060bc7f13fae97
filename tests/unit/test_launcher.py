"""infra.run's Supervisor: a process of `make run` that exits is started again, with backoff, and said so.

Real child processes (a Python one-liner that exits with code 3) under a real Platform; only the clock is
injected, so the backoff schedule is checked without waiting for it."""

from __future__ import annotations

import os

from infra.run import RESTART_MAX_DELAY, RESTART_STABLE_AFTER, Platform, Supervisor

CRASH = ["-c", "raise SystemExit(3)"]


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def crashing_platform(tmp_path):
    platform = Platform(tmp_path, dict(os.environ))
    platform._spawn("crasher", CRASH)
    return platform


def test_an_exited_process_is_started_again_after_a_delay_that_doubles_up_to_the_cap(tmp_path):
    platform = crashing_platform(tmp_path)
    clock, said, stopping = Clock(), [], False
    supervisor = Supervisor(platform, lambda: stopping, said.append, clock)
    pids, delays = [platform.process("crasher").pid], []
    for _ in range(7):
        platform.process("crasher").wait(10)
        supervisor.check()
        assert said[-1].startswith("hireloop: crasher exited with code 3; restarting it in ")
        assert said[-1].endswith(f"(log: {tmp_path / 'log' / 'crasher'}.log)")
        delay = float(said[-1].split(" in ")[1].split(" s ")[0])
        delays.append(delay)
        clock.now += delay - 0.1
        supervisor.check()
        assert platform.process("crasher").pid == pids[-1], "started again before its delay"
        clock.now += 0.1
        supervisor.check()
        assert platform.process("crasher").pid != pids[-1]
        pids.append(platform.process("crasher").pid)
    assert delays == [1, 2, 4, 8, 16, 30, 30] and RESTART_MAX_DELAY == 30
    assert len(said) == 7  # one line per exit, nothing else
    platform.stop()


def test_a_process_that_stayed_up_a_while_is_restarted_after_the_first_delay_again(tmp_path):
    platform = crashing_platform(tmp_path)
    clock, said = Clock(), []
    supervisor = Supervisor(platform, lambda: False, said.append, clock)
    for expected in (1, 2, 4):
        platform.process("crasher").wait(10)
        supervisor.check()
        assert said[-1].split(" in ")[1].startswith(f"{expected} s ")
        clock.now += expected
        supervisor.check()
    platform.process("crasher").wait(10)
    clock.now += RESTART_STABLE_AFTER  # it "stayed up" a minute before this exit
    supervisor.check()
    assert said[-1].split(" in ")[1].startswith("1 s ")
    platform.stop()


def test_nothing_is_started_once_the_launcher_is_stopping(tmp_path):
    platform = crashing_platform(tmp_path)
    clock, said, stopping = Clock(), [], []
    supervisor = Supervisor(platform, lambda: bool(stopping), said.append, clock)
    first = platform.process("crasher")
    first.wait(10)
    supervisor.check()
    stopping.append(True)  # Ctrl-C / SIGTERM arrived during the delay
    clock.now += 60
    supervisor.check()
    assert platform.process("crasher") is first and first.poll() is not None
    assert len(said) == 1
    platform.stop()


def test_pids_are_written_for_operators_and_tests(tmp_path):
    import json

    platform = crashing_platform(tmp_path)
    assert json.loads((tmp_path / "pids.json").read_text()) == {"crasher": platform.process("crasher").pid}
    platform.process("crasher").wait(10)
    platform.start_process("crasher")
    assert json.loads((tmp_path / "pids.json").read_text()) == {"crasher": platform.process("crasher").pid}
    platform.stop()
    assert not (tmp_path / "pids.json").exists()
