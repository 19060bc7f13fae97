"""The screening service shell: events in, results out. Rules live in domain.py.

It keeps its own copy of application statuses (shared/status_projection.py, started from
`application_received` and fed by `application_status_changed`): an override checks the status there
(shared/contracts/status.py). A result and the `application_screened` it causes are one document write
(shared/storage.py write_document); the copy is one conditional upsert per change.

An application that came with a CV (`cv_document_id`) is screened once its reading (sourcing's `document_read`)
is here too, whichever of the two came first, each a write of the application's one document (store.py);
`screen_waiting` screens on the typed skills those whose reading has not come within CV_READ_WAIT_SECONDS.
"""

from __future__ import annotations

from datetime import timedelta

from nameko.timer import timer

from services.screening import domain
from services.screening.store import ScreeningStore
from shared.bus.nameko_ext import INSTANCE_ID, ServiceBase, Store, event_handler, implements
from shared.contracts import screening as contract
from shared.contracts.events import (
    ApplicationReceived,
    ApplicationScreened,
    ApplicationStatusChanged,
    CandidateErasureRequested,
    CandidateSnapshot,
    DocumentRead,
    RequisitionSnapshot,
    ScreeningResult,
)
from shared.contracts.status import OVERRIDE_SCREENING
from shared.errors import Conflict, NotFound
from shared.status_projection import WAIT_SECONDS, for_command, received_change
from shared.storage import AlreadyHandled, state_of
from shared.timeutil import iso, utcnow

BACKSTOP_INTERVAL = 5.0  # seconds between looks for applications whose CV reading has not come (one query)


def _view(doc: dict) -> contract.ScreeningResult:
    doc = state_of(doc)  # never the write bookkeeping (shared/storage.py)
    return contract.ScreeningResult(application_id=doc["_id"], **doc["result"], screened_at=iso(doc["screened_at"]))


def _screened(doc: dict | None) -> bool:
    return doc is not None and "result" in doc  # not a document still waiting for its CV's reading


def _waiting(payload: ApplicationReceived) -> dict:
    """What screening keeps of an application while its CV is read: what `domain.screen` needs, no contact."""
    cand = payload.candidate
    return {"cv_document_id": payload.cv_document_id, "since": utcnow(), "answers": payload.answers,
            "requisition": payload.requisition.model_dump(mode="json"),
            "candidate": {"skills": cand.skills, "years_experience": cand.years_experience,
                          "location": cand.location}}


def _read(payload: DocumentRead) -> dict:
    return {"document_id": payload.document_id, "text_status": payload.text_status,
            "skills_found": payload.skills_found, "years_found": payload.years_found,
            "unreadable_reason": payload.unreadable_reason}


def _screen_waiting(waiting: dict, cv: domain.CvReading) -> ScreeningResult:
    cand = CandidateSnapshot(name="", email="", **waiting["candidate"])
    return domain.screen(RequisitionSnapshot(**waiting["requisition"]), cand, waiting["answers"], cv)


def _result(change, application_id: str, requisition_id: str, division: str, result: ScreeningResult) -> dict:
    """The result document, and the `application_screened` it causes."""
    change.emit("application_screened", ApplicationScreened(
        application_id=application_id, requisition_id=requisition_id, division=division, result=result))
    return {
        "requisition_id": requisition_id,
        "division": division,
        "result": result.model_dump(mode="json"),
        "screened_by": INSTANCE_ID,
        "screened_at": utcnow(),
    }


