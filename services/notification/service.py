"""The notification service shell: events in, notices scheduled in MongoDB, email (or, for HR notices of a
division with a webhook, a signed POST) out. Rules live in domain.py, words in templates/.

Scheduling is durable: a notice is created inside the unit of work of the event that causes it, with its
due time; `dispatch_due` (every 0.5 s, and straight after a handler created something due now) claims
due notices one at a time with an atomic find-and-update lease, sends, then marks them sent. A crash
between claim and mark leaves the lease to expire and the notice is sent again (same Message-ID, or
the same `X-Hireloop-Delivery` on a webhook). A failed send is retried with back-off: the base is
`NOTIFY_BACKOFF_BASE_SECONDS` (default 5), the notice fails for good after `NOTIFY_MAX_ATTEMPTS` (default 5).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import partial

from nameko.extensions import DependencyProvider
from nameko.timer import timer

from services.notification import chat, domain, interviews, loader
from services.notification.destinations import AllowList
from services.notification.sender import (
    Attachment,
    RefusedDestination,
    SendError,
    SmtpSender,
    calendar_attachment,
    pdf_attachment,
)
from services.notification.store import NotificationStore
from services.notification.webhook import ChatSender, WebhookSender
from shared import tracing
from shared.bus.configured import container_settings
from shared.bus.nameko_ext import ServiceBase, Store, event_handler, implements
from shared.config import Settings
from shared.contracts import notification as contract
from shared.contracts.commands import NotificationPolicy, OfferTerms
from shared.contracts.common import NoticeKind
from shared.contracts.events import (
    ApplicationReceived,
    ApplicationStatusChanged,
    ApprovalsRequested,
    ApprovalStepDecided,
    CandidateErasureRequested,
    CommunityMemberLeft,
    CommunitySignupRequested,
    InterviewAttendanceRecorded,
    InterviewCancelled,
    InterviewDetails,
    InterviewScheduled,
    InterviewSlotsOffered,
    InterviewUpdated,
    NoteAdded,
    NoticeSent,
    OfferConfirmationRecorded,
    OfferQuestionAsked,
    OfferTermsSet,
    ReengagementRequested,
    ScorecardSubmitted,
)
from shared.crypto import open_sealed, seal
from shared.errors import Conflict, Forbidden, NotFound, NotYet
from shared.ids import new_id
from shared.offer_letter import OfferLetter, offer_letter_pdf
from shared.reports import report_scope
from shared.storage import AlreadyHandled, StillContended, state_of
from shared.timeutil import iso, utcnow
from shared.timeutil import parse as parse_time
from shared.tokens import portal_token, portal_url

log = logging.getLogger("hireloop.notification")

DISPATCH_BATCH = 50


class ContactNotYetKnown(NotYet):
    """The application's `application_received` has not been handled yet: retry the event later."""


def _known_contact(uow, application_id: str) -> dict:
    contact = uow.store.get_contact(application_id, session=uow.session)
    if not domain.is_received(contact):  # none yet, or one a status change made before it was received
        raise ContactNotYetKnown(f"application {application_id} not received yet")
    return contact


class _TouchesOthers(Exception):
    """A contact write found the change touches notices or timing too: it goes in a transaction instead."""


class _ContactChanged(Exception):
    """The contact changed between its read and the transaction's write: read it again."""


CONTACT_ATTEMPTS = 8


class Mailer(DependencyProvider):
    """One SMTP sender per process, from SMTP_URL and MAIL_FROM."""

    def setup(self):
        settings = container_settings()
        self.sender = SmtpSender(settings.smtp_url, settings.mail_from)

    def get_dependency(self, worker_ctx):
        return self.sender


class CandidateReplyTo(DependencyProvider):
    """The group-wide address candidates' replies go to when a division's policy names none
    (CANDIDATE_REPLY_TO; empty: candidates' emails carry no Reply-To and do not invite a reply)."""

    def setup(self):
        self.address = container_settings().candidate_reply_to or None

    def get_dependency(self, worker_ctx):
        return self.address


class ChatWebhooks(DependencyProvider):
    """One chat sender per process (Slack and Teams, services/notification/chat.py), with the same allow-list."""

    def setup(self):
        self.sender = ChatSender(allow=AllowList.parse(container_settings().webhook_allowed_hosts))

    def get_dependency(self, worker_ctx):
        return self.sender


class Webhooks(DependencyProvider):
    """One webhook sender per process (HR notices of divisions with `hr_webhook_url`), with the operator's
    allow-list of internal destinations (WEBHOOK_ALLOWED_HOSTS; a bad entry stops the start-up)."""

    def setup(self):
        self.sender = WebhookSender(allow=AllowList.parse(container_settings().webhook_allowed_hosts))

    def get_dependency(self, worker_ctx):
        return self.sender


@dataclass(frozen=True)
class Retries:
    backoff_base: int
    max_attempts: int

    @classmethod
    def from_settings(cls, settings: Settings) -> Retries:
        return cls(backoff_base=settings.notify_backoff_base_seconds, max_attempts=settings.notify_max_attempts)


class RetrySettings(DependencyProvider):
    """How failed sends are retried (NOTIFY_BACKOFF_BASE_SECONDS, NOTIFY_MAX_ATTEMPTS), once per process."""

    def setup(self):
        self.retries = Retries.from_settings(container_settings())

    def get_dependency(self, worker_ctx):
        return self.retries


def _ordered_ids(n: int) -> list[str]:
    """Ids that sort in creation order even within one millisecond (lists are ordered by id)."""
    ids: list[str] = []
    while len(ids) < n:
        candidate = new_id("ntc")
        if not ids or candidate > ids[-1]:
            ids.append(candidate)
    return ids


