"""The screening service shell: events in, results out. Rules live in domain.py."""

from __future__ import annotations

from services.screening import domain
from services.screening.store import ScreeningStore
from shared.bus.callers import CallerRpc
from shared.bus.nameko_ext import INSTANCE_ID, ServiceBase, Store, event_handler, implements
from shared.bus.remote import call
from shared.config import load
from shared.contracts import screening as contract
from shared.contracts.events import (
    ApplicationReceived,
    ApplicationScreened,
    CandidateErasureRequested,
    ScreeningResult,
)
from shared.contracts.sourcing import GetApplication
from shared.errors import Conflict, NotFound
from shared.timeutil import iso, utcnow

OVERRIDABLE = {"received", "shortlisted", "screened_out"}


def _view(doc: dict) -> contract.ScreeningResult:
    return contract.ScreeningResult(application_id=doc["_id"], **doc["result"], screened_at=iso(doc["screened_at"]))


class ScreeningService(ServiceBase):
    name = "screening"
    store = Store(ScreeningStore)
    sourcing = CallerRpc("sourcing")

    @event_handler("sourcing", "application_received")
    def on_application_received(self, payload: ApplicationReceived, envelope):
        result = domain.screen(payload.requisition, payload.candidate, payload.answers)

        def work(uow):
            if uow.store.get(payload.application_id, session=uow.session):
                return  # already screened (e.g. the same application re-announced)
            uow.store.save({
                "_id": payload.application_id,
                "requisition_id": payload.requisition.id,
                "division": payload.requisition.division,
                "result": result.model_dump(mode="json"),
                "screened_by": INSTANCE_ID,
                "screened_at": utcnow(),
            }, uow.session)
            uow.emit("application_screened", ApplicationScreened(
                application_id=payload.application_id,
                requisition_id=payload.requisition.id,
                division=payload.requisition.division,
                result=result,
            ))

        self.bus.transact(work, envelope)

    @implements(contract.GetScreening)
    def get_screening(self, caller, args: contract.ApplicationArgs) -> contract.ScreeningResult:
        doc = self.store.get(args.application_id)
        if doc is None or not caller.can_see(doc["division"]):
            raise NotFound(f"no screening for application {args.application_id}")
        return _view(doc)

    @event_handler("sourcing", "candidate_erasure_requested")
    def on_candidate_erasure_requested(self, payload: CandidateErasureRequested, envelope):
        self.erase_candidate_data(payload, envelope, lambda uow: {
            "results": uow.store.anonymise(payload.application_ids, uow.session)})

    @implements(contract.ExportCandidate)
    def export_candidate(self, caller, args: contract.ExportArgs) -> contract.ScreeningExport:
        """Right of access: the screening results of the candidate's applications (ids from sourcing)."""
        return contract.ScreeningExport(results=[_view(d) for d in self.store.results_for(args.application_ids)])

    @implements(contract.Override)
    def override(self, caller, cmd: contract.OverrideArgs) -> contract.ScreeningResult:
        application_id = cmd.application_id
        # Scope and current status come from the owner of the application.
        status = call(self.sourcing, GetApplication, load().rpc_timeout, application_id=application_id).status.value
        if status not in OVERRIDABLE:
            raise Conflict(f"application is {status}; screening can only be overridden "
                           f"before interviews start", code="invalid_status")
        doc = self.store.get(application_id)
        if doc is None:
            raise Conflict("application has not been screened yet; try again in a moment", code="not_screened")
        updated = domain.apply_override(ScreeningResult(**doc["result"]), cmd.passed, caller.name, cmd.reason,
                                        iso(utcnow()))

        def work(uow):
            doc["result"] = updated.model_dump(mode="json")
            uow.store.save(doc, uow.session)
            uow.emit("application_screened", ApplicationScreened(
                application_id=application_id, requisition_id=doc["requisition_id"],
                division=doc["division"], result=updated))

        self.bus.transact(work)
        return _view(doc)