class ScreeningService(ServiceBase):
    name = "screening"
    store = Store(ScreeningStore)
    status_wait_seconds = WAIT_SECONDS  # how long an override waits for the status copy to catch up

    @event_handler("sourcing", "application_received")
    def on_application_received(self, payload: ApplicationReceived, envelope):
        req = payload.requisition

        def decide(state, change):
            if _screened(state) or (state or {}).get("waiting"):
                return None  # already screened, or waiting for its CV (e.g. the same application re-announced)
            cv = None
            if payload.cv_document_id:
                read = next((r for r in (state or {}).get("cv_reads") or ()
                             if r["document_id"] == payload.cv_document_id), None)
                if read is None:  # its reading comes later: wait for it
                    return {**(state or {}), "requisition_id": req.id, "division": req.division,
                            "waiting": _waiting(payload)}
                cv = domain.CvReading.of(read)
            result = domain.screen(req, payload.candidate, payload.answers, cv)
            return _result(change, payload.application_id, req.id, req.division, result)

        try:
            # the application's first event here: inserted without a read first (a clash reads)
            written = self.bus.write("results", payload.application_id, decide, envelope, new=True)
        except AlreadyHandled:
            # A redelivery: the result is there; the status copy may not be (a crash in between).
            self.store.project_status(received_change(payload))
            raise
        if written is not None:  # None: about an erased candidate, nothing kept
            # The status copy starts at `received` from this event: an override needs no other event to
            # arrive first, whichever status changes this service is sent.
            self.store.project_status(received_change(payload))

    @event_handler("sourcing", "document_read")
    def on_document_read(self, payload: DocumentRead, envelope):
        if payload.kind != "cv":
            return  # only a CV counts for screening
        read = _read(payload)

        def decide(state, change):
            if _screened(state):
                return None  # screened already (the wait ran out, or a CV attached later): the verdict stands
            waiting = (state or {}).get("waiting")
            if waiting is not None:
                if waiting["cv_document_id"] != payload.document_id:
                    return None  # another file than the one the application came with
                result = _screen_waiting(waiting, domain.CvReading.of(read))
                return _result(change, payload.application_id, state["requisition_id"], state["division"], result)
            # Before its application: kept until the application says which file is its CV.
            reads = [r for r in (state or {}).get("cv_reads") or () if r["document_id"] != payload.document_id]
            return {**(state or {}), "requisition_id": payload.requisition_id, "division": payload.division,
                    "cv_reads": [*reads, read]}

        self.bus.write("results", payload.application_id, decide, envelope)

    @timer(interval=BACKSTOP_INTERVAL)
    def screen_waiting(self) -> int:
        """The backstop: applications whose CV reading has not come within CV_READ_WAIT_SECONDS are screened on
        the skills typed (a reading that comes later changes nothing). Any replica may run it: the write is
        conditional, so one screens and the others find the result. Returns how many it screened."""
        wait = self.settings.cv_read_wait_seconds
        screened = 0
        for application_id in self.store.waiting_since(utcnow() - timedelta(seconds=wait)):
            outcome = {"screened": False}

            def decide(state, change, application_id=application_id, outcome=outcome):
                # as the write last ran it (it runs again when the document changed meanwhile)
                outcome["screened"] = False
                if _screened(state) or not (state or {}).get("waiting") or state.get("erased"):
                    return None  # its reading or another replica came first
                outcome["screened"] = True
                result = _screen_waiting(state["waiting"], domain.CvReading.not_arrived(wait))
                return _result(change, application_id, state["requisition_id"], state["division"], result)

            self.bus.write("results", application_id, decide)
            screened += outcome["screened"]
        return screened

    @event_handler("sourcing", "application_status_changed")
    def on_application_status_changed(self, payload: ApplicationStatusChanged, envelope):
        # One conditional upsert, idempotent and ordered by sequence: no transaction, no inbox record.
        self.store.project_status(payload)

    @implements(contract.GetScreening)
    def get_screening(self, caller, args: contract.ApplicationArgs) -> contract.ScreeningResult:
        doc = self.store.get(args.application_id)
        if not _screened(doc) or not caller.can_see(doc["division"]):
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
        if not _screened(doc):
            raise Conflict("application has not been screened yet; try again in a moment", code="not_screened")
        at = iso(utcnow())

        def decide(state, change):
            if not _screened(state):
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
