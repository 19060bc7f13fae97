"""The raw nameko baseline: a trivial nameko 3 service with one RPC method, nothing of hireloop's shell
(no store, no tracing, no caller check). `python -m bench.echo_service` with RABBIT_URL set."""

import eventlet

eventlet.monkey_patch()

import signal  # noqa: E402

from nameko import config  # noqa: E402
from nameko.rpc import rpc  # noqa: E402
from nameko.runners import ServiceRunner  # noqa: E402

from shared.config import Settings  # noqa: E402


class BenchEcho:
    name = "bench_echo"

    @rpc
    def echo(self, value=None):
        return value


def main() -> None:
    # The same worker and prefetch settings as hireloop's services (shared/bus/runner.py defaults).
    config.setup({"AMQP_URI": Settings.from_env().rabbit_url, "max_workers": 10, "PREFETCH_COUNT": 10,
                  "serializer": "json"})
    runner = ServiceRunner()
    runner.add_service(BenchEcho)
    runner.start()
    done = eventlet.event.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.send(True) if not done.ready() else None)
    print("bench_echo: ready", flush=True)
    done.wait()
    runner.stop()


if __name__ == "__main__":
    main()
