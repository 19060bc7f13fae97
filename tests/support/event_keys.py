"""Event-signing keys for tests that start service processes themselves or publish events by hand.

One key per producer for the whole test session (made in memory, never written anywhere); `env_for(service)`
is what such a process is given, like `make run` gives it (infra/event_keys.py). `signed(...)` builds an
envelope signed by its producer, as the producer's relay would. The `platform` fixture has keys of its own
in its var directory: use `platform_keys(platform)` to sign for it.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from infra.event_keys import DevKeys, ensure_dev_keys
from shared import event_signing
from shared.contracts.common import SERVICES
from shared.contracts.envelope import EventEnvelope


class Keys:
    def __init__(self, signing: dict[str, event_signing.SigningKey]):
        self.signing = signing
        self.dev = DevKeys({s: event_signing.signing_key_text(k) for s, k in signing.items()},
                           ",".join(event_signing.public_key_text(s, k) for s, k in signing.items()))

    def env_for(self, service: str | None) -> dict[str, str]:
        return self.dev.env_for(service)

    def sign(self, envelope: dict[str, Any], producer: str | None = None) -> dict[str, Any]:
        return event_signing.sign_envelope(envelope, self.signing[producer or envelope["producer"]])

    def signed(self, producer: str, event_type: str, payload: dict, **fields: Any) -> dict[str, Any]:
        """A JSON envelope as `producer` would publish it."""
        envelope = EventEnvelope(type=event_type, producer=producer, payload=payload, **fields)
        return self.sign(envelope.model_dump(mode="json"))


@lru_cache(maxsize=1)
def session_keys() -> Keys:
    return Keys({s: event_signing.generate(f"{s}-test") for s in SERVICES})


def platform_keys(var_dir: Path) -> Keys:
    """The keys a platform started by infra.run made in `var_dir`/keys (the launcher's own)."""
    ensure_dev_keys(var_dir / "keys", SERVICES)  # already there: only read
    return Keys({s: event_signing.parse_signing_key((var_dir / "keys" / f"{s}.key").read_text().strip())
                 for s in SERVICES})
