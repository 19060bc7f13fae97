"""The screening service shell: events in, results out. Rules live in domain.py."""

from __future__ import annotations

from services.screening import domain
from services.screening.store import ScreeningStore
from shared.bus.callers import CallerRpc
from shared.bus.nameko_ext import INSTANCE_ID, ServiceBase, Store, event_handler, rpc
from shared.bus.remote import ask
from shared.config import load
from shared.contracts.commands import ScreeningOverride
from shared.contracts.events import (
    ApplicationReceived,
    ApplicationScreened,
    CandidateErasureRequested,
    ScreeningResult,
)
from shared.errors import Conflict, NotFound
from shared.timeutil import iso, utcnow
from shared.validation import id_list, parse

OVERRIDABLE = {"received", "shortlisted", "screened_out"}


def _view(doc: dict) -> dict:
    return {"application_id": doc["_id"], **doc["result"], "screened_at": iso(doc["screened_at"])}


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

    @rpc
    def get_screening(self, application_id: str) -> dict:
        caller = self.bus.caller
        doc = self.store.get(application_id)
        if doc is None or not caller.can_see(doc["division"]):
            raise NotFound(f"no screening for application {application_id}")
        return _view(doc)

    @event_handler("sourcing", "candidate_erasure_requested")
    def on_candidate_erasure_requested(self, payload: CandidateErasureRequested, envelope):
        self.erase_candidate_data(payload, envelope, lambda uow: {
            "results": uow.store.anonymise(payload.application_ids, uow.session)})

    @rpc
    def export_candidate(self, candidate_id: str, application_ids: list[str]) -> dict:
        """Right of access: the screening results of the candidate's applications (ids from sourcing)."""
        self.bus.caller.require_role("admin")
        return {"results": [_view(d) for d in self.store.results_for(id_list(application_ids))]}

    @rpc
    def override(self, application_id: str, data: dict) -> dict:
        caller = self.bus.caller
        caller.require_role("recruiter", "hr", "admin")
        cmd = parse(ScreeningOverride, data)
        # Scope and current status come from the owner of the application.
        application = ask(self.sourcing.get_application, load().rpc_timeout, application_id=application_id)
        if application["status"] not in OVERRIDABLE:
            raise Conflict(f"application is {application['status']}; screening can only be overridden "
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