class NotificationService(ServiceBase):
    name = "notification"
    store = Store(NotificationStore)
    mailer = Mailer()
    webhooks = Webhooks()
    chats = ChatWebhooks()
    retries = RetrySettings()
    reply_to_fallback = CandidateReplyTo()

    # ------------------------------------------------------------------------------------------------
    # creating notices (inside a unit of work)

    def _create(self, uow, plans: list[domain.Planned], *, contact: dict, policy: NotificationPolicy,
                portal: str | None, application_id: str | None, reengagement_id: str | None,
                division: str, screening: dict | None = None, interview: dict | None = None,
                context_override: dict | None = None, first: bool = False,
                member_id: str | None = None) -> tuple[list[str], list[str]]:
        """Render and store the planned notices; returns the ids of those created, and of those due now.
        `first`: the application has no notice yet (its contact says so), so they are inserted at once.
        `member_id`: the notices of a talent-community sign-up (no application)."""
        if contact.get("erased"):
            return [], []  # the candidate's data was erased: nobody to write to, nothing to say
        now = utcnow()
        contact = {**contact, "email": open_sealed(contact.get("email"))}  # stored sealed; needed in clear here
        reply_to = domain.candidate_reply_to(policy, self.reply_to_fallback)
        base = domain.base_context(contact, policy, portal, reply_to)
        docs, due = [], set()
        for planned, notice_id in zip(plans, _ordered_ids(len(plans)), strict=True):
            locale = domain.candidate_locale(contact, policy) if planned.audience == domain.CANDIDATE else policy.locale
            in_locale = policy if locale == policy.locale else policy.model_copy(update={"locale": locale})
            context = {**base, **domain.kind_context(planned, in_locale, screening=screening, interview=interview),
                       **(context_override or {})}
            context["locale"] = locale
            rendered = domain.render(loader.template_text(locale, str(planned.kind)), context)
            channel, recipient = domain.delivery(planned.audience, contact["email"], division, policy)
            # An offer with terms carries its letter, made when it is sent (_attachments) in this locale.
            letter = planned.kind == NoticeKind.offer and planned.extra.get("offer") and channel == domain.EMAIL
            doc = domain.build_notice(
                planned, notice_id=notice_id, now=now, channel=channel, recipient=recipient, rendered=rendered,
                application_id=application_id, candidate_id=contact.get("candidate_id"),
                reengagement_id=reengagement_id, division=division, tier=contact.get("tier"),
                urgent=bool(contact.get("urgent")),
                reply_to=reply_to if planned.audience == domain.CANDIDATE else None, member_id=member_id,
                attachments=[domain.OFFER_LETTER] if letter else None,
            )
            if letter:  # the terms the letter is made from (no personal data: the name is read at sending)
                doc["offer_letter"] = {"offer": planned.extra["offer"], "locale": locale,
                                       "role_title": contact.get("requisition_title") or ""}
            doc["trace"] = tracing.stored_context()  # the delivery, maybe hours later, links back to it
            docs.append(doc)
            copies = self._chat_copies(doc, policy, title=contact.get("requisition_title") or "",
                                       name=contact.get("name") or "") \
                if planned.audience in domain.HR_AUDIENCES and str(planned.kind) in chat.KINDS else []
            docs += copies
            if planned.delay == 0:
                due.update([notice_id, *(c["_id"] for c in copies)])
        created = uow.store.add_notices(docs, first=first, session=uow.session)
        return created, [i for i in created if i in due]

    def _console_url(self, path: str) -> str:
        return f"{self.settings.public_url.rstrip('/')}/console/{path}"

    def _chat_copies(self, doc: dict, policy: NotificationPolicy, *, title: str, name: str,
                     member: str | None = None) -> list[dict]:
        """The chat copies of an HR notice just built (none unless the division has a chat: chat.py)."""
        channels = chat.configured(policy)
        if not channels or not doc.get("division"):
            return []
        interview_id, application_id = doc.get("interview_id"), doc.get("application_id")
        link = self._console_url(f"interviews/{interview_id}") if interview_id else \
            self._console_url(f"applications/{application_id}") if application_id else None
        message = chat.hr_message(doc["kind"], doc["subject"], locale=policy.locale, division=doc["division"],
                                  title=title, application_id=doc.get("application_id"), link=link, name=name,
                                  member=member, interview_id=interview_id)
        copies = chat.copies(doc, message, policy, _ordered_ids(len(channels)))
        for copy in copies:
            copy["trace"] = doc.get("trace") or tracing.stored_context()
        return copies

    def notify_mention(self, uow, *, division: str, key: str, who: str, where: str, link: str,
                       by: str | None = None, application_id: str | None = None,
                       candidate_id: str | None = None) -> list[str]:
        """Post a mention to the division's chat (issue 20's notes call this inside their unit of work): `who`
        was mentioned (by `by`) in `where`, `link` leads there. `key` names the mention once (e.g. the note's
        id and the person's), so a redelivered event posts nothing twice. Returns the ids of notices due now
        (the caller passes them to `_dispatch_soon` after the transaction)."""
        policy = self._policy(division, session=uow.session)
        channels = chat.configured(policy)
        if not channels:
            return []
        now = utcnow()
        message = chat.mention_message(who, where, link, by=by, division=division, locale=policy.locale)
        base = {"dedupe_key": f"{key}:{chat.MENTION}", "kind": chat.MENTION, "status": domain.SCHEDULED,
                "scheduled_for": now, "sent_at": None, "application_id": application_id,
                "candidate_id": candidate_id, "reengagement_id": None, "division": division, "tier": None,
                "urgent": False, "step": 0, "attempts": 0, "error": None, "lease_until": None, "created_at": now,
                "trace": tracing.stored_context()}
        docs = chat.copies(base, message, policy, _ordered_ids(len(channels)))
        created = uow.store.add_notices(docs, first=False, session=uow.session)
        if created and application_id:
            uow.store.count_notices(application_id, len(created), session=uow.session)
        return created

    def _policy(self, division: str, session=None) -> NotificationPolicy:
        return domain.effective_policy(self.store.get_policy(division, session=session))

    def _dispatch_soon(self, ids: list[str]) -> None:
        """Send what a handler just made due, without waiting for the timer (the timer is the fallback)."""
        if not ids:
            return
        try:
            self._dispatch(only_ids=ids)
        except Exception:  # noqa: BLE001 - the notices are stored; the timer sends them
            log.exception("immediate dispatch failed; the timer will retry", extra={"notice_ids": ids})

    # ------------------------------------------------------------------------------------------------
    # events

    # The contact (one document per application) is made by whichever of its events comes first, in one
    # document write; a change that also creates or cancels notices, or updates the timing record, writes the
    # contact with them in one transaction (`_contact_with_others`).

    @event_handler("sourcing", "application_received")
    def on_application_received(self, payload: ApplicationReceived, envelope):
        req = payload.requisition
        fields = {
            "candidate_id": payload.candidate_id,
            "name": payload.candidate.name,
            "email": seal(payload.candidate.email),  # sealed by sourcing already; never stored in clear
            "division": req.division,
            "requisition_id": req.id,
            "requisition_title": req.title,
            "tier": req.tier,
            "urgent": req.urgent,
            "received_at": payload.received_at,
            "updated_at": utcnow(),
        }
        if payload.self_applied:  # careers site or public API: acknowledged at once, in their language
            fields.update(self_applied=True, locale=payload.locale)
        # Usually the first event of the application: a new contact, nothing else. A status change that came
        # first and waits for the address (`pending`) makes its notices now.
        # Nearly always the application's first event here: inserted without a read first (a clash reads).
        try:
            self._on_contact(payload.application_id, envelope,
                             lambda state: domain.contact_received(state, fields), new=True)
        except AlreadyHandled:
            if payload.self_applied:
                self._acknowledge(payload.application_id)  # a first delivery may have stopped before it
            raise
        if payload.self_applied:  # only they are owed one: the others' intake costs no read more
            self._acknowledge(payload.application_id)

    def _acknowledge(self, application_id: str) -> None:
        """The acknowledgement a self-applied candidate is owed (`ack_due` on the contact): created and the mark
        cleared in one transaction, so it is made once whatever is redelivered."""
        contact = self.store.get_contact(application_id)
        if contact is None or not contact.get("ack_due") or contact.get("erased"):
            return
        policy = self._policy(contact["division"])

        def work(uow):
            stored = uow.store.get_contact(application_id, session=uow.session)
            if stored is None or not stored.get("ack_due") or stored.get("erased"):
                return []
            created, due = self._create(uow, [domain.plan_acknowledgement()], contact=stored, policy=policy,
                                        portal=portal_url("a", application_id, self.settings),
                                        application_id=application_id, reengagement_id=None,
                                        division=stored["division"], first=stored.get("notices") == 0)
            uow.store.acknowledged(application_id, len(created), session=uow.session)
            return due

        self._dispatch_soon(self.bus.transact(work))

    @event_handler("sourcing", "application_status_changed")
    def on_status_changed(self, payload: ApplicationStatusChanged, envelope):
        change = {
            "status": payload.status, "at": payload.at, "sequence": payload.sequence, "tier": payload.tier,
            "urgent": payload.urgent, "requisition_title": payload.requisition_title, "division": payload.division,
            "decided_at": payload.decision.decided_at if payload.decision else payload.at,
            "screening": payload.screening.model_dump(mode="json") if payload.screening else None,
            "interview": payload.interview.model_dump(mode="json") if payload.interview else None,
            "offer": payload.offer.model_dump(mode="json") if payload.offer else None,
        }
        # A status that plans notices goes straight to the transaction (its contact is nearly always known);
        # the others (shortlisted, interviewing...) are one document write unless the contact says otherwise.
        self._on_contact(payload.application_id, envelope, lambda state: domain.contact_status(state, change),
                         straight_to_transaction=payload.status in domain.NOTICE_STATUSES)

    def _on_contact(self, app_id: str, envelope, apply, *, straight_to_transaction: bool = False,
                    new: bool = False) -> None:
        """Apply `apply(state) -> domain.ContactChange` to the application's contact: one document write when
        only the contact changes, else the contact and its notices in one transaction."""
        def decide(state, change):
            outcome = apply(state)
            if outcome.touches_others:
                raise _TouchesOthers
            return outcome.state

        if not straight_to_transaction:
            try:
                self.bus.write("contacts", app_id, decide, envelope, new=new)
                return
            except _TouchesOthers:
                pass
        for _ in range(CONTACT_ATTEMPTS):
            stored = self.store.get_contact(app_id)
            if stored is None or stored.get("erased"):
                try:  # a new contact (checked against tombstones), or an erased one left alone: the write's guard
                    self.bus.write("contacts", app_id, decide, envelope)
                    return
                except _TouchesOthers:
                    continue  # created meanwhile by another event of it
            if envelope.event_id in (stored.get("inbox") or ()):
                raise AlreadyHandled(envelope.event_id)
            outcome = apply(state_of(stored))
            if outcome.state is None:
                return
            if not outcome.touches_others:
                if self.store.write_contact(stored, outcome.state, envelope.event_id):
                    return
                continue
            # Read before the transaction: the policy is another document, and only needed for notices.
            policy = self._policy(outcome.state["division"]) if outcome.plan else None
            try:
                due = self.bus.transact(partial(self._contact_with_others, stored=stored, outcome=outcome,
                                                policy=policy, event_id=envelope.event_id))
            except _ContactChanged:
                continue
            self._dispatch_soon(due)
            return
        raise StillContended(f"contact {app_id} kept changing")

    def _contact_with_others(self, uow, stored: dict, outcome: domain.ContactChange,
                             policy: NotificationPolicy | None, event_id: str) -> list[str]:
        """The contact's change with what it does to other documents, in one transaction: notices created or
        cancelled must agree with the status the contact holds (a cancel that ran before the notices existed,
        or notices of a status already replaced, would send a rejection after an override). Returns the ids
        of notices due now."""
        app_id, state = stored["_id"], dict(outcome.state)
        now = utcnow()
        if outcome.record_outcome:
            uow.store.timing_outcome(app_id, state["status"], state["status_at"], session=uow.session)
        if outcome.cancel_all:
            # Back to shortlisted after a cancelled interview: the cancellation's own notices still go out.
            keep = interviews.KINDS if state["status"] == "shortlisted" else frozenset()
            uow.store.cancel_scheduled(app_id, now=now, session=uow.session, keep=keep)
        if outcome.drop_unsent_timing:
            uow.store.drop_unsent_timing(app_id, session=uow.session)
        if outcome.cancel_overdue:
            uow.store.cancel_scheduled(app_id, {NoticeKind.approval_overdue.value}, now=now, session=uow.session)
        if outcome.cancel_expiry_warning:
            uow.store.cancel_scheduled(app_id, {NoticeKind.offer_expiry_warning.value}, now=now, session=uow.session)
        due: list[str] = []
        plan = outcome.plan
        if plan is not None and policy is not None:
            status = plan["status"]
            plans = domain.plan_status_change(status, state.get("tier"), bool(state.get("urgent")), policy,
                                              confirmed=bool(state.get("confirmed_at")), offer=state.get("offer"),
                                              now=now, previous=plan.get("previous_status"))
            if state.get("offer"):
                state["offer_told"] = state["offer"].get("version")  # the candidate has these terms
            for planned in plans:
                if planned.kind in domain.RESULT_KINDS:
                    uow.store.add_timing(domain.timing_record(
                        application_id=app_id, kind=str(planned.kind), tier=state.get("tier"),
                        urgent=bool(state.get("urgent")), division=state["division"], policy=policy,
                        decided_at=plan["decided_at"], now=now, status=status),
                        session=uow.session)
            created, due = self._create(uow, plans, contact=state, policy=policy,
                                        portal=portal_url("a", app_id, self.settings), application_id=app_id,
                                        reengagement_id=None, division=state["division"],
                                        screening=plan.get("screening"), interview=plan.get("interview"),
                                        first=state.get("notices") == 0)
            state["notices"] = (state.get("notices") or 0) + len(created)
        if not uow.store.write_contact(stored, state, event_id, session=uow.session):
            raise _ContactChanged  # the transaction is abandoned: nothing above stays
        return due

    @event_handler("sourcing", "offer_confirmation_recorded")
    def on_offer_confirmation(self, payload: OfferConfirmationRecorded, envelope):
        kinds = domain.cancels_on_confirmation(payload.result)

        def work(uow):
            _known_contact(uow, payload.application_id)  # an offer it has not heard of yet: wait
            if not kinds:
                return
            # Remembered, so reminders planned by a late `offered` event are not scheduled at all.
            uow.store.update_contact(payload.application_id, {"confirmed_at": payload.at}, session=uow.session)
            uow.store.cancel_scheduled(payload.application_id, kinds, now=utcnow(), session=uow.session)

        self.bus.transact(work, envelope)

    @event_handler("sourcing", "offer_terms_set")
    def on_offer_terms_set(self, payload: OfferTermsSet, envelope):
        """New terms: kept on the contact for the `offered` change (a core role's, set before the last approval);
        an open offer's candidate gets them now, and HR's warning moves to the new expiry."""
        offer = payload.offer.model_dump(mode="json")

        def work(uow):
            contact = _known_contact(uow, payload.application_id)
            if contact.get("erased") or not domain.newer_offer(contact.get("offer"), offer):
                return []  # these terms (or newer ones, from a status change) are here already
            uow.store.update_contact(payload.application_id, {"offer": offer}, session=uow.session)
            if contact.get("status") != "offered" or (contact.get("offer_told") or 0) >= offer["version"]:
                return []
            now = utcnow()
            policy = self._policy(contact["division"], session=uow.session)
            uow.store.cancel_scheduled(payload.application_id, {NoticeKind.offer_expiry_warning.value}, now=now,
                                       session=uow.session)
            created, due = self._create(uow, domain.plan_new_terms(offer, policy, now), contact=contact,
                                        policy=policy, portal=portal_url("a", payload.application_id, self.settings),
                                        application_id=payload.application_id, reengagement_id=None,
                                        division=contact["division"], first=contact.get("notices") == 0)
            uow.store.update_contact(payload.application_id, {"offer_told": offer["version"]}, session=uow.session)
            if created:
                uow.store.count_notices(payload.application_id, len(created), session=uow.session)
            return due

        self._dispatch_soon(self.bus.transact(work, envelope))

    @event_handler("sourcing", "offer_question_asked")
    def on_offer_question_asked(self, payload: OfferQuestionAsked, envelope):
        """A candidate's question about their offer goes to division HR, by email at the policy's `hr_email`
        (or its webhook); a division with neither sees it on the application only."""
        def work(uow):
            contact = _known_contact(uow, payload.application_id)
            policy = self._policy(contact["division"], session=uow.session)
            if contact.get("erased") or (policy.hr_email is None and policy.hr_webhook_url is None
                                         and not chat.configured(policy)):
                return []
            count = (contact.get("offer_questions") or 0) + 1
            planned = domain.plan_offer_question(count, payload.message)
            planned.extra["offer"] = contact.get("offer")
            created, due = self._create(uow, [planned], contact=contact, policy=policy, portal=None,
                                        application_id=payload.application_id, reengagement_id=None,
                                        division=contact["division"], first=contact.get("notices") == 0)
            uow.store.update_contact(payload.application_id, {"offer_questions": count}, session=uow.session)
            if created:
                uow.store.count_notices(payload.application_id, len(created), session=uow.session)
            return due

        self._dispatch_soon(self.bus.transact(work, envelope))

    @event_handler("sourcing", "note_added")
    def on_note_added(self, payload: NoteAdded, envelope):
        """Each user a note mentions (the gateway resolved them: users of the application's division) gets an
        email in their locale, and the division's chat a mention. Neither carries the note's words."""
        def work(uow):
            contact = _known_contact(uow, payload.application_id)
            if contact.get("erased"):
                return []
            link = self._console_url(f"applications/{payload.application_id}")
            name = contact.get("name") or ""
            docs, due = [], []
            for who, notice_id in zip(payload.mentions, _ordered_ids(len(payload.mentions)), strict=True):
                context = {"who": who.name, "by": payload.author, "where": domain.note_where(who.locale),
                           "name": name, "requisition_title": payload.requisition_title,
                           "division": payload.division, "link": link}
                rendered = domain.render(loader.template_text(who.locale, chat.MENTION), context)
                doc = domain.build_notice(
                    domain.Planned(kind=chat.MENTION, audience=domain.DIVISION_HR, delay=0), notice_id=notice_id,
                    now=utcnow(), recipient=open_sealed(who.email), rendered=rendered,
                    application_id=payload.application_id, candidate_id=payload.candidate_id, reengagement_id=None,
                    division=payload.division, tier=contact.get("tier"), urgent=False)
                doc["dedupe_key"] = f"{payload.note_id}:{who.user_id}:{chat.MENTION}"  # one email per person
                doc["trace"] = tracing.stored_context()
                docs.append(doc)
            created = uow.store.add_notices(docs, first=False, session=uow.session)
            if created:
                uow.store.count_notices(payload.application_id, len(created), session=uow.session)
            due += created
            where = domain.note_where(self._policy(payload.division, session=uow.session).locale)
            for who in payload.mentions:
                due += self.notify_mention(uow, division=payload.division, key=f"{payload.note_id}:{who.user_id}",
                                           who=who.name, where=where, link=link, by=payload.author,
                                           application_id=payload.application_id, candidate_id=payload.candidate_id)
            return due

        self._dispatch_soon(self.bus.transact(work, envelope))

    def _approval_notices(self, application_id: str, envelope, plan) -> None:
        """Progress notices to the candidate and overdue reminders to approvers, while approvals run.
        `plan(uow, contact, policy)` returns the notices to create."""
        def work(uow):
            contact = _known_contact(uow, application_id)
            if not domain.progress_relevant(contact.get("status")):
                return []
            policy = self._policy(contact["division"], session=uow.session)
            plans = plan(uow, contact, policy)
            if not plans:
                return []
            created, due = self._create(uow, plans, contact=contact, policy=policy,
                                        portal=portal_url("a", application_id, self.settings),
                                        application_id=application_id, reengagement_id=None,
                                        division=contact["division"], first=contact.get("notices") == 0)
            if created:  # the contact counts them: a later status change knows there is something to cancel
                uow.store.count_notices(application_id, len(created), session=uow.session)
            return due

        self._dispatch_soon(self.bus.transact(work, envelope))

    @event_handler("interview_feedback", "approvals_requested")
    def on_approvals_requested(self, payload: ApprovalsRequested, envelope):
        steps = [s.model_dump(mode="json") for s in payload.steps]

        def plan(uow, contact, policy):
            progress = domain.plan_approvals_requested(steps)
            decided = {int(n) for n in contact.get("decided_steps") or []}
            return ([progress] if progress else []) + domain.plan_overdue_reminders(steps, utcnow(), decided)

        self._approval_notices(payload.application_id, envelope, plan)

    @event_handler("interview_feedback", "approval_step_decided")
    def on_approval_step_decided(self, payload: ApprovalStepDecided, envelope):
        planned = domain.plan_step_decided(
            payload.chain_status, payload.step.model_dump(mode="json"),
            payload.next_step.model_dump(mode="json") if payload.next_step else None,
        )

        def plan(uow, contact, policy):
            # The step is decided: its overdue reminder is moot (remembered in case it is planned later).
            uow.store.step_decided(payload.application_id, payload.step.step, session=uow.session)
            uow.store.cancel_scheduled(payload.application_id, {NoticeKind.approval_overdue.value}, now=utcnow(),
                                       session=uow.session, step=payload.step.step)
            # approved_all / rejected: nothing more here, the status change sends the offer or the rejection
            return [planned] if planned is not None else []

        self._approval_notices(payload.application_id, envelope, plan)

    @event_handler("talent_pool", "reengagement_requested")
    def on_reengagement_requested(self, payload: ReengagementRequested, envelope):
        reasons = domain.explicit_reasons(envelope.payload)

        def work(uow):
            prior = uow.store.latest_contact_for_candidate(payload.candidate_id, session=uow.session)
            # a talent-community member has no application: their sign-up's contact (no prior to quote)
            member = None if prior is not None else uow.store.get_member(payload.candidate_id, session=uow.session)
            if prior is None and member is None:
                raise ContactNotYetKnown(f"no contact known for candidate {payload.candidate_id}")
            policy = self._policy(payload.division, session=uow.session)
            contact = {**(prior or member), "division": payload.division,
                       "requisition_title": payload.requisition_title, "_id": None, "tier": None, "urgent": False}
            extra = domain.reengagement_context(requisition_title=payload.requisition_title,
                                                division=payload.division, reasons=reasons, prior=prior)
            # every community email carries the member's own portal link, where they can leave
            extra["member_portal_url"] = portal_url("m", member["_id"], self.settings) if member else None
            _, due = self._create(uow, [domain.plan_reengagement()], contact=contact, policy=policy,
                                  portal=portal_url("r", payload.reengagement_id, self.settings),
                                  application_id=None, reengagement_id=payload.reengagement_id,
                                  division=payload.division, context_override=extra)
            return due

        self._dispatch_soon(self.bus.transact(work, envelope))

    @event_handler("talent_pool", "community_signup_requested")
    def on_community_signup_requested(self, payload: CommunitySignupRequested, envelope):
        """The double opt-in email: the confirmation link and the member's portal link, in their language."""
        member_id = payload.candidate_id
        contact = {"_id": member_id, "candidate_id": member_id, "name": payload.name,
                   "email": seal(payload.email), "locale": payload.locale, "updated_at": utcnow()}
        token = portal_token("m", member_id, self.settings.portal_secret)
        confirm_url = f"{self.settings.public_url.rstrip('/')}/careers/community/confirm/{token}"

        def work(uow):
            uow.store.save_member(contact, session=uow.session)
            _, due = self._create(uow, [domain.plan_community_confirmation(payload.request, confirm_url)],
                                  contact=contact,
                                  policy=NotificationPolicy(),  # no division yet: the member's locale rules
                                  portal=portal_url("m", member_id, self.settings), application_id=None,
                                  reengagement_id=None, division="", member_id=member_id)
            return due

        self._dispatch_soon(self.bus.transact(work, envelope))

    @event_handler("talent_pool", "community_member_left")
    def on_community_member_left(self, payload: CommunityMemberLeft, envelope):
        """The member left: their address and the words of their emails go, and a tombstone makes any later
        event about them (a late confirmation request) a no-op."""
        member_id = payload.candidate_id

        def work(uow):
            uow.store.forget_member(member_id, session=uow.session)
            uow.store.anonymise(member_id, [], uow.session)
            uow.store.mark_erased(member_id, "community_left", [], session=uow.session)

        self.bus.transact(work, envelope)

    # ------------------------------------------------------------------------------------------------
    # interviews (services/notification/interviews.py): invitations, updates, cancellations, reminders

    def _on_interview(self, details: InterviewDetails | None, envelope) -> None:
        if details is None:  # an event from before the interviews issue: nothing to build an invitation from
            return

        def work(uow):
            contact = _known_contact(uow, details.application_id)  # an application not heard of yet: wait
            stored = uow.store.get_interview(details.interview_id, session=uow.session)
            after = interviews.projection(details.model_dump(), stored)
            if not interviews.supersedes(stored, after):
                return []  # an older copy delivered late: a newer one was planned already
            uow.store.save_interview(after, session=uow.session)
            if contact.get("erased"):
                return []
            policy = self._policy(details.division, session=uow.session)
            now = utcnow()
            change = interviews.plan_change(stored, after, policy, now)
            if change.cancel:
                uow.store.cancel_interview_notices(after["_id"], change.cancel, now, session=uow.session)
            return self._interview_notices(uow, change.plans, after, stored, contact, policy, now)

        self._dispatch_soon(self.bus.transact(work, envelope))

    def _interview_notices(self, uow, plans: list[interviews.Plan], interview: dict, before: dict | None,
                           contact: dict, policy: NotificationPolicy, now) -> list[str]:
        """Render and store an interview's notices (with what their .ics is made from); the ids due now."""
        if not plans:
            return []
        app_id, division = interview["application_id"], interview["division"]
        email = open_sealed(contact.get("email"))
        # a panel member taken off is only in the copy before: their cancellation needs their address
        panel_emails = {m["name"]: open_sealed(m["email"]) for source in (before, interview)
                        for m in (source or {}).get("panel") or [] if m.get("email")}
        opened = {**interview, "panel": [{"name": m["name"], "email": open_sealed(m.get("email"))}
                                         for m in interview["panel"]]}
        reply_to = domain.candidate_reply_to(policy, self.reply_to_fallback)
        base = domain.base_context({**contact, "email": email}, policy, portal_url("a", app_id, self.settings),
                                   reply_to)
        docs = []
        for plan, notice_id in zip(plans, _ordered_ids(len(plans)), strict=True):
            to_candidate = plan.to is None
            recipient = email if to_candidate else panel_emails.get(plan.to)
            if not recipient:
                continue
            locale = domain.candidate_locale(contact, policy) if to_candidate else policy.locale
            planned = domain.Planned(plan.kind, domain.CANDIDATE if to_candidate else "panel", plan.delay,
                                     step=plan.step, extra=interviews.context(interview, plan, policy, locale))
            context = {**base, **domain.kind_context(planned, policy), "locale": locale}
            rendered = domain.render(loader.template_text(locale, plan.kind), context)
            invite = interviews.invite(
                opened, plan, title=contact.get("requisition_title") or "", candidate_name=contact.get("name") or "",
                candidate_email=email, member_email=None if to_candidate else recipient,
                organizer_name=f"{division} hiring team", organizer_email=domain.division_hr_email(division, policy),
                locale=locale)
            attachments = None
            if invite is not None:
                attachments = [calendar_attachment(b"", invite["method"]).describe()]
            doc = domain.build_notice(
                planned, notice_id=notice_id, now=now, recipient=recipient, rendered=rendered,
                application_id=app_id, candidate_id=contact.get("candidate_id"), reengagement_id=None,
                division=division, tier=contact.get("tier"), urgent=bool(contact.get("urgent")),
                reply_to=reply_to if to_candidate else None, attachments=attachments)
            doc.update(dedupe_key=interviews.dedupe_key(interview, plan), interview_id=interview["_id"], to=plan.to)
            if plan.at is not None:
                doc["scheduled_for"] = plan.at
            if invite is not None:
                doc["invite"] = invite
            doc["trace"] = tracing.stored_context()
            docs.append(doc)
            if plan.kind == interviews.SCORECARD:  # the division's chat hears of a missing scorecard too
                docs += self._chat_copies(doc, policy, title=contact.get("requisition_title") or "",
                                          name=contact.get("name") or "", member=plan.to)
        created = uow.store.add_notices(docs, first=False, session=uow.session)
        if created:  # the contact counts them: a later status change knows there is something to cancel
            uow.store.count_notices(app_id, len(created), session=uow.session)
        due = {d["_id"] for d in docs if d["scheduled_for"] <= now}
        return [i for i in created if i in due]

    @event_handler("interview_feedback", "interview_scheduled")
    def on_interview_scheduled(self, payload: InterviewScheduled, envelope):
        self._on_interview(payload.interview, envelope)

    @event_handler("interview_feedback", "interview_slots_offered")
    def on_interview_slots_offered(self, payload: InterviewSlotsOffered, envelope):
        self._on_interview(payload.interview, envelope)

    @event_handler("interview_feedback", "interview_updated")
    def on_interview_updated(self, payload: InterviewUpdated, envelope):
        self._on_interview(payload.interview, envelope)

    @event_handler("interview_feedback", "interview_cancelled")
    def on_interview_cancelled(self, payload: InterviewCancelled, envelope):
        self._on_interview(payload.interview, envelope)

    @event_handler("interview_feedback", "scorecard_submitted")
    def on_scorecard_submitted(self, payload: ScorecardSubmitted, envelope):
        """The author's scorecard reminder is moot; the overdue list no longer names them."""
        def work(uow):
            stored = uow.store.get_interview(payload.interview_id, session=uow.session) or {
                # before any copy of the interview (events out of order): any copy supersedes this one
                "_id": payload.interview_id, "application_id": payload.application_id,
                "division": payload.division, "status": None, "sequence": -1, "starts_at": None, "panel": [],
                "submitted": [], "attendance": None}
            uow.store.save_interview(interviews.with_scorecard(stored, payload.interviewer), session=uow.session)
            uow.store.cancel_interview_notices(payload.interview_id, frozenset({interviews.SCORECARD}), utcnow(),
                                               recipient=payload.interviewer, session=uow.session)

        self.bus.transact(work, envelope)

    @event_handler("interview_feedback", "interview_attendance_recorded")
    def on_interview_attendance(self, payload: InterviewAttendanceRecorded, envelope):
        """Whether the candidate came: interview no-shows count in the notification-timing report."""
        def work(uow):
            stored = uow.store.get_interview(payload.interview_id, session=uow.session)
            incoming = interviews.projection(payload.interview.model_dump(), stored)
            kept = incoming if interviews.supersedes(stored, incoming) else stored
            kept = {**kept, "attendance": {"candidate": payload.candidate, "recorded_at": payload.recorded_at}}
            uow.store.save_interview(kept, session=uow.session)

        self.bus.transact(work, envelope)

    # ------------------------------------------------------------------------------------------------
    # sending

    @timer(interval=0.5)
    def dispatch_due(self):
        return self._dispatch()

    def _dispatch(self, only_ids: list[str] | None = None) -> int:
        """Claim due notices one at a time and send each; returns how many were sent."""
        sent = 0
        for _ in range(len(only_ids) if only_ids is not None else DISPATCH_BATCH):
            notice = self.store.claim_due(utcnow(), domain.CLAIM_LEASE_SECONDS, only_ids=only_ids)
            if notice is None:
                break
            sent += self._deliver(notice)
        return sent

    def _deliver(self, notice: dict) -> int:
        with tracing.deferred_span(f"deliver notice {notice['kind']}", notice.get("trace"),
                                   application_id=notice.get("application_id"),
                                   division=notice.get("division")) as span:
            span.set_attributes({"hireloop.notice.kind": notice["kind"],
                                 "hireloop.notice.channel": notice.get("channel", domain.CHANNEL),
                                 "hireloop.notice.attempt": notice["attempts"]})
            return self._deliver_in_span(notice)

    def _send(self, notice: dict) -> str:
        """Send by the notice's channel; returns the message or delivery id. Raises on failure."""
        channel = notice.get("channel", domain.CHANNEL)
        if channel == domain.EMAIL:
            files = self._attachments(notice)
            return self.mailer.send(notice, files) if files else self.mailer.send(notice)
        if channel == domain.WEBHOOK:
            # The secret stays in the policy (read now, so a rotated secret applies to retries too).
            secret = self._policy(notice["division"]).hr_webhook_secret if notice.get("division") else None
            return self.webhooks.send(notice, secret)
        if channel in chat.CHANNELS:
            # The URL stays in the policy (read now, so a changed or removed URL applies to retries too).
            policy = self._policy(notice["division"]) if notice.get("division") else None
            url = getattr(policy, chat.POLICY_FIELDS[channel]) if policy is not None else None
            return self.chats.send(notice, str(url) if url else None)
        raise SendError(f"unknown channel {channel!r}")

    def _attachments(self, notice: dict) -> list[Attachment]:
        """The files a notice lists, made now (services/notification/sender.py says why not before)."""
        if not notice.get("attachments"):
            return []
        if notice.get("invite"):  # the .ics, from the copy of the interview the notice keeps
            invite = notice["invite"]
            return [calendar_attachment(interviews.ics(invite), invite["method"])]
        if notice["kind"] == NoticeKind.offer.value and notice.get("offer_letter"):
            return [self._offer_letter(notice)]
        raise SendError(f"notice {notice['_id']} lists files nobody makes for a {notice['kind']} notice")

    def _offer_letter(self, notice: dict) -> Attachment:
        """The offer letter (shared/offer_letter.py) from the terms the notice stores and the candidate's name,
        read from the contact now (an erased contact has none: the notice was cancelled with it)."""
        stored = notice["offer_letter"]
        offer = stored["offer"]
        contact = self.store.get_contact(notice["application_id"]) or {}
        if contact.get("erased"):
            raise RefusedDestination("the candidate's data was erased")
        terms = OfferTerms.model_validate({k: offer[k] for k in ("salary", "start_date_options", "expires_at",
                                                                 "message")})
        set_at = parse_time(offer["set_at"]) if offer.get("set_at") else None
        letter = OfferLetter(company=offer.get("company") or notice.get("division") or "hireloop",
                             candidate_name=contact.get("name") or "Candidate",
                             role_title=stored.get("role_title") or "-", terms=terms,
                             timezone=offer.get("timezone") or "UTC",
                             issued_on=set_at.date() if set_at else None)
        return pdf_attachment(offer_letter_pdf(letter, stored.get("locale") or "en"), domain.OFFER_LETTER["filename"])

    def _deliver_in_span(self, notice: dict) -> int:
        try:
            message_id = self._send(notice)
        except Exception as exc:  # noqa: BLE001 - any failure is recorded, so the notice ends failed, not stuck
            error = str(exc) if isinstance(exc, SendError) else f"{type(exc).__name__}: {exc}"
            update = domain.after_failure(notice["attempts"], error, utcnow(),
                                          backoff_base=self.retries.backoff_base,
                                          max_attempts=self.retries.max_attempts,
                                          permanent=isinstance(exc, RefusedDestination))
            self.store.record_failure(notice["_id"], notice["attempts"], update)
            log.warning("notice not sent", extra={"notice_id": notice["_id"], "attempts": notice["attempts"],
                                                  "status": update["status"], "error": error})
            return 0

        def work(uow):
            sent_at = utcnow()
            if uow.store.mark_notice_sent(notice["_id"], notice["attempts"], sent_at, message_id, session=uow.session):
                self._measure_sent(uow, notice, sent_at)
                uow.emit("notice_sent", NoticeSent(
                    notice_id=notice["_id"], application_id=notice.get("application_id"),
                    candidate_id=notice.get("candidate_id"), division=notice.get("division"),
                    kind=notice["kind"], channel=notice.get("channel", domain.CHANNEL), sent_at=sent_at,
                ))

        self.bus.transact(work)
        log.info("notice sent", extra={"notice_id": notice["_id"], "kind": notice["kind"]})
        return 1

    @staticmethod
    def _measure_sent(uow, notice: dict, sent_at) -> None:
        """A result notice went out: record how long after the decision."""
        if notice["kind"] not in domain.RESULT_KINDS or not notice.get("application_id"):
            return
        timing = uow.store.get_timing(notice["application_id"], session=uow.session)
        if timing is not None and timing.get("sent_at") is None and timing["kind"] == notice["kind"]:
            uow.store.timing_sent(notice["application_id"], notice["kind"], sent_at,
                                  domain.delay_seconds(timing["decided_at"], sent_at), session=uow.session)

    # ------------------------------------------------------------------------------------------------
    # RPC (declared in shared/contracts/notification.py: arguments, answers and roles)

    @implements(contract.GetPolicy)
    def get_policy(self, caller, args: contract.DivisionArgs) -> contract.Policy:
        if not caller.can_see(args.division):
            raise NotFound(f"no notification policy for division {args.division}")
        return contract.Policy.of(args.division, self._policy(args.division))

    @implements(contract.PutPolicy)
    def put_policy(self, caller, args: contract.PutPolicyArgs) -> contract.Policy:
        division = args.division
        if not caller.can_see(division):
            raise Forbidden(f"you may not change the notification policy of division {division}")
        new = args.policy()  # a GET's read-only `hr_webhook_secret_set`, sent back, is not part of it
        # a chat URL not sent is kept; `<channel>_webhook_set: false` removes it
        removed = frozenset(c for c in chat.CHANNELS if getattr(args, f"{c}_webhook_set") is False)

        def work(uow):
            stored = uow.store.get_policy(division, session=uow.session)
            policy = domain.policy_to_store(new, domain.effective_policy(stored) if stored else None,
                                            self.webhooks.allow, remove_chat=removed)
            uow.store.put_policy(division, {**policy.model_dump(mode="json"), "updated_at": utcnow(),
                                            "updated_by": caller.name}, session=uow.session)
            return policy

        return contract.Policy.of(division, self.bus.transact(work))

    @implements(contract.SendStaffEmail)
    def send_staff_email(self, caller, args: contract.StaffEmailArgs) -> contract.StaffEmailSent:
        """Sent now and kept nowhere: the link in it signs a person in (a notice would store it)."""
        rendered = domain.render(loader.template_text(args.locale, args.template),
                                 {"name": args.name, "link": args.link, "expires_at": args.expires_at})
        message = {"_id": new_id("mail"), "kind": args.template, "recipient": str(args.to),
                   "subject": rendered.subject, "body": rendered.body}
        try:
            return contract.StaffEmailSent(message_id=self.mailer.send(message))
        except SendError as exc:
            log.warning("staff email not sent", extra={"template": args.template, "error": str(exc)})
            raise Conflict(f"the email could not be sent: {exc}", code="email_not_sent") from None

    @implements(contract.ListForApplication)
    def list_for_application(self, caller, args: contract.ApplicationPageArgs) -> contract.NoticePage:
        contact = self.store.get_contact(args.application_id)
        if contact is not None and not caller.can_see(contact.get("division")):
            raise NotFound(f"application {args.application_id} not found")
        docs, next_cursor = self.store.notices_for_application(args.application_id, caller.division_filter(),
                                                               args.limit, args.cursor)
        return contract.NoticePage(items=[domain.notice_view(d) for d in docs], next_cursor=next_cursor)

    @implements(contract.ListForCandidate)
    def list_for_candidate(self, caller, args: contract.CandidatePageArgs) -> contract.NoticePage:
        docs, next_cursor = self.store.notices_for_candidate(args.candidate_id, caller.division_filter(),
                                                             args.limit, args.cursor)
        return contract.NoticePage(items=[domain.notice_view(d) for d in docs], next_cursor=next_cursor)

    @event_handler("sourcing", "candidate_erasure_requested")
    def on_candidate_erasure_requested(self, payload: CandidateErasureRequested, envelope):
        self.erase_candidate_data(payload, envelope, lambda uow: uow.store.anonymise(
            payload.candidate_id, payload.application_ids, uow.session))

    @implements(contract.ExportCandidate)
    def export_candidate(self, caller, args: contract.ExportArgs) -> contract.NotificationExport:
        """Right of access: every notice (sent, waiting or cancelled) and every survey answer."""
        surveys = [contract.SurveyRecord(application_id=t["_id"], score=t["survey_score"],
                                         comment=t.get("survey_comment"), answered_at=iso(t.get("surveyed_at")))
                   for t in self.store.timing_for(args.application_ids) if t.get("survey_score") is not None]
        notices = self.store.all_notices_for(args.candidate_id, args.application_ids)
        return contract.NotificationExport(notices=[domain.notice_view(d) for d in notices], surveys=surveys)

    @implements(contract.GetSurvey)
    def get_survey(self, caller, args: contract.ApplicationArgs) -> contract.SurveyState:
        """Whether the candidate was sent a survey for this application and has answered it (portal)."""
        timing = self.store.get_timing(args.application_id) or {}
        return contract.SurveyState(sent=self.store.survey_sent(args.application_id),
                                    answered=timing.get("survey_score") is not None)

    @implements(contract.RecordSurvey)
    def record_survey(self, caller, args: contract.RecordSurveyArgs) -> contract.SurveyAnswered:
        """The candidate's answer from the portal: once per application, only after a survey was sent."""
        application_id = args.application_id
        if not self.store.survey_sent(application_id):
            raise Conflict("no survey was sent for this application", code="no_survey")

        def work(uow):
            if uow.store.get_timing(application_id, session=uow.session) is None:
                raise Conflict("no survey was sent for this application", code="no_survey")
            if not uow.store.record_survey(application_id, args.score, args.comment, utcnow(),
                                           session=uow.session):
                raise Conflict("the survey was answered already", code="already_answered")

        self.bus.transact(work)
        return contract.SurveyAnswered(application_id=application_id, score=args.score, answered=True)

    @implements(contract.TimingReport)
    def timing_report(self, caller, args: contract.ReportArgs) -> contract.NotificationTimingReport:
        """GET /v1/reports/notification-timing: per result kind, tier and mode, over decisions in [from, to)."""
        scope = report_scope(caller, args.division, args.start, args.end)
        records = self.store.timing_records(caller.division_filter(), scope.division, scope.since, scope.until)
        held = self.store.held_interviews(caller.division_filter(), scope.division, scope.since, scope.until,
                                          with_attendance=True)
        return contract.NotificationTimingReport.model_validate(
            {**scope.echo(), "groups": domain.timing_report(records),
             "interviews": interviews.attendance_figures(held)})

    @implements(contract.OverdueScorecardList)
    def overdue_scorecards(self, caller, args: contract.OverdueArgs) -> contract.OverdueScorecards:
        """Interviews held whose panel still owes scorecards past the division's `scorecard_reminder_after`,
        longest overdue first."""
        if args.division is not None and not caller.can_see(args.division):
            return contract.OverdueScorecards(division=args.division, items=[])
        now, policies, items = utcnow(), {}, []
        for doc in self.store.held_interviews(caller.division_filter(), args.division):
            if doc["division"] not in policies:
                policies[doc["division"]] = self._policy(doc["division"])
            found = interviews.overdue(doc, policies[doc["division"]], now)
            if found is not None:
                items.append({**found, "ends_at": iso(found["ends_at"]), "overdue_since": iso(found["overdue_since"])})
        items.sort(key=lambda i: i["overdue_since"])
        return contract.OverdueScorecards(division=args.division, items=items)
