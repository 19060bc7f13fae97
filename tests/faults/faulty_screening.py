"""The screening service with a bug that hits 3% of applications (test 4): `python -m tests.faults.faulty_screening`.

The service code is untouched; only its pure screening rule is wrapped, so every other part (inbox,
requeue, delivery limit, dead-letter queue) is the real one. Importing this module changes nothing;
running it does."""

import re


def is_unlucky(email: str) -> bool:
    """Candidates c7, c37, c77, c107, ... (3 in 100) of a fault-test burst: a few poison messages in one burst."""
    match = re.match(r"c(\d+)\.", email)
    return bool(match) and int(match.group(1)) % 100 in (7, 37, 77)


def main() -> None:
    import eventlet

    eventlet.monkey_patch()

    from services.screening import domain
    from services.screening.service import ScreeningService
    from shared.bus.runner import run_service
    from shared.crypto import open_sealed

    real_screen = domain.screen

    def screen(requisition, candidate, answers, cv=None):
        email = open_sealed(candidate.email)  # events carry it sealed
        if is_unlucky(email):
            raise RuntimeError("injected bug: cannot screen this candidate")
        return real_screen(requisition, candidate, answers, cv)

    domain.screen = screen
    run_service(ScreeningService)


if __name__ == "__main__":
    main()
