import eventlet

eventlet.monkey_patch()

from services.sourcing.service import SourcingService  # noqa: E402
from shared.bus.runner import run_service  # noqa: E402

run_service(SourcingService)
