"""Runs one service class as one process: `python -m services.<name>` calls `run_service`.

The caller must have run `eventlet.monkey_patch()` before importing anything else (see each
service's `__main__.py`). The process's Settings are made here, once, and handed to nameko's container
config (shared/bus/configured.py). SIGTERM/SIGINT stop taking new work and let in-flight workers finish,
within a grace period (SHUTDOWN_GRACE); whatever is unacked then goes back to the queue.
"""

from __future__ import annotations

import logging
import os
import signal
import warnings

import eventlet
from nameko import config
from nameko.runners import ServiceRunner

from shared import crypto, tracing
from shared.bus import topology
from shared.bus.configured import nameko_config
from shared.bus.observe import install_tracing, start_metrics_server
from shared.config import Settings
from shared.logs import setup_logging

log = logging.getLogger("hireloop.runner")
__all__ = ["nameko_config", "run_service"]


def use_predeclared_rpc_exchange() -> None:
    """nameko declares `nameko-rpc` wherever it uses it (its RPC consumer, reply listener, replies), which needs
    configure permission on it, i.e. the right to delete it. With the topology imported by the operator
    (BROKER_TOPOLOGY=predeclared), it is used as it is."""
    import nameko.rpc
    from kombu import Exchange

    nameko.rpc.get_rpc_exchange = lambda: Exchange(topology.RPC_EXCHANGE, type="topic", durable=True,
                                                   no_declare=True)


def run_service(service_cls, settings: Settings | None = None) -> None:
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    settings = settings or Settings.from_env()  # the one read of the environment in a service process
    setup_logging(service_cls.name, settings.log_level)
    # before the store's MongoClient exists: its listeners are fixed then
    install_tracing(service_cls.name, settings)
    crypto.configure(settings)
    config.setup(nameko_config(settings))
    if settings.predeclared_topology:
        use_predeclared_rpc_exchange()
    else:
        topology.declare(settings.rabbit_url)

    runner = ServiceRunner()
    runner.add_service(service_cls)
    stopping = eventlet.event.Event()

    def shutdown(signum, _frame):
        if stopping.ready():
            return
        log.info("stopping", extra={"signal": signum})
        stopping.send(True)

    signal.signal(signal.SIGTERM, shutdown)
    signal.signal(signal.SIGINT, shutdown)

    runner.start()
    port = settings.metrics_port
    if port:
        start_metrics_server(port)
    log.info("started", extra={"instance": os.getpid(), "metrics_port": port})
    runner_done = eventlet.spawn(runner.wait)
    eventlet.spawn(lambda: (stopping.wait(), runner_done.kill()))
    try:
        runner_done.wait()
    except eventlet.greenlet.GreenletExit:
        pass
    # Graceful: stop consumers and let running workers finish; kill what is left after the grace period.
    stopper = eventlet.spawn(runner.stop)
    with eventlet.Timeout(settings.shutdown_grace, False):
        stopper.wait()
        log.info("stopped")
        tracing.shutdown()  # flush the last spans
        return
    log.warning("grace period over, killing remaining workers")
    runner.kill()
    tracing.shutdown()
