"""One notification service process (with its SMTP capture, on a vhost of its own) for the session:
test_process.py and test_webhook.py share it, as a start costs seconds; their tests keep apart by divisions
and ids of their own."""

import pytest

# For test_webhook.py: retries after 1 s, then 4 s; failed after the 3rd attempt. Its receiver listens on
# 127.0.0.1, which only the operator's allow-list lets a webhook reach. test_process.py sends no webhook.
MAX_ATTEMPTS = 3
ENV = {"NOTIFY_BACKOFF_BASE_SECONDS": "1", "NOTIFY_MAX_ATTEMPTS": str(MAX_ATTEMPTS),
       "WEBHOOK_ALLOWED_HOSTS": "127.0.0.1"}


@pytest.fixture(scope="session")
def platform(test_infra, tmp_path_factory):
    from services.notification.tests.test_process import running_platform

    with running_platform(test_infra, tmp_path_factory.mktemp("notification"), ENV) as p:
        yield p
