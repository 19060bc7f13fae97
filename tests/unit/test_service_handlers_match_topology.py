"""Each service's event handlers must be exactly its row in SUBSCRIPTIONS: a handler without a binding
would never hear its event, a binding without a handler would dead-letter every such event."""

import importlib

import pytest

from shared.bus.topology import SUBSCRIPTIONS
from shared.contracts.common import SERVICES

CLASSES = {
    "sourcing": "SourcingService",
    "screening": "ScreeningService",
    "interview_feedback": "InterviewFeedbackService",
    "notification": "NotificationService",
    "talent_pool": "TalentPoolService",
}


@pytest.mark.parametrize("service", SERVICES)
def test_handlers_match_subscriptions(service):
    from nameko.extensions import ENTRYPOINT_EXTENSIONS_ATTR

    from shared.bus.nameko_ext import EventHandler

    module = importlib.import_module(f"services.{service}.service")
    cls = getattr(module, CLASSES[service])
    assert cls.name == service
    handled = set()
    for attr in dir(cls):
        for ext in getattr(getattr(cls, attr), ENTRYPOINT_EXTENSIONS_ATTR, ()):
            if isinstance(ext, EventHandler):
                handled.add((ext.producer, ext.event_type))
    assert handled == set(SUBSCRIPTIONS[service])
