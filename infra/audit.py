"""`make audit`: pip-audit over this environment's packages, where a vulnerability database is reachable.

    python -m infra.audit [-- pip-audit options...]

pip-audit asks PyPI's advisory data (`/pypi/<name>/<version>/json`) or OSV (api.osv.dev) about each
installed package. Before anything, one request for a release with known advisories (Jinja2 2.10) tells
whether either answers with advisories: a machine behind a mirror or without internet gets a plain
sentence and exit code 0 instead of an audit that "passes" because nothing was looked up. pip-audit is
installed on first use (not part of the dev dependencies).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import subprocess
import sys
import urllib.error
import urllib.request

PYPI_URL = "https://pypi.org"
OSV_URL = "https://api.osv.dev"
PROBE = ("jinja2", "2.10")  # a release with published advisories (e.g. CVE-2019-10906)
PIP_AUDIT = "pip-audit>=2.7,<3"


def _get_json(request: urllib.request.Request, timeout: float) -> dict:
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - https or a test's URL
        return json.loads(response.read())


def probe_pypi(base: str, timeout: float) -> str | None:
    """None when PyPI's JSON API at `base` answers with advisories; else why not, in a few words."""
    name, version = PROBE
    url = f"{base.rstrip('/')}/pypi/{name}/{version}/json"
    try:
        data = _get_json(urllib.request.Request(url), timeout)
    except urllib.error.HTTPError as exc:
        return f"{url} answered {exc.code}"
    except (OSError, ValueError) as exc:
        return f"{url}: {getattr(exc, 'reason', exc)}"
    return None if data.get("vulnerabilities") else f"{url} lists no advisories for {name} {version}"


def probe_osv(base: str, timeout: float) -> str | None:
    """None when OSV at `base` answers with advisories; else why not."""
    name, version = PROBE
    url = f"{base.rstrip('/')}/v1/query"
    body = json.dumps({"package": {"name": name, "ecosystem": "PyPI"}, "version": version}).encode()
    try:
        data = _get_json(urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"}),
                         timeout)
    except urllib.error.HTTPError as exc:
        return f"{url} answered {exc.code}"
    except (OSError, ValueError) as exc:
        return f"{url}: {getattr(exc, 'reason', exc)}"
    return None if data.get("vulns") else f"{url} lists no advisories for {name} {version}"


def reachable_service(pypi: str, osv: str, timeout: float) -> tuple[str | None, list[str]]:
    """("pypi" | "osv" | None, the reasons each one failed)."""
    reasons = []
    for service, probe, base in (("pypi", probe_pypi, pypi), ("osv", probe_osv, osv)):
        reason = probe(base, timeout)
        if reason is None:
            return service, reasons
        reasons.append(reason)
    return None, reasons


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.audit", description=__doc__.splitlines()[0])
    parser.add_argument("--pypi-url", default=PYPI_URL, help=f"PyPI's JSON API (default {PYPI_URL})")
    parser.add_argument("--osv-url", default=OSV_URL, help=f"OSV's API (default {OSV_URL})")
    parser.add_argument("--timeout", type=float, default=5.0, help="seconds per probe (default 5)")
    args, extra = parser.parse_known_args(argv)
    service, reasons = reachable_service(args.pypi_url, args.osv_url, args.timeout)
    if service is None:
        print("make audit: no vulnerability database is reachable from this machine (" + "; ".join(reasons)
              + "), so nothing was audited; run `make audit` where PyPI or OSV can be reached.")
        return 0
    if importlib.util.find_spec("pip_audit") is None:
        print(f"make audit: installing {PIP_AUDIT} into this environment (once)", flush=True)
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", PIP_AUDIT], check=True)
    print(f"make audit: pip-audit against {service} (the project itself, installed editable, is skipped)",
          flush=True)
    command = [sys.executable, "-m", "pip_audit", "--vulnerability-service", service, "--skip-editable",
               "--progress-spinner", "off", *[a for a in extra if a != "--"]]
    return subprocess.run(command).returncode


if __name__ == "__main__":
    sys.exit(main())
