"""The process's Settings inside nameko: made once by the runner (shared/bus/runner.py), put in nameko's
container config with the few keys nameko reads itself (`nameko_config`), and taken from there by every
extension at setup (`container_settings`), by workers as `self.settings` (`ServiceSettings`, on ServiceBase),
and by timers whose interval is a setting (`configured_timer`)."""

from __future__ import annotations

from nameko import config
from nameko.extensions import DependencyProvider
from nameko.timer import Timer

from shared.config import Settings

SETTINGS_KEY = "HIRELOOP_SETTINGS"


def nameko_config(settings: Settings) -> dict:
    return {
        "AMQP_URI": settings.rabbit_url,
        "max_workers": settings.max_workers,
        "PREFETCH_COUNT": settings.max_workers,
        "serializer": "json",
        "HEARTBEAT": 30,
        SETTINGS_KEY: settings,
    }


def container_settings() -> Settings:
    settings = config.get(SETTINGS_KEY)
    if not isinstance(settings, Settings):
        raise RuntimeError("nameko's config holds no hireloop Settings: run services with "
                           "shared.bus.runner.run_service, or config.setup(nameko_config(settings)) first")
    return settings


class ServiceSettings(DependencyProvider):
    """`self.settings` in a worker: the process's Settings (tests give their own to worker_factory)."""

    def setup(self):
        self.settings = container_settings()

    def get_dependency(self, worker_ctx):
        return self.settings


class ConfiguredTimer(Timer):
    """nameko's timer with its interval a setting, read when the service starts (not when the module is
    imported): `@configured_timer("retention_sweep_seconds")`."""

    def __init__(self, setting: str, **kwargs):
        if not isinstance(getattr(Settings(), setting, None), int | float):
            raise ValueError(f"no setting {setting!r} of seconds")
        self.setting = setting
        super().__init__(interval=None, **kwargs)

    def setup(self):
        self.interval = getattr(container_settings(), self.setting)
        super().setup()


configured_timer = ConfiguredTimer.decorator
