"""The sourcing service shell: requisitions, candidates and applications over RPC; the status of each
application follows the events of screening and interview_feedback. Rules live in domain.py."""

from __future__ import annotations

import base64
import binascii
import logging
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path

from eventlet import tpool
from pymongo.errors import DuplicateKeyError

from services.sourcing import cv_reading, domain
from services.sourcing.store import SourcingStore
from shared import documents
from shared.bus.configured import configured_timer
from shared.bus.dlq import purge_dead_letters
from shared.bus.nameko_ext import PoisonMessage, ServiceBase, Store, amqp_uri, event_handler, implements
from shared.contracts import sourcing as contract
from shared.contracts.commands import (
    MAX_DOCUMENT_BYTES,
    CandidateIn,
    DocumentUpload,
    NewApplication,
    NewRequisition,
    OfferTerms,
    PublicApplication,
)
from shared.contracts.events import (
    ApplicationReceived,
    ApplicationScreened,
    ApprovalStepDecided,
    CandidateErased,
    CandidateErasureRequested,
    DecisionRecorded,
    DocumentRead,
    DocumentReceived,
    InterviewCancelled,
    InterviewCompleted,
    InterviewScheduled,
    InterviewSlotsOffered,
    NoteAdded,
    NoteRecipient,
    OfferConfirmationRecorded,
    OfferQuestionAsked,
    OfferTermsSet,
    RequisitionClosed,
    RequisitionOpened,
)
from shared.crypto import open_bytes, open_sealed, seal, seal_bytes
from shared.errors import Conflict, Forbidden, Invalid, NotFound, NotYet
from shared.ids import new_id
from shared.reports import report_scope
from shared.timeutil import iso, utcnow
from shared.timeutil import parse as parse_time

log = logging.getLogger("hireloop.sourcing")
# How many candidates the retention sweep (every RETENTION_SWEEP_SECONDS) erases at most per sweep.
RETENTION_BATCH = 200
# How many requisitions past their `closes_at` the posting sweep (every POSTING_SWEEP_SECONDS) unpublishes at most.
POSTING_BATCH = 500
# A race between two first applications of the same new candidate ends in a duplicate key; try again.
UPSERT_RACE_RETRIES = 3


@cache
def shipped_skills() -> tuple[str, ...]:
    """The shipped part of the vocabulary CVs are read against (services/sourcing/skills.txt), read once."""
    return tuple(cv_reading.parse_vocabulary((Path(__file__).parent / "skills.txt").read_text(encoding="utf-8")))


def checked_file(upload: DocumentUpload, field: str) -> tuple[bytes, str]:
    """The bytes of an uploaded file and its type by content; 422 naming `field` for anything else (the gateway
    refuses most of it earlier; this is the authority, before anything is stored)."""
    try:
        data = base64.b64decode(upload.data, validate=True)
    except (binascii.Error, ValueError):
        raise Invalid(f"{field}: not base64-encoded file content", field=field) from None
    if len(data) > MAX_DOCUMENT_BYTES:
        raise Invalid(f"{field}: the file is larger than {MAX_DOCUMENT_BYTES // (1024 * 1024)} MB", field=field)
    content_type = documents.content_type_of(data)
    if content_type is None:
        raise Invalid(f"{field}: only PDF, Word (DOCX) and plain-text files are accepted", field=field,
                      code="unsupported_file_type")
    return data, content_type


class NotYetKnown(NotYet):
    """An event needs state sourcing has not got yet (an earlier event still on its way): retry later."""


# ----------------------------------------------------------------------------------------------------
# answers (shared/contracts/sourcing.py), from the stored documents


def requisition_view(doc: dict) -> contract.Requisition:
    return contract.Requisition(
        id=doc["_id"],
        status=doc["status"],
        title=doc["title"],
        division=doc["division"],
        department=doc["department"],
        tier=doc["tier"],
        urgent=doc["urgent"],
        required_skills=doc["required_skills"],
        skills=doc["skills"],
        min_years=doc["min_years"],
        location=doc.get("location"),
        headcount=doc["headcount"],
        knockout_questions=doc.get("knockout_questions") or [],
        created_at=iso(doc["created_at"]),
        closed_at=iso(doc.get("closed_at")),
        close_reason=doc.get("close_reason"),
        description=doc.get("description") or "",
        employment_type=doc.get("employment_type") or "full_time",
        salary_range=doc.get("salary_range"),
        remote=doc.get("remote", False),
        closes_at=iso(doc.get("closes_at")),
        published=doc.get("published", False),
        published_at=iso(doc.get("published_at")),
        updated_at=iso(doc.get("updated_at")),
        history=[{**h, "at": iso(h["at"])} for h in doc.get("history") or []],
    )


def division_view(doc: dict) -> contract.DivisionRecord:
    return contract.DivisionRecord(
        id=doc["_id"], name=doc["name"], timezone=doc["timezone"], locale=doc["locale"],
        careers_blurb=doc.get("careers_blurb") or "", colour=doc["colour"],
        meeting_url_template=doc.get("meeting_url_template"), created_at=iso(doc.get("created_at")),
        updated_at=iso(doc.get("updated_at")))


def public_job_view(doc: dict, division: dict) -> contract.PublicJob:
    """The posting only: no headcount, tier, urgency, history, nor the answers that keep a candidate in."""
    return contract.PublicJob(
        id=doc["_id"], title=doc["title"], division=doc["division"], department=doc["department"],
        location=doc.get("location"), remote=doc.get("remote", False),
        employment_type=doc.get("employment_type") or "full_time", salary_range=doc.get("salary_range"),
        description=doc.get("description") or "", required_skills=doc["required_skills"], skills=doc["skills"],
        min_years=doc["min_years"],
        knockout_questions=[{"id": k["id"], "question": k["question"]} for k in doc.get("knockout_questions") or []],
        published_at=iso(doc.get("published_at")), closes_at=iso(doc.get("closes_at")),
        updated_at=iso(doc.get("updated_at")), division_profile=division_view(division))


def _application_fields(doc: dict) -> dict:
    """The fields of contract.ApplicationRecord (the record; the views add to it)."""
    return {
        "id": doc["_id"],
        "requisition_id": doc["requisition_id"],
        "requisition_title": doc["requisition_title"],
        "candidate_id": doc["candidate_id"],
        "division": doc["division"],
        "department": doc.get("department", ""),
        "tier": doc["tier"],
        "urgent": doc.get("urgent", False),
        "source": doc["source"],
        "status": doc["status"],
        "screening": doc.get("screening"),
        "interview": doc.get("interview"),
        "decision": doc.get("decision"),
        "confirmation": _confirmation_view(doc.get("confirmation")),
        "talent_pool_consent": doc.get("talent_pool_consent", False),
        "timeline": [{"at": iso(e["at"]), "status": e["status"], "detail": e["detail"]} for e in doc["timeline"]],
        "created_at": iso(doc["created_at"]),
        "updated_at": iso(doc["updated_at"]),
        "offer": offer_view(doc["offer"]) if doc.get("offer") else None,
        "offer_questions": [contract.OfferQuestion(id=q["id"], message=q["message"],
                                                   asked_at=iso(_stored_time(q["asked_at"])))
                            for q in doc.get("offer_questions") or []],
        "tags": list(doc.get("tags") or []),
        "tag_history": [{"at": iso(_stored_time(e["at"])), "by": e["by"], "added": e["added"],
                         "removed": e["removed"]} for e in doc.get("tag_history") or []],
    }


