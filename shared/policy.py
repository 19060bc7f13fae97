"""A division's notification policy as other services read it (notification owns and stores it).

Policies are refinements with safe defaults: a service that needs one of its delays (interview_feedback's
approval SLA, the talent pool's interview reuse window) asks notification for at most POLICY_TIMEOUT
seconds and, when there is no usable answer (notification down, slow or refusing, or a value that is no
delay), goes on with the default of the contract (`NotificationPolicy`). Pure: the shell does the asking.
"""

from __future__ import annotations

from typing import Any

from shared.contracts.commands import NotificationPolicy

POLICY_TIMEOUT = 3.0  # seconds a caller waits for a policy before going on with the default


def policy_seconds(answer: Any, field: str) -> int:
    """The delay `field` (whole seconds, 0 or more) of `answer` (notification's `GetPolicy` answer, as its
    declared model or as a dict; None when there was no usable answer); the default of NotificationPolicy
    when it has no usable value."""
    default = getattr(NotificationPolicy(), field)
    value = answer.get(field) if isinstance(answer, dict) else getattr(answer, field, None)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        return default
    return value
