"""Running hireloop: the local launcher (`make run`), the embedded MongoDB default, SMTP capture."""
