"""`make audit` (infra/audit.py): it audits only where a vulnerability database answers with advisories, and
says plainly when none does (exit 0, nothing installed). Probed against local HTTP servers standing in for
PyPI's JSON API: one like a mirror without advisory data (404 per release), one with advisories."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from infra import audit
from infra.embedded_mongo import free_port


def serve(answer):
    class Handler(BaseHTTPRequestHandler):
        def _answer(self):
            status, body = answer(self.path)
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(json.dumps(body).encode())

        do_GET = do_POST = _answer  # noqa: N815

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


@pytest.fixture
def mirror():
    """Like this machine's package index: project pages, no per-release JSON, no advisories."""
    server, url = serve(lambda path: (404, {}) if path.count("/") > 3 else (200, {"vulnerabilities": []}))
    yield url
    server.shutdown()


@pytest.fixture
def advisories():
    server, url = serve(lambda path: (200, {"vulnerabilities": [{"id": "PYSEC-2019-217"}]})
                        if path == "/pypi/jinja2/2.10/json" else (404, {}))
    yield url
    server.shutdown()


def test_no_database_reachable_is_said_plainly_and_exits_0(mirror, capsys):
    closed = f"http://127.0.0.1:{free_port()}"
    assert audit.main(["--pypi-url", mirror, "--osv-url", closed, "--timeout", "2"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("make audit: no vulnerability database is reachable from this machine (")
    assert f"{mirror}/pypi/jinja2/2.10/json answered 404" in out and f"{closed}/v1/query" in out
    assert "nothing was audited" in out and "installing" not in out


def test_a_database_with_advisories_is_chosen(mirror, advisories):
    closed = f"http://127.0.0.1:{free_port()}"
    assert audit.reachable_service(advisories, closed, 2) == ("pypi", [])
    service, reasons = audit.reachable_service(mirror, closed, 2)
    assert service is None and len(reasons) == 2
    osv, osv_url = serve(lambda path: (200, {"vulns": [{"id": "GHSA-462w-v97r-4m45"}]})
                         if path == "/v1/query" else (404, {}))
    empty, empty_url = serve(lambda path: (200, {"vulnerabilities": [], "vulns": []}))
    try:
        assert audit.reachable_service(mirror, osv_url, 2) == ("osv", [f"{mirror}/pypi/jinja2/2.10/json answered 404"])
        assert audit.reachable_service(empty_url, empty_url, 2) == (None, [
            f"{empty_url}/pypi/jinja2/2.10/json lists no advisories for jinja2 2.10",
            f"{empty_url}/v1/query lists no advisories for jinja2 2.10"])
    finally:
        osv.shutdown()
        empty.shutdown()
