"""What may import what, read from the source (every import statement, also those inside functions).

- Domains and the pure shared rules they use never reach the bus or any I/O client: a domain module's
  whole import closure holds no `shared.bus` module and none of nameko, eventlet, kombu, pymongo, redis,
  aio-pika, httpx or FastAPI (e.g. sourcing's domain once reached `shared/bus/dlq.py` through
  `shared/erasure.py`).
- Business rules stay out of the bus package: it may use them, they never import it.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
IO_PACKAGES = ("nameko", "eventlet", "kombu", "pymongo", "redis", "aio_pika", "aiormq", "httpx", "fastapi",
               "starlette", "amqp")
# shared/errors.py registers the error family with nameko's (de)serialiser so errors cross the bus intact:
# a decorator of exception classes, no connection, no I/O.
WIRE_ONLY = {"nameko.exceptions"}
PURE = sorted([*(f"services.{p.parent.name}.domain" for p in ROOT.glob("services/*/domain.py")),
               "shared.erasure", "shared.policy", "shared.skills", "shared.errors", "shared.contracts.common",
               "shared.documents", "services.sourcing.cv_reading", "services.notification.calendar",
               "shared.offer_letter", "shared.interview_time", "services.notification.chat"])


def _path(module: str) -> Path | None:
    base = ROOT.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.exists():
            return candidate
    return None


@cache
def imports_of(module: str) -> frozenset[str]:
    path = _path(module)
    if path is None:
        return frozenset()
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, *([base] if base else [])])
            found.add(base)
            found.update(f"{base}.{a.name}" for a in node.names if _path(f"{base}.{a.name}"))
    return frozenset(found)


def closure(module: str) -> set[str]:
    seen, todo = set(), [module]
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        todo.extend(m for m in imports_of(current) if _path(m))  # project modules only are followed
        seen.update(m for m in imports_of(current) if not _path(m))
    return seen


@pytest.mark.parametrize("module", PURE)
def test_domains_and_pure_rules_reach_neither_the_bus_nor_io(module):
    reached = closure(module)
    assert not {m for m in reached if m == "shared.bus" or m.startswith("shared.bus.")}, module
    assert not {m for m in reached if m.split(".")[0] in IO_PACKAGES} - WIRE_ONLY, module


def test_the_closure_sees_imports_inside_functions():
    # the check above must not be blind to a lazy import (the erasure -> dlq chain was one)
    assert "shared.bus.dlq" in closure("shared.bus.nameko_ext")
    assert "nameko" in closure("shared.bus.nameko_ext")
