import eventlet

eventlet.monkey_patch()

from services.notification.service import NotificationService  # noqa: E402
from shared.bus.runner import run_service  # noqa: E402

run_service(NotificationService)
