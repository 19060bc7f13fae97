"""What a hot path asks of MongoDB: every command counted, and every query checked for an index.

The embedded store (secantusdb) scans a whole collection for `findAndModify`, `$or` and any filter none of
whose fields leads an index, so such a query on the intake path costs more with every stored application.
`Recorder` is a pymongo command listener (give it to a MongoClient's `event_listeners`); `unindexed` lists
the recorded queries no index serves."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from pymongo import monitoring

QUERY_OF = {"find": "filter", "count": "query", "distinct": "query"}


@dataclass
class Query:
    database: str
    collection: str
    command: str
    filter: dict


class CommandLog(monitoring.CommandListener):
    """Every command sent, in order, as (command name, its collection): what a handler's budget test asserts."""

    def __init__(self):
        self.sent: list[tuple[str, str]] = []

    @property
    def names(self) -> list[str]:
        return [name for name, _ in self.sent]

    def clear(self) -> None:
        self.sent.clear()

    def started(self, event):
        self.sent.append((event.command_name, str(event.command.get(event.command_name))))

    def succeeded(self, event):
        pass

    def failed(self, event):
        pass


@dataclass
class Recorder(monitoring.CommandListener):
    commands: Counter = field(default_factory=Counter)
    queries: list[Query] = field(default_factory=list)
    recording: bool = True

    def started(self, event):
        if not self.recording or event.command_name in ("endSessions", "isMaster", "hello", "ping", "explain"):
            return
        self.commands[event.command_name] += 1
        cmd, name = event.command, event.command_name
        if name in QUERY_OF:
            self.queries.append(Query(event.database_name, cmd[name], name, cmd.get(QUERY_OF[name]) or {}))
        elif name in ("update", "delete"):
            key = "updates" if name == "update" else "deletes"
            for statement in cmd.get(key) or []:
                self.queries.append(Query(event.database_name, cmd[name], name, statement.get("q") or {}))
        elif name == "findAndModify":
            self.queries.append(Query(event.database_name, cmd[name], name, {"$findAndModify": True}))
        elif name == "aggregate":
            first = (cmd.get("pipeline") or [{}])[0]
            self.queries.append(Query(event.database_name, cmd[name], name, first.get("$match") or {}))

    def succeeded(self, event):
        pass

    def failed(self, event):
        pass

    def total(self) -> int:
        return sum(self.commands.values())

    def reset(self) -> None:
        self.commands.clear()
        self.queries.clear()


def _fields(query: dict) -> set[str] | None:
    """The top-level fields a filter constrains; None when it cannot use an index as a whole ($or, $nor)."""
    found: set[str] = set()
    for key, value in query.items():
        if key in ("$or", "$nor", "$where", "$expr", "$findAndModify"):
            return None
        if key == "$and":
            for part in value:
                inner = _fields(part)
                if inner is None:
                    return None
                found |= inner
        elif not key.startswith("$"):
            found.add(key)
    return found


def unindexed(client, queries: list[Query]) -> list[Query]:
    """The queries no index serves: none of their fields leads an index of their collection (`_id` always
    does), or a shape the embedded store always scans ($or, findAndModify)."""
    leading: dict[tuple[str, str], set[str]] = {}
    bad = []
    for q in queries:
        key = (q.database, q.collection)
        if key not in leading:
            info = client[q.database][q.collection].index_information()
            leading[key] = {spec["key"][0][0] for spec in info.values()} | {"_id"}
        fields = _fields(q.filter)
        if fields is None or not fields & leading[key]:
            bad.append(q)
    return bad
