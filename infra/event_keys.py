"""Development event-signing keys (shared/event_signing.py): one Ed25519 key per service, made once under
`var/keys/` by `make run` and kept, so a restarted platform still accepts the events it published before.

    var/keys/<service>.key   the service's HIRELOOP_EVENT_SIGNING_KEY (mode 0600; only that service gets it)
    var/keys/public-keys     HIRELOOP_EVENT_PUBLIC_KEYS: every service's public key (derived, rewritten)

Production keys come from the operator's secret store instead (docs/security.md).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from shared import event_signing


@dataclass(frozen=True)
class DevKeys:
    signing: dict[str, str]  # service -> HIRELOOP_EVENT_SIGNING_KEY
    public: str  # HIRELOOP_EVENT_PUBLIC_KEYS

    def env_for(self, service: str | None) -> dict[str, str]:
        """What one process is given: its own private key (none for the gateway) and all public keys."""
        env = {event_signing.PUBLIC_KEYS_VAR: self.public}
        if service is not None:
            env[event_signing.SIGNING_KEY_VAR] = self.signing[service]
        return env


def ensure_dev_keys(keys_dir: Path, services: Iterable[str]) -> DevKeys:
    keys_dir.mkdir(parents=True, exist_ok=True)
    keys_dir.chmod(0o700)
    signing: dict[str, str] = {}
    public: list[str] = []
    for service in services:
        path = keys_dir / f"{service}.key"
        if not path.exists():
            key = event_signing.generate(f"{service}-dev-{secrets.token_hex(4)}")
            path.touch(mode=0o600)
            path.write_text(event_signing.signing_key_text(key) + "\n")
        text = path.read_text().strip()
        key = event_signing.parse_signing_key(text, str(path))
        signing[service] = text
        public.append(event_signing.public_key_text(service, key))
    public_text = ",".join(public)
    (keys_dir / "public-keys").write_text(public_text + "\n")
    return DevKeys(signing, public_text)