def offer_view(offer: dict) -> contract.OfferView:
    return contract.OfferView(
        version=offer["version"], salary=offer["salary"], start_date_options=list(offer["start_date_options"]),
        expires_at=iso(_stored_time(offer["expires_at"])), message=offer.get("message"),
        company=offer.get("company") or "", timezone=offer.get("timezone") or "UTC",
        set_at=iso(_stored_time(offer.get("set_at"))), set_by=offer.get("set_by"),
        expired=domain.offer_expired(offer, utcnow()), accepted_start_date=offer.get("accepted_start_date"),
        decline_reason=offer.get("decline_reason"))


def application_record(doc: dict) -> contract.ApplicationRecord:
    return contract.ApplicationRecord(**_application_fields(doc))


def _confirmation_view(c: dict | None) -> dict | None:
    if not c:
        return None
    return {"result": c["result"], "note": c.get("note"), "by": c["by"], "at": iso(c["at"])}


def accepted_view(app: dict) -> contract.ApplicationAccepted:
    return contract.ApplicationAccepted(id=app["_id"], candidate_id=app["candidate_id"], status=app["status"])


def candidate_view(candidate_id: str, profile: dict, application_ids: list[str]) -> contract.Candidate:
    """The candidate as one profile tells it (docs/decisions/002-candidates-per-division.md)."""
    return contract.Candidate(
        id=candidate_id,
        name=profile["name"],
        email=open_sealed(profile["email"]),
        phone=open_sealed(profile.get("phone")),
        skills=profile.get("skills") or [],
        years_experience=profile.get("years_experience"),
        location=profile.get("location"),
        applications=application_ids,
    )


def profile_export(profile: dict) -> contract.ProfileExport:
    return contract.ProfileExport(
        division=profile["division"], name=profile["name"], email=open_sealed(profile["email"]),
        phone=open_sealed(profile.get("phone")), skills=profile.get("skills") or [],
        years_experience=profile.get("years_experience"), location=profile.get("location"),
        created_at=iso(profile.get("created_at")), updated_at=iso(profile.get("updated_at")))


def erasure_view(doc: dict) -> contract.Erasure:
    return contract.Erasure(
        id=doc["_id"],
        candidate_id=doc["candidate_id"],
        application_ids=doc.get("application_ids") or [],
        reason=doc["reason"],
        status=doc["status"],
        requested_at=iso(doc["requested_at"]),
        completed_at=iso(doc.get("completed_at")),
        services={party: {"status": p["status"], "at": iso(p.get("at")), "counts": p.get("counts") or {}}
                  for party, p in doc["parties"].items()},
    )


def note_view(doc: dict) -> contract.Note:
    return contract.Note(id=doc["_id"], application_id=doc["application_id"], candidate_id=doc["candidate_id"],
                         division=doc["division"],
                         author=doc["author"], body=open_sealed(doc["body"]) or "", mentions=list(doc["mentions"]),
                         created_at=iso(_stored_time(doc["created_at"])))


