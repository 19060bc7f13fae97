"""The screening service shell: events in, results out. Rules live in domain.py.

It keeps its own copy of application statuses (shared/status_projection.py, started from
`application_received` and fed by `application_status_changed`): an override checks the status there
(shared/contracts/status.py). A result and the `application_screened` it causes are one document write
(shared/storage.py write_document); the copy is one conditional upsert per change.
"""

from __future__ import annotations

from services.screening import domain
from services.screening.store import ScreeningStore
from shared.bus.nameko_ext import INSTANCE_ID, ServiceBase, Store, event_handler, implements
from shared.contracts import screening as contract
from shared.contracts.events import (
    ApplicationReceived,
    ApplicationScreened,
    ApplicationStatusChanged,
    CandidateErasureRequested,
    ScreeningResult,
)
from shared.contracts.status import OVERRIDE_SCREENING
from shared.errors import Conflict, NotFound
from shared.status_projection import WAIT_SECONDS, for_command, received_change
from shared.storage import AlreadyHandled, state_of
from shared.timeutil import iso, utcnow


def _view(doc: dict) -> contract.ScreeningResult:
    doc = state_of(doc)  # never the write bookkeeping (shared/storage.py)
    return contract.ScreeningResult(application_id=doc["_id"], **doc["result"], screened_at=iso(doc["screened_at"]))


class ScreeningService(ServiceBase):
    name = "screening"
    store = Store(ScreeningStore)
    status_wait_seconds = WAIT_SECONDS  # how long an override waits for the status copy to catch up

    @event_handler("sourcing", "application_received")
    def on_application_received(self, payload: ApplicationReceived, envelope):
        result = domain.screen(payload.requisition, payload.candidate, payload.answers)

        def decide(state, change):
            if state is not None:
                return None  # already screened (e.g. the same application re-announced)
            change.emit("application_screened", ApplicationScreened(
                application_id=payload.application_id,
                requisition_id=payload.requisition.id,
                division=payload.requisition.division,
                result=result,
            ))
            return {
                "requisition_id": payload.requisition.id,
                "division": payload.requisition.division,
                "result": result.model_dump(mode="json"),
                "screened_by": INSTANCE_ID,
                "screened_at": utcnow(),
            }

        try:
            written = self.bus.write("results", payload.application_id, decide, envelope)
        except AlreadyHandled:
            # A redelivery: the result is there; the status copy may not be (a crash in between).
            self.store.project_status(received_change(payload))
            raise
        if written is not None:  # None: about an erased candidate, nothing kept
            # The status copy starts at `received` from this event: an override needs no other event to
            # arrive first, whichever status changes this service is sent.
            self.store.project_status(received_change(payload))

    @event_handler("sourcing", "application_status_changed")
    def on_application_status_changed(self, payload: ApplicationStatusChanged, envelope):
        # One conditional upsert, idempotent and ordered by sequence: no transaction, no inbox record.
        self.store.project_status(payload)

    @implements(contract.GetScreening)
    def get_screening(self, caller, args: contract.ApplicationArgs) -> contract.ScreeningResult:
        doc = self.store.get(args.application_id)
        if doc is None or not caller.can_see(doc["division"]):
            raise NotFound(f"no screening for application {args.application_id}")
        return _view(doc)

    @event_handler("sourcing", "candidate_erasure_requested")
    def on_candidate_erasure_requested(self, payload: CandidateErasureRequested, envelope):
        self.erase_candidate_data(payload, envelope, lambda uow: {
            "results": uow.store.anonymise(payload.application_ids, uow.session),
            "statuses": uow.store.mark_statuses_erased(payload.application_ids, uow.session)})

    @implements(contract.ExportCandidate)
    def export_candidate(self, caller, args: contract.ExportArgs) -> contract.ScreeningExport:
        """Right of access: the screening results of the candidate's applications (ids from sourcing). The
        status copy holds nothing personal (ids and statuses) and is not part of it."""
        return contract.ScreeningExport(results=[_view(d) for d in self.store.results_for(args.application_ids)])

    @implements(contract.Override)
    def override(self, caller, cmd: contract.OverrideArgs) -> contract.ScreeningResult:
        application_id = cmd.application_id
        # Scope and status from this service's copy; sourcing checks the move again when the verdict reaches it.
        for_command(self.store.projected_application, application_id, caller, OVERRIDE_SCREENING,
                    wait_seconds=self.status_wait_seconds)
        doc = self.store.get(application_id)
        if doc is None:
            raise Conflict("application has not been screened yet; try again in a moment", code="not_screened")
        at = iso(utcnow())

        def decide(state, change):
            if state is None:
                raise Conflict("application has not been screened yet; try again in a moment", code="not_screened")
            if state.get("erased"):  # its reason would describe the person after the erasure
                raise Conflict(f"application {application_id} belongs to an erased candidate; nothing more is "
                               "recorded for it", code="application_erased")
            # From the state as written now (decide runs again if another override came in between).
            updated = domain.apply_override(ScreeningResult(**state["result"]), cmd.passed, caller.name,
                                            cmd.reason, at)
            change.emit("application_screened", ApplicationScreened(
                application_id=application_id, requisition_id=state["requisition_id"],
                division=state["division"], result=updated))
            return {**state, "result": updated.model_dump(mode="json")}

        doc = self.bus.write("results", application_id, decide)
        return _view(doc)
