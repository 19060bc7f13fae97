"""The gateway's own pages, in process and with no broker, Redis or database: /docs works offline (every
asset it loads is this gateway's and answers), / leads to the console, and a console page that does not
exist is an HTML page in the console's look, not the API's JSON."""

from __future__ import annotations

import base64
import hashlib
import re
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient

from gateway.app import create_app


@pytest.fixture(scope="module")
def client():
    # No `with`: the lifespan (Redis, Mongo, RabbitMQ connections) never runs; these pages need none of it.
    return TestClient(create_app(), follow_redirects=False)


class Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.urls += [value for name, value in attrs if name in ("src", "href", "spec-url") and value]


def _loaded_by(html: str) -> list[str]:
    parser = Links()
    parser.feed(html)
    # The inline script's `url: '/openapi.json'` is loaded too.
    return parser.urls + re.findall(r"""\burl:\s*['"]([^'"]+)['"]""", html)


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_the_api_docs_load_only_same_origin_assets_and_each_answers(client, page):
    response = client.get(page)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    assert "cdn" not in response.text.lower()
    urls = _loaded_by(response.text)
    assert any(u.endswith(".js") for u in urls) and "/openapi.json" in urls
    if page == "/docs":
        assert any(u.endswith(".css") for u in urls)
    for url in urls:
        parts = urlsplit(url)
        assert not parts.scheme and not parts.netloc and url.startswith("/"), f"{page} loads {url} from elsewhere"
        asset = client.get(url)
        assert asset.status_code == 200 and len(asset.content) > 100, url
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", response.text)


def test_the_docs_page_policy_allows_its_inline_script_and_nothing_from_elsewhere(client):
    response = client.get("/docs")
    policy = response.headers["content-security-policy"]
    inline = re.findall(r"<script>(.*?)</script>", response.text, re.S)
    assert len(inline) == 1
    digest = base64.b64encode(hashlib.sha256(inline[0].encode()).digest()).decode()
    script_src = next(d for d in policy.split(";") if d.strip().startswith("script-src")).split()[1:]
    assert script_src == ["'self'", f"'sha256-{digest}'"]
    assert "default-src 'self'" in policy and "style-src 'self';" in policy
    assert "http" not in policy and "*" not in policy and "unsafe" not in policy


def test_the_root_leads_to_the_console(client):
    response = client.get("/")
    assert response.status_code in (302, 303, 307) and response.headers["location"] == "/console"


@pytest.mark.parametrize("path", ["/console/does-not-exist", "/console/requisitions/r1/nothing-here"])
def test_an_unknown_console_page_is_an_html_404_in_the_consoles_look(client, path):
    response = client.get(path)
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert '<link rel="stylesheet" href="/static/hireloop.css">' in response.text  # the console's layout
    assert 'class="console"' in response.text and "Not found" in response.text
    assert "default-src 'self'" in response.headers["content-security-policy"]
    assert '"error"' not in response.text


def test_an_unknown_api_path_stays_a_json_404(client):
    response = client.get("/v1/does-not-exist")
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