def _stored_time(value: datetime | None) -> datetime | None:
    """A time as MongoDB keeps it (UTC, milliseconds), so what is read back compares equal to what was sent."""
    if value is None:
        return None
    value = parse_time(value)
    return value.astimezone(UTC).replace(microsecond=value.microsecond // 1000 * 1000)


def document_view(doc: dict, *, with_text: bool) -> contract.DocumentView:
    return contract.DocumentView(
        id=doc["_id"], application_id=doc["application_id"], kind=doc["kind"], filename=open_sealed(doc["filename"]),
        content_type=doc["content_type"], size=doc["size"], uploaded_at=iso(doc["uploaded_at"]),
        uploaded_by=doc["uploaded_by"], text_status=doc["text_status"], skills_found=doc.get("skills_found") or [],
        years_found=doc.get("years_found"), unreadable_reason=doc.get("unreadable_reason"),
        text=open_sealed(doc.get("text")) if with_text else None, candidate_id=doc["candidate_id"],
        division=doc["division"])


def _duplicate(existing_id: str) -> Conflict:
    return Conflict(f"this candidate has already applied to this requisition: application {existing_id}",
                    code="duplicate_application")


class SourcingService(ServiceBase):
    name = "sourcing"
    store = Store(SourcingStore)

    # -- helpers -------------------------------------------------------------------------------------
    def _visible_requisition(self, caller, requisition_id: str, session=None, store=None) -> dict:
        doc = (store or self.store).get_requisition(requisition_id, session=session)
        if doc is None or not caller.can_see(doc["division"]):
            raise NotFound(f"requisition {requisition_id} not found")
        return doc

    def _visible_application(self, caller, application_id: str, session=None, store=None) -> dict:
        doc = (store or self.store).get_application(application_id, session=session)
        if doc is None or not caller.can_see(doc["division"]):
            raise NotFound(f"application {application_id} not found")
        return doc

    def _move(self, caller, application_id: str, step) -> dict:
        """One write of one application (RPC commands): `step(app, change)` changes the application the caller
        may see and emits what it causes; stored together (ServiceStore.write_document)."""
        def decide(app, change):
            if app is None or not caller.can_see(app["division"]):
                raise NotFound(f"application {application_id} not found")
            step(app, change)
            return app

        return self.bus.write("applications", application_id, decide)

    @staticmethod
    def _change(app: dict, change, new_status: str, detail: str, *, override: bool = False) -> None:
        """Move the application and announce the change, in the same write."""
        previous = domain.move(app, new_status, detail, utcnow(), override=override)
        change.emit("application_status_changed", domain.status_changed(app, previous))

    def _create_application(self, app: dict, emit) -> dict:
        """The new application and the events `emit(app, change)` announces it with, in one insert. The unique
        (candidate, requisition) index answers a duplicate: 409 with the existing application."""

        def decide(state, change):
            emit(app, change)
            return dict(app)

        try:
            return self.bus.write("applications", app["_id"], decide, new=True)
        except DuplicateKeyError:  # the pair index (a fresh id cannot clash: write_document re-raises only others)
            existing = self.store.find_application(app["candidate_id"], app["requisition_id"])
            raise _duplicate(existing["_id"] if existing else "(being written)") from None

    # -- requisitions --------------------------------------------------------------------------------
    @implements(contract.CreateRequisition)
    def create_requisition(self, caller, cmd: NewRequisition) -> contract.Requisition:
        # Registered first: a typo (`retial`) is a 422 for everyone, not a new division nor a 403.
        if self.store.get_division(cmd.division) is None:
            raise Invalid(f"division: '{cmd.division}' is not a registered division (GET /v1/divisions lists them; "
                          f"group HR registers one with POST /v1/divisions)", field="division")
        if not caller.can_see(cmd.division):
            raise Forbidden(f"you may not open requisitions in division '{cmd.division}'")
        fields = {**cmd.model_dump(mode="json"), "closes_at": _stored_time(cmd.closes_at)}
        doc = domain.new_requisition(new_id("req"), fields, caller.name, _stored_time(utcnow()))

        def work(uow):
            uow.store.insert_requisition(doc, uow.session)
            uow.emit("requisition_opened", RequisitionOpened(requisition=domain.requisition_snapshot(doc)))

        self.bus.transact(work)
        return requisition_view(doc)

    @implements(contract.GetRequisition)
    def get_requisition(self, caller, args: contract.RequisitionArgs) -> contract.Requisition:
        return requisition_view(self._visible_requisition(caller, args.requisition_id))

    @implements(contract.ListRequisitions)
    def list_requisitions(self, caller, args: contract.ListRequisitionsArgs) -> contract.RequisitionPage:
        divisions = caller.division_filter()
        if args.division is not None:
            if not caller.can_see(args.division):
                return contract.RequisitionPage(items=[], next_cursor=None)
            divisions = [args.division]
        docs, next_cursor = self.store.list_requisitions(divisions, args.status, args.urgent, args.limit, args.cursor)
        return contract.RequisitionPage(items=[requisition_view(d) for d in docs], next_cursor=next_cursor)

    @implements(contract.CloseRequisition)
    def close_requisition(self, caller, cmd: contract.CloseRequisitionArgs) -> contract.Requisition:
        requisition_id = cmd.requisition_id

        def work(uow):
            req, now = self._visible_requisition(caller, requisition_id, uow.session, uow.store), utcnow()
            # Closing takes it off the careers site too (recorded in its history).
            closed = uow.store.close_requisition(requisition_id, cmd.reason, now, uow.session,
                                                 domain.closing_entries(req, caller.name, now))
            if closed is None:
                raise Conflict(f"requisition {requisition_id} is already closed", code="requisition_closed")
            uow.emit("requisition_closed", RequisitionClosed(
                requisition_id=requisition_id, division=closed["division"], reason=cmd.reason,
                closed_at=closed["closed_at"]))
            return closed

        return requisition_view(self.bus.transact(work))

    @implements(contract.PatchRequisition)
    def patch_requisition(self, caller, args: contract.PatchRequisitionArgs) -> contract.Requisition:
        """Only the fields sent change (`model_fields_set`); `null` clears an optional one. Recorded in the
        requisition's history (domain.patch_requisition says what a closed requisition takes)."""
        requisition_id = args.requisition_id
        sent = args.model_fields_set - {"requisition_id"}
        dumped = args.model_dump(mode="json", include=sent)
        if "closes_at" in sent:
            dumped["closes_at"] = _stored_time(args.closes_at)

        def work(uow):
            req = self._visible_requisition(caller, requisition_id, uow.session, uow.store)
            patched, changed = domain.patch_requisition(req, dumped, caller.name, _stored_time(utcnow()))
            if changed:
                uow.store.replace_requisition(patched, uow.session)
            return patched

        return requisition_view(self.bus.transact(work))

    @configured_timer("posting_sweep_seconds")
    def posting_sweep(self):
        """Take requisitions whose `closes_at` has passed off the careers site (their reads already hide them;
        this makes `published` say so, with a history entry by "system")."""
        now = utcnow()
        for requisition_id in self.store.expired_postings(now, POSTING_BATCH):
            self.store.unpublish_expired(requisition_id, now, domain.change_entry(now, domain.SYSTEM,
                                                                                  domain.UNPUBLISHED))

    # -- divisions as records --------------------------------------------------------------------------
    def _division(self, division_id: str, session=None) -> dict:
        return self.store.get_division(division_id, session=session) or domain.default_division(division_id)

    @implements(contract.ListDivisions)
    def list_divisions(self, caller, args) -> contract.DivisionList:
        """The registered divisions: of the caller's key (staff), every one (admin, services)."""
        return contract.DivisionList(items=[division_view(d) for d in self.store.divisions(caller.division_filter())])

    @implements(contract.GetDivision)
    def get_division(self, caller, args: contract.DivisionIdArgs) -> contract.DivisionRecord:
        """A registered division (404 otherwise: the gateway asks this before a key or policy names one)."""
        doc = self.store.get_division(args.division_id) if caller.can_see(args.division_id) else None
        if doc is None:
            raise NotFound(f"division {args.division_id} not found")
        return division_view(doc)

    @implements(contract.CreateDivision)
    def create_division(self, caller, cmd) -> contract.DivisionRecord:
        doc = domain.new_division(cmd.model_dump(mode="json"), _stored_time(utcnow()))
        try:
            self.store.insert_division(doc)
        except DuplicateKeyError:
            raise Conflict(f"division {cmd.id} already has a record; PATCH /v1/divisions/{cmd.id} changes it",
                           code="division_exists") from None
        return division_view(doc)

    @implements(contract.PatchDivision)
    def patch_division(self, caller, args: contract.PatchDivisionArgs) -> contract.DivisionRecord:
        """A registered division (404 otherwise: POST registers one, so a typo in a path makes none)."""
        sent = args.model_fields_set - {"division_id"}
        changes = args.model_dump(mode="json", include=sent)

        def work(uow):
            stored = uow.store.get_division(args.division_id, session=uow.session)
            if stored is None:
                raise NotFound(f"division {args.division_id} not found")
            doc = domain.patch_division(stored, changes, _stored_time(utcnow()))
            uow.store.save_division(doc, uow.session)
            return doc

        return division_view(self.bus.transact(work))

    # -- the careers site's reads (the gateway calls as the system) ------------------------------------
    def _division_profiles(self, division_ids) -> dict[str, dict]:
        records = {d["_id"]: d for d in self.store.divisions(sorted(set(division_ids)))}
        return {d: records.get(d) or domain.default_division(d) for d in division_ids}

    @implements(contract.ListPublicJobs)
    def list_public_jobs(self, caller, args: contract.PublicJobsArgs) -> contract.PublicJobPage:
        now = utcnow()
        docs, next_cursor = self.store.public_jobs(now, args.division, (args.q or "").strip().lower() or None,
                                                   (args.location or "").strip().lower() or None, args.limit,
                                                   args.cursor)
        # Every division with a job on the site (the site's division filter), whatever this page's filters.
        showing = sorted(self.store.public_divisions(now))
        profiles = self._division_profiles([*showing, *{d["division"] for d in docs}])
        return contract.PublicJobPage(
            items=[public_job_view(d, profiles[d["division"]]) for d in docs], next_cursor=next_cursor,
            divisions=[division_view(profiles[d]) for d in showing])

    @implements(contract.GetPublicJob)
    def get_public_job(self, caller, args: contract.RequisitionArgs) -> contract.PublicJob:
        doc = self.store.get_requisition(args.requisition_id)
        if doc is None or not domain.posted(doc, utcnow()):
            raise NotFound(f"job {args.requisition_id} not found")
        return public_job_view(doc, self._division(doc["division"]))

    # -- applications --------------------------------------------------------------------------------
    @implements(contract.SubmitApplication)
    def submit_application(self, caller, cmd: NewApplication) -> contract.ApplicationAccepted:
        req = self._visible_requisition(caller, cmd.requisition_id)
        if req["status"] != "open":
            raise Conflict(f"requisition {req['_id']} is closed", code="requisition_closed")
        return accepted_view(self._apply(caller, req, cmd.candidate, source=cmd.source, answers=cmd.answers,
                                         talent_pool_consent=cmd.talent_pool_consent))

    @implements(contract.ApplyToJob)
    def apply_to_job(self, caller, cmd: PublicApplication) -> contract.ApplicationAccepted:
        """A candidate applying on a careers site (the gateway calls as the system, after its abuse controls):
        only to a posted job (else 404, as the site shows none), every knock-out question answered."""
        req = self.store.get_requisition(cmd.requisition_id)
        if req is None or not domain.posted(req, utcnow()):
            raise NotFound(f"job {cmd.requisition_id} not found")
        missing = domain.unanswered(cmd.answers, req.get("knockout_questions") or [])
        if missing:
            raise Invalid(f"answers.{missing[0]}: please answer this question", field=f"answers.{missing[0]}")
        cv = checked_file(cmd.cv, "cv") if cmd.cv is not None else None
        return accepted_view(self._apply(
            caller, req, cmd.candidate, source=cmd.source, answers=cmd.answers,
            talent_pool_consent=cmd.talent_pool_consent, self_applied=True, locale=cmd.locale,
            cover_note=cmd.cover_note, cv=(cmd.cv.filename, *cv) if cv else None))

    def _apply(self, caller, req: dict, candidate: CandidateIn, *, source: str, answers: dict[str, bool],
               talent_pool_consent: bool, self_applied: bool = False, locale: str = "en", cover_note: str = "",
               cv: tuple[str, bytes, str] | None = None) -> dict:
        """An application to an open requisition, by staff or by the candidate. No transaction: the identity and
        the division's profile are idempotent single-document upserts, a CV's file and metadata go in first
        (GridFS writes no transaction), then the application and its events are one insert
        (docs/decisions/004-one-document-writes.md); a refused insert (a duplicate) takes the file out again."""
        unknown = domain.unknown_answers(answers, req.get("knockout_questions") or [])
        if unknown:
            raise Invalid(f"answers.{unknown[0]}: not a knock-out question of this requisition",
                          field=f"answers.{unknown[0]}")
        now = utcnow()
        cand, created = self.store.candidate_for(domain.candidate_key(candidate.email), now,
                                                 retries=UPSERT_RACE_RETRIES)
        # Only this division's profile of the person changes (docs/decisions/002).
        profile = self.store.save_profile(cand, req["division"], domain.profile_update(candidate), now,
                                          new_candidate=created)
        app = domain.new_application(new_id("app"), req, cand["_id"], source=source, answers=answers,
                                     talent_pool_consent=talent_pool_consent, detail=domain.received_detail(source),
                                     submitted_by=domain.CANDIDATE if self_applied else caller.name, at=now)
        if self_applied:
            app.update(self_applied=True, locale=locale, cover_note=seal(cover_note) if cover_note else None,
                       privacy_acknowledged_at=now)
        document = None
        if cv is not None:
            filename, data, content_type = cv
            document = self._store_file(app, "cv", filename, data, content_type, domain.CANDIDATE, now)

        def announce(app, change):
            change.emit("application_received", ApplicationReceived(
                application_id=app["_id"], candidate_id=cand["_id"], requisition=domain.requisition_snapshot(req),
                candidate=domain.candidate_snapshot(profile), source=source, talent_pool_consent=talent_pool_consent,
                answers=dict(answers), received_at=now, self_applied=self_applied, locale=locale,
                cv_document_id=document["_id"] if document else None))
            change.emit("application_status_changed", domain.status_changed(app, None))
            if document is not None:
                change.emit("document_received", self._document_received(document))

        try:
            return self._create_application(app, announce)
        except Exception:
            if document is not None:
                self.store.delete_document(document["_id"])
            raise

    # -- documents (files of an application: GridFS, sealed) ---------------------------------------------
    def _store_file(self, app: dict, kind: str, filename: str, data: bytes, content_type: str, uploaded_by: str,
                    at) -> dict:
        """The file sealed into GridFS and its metadata (pending its reading); the write that announces it
        (`document_received`) follows."""
        doc = domain.new_document(new_id("doc"), app, kind=kind, filename=seal(filename), content_type=content_type,
                                  size=len(data), uploaded_by=uploaded_by, at=at)
        self.store.put_file(doc["_id"], seal_bytes(data))
        try:
            self.store.insert_document(doc)
        except Exception:
            self.store.delete_files([doc["_id"]])
            raise
        return doc

    @staticmethod
    def _document_received(doc: dict) -> DocumentReceived:
        return DocumentReceived(document_id=doc["_id"], application_id=doc["application_id"],
                                candidate_id=doc["candidate_id"], requisition_id=doc["requisition_id"],
                                division=doc["division"], kind=doc["kind"], content_type=doc["content_type"],
                                received_at=doc["uploaded_at"])

    def _readable_application(self, caller, application_id: str) -> dict:
        app = self.store.get_application(application_id)
        if app is None or app.get("erased") or not domain.can_read_documents(
                caller.role, caller.name, caller.can_see(app["division"]), app):
            raise NotFound(f"application {application_id} not found")
        return app

    @implements(contract.AttachDocument)
    def attach_document(self, caller, cmd: contract.AttachDocumentArgs) -> contract.DocumentView:
        """A file a recruiter attaches to an application (a CV they were sent is read like a candidate's)."""
        app = self._visible_application(caller, cmd.application_id)
        if app.get("erased"):
            raise NotFound(f"application {cmd.application_id} not found")
        data, content_type = checked_file(cmd.document, "file")
        doc = self._store_file(app, cmd.kind, cmd.document.filename, data, content_type, caller.name, utcnow())

        def decide(current, change):
            if current is None or current.get("erased") or not caller.can_see(current["division"]):
                raise NotFound(f"application {cmd.application_id} not found")
            change.emit("document_received", self._document_received(doc))
            return current

        try:
            self.bus.write("applications", cmd.application_id, decide)
        except Exception:
            self.store.delete_document(doc["_id"])
            raise
        return document_view(doc, with_text=True)

    @implements(contract.ListDocuments)
    def list_documents(self, caller, args: contract.ApplicationArgs) -> contract.DocumentList:
        app = self._readable_application(caller, args.application_id)
        staff = caller.role != "interviewer"  # the extracted text is for staff (an interviewer reads the file)
        return contract.DocumentList(items=[document_view(d, with_text=staff)
                                            for d in self.store.documents_of(app["_id"])])

    @implements(contract.GetDocument)
    def get_document(self, caller, args: contract.DocumentArgs) -> contract.DocumentContent:
        doc = self.store.get_document(args.document_id)
        if doc is None:
            raise NotFound(f"document {args.document_id} not found")
        try:
            self._readable_application(caller, doc["application_id"])
        except NotFound:
            raise NotFound(f"document {args.document_id} not found") from None
        sealed = self.store.read_file(doc["_id"])
        if sealed is None:  # erased between the two reads
            raise NotFound(f"document {args.document_id} not found")
        data = open_bytes(sealed)
        return contract.DocumentContent(
            id=doc["_id"], application_id=doc["application_id"],
            filename=domain.safe_filename(open_sealed(doc["filename"]), doc["_id"],
                                          documents.EXTENSION.get(doc["content_type"], "")),
            content_type=doc["content_type"], size=len(data), data=base64.b64encode(data).decode(),
            candidate_id=doc["candidate_id"], division=doc["division"])

    @event_handler("sourcing", "document_received")
    def on_document_received(self, payload: DocumentReceived, envelope):
        """Read a stored file off the request path: its text (sealed), the vocabulary's skills and the years it
        states, then `document_read` (no text on the bus), in one write of its metadata. A file that defeats
        the reader is `unreadable` with the reason, never a failed event."""
        sealed = self.store.read_file(payload.document_id)
        reading = None
        if sealed is not None:
            # A real thread: parsing a PDF is CPU work that would hold every green thread of this process.
            reading = tpool.execute(cv_reading.read_text, open_bytes(sealed), payload.content_type)
        vocabulary = cv_reading.vocabulary(shipped_skills(), self.store.requisition_skills()) if reading else []
        skills = cv_reading.find_skills(reading.text, vocabulary) if reading else []
        years = cv_reading.find_years(reading.text) if reading else None

        def decide(doc, change):
            if doc is None or reading is None or doc["text_status"] != domain.PENDING:
                return None  # erased meanwhile, or read already (a redelivery)
            now = utcnow()
            doc.update(text_status=reading.status, text=seal(reading.text) if reading.text else None,
                       skills_found=skills, years_found=years, unreadable_reason=reading.reason, read_at=now)
            change.emit("document_read", DocumentRead(
                document_id=doc["_id"], application_id=doc["application_id"], candidate_id=doc["candidate_id"],
                requisition_id=doc["requisition_id"], division=doc["division"], kind=doc["kind"],
                text_status=reading.status, skills_found=skills, years_found=years,
                unreadable_reason=reading.reason, read_at=now))
            return doc

        self.bus.write("documents", payload.document_id, decide, envelope)

    @implements(contract.SubmitFastTrackApplication)
    def submit_fast_track_application(self, caller, args: contract.FastTrackArgs) -> contract.ApplicationAccepted:
        # talent_pool acts as the system; an admin may do it by hand (the declaration's roles)
        requisition_id, candidate_id = args.requisition_id, args.candidate_id
        reengagement_id, reuse_interview_from = args.reengagement_id, args.reuse_interview_from
        req = self._visible_requisition(caller, requisition_id)
        if req["status"] != "open":
            raise Conflict(f"requisition {requisition_id} is closed", code="requisition_closed")
        if args.candidate is not None:
            # A talent-community member (candidate_id names their sign-up): the candidate of their email, as
            # submit_application finds or makes it, with this division's profile from what they told the pool.
            cand, created = self.store.candidate_for(domain.candidate_key(args.candidate.email), utcnow(),
                                                     retries=UPSERT_RACE_RETRIES)
            self.store.save_profile(cand, req["division"], domain.profile_update(args.candidate), utcnow(),
                                    new_candidate=created)
            candidate_id, reuse_interview_from = cand["_id"], None
        cand = self.store.get_candidate(candidate_id)
        if cand is None or cand.get("erasure_id"):
            raise NotFound(f"candidate {candidate_id} not found")
        reused = prior = None
        if reuse_interview_from:
            prior = self.store.get_application(reuse_interview_from)
            if prior is None or prior["candidate_id"] != candidate_id or not prior.get("interview"):
                raise Invalid(f"reuse_interview_from: application {reuse_interview_from} is not an interviewed "
                              f"application of candidate {candidate_id}", field="reuse_interview_from")
            reused = domain.reused_interview(prior["interview"], reuse_interview_from)
        profile = self._fast_track_profile(cand, req["division"], prior)
        # a community member consented to the pool when they joined it
        consent = args.candidate is not None or any(
            a.get("talent_pool_consent") for a in self.store.candidate_applications(candidate_id))
        now = utcnow()
        app = domain.new_application(new_id("app"), req, candidate_id, source="talent_pool", answers={},
                                     talent_pool_consent=consent, detail=domain.FAST_TRACK_RECEIVED,
                                     submitted_by=caller.name, at=now, reengagement_id=reengagement_id)

        def announce(app, change):
            change.emit("application_received", ApplicationReceived(
                application_id=app["_id"], candidate_id=candidate_id, requisition=domain.requisition_snapshot(req),
                candidate=domain.candidate_snapshot(profile), source="talent_pool", talent_pool_consent=consent,
                answers={}, received_at=now,
                fast_track={"reengagement_id": reengagement_id, "reused_interview_from": reuse_interview_from}))
            change.emit("application_status_changed", domain.status_changed(app, None))
            if reused is not None:
                previous = domain.start_with_reused_interview(app, reused, reuse_interview_from, now)
                change.emit("application_status_changed", domain.status_changed(app, previous))

        return accepted_view(self._create_application(app, announce))

    def _fast_track_profile(self, cand: dict, division: str, prior: dict | None) -> dict:
        """The profile a re-engaged candidate's new application uses: the division's own; else a copy of the
        one the pool knew them by (the prior application's division, else the latest), kept as this
        division's from now on."""
        own = self.store.get_profile(cand["_id"], division)
        if own is not None:
            return own
        source = self.store.get_profile(cand["_id"], prior["division"]) if prior is not None else None
        source = source or domain.profile_for_view(self.store.profiles_of(cand["_id"]), domain.legacy_profile(cand))
        if source is None:
            raise NotFound(f"candidate {cand['_id']} not found")
        fields = {f: source.get(f) for f in domain.PROFILE_FIELDS}
        return self.store.save_profile(cand, division, fields, utcnow())

    @implements(contract.GetApplication)
    def get_application(self, caller, args: contract.ApplicationArgs) -> contract.Application:
        return self._with_names([self._visible_application(caller, args.application_id)])[0]

    @implements(contract.ListApplications)
    def list_applications(self, caller, args: contract.ListApplicationsArgs) -> contract.ApplicationPage:
        self._visible_requisition(caller, args.requisition_id)
        status: str | list[str] | None = args.status.value if args.status else None
        if args.statuses is not None:  # the board's "ended" column: several at once (with `status`: both apply)
            wanted = {s.value for s in args.statuses}
            status = sorted(wanted & {status} if status else wanted)
        docs, next_cursor = self.store.list_applications(
            args.requisition_id, status, args.limit, args.cursor, source=args.source, passed=args.passed,
            tag=args.tag, sort=args.sort)
        return contract.ApplicationPage(items=self._with_names(docs), next_cursor=next_cursor)

    @implements(contract.PipelineSummary)
    def pipeline_summary(self, caller, args: contract.PipelineArgs) -> contract.Pipeline:
        """The board's counts per status (filtered) and the choices of its filters, in two reads."""
        self._visible_requisition(caller, args.requisition_id)
        counts = self.store.pipeline_counts(args.requisition_id, args.source, args.passed, args.tag)
        sources, tags = self.store.pipeline_choices(args.requisition_id)
        return contract.Pipeline(requisition_id=args.requisition_id, total=sum(counts.values()), counts=counts,
                                 sources=sources, tags=tags)

    @implements(contract.TagApplications)
    def tag_applications(self, caller, args: contract.TagApplicationsArgs) -> contract.TaggedApplications:
        """Tags added and removed on each application (the board's bulk action). Every id must name an
        application the caller may see (else 404 and nothing changes); each change that changes something is
        kept in `tag_history` with who and when, in the same write as the tags."""
        ids = list(dict.fromkeys(args.application_ids))
        for application_id in ids:  # all or nothing as far as scope goes: check every id before writing any
            self._visible_application(caller, application_id)
        items = []
        for application_id in ids:
            def step(app, change):
                now = utcnow()
                tags, entry = domain.retag(app.get("tags") or [], args.add, args.remove, caller.name, now)
                if entry is not None:
                    app["tags"] = tags
                    app["tag_history"] = [*(app.get("tag_history") or []), entry]
            doc = self._move(caller, application_id, step)
            items.append(contract.TaggedApplication(id=doc["_id"], tags=doc.get("tags") or []))
        return contract.TaggedApplications(items=items)

    # -- notes (issue 20): internal, staff of the application's division only -----------------------------------
    @implements(contract.AddNote)
    def add_note(self, caller, args: contract.AddNoteArgs) -> contract.Note:
        """The note and, when it mentions anyone, `note_added` (their sealed addresses) in one transaction.
        The gateway resolved the mentions to users of the application's division (it owns the users)."""
        mentioned = list({m.user_id: m for m in args.mentions}.values())

        def work(uow):
            app = self._visible_application(caller, args.application_id, session=uow.session, store=uow.store)
            if app.get("erased"):
                raise NotFound(f"application {args.application_id} not found")
            now = utcnow()
            doc = {"_id": new_id("note"), "application_id": app["_id"], "candidate_id": app["candidate_id"],
                   "division": app["division"], "author": caller.name, "body": seal(args.body),
                   "mentions": [m.user_id for m in mentioned], "created_at": now}
            uow.store.insert_note(doc, session=uow.session)
            if mentioned:
                uow.emit("note_added", NoteAdded(
                    note_id=doc["_id"], application_id=app["_id"], candidate_id=app["candidate_id"],
                    requisition_id=app["requisition_id"], requisition_title=app["requisition_title"],
                    division=app["division"], author=caller.name, created_at=now,
                    mentions=[NoteRecipient(user_id=m.user_id, name=m.name, email=seal(m.email), locale=m.locale)
                              for m in mentioned]))
            return doc

        return note_view(self.bus.transact(work))

    @implements(contract.ListNotes)
    def list_notes(self, caller, args: contract.ApplicationArgs) -> contract.NoteList:
        app = self._visible_application(caller, args.application_id)
        return contract.NoteList(items=[note_view(d) for d in self.store.notes_of(app["_id"])])

    @implements(contract.MentionedNotes)
    def mentioned_notes(self, caller, args: contract.MentionedNotesArgs) -> contract.NotePage:
        docs, next_cursor = self.store.notes_mentioning(args.user_id, caller.division_filter(), args.limit,
                                                        args.cursor)
        return contract.NotePage(items=[note_view(d) for d in docs], next_cursor=next_cursor)

    # -- search (issue 20, docs/decisions/008-candidate-search.md) ---------------------------------------------
    # The most candidates an applications list's `q` narrows to (a name's first letter in a large group finds
    # more: the list then covers the first ones, by profile id; a longer term narrows it).
    SEARCH_CANDIDATE_CAP = 1000

    @implements(contract.SearchCandidates)
    def search_candidates(self, caller, args: contract.SearchCandidatesArgs) -> contract.CandidateSearchPage:
        """One hit per profile found in the caller's divisions (the person as that division recorded them)."""
        kind, terms = domain.search_terms(args.q)
        docs, next_cursor = self.store.search_profiles(caller.division_filter(), kind, terms, args.limit,
                                                       args.cursor)
        return contract.CandidateSearchPage(items=[contract.CandidateHit(
            id=p["candidate_id"], division=p["division"], name=p["name"], email=open_sealed(p.get("email")),
            phone=open_sealed(p.get("phone")), skills=p.get("skills") or [],
            matched=domain.matched_by(kind, terms, p)) for p in docs], next_cursor=next_cursor)

    @implements(contract.SearchApplications)
    def search_applications(self, caller, args: contract.SearchApplicationsArgs) -> contract.ApplicationPage:
        divisions = caller.division_filter()
        candidate_ids = None
        if args.q is not None:
            kind, terms = domain.search_terms(args.q)
            candidate_ids = self.store.searched_candidate_ids(divisions, kind, terms, self.SEARCH_CANDIDATE_CAP)
            if not candidate_ids:
                return contract.ApplicationPage(items=[], next_cursor=None)
        docs, next_cursor = self.store.search_applications(
            divisions, candidate_ids, args.status.value if args.status else None, args.requisition_id, args.source,
            args.sort, args.limit, args.cursor)
        return contract.ApplicationPage(items=self._with_names(docs), next_cursor=next_cursor)

    def _with_names(self, docs: list[dict]) -> list[contract.Application]:
        """Who applied, by name, so a recruiter's list or board needs no call per candidate."""
        pairs = [(d["candidate_id"], d["division"]) for d in docs]
        names = self.store.candidate_names(pairs) if docs else {}
        return [contract.Application(**_application_fields(d), candidate_name=names.get(pair))
                for d, pair in zip(docs, pairs, strict=True)]

    # -- reports (from the applications' timelines: sourcing's record of every status change) ---------------
    def _report_apps(self, caller, args: contract.ReportArgs, requisition_id=None):
        scope = report_scope(caller, args.division, args.start, args.end)
        if requisition_id is not None:
            req = self._visible_requisition(caller, requisition_id)
            if not scope.covers(req["division"]):  # another division than the one asked for
                raise NotFound(f"requisition {requisition_id} not found")
        return scope, self.store.report_applications(scope.divisions, scope.time_query(), requisition_id)

    # The domain's report rows are plain dicts; the declared answer checks them on the way out.
    @implements(contract.FunnelReportRpc)
    def funnel_report(self, caller, args: contract.FunnelArgs) -> dict:
        """GET /v1/reports/funnel: per division or requisition, over applications received in [from, to)."""
        scope, apps = self._report_apps(caller, args, args.requisition_id)
        return {**scope.echo(), "requisition_id": args.requisition_id, "group_by": args.group_by,
                "groups": domain.funnel_report(apps, args.group_by)}

    @implements(contract.TimeToHireReportRpc)
    def time_to_hire_report(self, caller, args: contract.ReportArgs) -> dict:
        """GET /v1/reports/time-to-hire: per division and tier, over applications received in [from, to)."""
        scope, apps = self._report_apps(caller, args)
        return {**scope.echo(), "groups": domain.time_to_hire_report(apps)}

    @implements(contract.SourcesReportRpc)
    def sources_report(self, caller, args: contract.ReportArgs) -> dict:
        """GET /v1/reports/sources: per source channel, over applications received in [from, to)."""
        scope, apps = self._report_apps(caller, args)
        return {**scope.echo(), "items": domain.sources_report(apps)}

    @implements(contract.GetCandidate)
    def get_candidate(self, caller, args: contract.CandidateArgs) -> contract.Candidate:
        candidate_id = args.candidate_id
        doc = self.store.get_candidate(candidate_id)
        if doc is None or doc.get("erasure_id"):  # an erased candidate is gone for every reader
            raise NotFound(f"candidate {candidate_id} not found")
        apps = self.store.candidate_applications(candidate_id, caller.division_filter())
        if not apps:
            raise NotFound(f"candidate {candidate_id} not found")
        # What the caller's divisions were told, never what another division recorded (docs/decisions/002).
        profiles = self.store.profiles_of(candidate_id, sorted({a["division"] for a in apps}))
        profile = domain.profile_for_view(profiles, domain.legacy_profile(doc))
        if profile is None:
            raise NotFound(f"candidate {candidate_id} not found")
        return candidate_view(candidate_id, profile, [a["_id"] for a in apps])

    @implements(contract.RecordConfirmation)
    def record_confirmation(self, caller, cmd: contract.ConfirmationArgs) -> contract.ApplicationRecord:
        def step(app, change):
            domain.check_confirmable(app["status"])
            now = utcnow()
            app["confirmation"] = {"result": cmd.result, "note": cmd.note, "by": caller.name, "at": now}
            app["timeline"].append(domain.timeline_entry(now, app["status"], domain.confirmation_detail(cmd.result)))
            app["updated_at"] = now
            change.emit("offer_confirmation_recorded", OfferConfirmationRecorded(
                application_id=app["_id"], division=app["division"], result=cmd.result, note=cmd.note,
                by=caller.name, at=now))

        return application_record(self._move(caller, cmd.application_id, step))

    @implements(contract.RecordOutcome)
    def record_outcome(self, caller, cmd: contract.OutcomeArgs) -> contract.ApplicationRecord:
        def step(app, change):
            new_status = domain.outcome_status(app["status"], cmd.outcome)
            self._change(app, change, new_status, domain.outcome_detail(cmd.outcome, caller.name))

        return application_record(self._move(caller, cmd.application_id, step))

    @implements(contract.MakeOffer)
    def make_offer(self, caller, cmd: contract.MakeOfferArgs) -> contract.Offer:
        """The terms of a passed application's offer; dates checked against the clock in the division's zone.
        Announced with `offer_terms_set` (an open offer's candidate is sent the new terms)."""
        app = self._visible_application(caller, cmd.application_id)
        domain.check_offer_settable(app["status"])  # fail fast; the write checks again
        division = self._division(app["division"])
        terms = OfferTerms.model_validate(cmd.model_dump(exclude={"application_id"}))
        terms.check_dates(utcnow(), division["timezone"])

        def step(app, change):
            domain.check_offer_settable(app["status"])
            now = utcnow()
            offer = domain.new_offer(terms, app.get("offer"), company=division["name"],
                                     timezone=division["timezone"], by=caller.name, now=now)
            app["offer"] = offer
            app["timeline"].append(domain.timeline_entry(now, app["status"],
                                                         domain.offer_terms_detail(offer, caller.name)))
            app["updated_at"] = now
            change.emit("offer_terms_set", OfferTermsSet(application_id=app["_id"], division=app["division"],
                                                         status=app["status"], offer=domain.offer_info(offer)))

        doc = self._move(caller, cmd.application_id, step)
        return contract.Offer(**offer_view(doc["offer"]).model_dump(), application_id=doc["_id"],
                              status=doc["status"])

    @implements(contract.CandidateResponse)
    def candidate_response(self, caller, cmd: contract.CandidateResponseArgs) -> contract.ApplicationRecord:
        # The portal calls as the system after checking the candidate's token (the declaration's roles).
        def step(app, change):
            now = utcnow()
            if cmd.response == "question":  # recorded for HR; the offer stays open
                domain.check_question(app["status"])
                question = {"id": new_id("ofq"), "message": cmd.message, "asked_at": now}
                app["offer_questions"] = [*(app.get("offer_questions") or []), question]
                app["updated_at"] = now
                change.emit("offer_question_asked", OfferQuestionAsked(
                    application_id=app["_id"], division=app["division"], question_id=question["id"],
                    message=cmd.message, asked_at=now))
                return
            new_status = domain.response_status(app["status"], cmd.response)
            domain.check_answer(app.get("offer"), cmd.response, cmd.start_date, now)
            if app.get("offer"):
                app["offer"] = {**app["offer"],
                                "accepted_start_date": cmd.start_date.isoformat() if cmd.start_date else None,
                                "decline_reason": cmd.reason if cmd.response == "decline" else None}
            self._change(app, change, new_status, domain.response_detail(new_status, cmd.start_date))

        return application_record(self._move(caller, cmd.application_id, step))

    # -- events ----------------------------------------------------------------------------------------
    def _follow(self, payload, envelope, record, detail, *, override: bool = False) -> None:
        """One write of the application an event is about: `record(app)` stores the event's data on it (False:
        a stale event, nothing to write), then the status moves as the domain says, with the handled event's
        id and the `application_status_changed` it causes (ServiceStore.write_document)."""
        event_type = envelope.type

        def decide(app, change):
            if app is None:
                # Its submit has not been written (yet): a true gap, retried later (the wait queue).
                raise NotYetKnown(f"{event_type}: application {payload.application_id} is not known (yet)")
            if record(app) is False:
                return None
            try:
                step = domain.next_status_for_event(event_type, app["status"], payload, app)
            except ValueError as exc:
                raise PoisonMessage(str(exc)) from None
            if step.wait:
                raise NotYetKnown(f"{event_type} for application {app['_id']} ({app['status']}): {step.reason}")
            if step.status:
                self._change(app, change, step.status, detail(step.status), override=override)
            else:
                app["updated_at"] = utcnow()
            return app

        self.bus.write("applications", payload.application_id, decide, envelope)

    @event_handler("screening", "application_screened")
    def on_application_screened(self, payload: ApplicationScreened, envelope):
        def record(app):
            if not domain.keep_screening(app.get("screening"), payload.result):
                return False  # a stale verdict: a person's later override stands
            app["screening"] = payload.result.model_dump(mode="json")
            return True

        self._follow(payload, envelope, record, lambda _s: domain.screening_detail(payload.result),
                     override=bool(payload.result.override))

    @event_handler("interview_feedback", "interview_scheduled")
    def on_interview_scheduled(self, payload: InterviewScheduled, envelope):
        # The panel's names are kept: its interviewers may read the application's documents.
        self._follow(payload, envelope, lambda app: domain.record_interview(
                         app, payload.interview_id, panel=domain.with_panel(app, payload.interviewers)),
                     lambda _s: domain.interview_scheduled_detail(payload))

    @event_handler("interview_feedback", "interview_slots_offered")
    def on_interview_slots_offered(self, payload: InterviewSlotsOffered, envelope):
        self._follow(payload, envelope, lambda app: domain.record_interview(app, payload.interview_id),
                     lambda _s: domain.interview_offered_detail(payload))

    @event_handler("interview_feedback", "interview_cancelled")
    def on_interview_cancelled(self, payload: InterviewCancelled, envelope):
        # Noting the cancellation leaves `interview_id` and `interviews_seen`, which the move depends on, alone.
        self._follow(payload, envelope, lambda app: domain.record_cancellation(app, payload.interview_id),
                     lambda _s: domain.interview_cancelled_detail(payload))

    @event_handler("interview_feedback", "interview_completed")
    def on_interview_completed(self, payload: InterviewCompleted, envelope):
        self._follow(payload, envelope, lambda app: app.update(interview=payload.summary.model_dump(mode="json")),
                     lambda _s: domain.interview_completed_detail(payload.summary))

    @event_handler("interview_feedback", "decision_recorded")
    def on_decision_recorded(self, payload: DecisionRecorded, envelope):
        # Terms given with a pass are stored with the move, so the `offered` change carries them.
        offer = None
        if payload.offer and payload.next_status in domain.OFFER_SETTABLE:
            division = self._division(payload.division)
            offer = domain.new_offer(OfferTerms.model_validate(payload.offer), None, company=division["name"],
                                     timezone=division["timezone"], by=payload.decision.decided_by,
                                     now=payload.decision.decided_at)

        def record(app):
            app["decision"] = payload.decision.model_dump(mode="json")
            if offer is not None and not app.get("offer"):
                app["offer"] = offer

        self._follow(payload, envelope, record, lambda s: domain.decision_detail(payload.decision, s))

    @event_handler("interview_feedback", "approval_step_decided")
    def on_approval_step_decided(self, payload: ApprovalStepDecided, envelope):
        self._follow(payload, envelope, lambda app: None, lambda _s: domain.approval_detail(payload))

    # -- right to erasure, right of access, retention ---------------------------------------------------
    @implements(contract.EraseCandidate)
    def erase_candidate(self, caller, args: contract.CandidateArgs) -> contract.Erasure:
        """Right to erasure (admin): anonymise here, then every service erases its own (erasure_view)."""
        return erasure_view(self._erase(args.candidate_id, "request", caller.name))

    def _erase(self, candidate_id: str, reason: str, requested_by: str) -> dict:
        cand = self.store.get_candidate(candidate_id)
        if cand is None:
            raise NotFound(f"candidate {candidate_id} not found", code="candidate_not_found")
        if cand.get("erasure_id"):
            return self.store.get_erasure(cand["erasure_id"])  # asked again: the same erasure, no new one
        app_ids = [a["_id"] for a in self.store.applications_of_candidate(candidate_id)]
        # Dead letters first (outside the transaction, idempotent): a dead-lettered command may hold the
        # address in clear, so it is matched too.
        held = [p for p in [*self.store.profiles_of(candidate_id), domain.legacy_profile(cand)] if p]
        needles = [candidate_id, *app_ids,
                   *(open_sealed(p.get(f)) for p in held for f in ("email", "phone"))]
        dropped = purge_dead_letters(amqp_uri(), self.name, [n for n in needles if n])
        # The files too (GridFS writes no transaction; idempotent): their metadata goes in the transaction.
        files = self.store.delete_files([d["_id"] for d in self.store.documents_of_candidate(candidate_id)])

        def work(uow):
            s, now = uow.session, utcnow()
            current = uow.store.get_candidate(candidate_id, session=s)
            if current.get("erasure_id"):
                return uow.store.get_erasure(current["erasure_id"], session=s)
            ids = [a["_id"] for a in uow.store.applications_of_candidate(candidate_id, session=s)]
            erasure = domain.new_erasure(new_id("era"), candidate_id, ids, reason, requested_by, now)
            counts = uow.store.erase_candidate_records(candidate_id, erasure["_id"], now, s)
            counts["outbox"] = uow.store.erase_from_outbox(candidate_id, ids, session=s)
            counts["dead_letters"] = dropped
            counts["files"] = files
            erasure = domain.confirm_party(erasure, "sourcing", counts, now)
            uow.store.mark_erased(candidate_id, erasure["_id"], ids, session=s)
            uow.store.insert_erasure(erasure, s)
            uow.emit("candidate_erasure_requested", CandidateErasureRequested(
                erasure_id=erasure["_id"], candidate_id=candidate_id, application_ids=ids, reason=reason,
                requested_at=now))
            return erasure

        return self.bus.transact(work)

    @implements(contract.GetErasure)
    def get_erasure(self, caller, args: contract.ErasureArgs) -> contract.Erasure:
        doc = self.store.get_erasure(args.erasure_id)
        if doc is None:
            raise NotFound(f"erasure {args.erasure_id} not found", code="erasure_not_found")
        return erasure_view(doc)

    @implements(contract.ConfirmErasure)
    def confirm_erasure(self, caller, args: contract.ConfirmErasureArgs) -> contract.Erasure:
        """The gateway's confirmation of its part (its Redis records); services confirm by event."""
        return erasure_view(self._confirm(args.erasure_id, args.party, args.counts, utcnow()))

    def _confirm(self, erasure_id: str, party: str, counts: dict, at, envelope=None) -> dict:
        def work(uow):
            doc = uow.store.get_erasure(erasure_id, session=uow.session)
            if doc is None:
                raise NotFound(f"erasure {erasure_id} not found", code="erasure_not_found")
            doc = domain.confirm_party(doc, party, counts, at)
            uow.store.save_erasure(doc, uow.session)
            return doc

        return self.bus.transact(work, envelope)

    def _erased_by(self, payload: CandidateErased, envelope) -> None:
        self._confirm(payload.erasure_id, payload.service, payload.counts, payload.erased_at, envelope)

    @event_handler("screening", "candidate_erased")
    def on_screening_erased(self, payload: CandidateErased, envelope):
        self._erased_by(payload, envelope)

    @event_handler("interview_feedback", "candidate_erased")
    def on_interview_feedback_erased(self, payload: CandidateErased, envelope):
        self._erased_by(payload, envelope)

    @event_handler("notification", "candidate_erased")
    def on_notification_erased(self, payload: CandidateErased, envelope):
        self._erased_by(payload, envelope)

    @event_handler("talent_pool", "candidate_erased")
    def on_talent_pool_erased(self, payload: CandidateErased, envelope):
        self._erased_by(payload, envelope)

    @implements(contract.ExportCandidate)
    def export_candidate(self, caller, args: contract.CandidateArgs) -> contract.SourcingExport:
        """Right of access (admin): the candidate and every application, whole, in every division."""
        candidate_id = args.candidate_id
        doc = self.store.get_candidate(candidate_id)
        if doc is None or doc.get("erasure_id"):
            raise NotFound(f"candidate {candidate_id} not found", code="candidate_not_found")
        apps = self.store.applications_of_candidate(candidate_id)
        profiles = self.store.profiles_of(candidate_id)
        latest = domain.profile_for_view(profiles, domain.legacy_profile(doc))
        if latest is None:
            raise NotFound(f"candidate {candidate_id} not found", code="candidate_not_found")
        return contract.SourcingExport(
            candidate=candidate_view(candidate_id, latest, [a["_id"] for a in apps]),
            # every division's own record of the person (docs/decisions/002)
            profiles=[profile_export(p) for p in profiles],
            applications=[contract.ExportedApplication(**_application_fields(a), answers=a.get("answers") or {},
                                                       submitted_by=a.get("submitted_by"),
                                                       cover_note=open_sealed(a.get("cover_note")))
                          for a in apps],
            # what is known of each file and the text read from it; the files themselves are downloads
            documents=[document_view(d, with_text=True) for d in self.store.documents_of_candidate(candidate_id)],
            notes=[note_view(d) for d in self.store.notes_of_candidate(candidate_id)])

    def _retention(self, division: str | None) -> domain.Retention:
        settings = self.settings
        doc = self.store.get_retention_policy(division) if division else None
        return domain.Retention(rejected_days=(doc or {}).get("rejected_days", settings.retention_rejected_days),
                                pool_days=(doc or {}).get("pool_days", settings.pool_retention_days))

    @implements(contract.GetRetentionPolicy)
    def get_retention_policy(self, caller, args: contract.DivisionArgs) -> contract.RetentionPolicy:
        division = args.division
        if not caller.can_see(division):
            raise Forbidden(f"no access to division '{division}'")
        policy = self._retention(division)
        return contract.RetentionPolicy(division=division, rejected_days=policy.rejected_days,
                                        pool_days=policy.pool_days)

    @implements(contract.PutRetentionPolicy)
    def put_retention_policy(self, caller, cmd: contract.PutRetentionPolicyArgs) -> contract.RetentionPolicy:
        # Admin only (the declaration): how long the group keeps personal data is the group's decision.
        self.store.put_retention_policy(cmd.division, cmd.stored())
        return contract.RetentionPolicy(division=cmd.division, **cmd.stored())

    @configured_timer("retention_sweep_seconds")
    def retention_sweep(self):
        """Erase candidates whose every application ended without a hire longer ago than their division keeps
        them (an erasure like a requested one, reason `retention`)."""
        now = utcnow()
        policies = {p["_id"]: self._retention(p["_id"]) for p in self.store.retention_policies()}
        default = self._retention(None)
        batches = [([division], policy) for division, policy in policies.items()] + [(None, default)]
        candidates: dict[str, None] = {}
        for divisions, policy in batches:
            shortest = min(policy.rejected_days, policy.pool_days)
            for cid in self.store.ended_candidates(divisions, list(policies), now - timedelta(days=shortest),
                                                   RETENTION_BATCH):
                candidates.setdefault(cid)
        for candidate_id in candidates:
            apps = self.store.applications_of_candidate(candidate_id)
            if domain.retention_expired(apps, lambda d: policies.get(d, default), now):
                try:
                    self._erase(candidate_id, "retention", "retention")
                except Exception:  # noqa: BLE001 - the next sweep tries again; one failure must not stop the rest
                    log.exception("retention erasure failed", extra={"candidate_id": candidate_id})

