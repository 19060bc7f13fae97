import eventlet

eventlet.monkey_patch()

from services.talent_pool.service import TalentPoolService  # noqa: E402
from shared.bus.runner import run_service  # noqa: E402

run_service(TalentPoolService)
