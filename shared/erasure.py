"""Right to erasure, the parts every service shares.

Sourcing owns the candidate: an erasure (an admin's request, or the retention sweep) starts there. It
anonymises its own records and publishes `candidate_erasure_requested` (ids only); every other service
then erases or anonymises its own records of that candidate and of those applications, in one unit of
work with:
- its outbox: events not yet sent are redacted, sent ones deleted (they are kept only for inspection);
- a tombstone (`erased` collection: the candidate id and the application ids), so an event about the
  candidate that was already on its way (parked in a wait queue, dead-lettered and replayed later) cannot
  bring the personal data back: the unit of work of every event handler checks it (`subjects` below,
  `ServiceStore.transact(about=...)`), records the event as handled and does nothing else;
and, before that, drops the messages about the candidate from its dead-letter queue (the bus's part,
`shared.bus.dlq.purge_dead_letters`). It answers with `candidate_erased` and its counts (`erase_own_records`
below); sourcing shows the progress per service (`GET /v1/erasures/{id}`).

What is kept: ids, statuses, timestamps, scores and ratings (the reports' figures), never a name, an email,
a phone or free text about the person.
"""

from __future__ import annotations

from typing import Any

from shared.contracts.events import CandidateErased
from shared.timeutil import utcnow

# Who confirms an erasure: every service, and the gateway (its idempotency cache in Redis).
PARTIES = ("sourcing", "screening", "interview_feedback", "notification", "talent_pool", "gateway")
ERASED = "[erased]"
# Free-text fields that may describe the person; redacted wherever they appear in an event payload.
FREE_TEXT_KEYS = frozenset({"note", "notes", "comment", "highlights", "reasons"})
ERASED_CANDIDATE = {"name": ERASED, "email": ERASED, "phone": None, "skills": [], "years_experience": 0,
                    "location": None}


# The erasure's own events: about an erased candidate by definition, and handled as such.
ERASURE_EVENTS = frozenset({"candidate_erasure_requested", "candidate_erased"})


def subjects(event_type: str, payload: dict) -> tuple[list[str], list[str]] | None:
    """The (candidate ids, application ids) an event names, for the unit of work's erased-marker guard
    (shared/storage.py, `ServiceStore.transact(about=...)`): every consumer acknowledges an event about an
    erased candidate as a no-op, whichever handler it is for. None for the erasure's own events and for
    events that name no candidate or application (requisitions)."""
    if event_type in ERASURE_EVENTS or not isinstance(payload, dict):
        return None
    candidates = [v for v in [payload.get("candidate_id")] if isinstance(v, str) and v]
    applications = [v for v in [payload.get("application_id")] if isinstance(v, str) and v]
    return (candidates, applications) if candidates or applications else None


def redact_payload(value: Any) -> Any:
    """An event payload with the candidate snapshot replaced and free text removed (ids and figures stay)."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if key == "candidate" and isinstance(item, dict):
                out[key] = dict(ERASED_CANDIDATE)
            elif key in FREE_TEXT_KEYS:
                out[key] = [] if isinstance(item, list) else None
            else:
                out[key] = redact_payload(item)
        return out
    if isinstance(value, list):
        return [redact_payload(item) for item in value]
    return value


def mentions_any(body: bytes, needles: list[str]) -> bool:
    """Whether a raw message mentions one of `needles` (ids, or a lower-cased address), case-insensitively."""
    text = body.decode("utf-8", errors="replace").lower()
    return any(n and n.lower() in text for n in needles)


def erase_own_records(uow, payload, service: str, erase_own, dead_letters_dropped: int) -> None:
    """A service's part of an erasure, in its unit of work `uow` (shared/storage.py): `erase_own(uow) ->
    counts` for its own records, then its outbox, then the tombstone, then its answer (`candidate_erased`
    with the counts, `dead_letters_dropped` among them: the shell drops those first, outside the
    transaction, as they are in the broker). `payload` is the CandidateErasureRequested being handled."""
    counts = dict(erase_own(uow))
    counts["outbox"] = uow.store.erase_from_outbox(payload.candidate_id, payload.application_ids,
                                                   session=uow.session)
    counts["dead_letters"] = dead_letters_dropped
    uow.store.mark_erased(payload.candidate_id, payload.erasure_id, payload.application_ids, session=uow.session)
    uow.emit("candidate_erased", CandidateErased(
        erasure_id=payload.erasure_id, candidate_id=payload.candidate_id, service=service, counts=counts,
        erased_at=utcnow()))


def dead_letter_needles(payload) -> list[str]:
    """What marks a dead letter as about the erased candidate: its id and its applications' ids."""
    return [payload.candidate_id, *payload.application_ids]
