"""Single sign-on to the console with the company's OpenID Connect provider, through authlib's Starlette client
(authorization code flow with state and nonce; the ID token's signature checked against the provider's keys).

authlib keeps a flow's state in `request.session`; the console has no cookie session of that kind, so each
flow's state lives in Redis for ten minutes under a random id held in an HttpOnly cookie scoped to the sign-in
paths (SameSite=Lax: the provider's redirect back is a top-level navigation from its site). A callback
without that cookie, or with a state not begun in this browser, signs nobody in.

Who signs in: the active (or invited: single sign-on proves the address) user whose email is the token's
`email` claim with `email_verified` true. Everyone else is refused with one message.
"""

from __future__ import annotations

import json
import secrets
from typing import Any

from fastapi import Request
from fastapi.responses import Response

from shared.config import Settings

FLOW_COOKIE = "hireloop_sso"
FLOW_SECONDS = 600
CALLBACK = "/console/login/oidc/callback"
DISCOVERY = "/.well-known/openid-configuration"


class SsoRefused(Exception):
    pass


def configured(settings: Settings) -> bool:
    return bool(settings.oidc_metadata_url and settings.oidc_client_id)


class SingleSignOn:
    def __init__(self, settings: Settings, redis):
        self.settings = settings
        self.redis = redis
        metadata = settings.oidc_metadata_url.rstrip("/")
        if not metadata.endswith(DISCOVERY):
            metadata += DISCOVERY
        # Imported here: only a gateway with single sign-on configured loads authlib (and its httpx warning).
        from authlib.integrations.starlette_client import OAuth

        self.oauth = OAuth()
        self.client = self.oauth.register("company", server_metadata_url=metadata,
                                          client_id=settings.oidc_client_id,
                                          client_secret=settings.oidc_client_secret or None,
                                          client_kwargs={"scope": "openid email profile"})

    def _key(self, flow: str) -> str:
        return self.settings.redis_key("console", "sso", flow)

    @property
    def redirect_uri(self) -> str:
        return self.settings.public_url.rstrip("/") + CALLBACK

    async def start(self, request: Request, next_path: str, cookie: dict[str, Any]) -> Response:
        """The redirect to the provider; the flow's state kept for the callback."""
        request.scope["session"] = {}
        response = await self.client.authorize_redirect(request, self.redirect_uri)
        flow = secrets.token_urlsafe(32)
        await self.redis.set(self._key(flow), json.dumps({"session": request.scope["session"], "next": next_path}),
                             ex=FLOW_SECONDS)
        response.set_cookie(FLOW_COOKIE, flow, max_age=FLOW_SECONDS,
                            **{**cookie, "samesite": "lax", "path": "/console/login"})
        return response

    async def finish(self, request: Request) -> tuple[dict, str]:
        """The verified claims of the person the provider sent back, and where they were going. Each flow is
        finished once (its state is taken from Redis); SsoRefused when it cannot be."""
        flow = request.cookies.get(FLOW_COOKIE) or ""
        raw = await self.redis.getdel(self._key(flow)) if 0 < len(flow) <= 100 else None
        if raw is None:
            raise SsoRefused("this sign-in was not started here, or took too long")
        stored = json.loads(raw)
        request.scope["session"] = stored["session"]
        from authlib.integrations.base_client import OAuthError
        from authlib.jose.errors import JoseError

        try:
            token = await self.client.authorize_access_token(request)
        except (OAuthError, JoseError, ValueError, KeyError) as exc:
            raise SsoRefused(f"the provider's answer was refused: {exc}") from None
        claims = token.get("userinfo") or {}
        return dict(claims), stored.get("next") or ""
