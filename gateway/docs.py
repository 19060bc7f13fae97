"""The API's documentation pages, /docs (Swagger UI) and /redoc, served without any CDN.

The scripts and styles come from the `fastapi-offline` package (Swagger UI 5 and ReDoc 2, which read the
OpenAPI 3.1 document FastAPI writes), mounted at /docs-assets: the pages work offline and load nothing
from another origin. /docs carries a Content-Security-Policy of its own: same-origin only, and its one
inline script allowed by its hash (otherwise the console's policy, which allows no inline script).
"""

from __future__ import annotations

import base64
import hashlib
import re
from importlib.resources import files

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS = "/docs-assets"
ASSETS_DIR = str(files("fastapi_offline") / "static")
_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.S)


def _csp(html: str) -> str:
    hashes = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(script.encode()).digest()).decode() + "'"
        for script in _INLINE_SCRIPT.findall(html))
    # The console's policy but for the one inline script (Swagger UI 5 renders with no inline style: checked in
    # Chromium, expanding operations and "Try it out", with no policy violation).
    return (f"default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self' {hashes}; "
            "connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")


def install(app: FastAPI) -> None:
    """Call with an app made with `docs_url=None, redoc_url=None` (FastAPI's own pages load from a CDN)."""
    app.mount(ASSETS, StaticFiles(directory=ASSETS_DIR), name="docs-assets")
    title = app.title

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        page = get_swagger_ui_html(openapi_url=app.openapi_url, title=f"{title} - Swagger UI",
                                   oauth2_redirect_url=app.swagger_ui_oauth2_redirect_url,
                                   swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
                                   swagger_css_url=f"{ASSETS}/swagger-ui.css",
                                   swagger_favicon_url=f"{ASSETS}/favicon.png")
        html = page.body.decode()
        return HTMLResponse(html, headers={"Content-Security-Policy": _csp(html), "X-Content-Type-Options": "nosniff",
                                           "Referrer-Policy": "same-origin"})

    @app.get(app.swagger_ui_oauth2_redirect_url, include_in_schema=False)
    async def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @app.get("/redoc", include_in_schema=False)
    async def redoc() -> HTMLResponse:
        return get_redoc_html(openapi_url=app.openapi_url, title=f"{title} - ReDoc",
                              redoc_js_url=f"{ASSETS}/redoc.standalone.js", redoc_favicon_url=f"{ASSETS}/favicon.png",
                              with_google_fonts=False)
