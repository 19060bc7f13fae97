"""Under `make run`, a service process that dies comes back by itself: the launcher starts it again after a
short delay, says so in one line, and the platform is ready again. Killed here: one of the shared platform's
two screening replicas (the other keeps serving, so the tests around this one are not disturbed)."""

from __future__ import annotations

import json
import os
import re
import signal

import httpx
import pytest

from tests.support.waiting import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.integration]


def _pids(platform) -> dict[str, int]:
    return json.loads((platform.var_dir / "pids.json").read_text())


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False


def _rpc_consumers(platform, service: str) -> float:
    text = httpx.get(f"{platform.base_url}/metrics", timeout=10).text
    match = re.search(r'^hireloop_queue_consumers\{([^}]*)\} ([\d.]+)$', "\n".join(
        line for line in text.splitlines() if f'service="{service}"' in line and 'role="rpc"' in line), re.M)
    return float(match.group(2)) if match else -1


def test_a_killed_service_process_is_started_again_by_the_launcher(platform):
    before = _pids(platform)
    victim = before["screening-2"]
    assert _alive(victim) and _rpc_consumers(platform, "screening") == 2
    started_lines = platform.log("screening-2").count('"msg": "started"')

    os.kill(victim, signal.SIGKILL)

    launcher = platform.var_dir / "launcher.log"
    line = wait_for(lambda: next((x for x in launcher.read_text(errors="replace").splitlines()
                                  if x.startswith("hireloop: screening-2 exited")), None),
                    bool, timeout=30, what="the launcher's line about screening-2")
    assert line.startswith("hireloop: screening-2 exited with code -9 (SIGKILL); restarting it in 1 s (log: ")
    after = wait_for(lambda: _pids(platform), lambda p: p["screening-2"] != victim, timeout=30,
                     what="screening-2 started again")
    assert _alive(after["screening-2"]) and not _alive(victim)
    assert {k: v for k, v in after.items() if k != "screening-2"} == {
        k: v for k, v in before.items() if k != "screening-2"}, "only the killed process was started again"
    wait_for(lambda: platform.log("screening-2").count('"msg": "started"'), lambda n: n > started_lines,
             timeout=60, what="screening-2 serving again")
    wait_for(lambda: _rpc_consumers(platform, "screening"), lambda n: n == 2, timeout=60,
             what="two screening consumers again")
    ready = httpx.get(f"{platform.base_url}/readyz", timeout=10)
    assert ready.status_code == 200 and ready.json()["status"] == "ready"
    assert platform.proc.poll() is None, "the launcher itself kept running"
