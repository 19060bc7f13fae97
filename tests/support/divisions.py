"""Registered divisions for tests: since issue 20 requisitions, API keys and policies may name only a division
with a record (sourcing). The names most tests use are registered at start-up (`FIXED`, through HIRELOOP_DIVISIONS
on the test platform, and by the sourcing shell fixtures); a test that makes up its own division registers it."""

from __future__ import annotations

# The fixed division names of the suites (a test with a name of its own registers it with `register_over_api`).
FIXED = ("retail", "logistics", "bakery", "finance", "office", "warehouse", "surveys", "retention", "other",
         "elsewhere", "faults", "consent", "consent-other", "atrest", "erasure", "observatory", "careers-e2e",
         "signed-events", "fuzzing", "replay-target", "doc-check", "dd-alpha", "dd-beta", "cw-portal", "cw-screen",
         "cw-screen-fast", "cw-silent", "tenant-a", "tenant-b", "audit-a", "audit-b", "replay-other", "d", "x")


def fixed_env() -> dict[str, str]:
    """The platform's environment that registers `FIXED` at start-up."""
    return {"HIRELOOP_DIVISIONS": ",".join(FIXED)}


def register(store, *division_ids: str):
    """In a sourcing store (shell tests), the way HIRELOOP_DIVISIONS does at start-up; default: `FIXED`."""
    from shared.config import Settings

    store.ensure_indexes()  # as the service's Store dependency does first (idempotent)
    store.bootstrap(Settings(divisions=division_ids or FIXED))
    return store


def register_over_api(admin, *division_ids: str, **fields) -> None:
    """On a running platform, as group HR would (POST /v1/divisions with an admin client); already there is fine."""
    for division_id in division_ids:
        made = admin.post("/v1/divisions", json={"id": division_id, "name": fields.get("name", division_id),
                                                 **{k: v for k, v in fields.items() if k != "name"}})
        assert made.status_code == 201 or (
            made.status_code == 409 and made.json()["error"]["code"] == "division_exists"), made.text
