"""An application as sourcing answers `get_application` (shared/contracts/sourcing.py `Application`), for
stand-ins of sourcing: complete, so it passes the declaration's checks like a real answer."""

from __future__ import annotations

from typing import Any

from shared.contracts.sourcing import Application


def application(**fields: Any) -> dict[str, Any]:
    """A received basic application in retail; `fields` replace any of it (an unknown one is an error)."""
    status = fields.get("status", "received")
    view = {
        "id": "app_1", "requisition_id": "req_1", "requisition_title": "Barista", "candidate_id": "cand_1",
        "division": "retail", "department": "stores", "tier": "basic", "urgent": False, "source": "referral",
        "status": status, "screening": None, "interview": None, "decision": None, "confirmation": None,
        "talent_pool_consent": False,
        "timeline": [{"at": "2026-01-01T00:00:00Z", "status": status, "detail": "Applied via referral"}],
        "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z", "candidate_name": "Ann",
    }
    view.update(fields)
    return Application.model_validate(view).model_dump(mode="json")
