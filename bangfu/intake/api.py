"""The applications API (mounted by the project's API): the worker's endpoints, signed in with a
phone code (``Authorization: Bearer <applicant token>``), and the staff's work queue and steps.
Errors have the API's one shape."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any, Literal

from django.core.exceptions import ValidationError
from django.http import FileResponse, HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import Field, File, Form, Query, Router, Schema, Status
from ninja.files import UploadedFile
from ninja.security import HttpBearer
from pydantic import BeforeValidator
from pydantic_core import PydanticCustomError

from bangfu.api.errors import ERRORS, SignInEnded, refuse_id_in_address, unit_filter_checked
from bangfu.api.schemas import InSchema, LineText, choices_field, one_of
from bangfu.common.errors import DomainError
from bangfu.common.paging import MAX_PAGE, CappedPaginator
from bangfu.common.retranslate import in_reader_language
from bangfu.org import access, signin
from bangfu.org.access import Perm
from bangfu.registry import codes

from . import data, imports, otp, reviews, selectors, services, steps
from .models import (
    Application,
    ApplicationEvent,
    ApplicationKind,
    ApplicationState,
    Attachment,
    AttachmentKind,
    HomeVisit,
    ImportBatch,
    LoginChannel,
    Objection,
    ReviewState,
    ReviewTask,
)
from .views import attachment_response, the_upload, upload_bytes


class ApplicantBearer(HttpBearer):
    """``Authorization: Bearer <token>`` as issued by ``intake_applicant_token``, until the worker
    signs out (``intake_applicant_logout``) or signs in again."""

    def authenticate(self, request: HttpRequest, token: str) -> Any | None:
        applicant = otp.applicant_from_token(token.strip())
        if applicant is None:
            why = otp.login_ended(token.strip(), LoginChannel.API)
            if why == otp.LoginEnded.REPLACED:
                raise SignInEnded(
                    "sign_in_replaced",
                    _("This number was signed in again, on another phone or in another app: sign in again here."),
                )
            if why == otp.LoginEnded.ENDED:
                raise SignInEnded("sign_in_ended", _("This sign-in has ended (signed out, or expired): sign in again."))
        return applicant


applicant_auth = ApplicantBearer()
router = Router(tags=["applications"])


class CodeIn(InSchema):
    phone: str = Field(max_length=20)


class TokenIn(InSchema):
    phone: str = Field(max_length=20)
    # Six digits, as typed or pasted ("123 456", full-width): the service reads them (``code_verify``).
    code: str = Field(max_length=20)


class TokenOut(Schema):
    token: str
    applicant_id: int


class EventOut(Schema):
    at: dt.datetime
    action: str
    label: str
    from_state: str
    to_state: str
    reason: str


class AttachmentOut(Schema):
    id: int
    kind: str
    name: str
    content_type: str
    size: int
    uploaded_at: dt.datetime


class PendingOverrideOut(Schema):
    """At the approval step: an override of the household's category still waiting for a second
    person, which approving the case closes as superseded (the case page shows it too)."""

    decision_id: int
    household_id: int
    category: str
    category_label: str
    asked_by: str
    asked_at: dt.datetime | None
    reason: str


class FileCategoryOut(Schema):
    """The category of the file the approved case opened, as it is now, and the category a second
    person is still deciding on ('' when no override waits), as the worker's phone says them."""

    category: str
    category_label: str
    waiting: str = Field(description="The category an override waiting for a second person asks for; '' when none")
    waiting_label: str
    said: str = Field(description="The sentence the worker's phone shows, in the caller's language")


class RemovedAttachmentOut(Schema):
    """A file staff removed from the case: no longer part of it, kept for audit."""

    id: int
    kind: str
    name: str
    size: int
    uploaded_at: dt.datetime
    removed_at: dt.datetime
    removed_by: str
    removed_reason: str


class RemoveIn(InSchema):
    reason: LineText = Field("", max_length=steps.REMOVAL_REASON_MAX)


class HomeVisitOut(Schema):
    id: int
    visited_on: dt.date
    visitors: str
    seen: str
    asked: str
    explained: str
    findings: str
    recorded_at: dt.datetime


class ObjectionOut(Schema):
    id: int
    received_on: dt.date
    text: str
    answer: str
    answered_at: dt.datetime | None


class ApplicationOut(Schema):
    id: int
    reference: str
    kind: str
    state: str
    state_label: str
    unit_id: int
    version: int
    head_name: str
    head_id_masked: str
    submitted_at: dt.datetime | None
    authorised_at: dt.datetime | None
    household_id: int | None
    data: dict[str, Any]
    events: list[EventOut] = Field(default_factory=list)
    allowed_actions: list[str] = Field(
        default_factory=list,
        description="What the caller may do now: the transitions (POST /applications/{id}/transition), and "
        "convert for a temporary-aid case made formal by POST /applications/{id}/convert; an action that waits "
        "for something is not here but in waiting",
    )
    waiting: dict[str, str] = Field(
        default_factory=dict,
        description="The actions the caller would take but for what they wait for (the public notice's end, a "
        "record to make again, the checking centre's answer, a formal case holding a person for convert), each "
        "with that sentence, as the page says it instead of the button",
    )
    check_result: str = ""
    # What the checking centre's answer found, as staff recorded it: the worker reads it too (the
    # check's result is explained to the worker, as the history on the phone says it). After a
    # failed check ("failed"), an approval needs a reason (``reason``, kept in the history and the
    # audit log); where a passed check is required, it is refused (``precondition``) and "approve"
    # is not in allowed_actions.
    check_note: str = ""
    # Staff only (null to the worker, and its event left out of the worker's history): the
    # cross-check of the members against department data at the economic check
    # (``steps.check_match``), unreviewed department records that staff weigh before recording the
    # checking centre's answer.
    check_matches: dict[str, Any] | None = None
    attachments: list[AttachmentOut] = Field(default_factory=list)
    # Staff only: the files staff removed from the case, with who removed them, when and why.
    removed_attachments: list[RemovedAttachmentOut] | None = None
    unit_review_on: dt.date | None = None
    notice_from: dt.date | None = None
    notice_to: dt.date | None = None
    # Staff only: the home visits and the objections raised during the public notice.
    home_visits: list[HomeVisitOut] | None = None
    objections: list[ObjectionOut] | None = None
    # What the transition did beyond its state, in a sentence (an approval in another category
    # than the identification's: the override asked for awaits another person's approval; a start
    # that gave back the worker's draft already there).
    message: str = ""
    # Staff, at the approval step: the override waiting on the household that approving closes.
    pending_override: PendingOverrideOut | None = None
    # Once the file is opened: the category it is in now, and one a second person still decides on.
    file_category: FileCategoryOut | None = None


class CreateIn(InSchema):
    unit_id: int
    kind: str = ApplicationKind.FORMAL
    form: dict[str, Any] = Field(default_factory=dict)
    idempotency_key: str = Field("", max_length=64)


class DraftIn(InSchema):
    form: dict[str, Any]
    # Required, as a household file's update requires its version: a form saved without one
    # would overwrite whatever was saved since it was read (another tab, another device, a
    # colleague). A stale version is 409 ``conflict``, whose details give the draft as saved now
    # (``DraftConflictDetails``): show it beside what is being sent before sending it again.
    expected_version: int = Field(
        description="The application's version the form was read at; 409 conflict when it was saved since, "
        "with the draft as saved now in details"
    )


class DraftConflictDetails(Schema):
    """What a stale draft save (409 ``conflict``) gives beside the message: the draft as it is
    saved now, to put beside what was being sent and send the change again with ``version``."""

    version: int = Field(description="The draft's version now: send it as expected_version with the change")
    state: str
    unit_id: int
    saved_at: dt.datetime | None = Field(
        description="When the draft's form was last saved (null: saved before this was recorded)"
    )
    saved_by: str = Field(
        description="The user name of the staff member who saved it, to staff; empty when the worker saved it, "
        "and to the worker (who is told only whether it was they)"
    )
    saved_by_worker: bool = Field(description="The worker saved it (on the phone or through this API)")
    saved_by_you: bool = Field(description="The caller saved it (in another window, tab or device)")
    data: dict[str, Any] = Field(description="The form as saved, as the application's GET gives it in data")


class DraftConflictError(Schema):
    code: str = Field(description="conflict: saved since the version read (details: the draft now); not_draft")
    message: str
    fields: dict[str, list[str]] = Field(default_factory=dict)
    details: DraftConflictDetails | dict[str, Any] = Field(
        description="For conflict, the draft as saved now; for not_draft, its state"
    )


class DraftConflictOut(Schema):
    error: DraftConflictError


# A draft's save: 409 with the draft as saved now (``DraftConflictOut``).
DRAFT_SAVE_ANSWERS: dict[int, Any] = {200: ApplicationOut, **ERRORS, 409: DraftConflictOut}


class SubmitIn(InSchema):
    expected_version: int | None = None


class AuthoriseIn(InSchema):
    agreed: bool


class TransitionIn(InSchema):
    action: str = Field(max_length=32)
    reason: LineText = Field("", max_length=services.REASON_MAX)
    expected_version: int | None = None
    category: str = Field("", max_length=24)


class QueueRowOut(Schema):
    id: int
    reference: str
    kind: str
    state: str
    state_label: str = Field(
        description="The state in words; a draft returned for correction, or made at the counter and not sent yet, "
        "is named so"
    )
    unit_id: int
    head_name: str
    head_id_masked: str
    days_waiting: int
    overdue: bool
    notice_until: dt.date | None = Field(
        None,
        description="The last day of the case's public notice, while it runs: the step is taken the day after, "
        "and its days waiting count from then",
    )
    notice_starts: dt.date | None = Field(
        None,
        description="The first day of the case's public notice when it is posted but starts after today (it runs "
        "from the day after the unit review is recorded); notice_until is then its last day",
    )
    waiting_for_notice: bool = Field(
        False, description="On public notice with no objection to answer: listed last, not counted as work yet"
    )
    returned_reason: str = Field(
        "",
        description="Returned for correction (state draft, sent before): the reason it was returned with",
    )


def _out(actor: Any, app: Application, events: Any = None) -> dict[str, Any]:
    evs: list[ApplicationEvent] = [
        e for e in (events if events is not None else app.events.all()) if selectors.event_shown(actor, e)
    ]
    staff = not services.is_applicant(actor)
    return {
        "id": app.pk,
        "reference": app.reference,
        "kind": app.kind,
        "state": app.state,
        "state_label": app.state_label,
        "unit_id": app.unit_id,
        "version": app.version,
        "head_name": app.head_name,
        "head_id_masked": app.head_id_masked,
        "submitted_at": app.submitted_at,
        "authorised_at": app.authorised_at,
        "household_id": app.household_id,
        "message": services.approval_note(app) or services.existing_draft_note(app),
        "data": _data_for(actor, app),
        "events": [
            {
                "at": e.at,
                "action": e.action,
                "label": e.label,
                "from_state": e.from_state,
                "to_state": e.to_state,
                "reason": in_reader_language(e.reason) if e.reason else "",
            }
            for e in evs
        ],
        "allowed_actions": [
            *services.allowed_actions(actor, app),
            *(["convert"] if staff and services.may_convert(actor, app) else []),
        ],
        "waiting": services.waiting(actor, app) if staff else {},
        "check_result": app.check_result,
        "check_note": app.check_note,
        "check_matches": app.check_matches if staff else None,
        # Not those staff removed (``removed_attachments``); read once, so a prefetched list serves.
        "attachments": [_fields(a, AttachmentOut) for a in app.attachments.all() if a.removed_at is None],
        "removed_attachments": [_removed(a) for a in selectors.attachments_removed(app)] if staff else None,
        "unit_review_on": app.unit_review_on,
        "notice_from": app.notice_from,
        "notice_to": app.notice_to,
        "home_visits": [_fields(v, HomeVisitOut) for v in app.visits.all()] if staff else None,
        "objections": [_fields(o, ObjectionOut) for o in app.objections.all()] if staff else None,
        "pending_override": _pending(services.pending_override(app)) if staff else None,
        "file_category": selectors.file_category(app),
    }


def _pending(decision: Any) -> dict[str, Any] | None:
    if decision is None:
        return None
    return {
        "decision_id": decision.pk,
        "household_id": decision.household_id,
        "category": decision.overridden_category,
        "category_label": decision.get_overridden_category_display(),
        "asked_by": decision.override_by.get_username() if decision.override_by else "",
        "asked_at": decision.override_at,
        "reason": decision.override_reason,
    }


def _removed(row: Attachment) -> dict[str, Any]:
    return {
        **_fields(row, AttachmentOut),
        "removed_at": row.removed_at,
        "removed_by": row.removed_by.get_username() if row.removed_by else "",
        "removed_reason": row.removed_reason,
    }


def _data_for(actor: Any, app: Application) -> dict[str, Any]:
    """The form as the caller may read it. ID and card numbers in full to the worker who typed
    them and to staff who may still change the draft (the form goes back and forth; not the
    worker's own draft from the phone, which staff do not change); to everyone else masked, as on
    every other page and list: a full number is revealed on the household file, with the reveal
    permission, and logged."""
    if services.is_applicant(actor) or (
        app.state == ApplicationState.DRAFT
        and not services.workers_draft(app)
        and access.has_perm(actor, Perm.HOUSEHOLD_EDIT, app.unit)
    ):
        return app.data
    # A manager or an evaluator reads the phone numbers masked too (who does the casework calls them).
    return data.masked(app.data, phones=not access.has_perm(actor, Perm.HOUSEHOLD_EDIT, app.unit))


def _fields(row: Any, schema: type[Schema]) -> dict[str, Any]:
    return {name: getattr(row, name) for name in schema.model_fields}


# --- the worker ------------------------------------------------------------------------------------


@router.post("/applicant/code", auth=None, response={204: None, **ERRORS})
def intake_applicant_code(request: HttpRequest, payload: CodeIn) -> Status:
    otp.code_request(phone=payload.phone, address=signin.client_address(request))
    return Status(204, None)


@router.post("/applicant/token", auth=None, response={200: TokenOut, **ERRORS})
def intake_applicant_token(request: HttpRequest, payload: TokenIn) -> dict[str, Any]:
    """A bearer token for the worker, valid for seven days; signing in again ends the number's
    earlier sign-ins (their tokens answer 401)."""
    applicant = otp.code_verify(phone=payload.phone, code=payload.code)
    return {"token": otp.token_for(applicant), "applicant_id": applicant.pk}


class UnionOut(Schema):
    id: int
    name: str
    county: str
    city: str


class UnionsOut(Schema):
    unions: list[UnionOut]
    more: bool  # more unions match than are listed: narrow ``q``


@router.get("/applicant/unions", auth=applicant_auth, response={200: UnionsOut, **ERRORS})
def intake_unions(request: HttpRequest, q: str = "") -> dict[str, Any]:
    """The grassroots unions a worker may apply to (``unit_id`` of a new application), in tree
    order, at most 100 (``more``: others match too): ``q`` keeps those whose name, or their
    county's or city's union's name, holds every word of it (``祥云``, ``下关 街道``)."""
    found = selectors.union_search(q=q)
    unions = [
        {
            "id": u.pk,
            "name": u.name,
            "county": u.parent.name if u.parent else "",
            "city": u.parent.parent.name if u.parent and u.parent.parent else "",
        }
        for u in found.units
    ]
    return {"unions": unions, "more": found.more}


@router.get("/applicant/applications", auth=applicant_auth, response={200: list[ApplicationOut], **ERRORS})
def intake_my_applications(request: HttpRequest) -> list[dict[str, Any]]:
    actor = request.auth  # type: ignore[attr-defined]
    mine = selectors.my_applications(applicant=actor).prefetch_related("events", "attachments")[:50]
    return [_out(actor, a) for a in mine]


@router.post("/applicant/applications", auth=applicant_auth, response={201: ApplicationOut, **ERRORS})
def intake_application_create(request: HttpRequest, payload: CreateIn) -> Status:
    return _create(request, payload)


def _create(request: HttpRequest, payload: CreateIn) -> Status:
    actor = request.auth  # type: ignore[attr-defined]
    app = services.application_create(
        actor=actor,
        unit_id=payload.unit_id,
        kind=payload.kind,
        form=payload.form,
        idempotency_key=payload.idempotency_key,
    )
    return Status(201, _out(actor, app))


@router.get("/applicant/applications/{application_id}", auth=applicant_auth, response={200: ApplicationOut, **ERRORS})
def intake_my_application(request: HttpRequest, application_id: int) -> dict[str, Any]:
    actor = request.auth  # type: ignore[attr-defined]
    return _out(actor, selectors.application_read(actor=actor, application_id=application_id))


@router.put("/applicant/applications/{application_id}", auth=applicant_auth, response=DRAFT_SAVE_ANSWERS)
def intake_draft_save(request: HttpRequest, application_id: int, payload: DraftIn) -> dict[str, Any]:
    """Save the worker's draft. Saved since ``expected_version`` (another window or device): 409
    ``conflict``, nothing saved, with the draft as saved now in ``details`` (its version, when it
    was saved and whether by the worker, and its form as the GET gives it)."""
    return _save(request, application_id, payload)


def _save(request: HttpRequest, application_id: int, payload: DraftIn) -> dict[str, Any]:
    actor = request.auth  # type: ignore[attr-defined]
    try:
        app = services.application_save_draft(
            actor=actor, application_id=application_id, form=payload.form, expected_version=payload.expected_version
        )
    except DomainError as exc:
        if exc.code == services.IntakeError.CONFLICT:
            exc.details = {**exc.details, **_saved_now(actor, application_id)}
        raise
    return _out(actor, app)


def _saved_now(actor: Any, application_id: int) -> dict[str, Any]:
    """The draft as saved now, for a stale save's 409 (``DraftConflictDetails``): its version,
    when and by whom its form was saved (a staff member's name to staff only), and the form as
    the GET gives it to this caller."""
    app = selectors.application_read(actor=actor, application_id=application_id)
    by_id = app.form_saved_by_id
    by_worker = app.form_saved_at is not None and by_id is None
    staff = not services.is_applicant(actor)
    return {
        "version": app.version,
        "state": app.state,
        "unit_id": app.unit_id,
        "saved_at": app.form_saved_at,
        "saved_by": app.form_saved_by.get_username() if staff and app.form_saved_by else "",
        "saved_by_worker": by_worker,
        "saved_by_you": by_worker if not staff else by_id is not None and by_id == actor.pk,
        "data": _data_for(actor, app),
    }


@router.post(
    "/applicant/applications/{application_id}/submit", auth=applicant_auth, response={200: ApplicationOut, **ERRORS}
)
def intake_submit(request: HttpRequest, application_id: int, payload: SubmitIn) -> dict[str, Any]:
    return _submit(request, application_id, payload)


def _submit(request: HttpRequest, application_id: int, payload: SubmitIn) -> dict[str, Any]:
    actor = request.auth  # type: ignore[attr-defined]
    app = services.application_submit(
        actor=actor, application_id=application_id, expected_version=payload.expected_version
    )
    return _out(actor, app)


@router.post(
    "/applicant/applications/{application_id}/authorise", auth=applicant_auth, response={200: ApplicationOut, **ERRORS}
)
def intake_authorise(request: HttpRequest, application_id: int, payload: AuthoriseIn) -> dict[str, Any]:
    actor = request.auth  # type: ignore[attr-defined]
    app = steps.authorisation_sign(
        actor=actor, application_id=application_id, agreed=payload.agreed, ip=request.META.get("REMOTE_ADDR")
    )
    return _out(actor, app)


@router.post(
    "/applicant/applications/{application_id}/attachments", auth=applicant_auth, response={201: AttachmentOut, **ERRORS}
)
def intake_my_attachment_add(
    request: HttpRequest, application_id: int, file: File[UploadedFile], kind: Form[str] = AttachmentKind.PROOF
) -> Status:
    """A photo (JPEG, PNG) or PDF proof; photos lose their location data. ``kind`` is ``proof``
    (the other kinds — home-visit photos, the review's minutes, the checking centre's answer — are
    the union's to add)."""
    if kind != AttachmentKind.PROOF:
        raise ValidationError({"kind": _("Only proofs can be attached here.")})
    return Status(201, _fields(_attachment_add(request, application_id, file, kind), AttachmentOut))


@router.get(
    "/applicant/applications/{application_id}/attachments/{attachment_id}",
    auth=applicant_auth,
    response={200: None, **ERRORS},
)
def intake_my_attachment_get(request: HttpRequest, application_id: int, attachment_id: int) -> FileResponse:
    return _attachment_file(request, application_id, attachment_id)


@router.delete(
    "/applicant/applications/{application_id}/attachments/{attachment_id}",
    auth=applicant_auth,
    response={204: None, **ERRORS},
)
def intake_my_attachment_remove(request: HttpRequest, application_id: int, attachment_id: int) -> Status:
    """Take a file the worker sent off their draft (or off the application returned to them to put
    right), with its stored file. Refused (``not_draft``) once the application is with the union,
    and (403) for a file the union added."""
    steps.attachment_remove(actor=request.auth, application_id=application_id, attachment_id=attachment_id)  # type: ignore[attr-defined]
    return Status(204, None)


@router.post(
    "/applicant/applications/{application_id}/withdraw", auth=applicant_auth, response={200: ApplicationOut, **ERRORS}
)
def intake_withdraw(request: HttpRequest, application_id: int, payload: SubmitIn) -> dict[str, Any]:
    actor = request.auth  # type: ignore[attr-defined]
    app = services.application_transition(
        actor=actor, application_id=application_id, action="withdraw", expected_version=payload.expected_version
    )
    return _out(actor, app)


class MessageOut(Schema):
    id: int
    application_id: int | None
    text: str
    created_at: dt.datetime
    read_at: dt.datetime | None


@router.get("/applicant/messages", auth=applicant_auth, response={200: list[MessageOut], **ERRORS})
def intake_my_messages(request: HttpRequest) -> list[dict[str, Any]]:
    """What the worker was told of each step (newest first), as the phone pages show it."""
    notices = selectors.my_notices(applicant=request.auth)[:100]  # type: ignore[attr-defined]
    return [{**_fields(n, MessageOut), "text": n.shown} for n in notices]


def _attachment_add(request: HttpRequest, application_id: int, file: UploadedFile, kind: str) -> Attachment:
    the_upload(request)  # one file a call: several are refused, not all but the last dropped
    return steps.attachment_add(
        actor=request.auth,  # type: ignore[attr-defined]
        application_id=application_id,
        name=file.name or "",
        content=upload_bytes(file),
        kind=kind,
    )


def _attachment_file(request: HttpRequest, application_id: int, attachment_id: int) -> FileResponse:
    """An attachment of an application the caller may read (404 like a missing one otherwise)."""
    row = steps.attachment_open(actor=request.auth, attachment_id=attachment_id, application_id=application_id)  # type: ignore[attr-defined]
    return attachment_response(row)


# --- staff ----------------------------------------------------------------------------------------


QUEUE_PAGE_MAX = 200


class QueueQuery(Schema):
    state: Annotated[str, one_of(ApplicationState.values)] = choices_field(
        ApplicationState.values, "Only the cases waiting at this state; empty for all"
    )
    page: int = Field(1, ge=1, le=MAX_PAGE)
    page_size: int = Field(50, ge=1, le=QUEUE_PAGE_MAX)
    scope: Literal["mine", "all"] = Field(
        "mine",
        description="mine: the cases waiting at a step the caller takes; all: every case under way in the "
        "caller's jurisdiction, whoever's step it is at (what a manager or an evaluator follows)",
    )


class QueuePageOut(Schema):
    count: int = Field(
        description="Cases listed for the caller (those waiting for their public notice to end included), "
        "counted up to 10,001"
    )
    count_capped: bool = Field(description="True when more cases wait than are counted: filter by state")
    page: int
    page_size: int
    results: list[QueueRowOut] = Field(description="Empty past the last page")


@router.get("/applications/queue", response={200: QueuePageOut, **ERRORS})
def intake_queue(request: HttpRequest, query: Query[QueueQuery]) -> dict[str, Any]:
    """The caller's work queue (待办), oldest first: the cases in their jurisdiction waiting at a
    step they may take, with the days waiting and whether the step is overdue."""
    actor = request.auth  # type: ignore[attr-defined]
    if query.scope == "all":
        rows, current = selectors.under_way(actor=actor, state=query.state, page=query.page, per_page=query.page_size)
        paginator: Any = current.paginator
        if query.page > paginator.num_pages:
            rows = []  # past the last page: empty, as the work queue answers
    else:
        cases = selectors.queue_cases(actor=actor, state=query.state)
        paginator = CappedPaginator(cases, query.page_size)
        start = (query.page - 1) * query.page_size
        rows = selectors.queue_rows(actor, cases[start : start + query.page_size])
    return {
        "count": paginator.count,
        "count_capped": paginator.capped,
        "page": query.page,
        "page_size": query.page_size,
        "results": [
            {
                "id": r.application.pk,
                "reference": r.application.reference,
                "kind": r.application.kind,
                "state": r.application.state,
                "state_label": r.state_label,
                "unit_id": r.application.unit_id,
                "head_name": r.application.head_name,
                "head_id_masked": r.application.head_id_masked,
                "days_waiting": r.days_waiting,
                "overdue": r.overdue,
                "notice_until": r.notice_until,
                "notice_starts": r.notice_starts,
                "waiting_for_notice": r.waiting_for_notice,
                "returned_reason": in_reader_language(r.returned_reason),
            }
            for r in rows
        ],
    }


class StepCountOut(Schema):
    state: str
    label: str
    count: int
    overdue: int = Field(description="Of them, waiting longer than the step's time limit")


@router.get("/applications/counts", response={200: list[StepCountOut], **ERRORS})
def intake_counts(request: HttpRequest, scope: Literal["mine", "all"] = "mine") -> list[dict[str, Any]]:
    """The cases per step and how many are overdue: of the caller's work queue (``mine``), or of
    every case under way in the caller's jurisdiction (``all``)."""
    actor = request.auth  # type: ignore[attr-defined]
    counts = selectors.under_way_counts(actor=actor) if scope == "all" else selectors.queue_counts(actor=actor)
    return [{**c, "label": str(c["label"])} for c in counts]


class _ClosedFilters(Schema):
    state: Annotated[str, one_of(selectors.CLOSED_STATES)] = choices_field(
        selectors.CLOSED_STATES, "Only the cases closed in this state; empty for every closed state"
    )
    page: int = Field(1, ge=1, le=MAX_PAGE)
    page_size: int = Field(50, ge=1, le=QUEUE_PAGE_MAX)


class ClosedQuery(_ClosedFilters):
    q: str = Field(
        "",
        max_length=100,
        description="The start of the applicant's name, or the application's reference (SQ00000123) or number; "
        "an ID number is refused here (422): search by it with POST /applications/closed/search",
    )


class ClosedSearchIn(_ClosedFilters, InSchema):
    """``ClosedQuery`` as a body (``POST /applications/closed/search``): a field it does not know is refused."""

    q: str = Field(
        "",
        max_length=100,
        description="The start of the applicant's name, the application's reference or number, the whole ID "
        "number of a person of the case (the head or a member), or the head's number masked as the lists show it",
    )


class ClosedRowOut(Schema):
    id: int
    reference: str
    kind: str
    state: str
    state_label: str
    unit_id: int
    head_name: str
    head_id_masked: str
    closed_at: dt.datetime = Field(
        description="When the decision that closed the case was taken: its approval (the file opened), a refusal, "
        "a withdrawal; reporting an approved case up does not change it"
    )
    reason: str = Field(
        description="The reason given with that decision (an approval's, a refusal's, a withdrawal's), else empty; "
        "a conversion of a temporary case to a formal one does not replace it"
    )


class ClosedCountOut(Schema):
    state: str
    label: str
    count: int


class ClosedPageOut(Schema):
    count: int = Field(description="Closed cases matching, counted up to 10,001")
    count_capped: bool = Field(description="True when more cases match than are counted: narrow the search")
    page: int
    page_size: int
    counts: list[ClosedCountOut] = Field(description="Cases matching the search per closed state, whatever ``state``")
    results: list[ClosedRowOut] = Field(description="Empty past the last page")


@router.get("/applications/closed", response={200: ClosedPageOut, **ERRORS})
def intake_closed(request: HttpRequest, query: Query[ClosedQuery]) -> dict[str, Any]:
    """The closed cases in the caller's jurisdiction (file opened or reported up, refused,
    withdrawn), the most recently closed first, a page at a time, with how many match per state.

    A ``q`` that holds an ID number is refused (422 on ``q``): an address is written to servers'
    and proxies' access logs. Search by ID number with ``POST /applications/closed/search``."""
    refuse_id_in_address(query.q, "/api/v1/applications/closed/search")
    return _closed_page(request, query)


@router.post("/applications/closed/search", response={200: ClosedPageOut, **ERRORS})
def intake_closed_search(request: HttpRequest, payload: ClosedSearchIn) -> dict[str, Any]:
    """``GET /applications/closed`` with its fields in the body, so that an ID number searched for
    is in no address: the same filters, the same page."""
    return _closed_page(request, payload)


def _closed_page(request: HttpRequest, query: ClosedQuery | ClosedSearchIn) -> dict[str, Any]:
    actor = request.auth  # type: ignore[attr-defined]
    cases = selectors.closed_cases(actor=actor, state=query.state, q=query.q)
    paginator = CappedPaginator(cases, query.page_size)
    start = (query.page - 1) * query.page_size
    return {
        "count": paginator.count,
        "count_capped": paginator.capped,
        "page": query.page,
        "page_size": query.page_size,
        "counts": [{**c, "label": str(c["label"])} for c in selectors.closed_counts(actor=actor, q=query.q)],
        "results": [
            {
                "id": r.application.pk,
                "reference": r.application.reference,
                "kind": r.application.kind,
                "state": r.application.state,
                "state_label": r.application.state_label,
                "unit_id": r.application.unit_id,
                "head_name": r.application.head_name,
                "head_id_masked": r.application.head_id_masked,
                "closed_at": r.closed_on,
                "reason": in_reader_language(r.reason),
            }
            for r in selectors.closed_rows(cases[start : start + query.page_size])
        ],
    }


class NoticeRowOut(Schema):
    id: int
    reference: str
    unit_id: int
    unit: str
    head_name: str
    head_id_masked: str
    main_cause: str
    notice_from: dt.date | None
    notice_to: dt.date | None


class NoticeQuery(Schema):
    unit_id: int | None = Field(None, description="Only this union's cases")
    page: int = Field(1, ge=1, le=MAX_PAGE)
    page_size: int = Field(50, ge=1, le=QUEUE_PAGE_MAX)


class NoticePageOut(Schema):
    count: int = Field(description="Cases on the notice list, counted up to 10,001")
    count_capped: bool = Field(description="True when more cases are listed than are counted: choose a union")
    page: int
    page_size: int
    results: list[NoticeRowOut] = Field(description="Empty past the last page")


@router.get("/applications/public-notice", response={200: NoticePageOut, **ERRORS})
def intake_public_notice(request: HttpRequest, query: Query[NoticeQuery]) -> dict[str, Any]:
    """The cases on public notice today (or from tomorrow) in the caller's jurisdiction (ID numbers
    masked), as the printable list shows them, a page at a time; each page fetched is an export
    in the audit log."""
    from bangfu.registry.codes import Cause

    actor = request.auth  # type: ignore[attr-defined]
    causes = dict(Cause.choices)
    unit_filter_checked(access.units(actor), query.unit_id)
    paginator = CappedPaginator(selectors.public_notice_list(actor=actor, unit_id=query.unit_id), query.page_size)
    start = (query.page - 1) * query.page_size
    rows = selectors.public_notice_printed(
        actor=actor, unit_id=query.unit_id, start=start, stop=start + query.page_size
    )
    results = [
        {
            "id": a.pk,
            "reference": a.reference,
            "unit_id": a.unit_id,
            "unit": a.unit.name,
            "head_name": a.head_name,
            "head_id_masked": a.head_id_masked,
            "main_cause": str(causes.get(_int(a.data.get("main_cause")) or 0, "")),
            "notice_from": a.notice_from,
            "notice_to": a.notice_to,
        }
        for a in rows
    ]
    return {
        "count": paginator.count,
        "count_capped": paginator.capped,
        "page": query.page,
        "page_size": query.page_size,
        "results": results,
    }


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


@router.get("/applications/{application_id}", response={200: ApplicationOut, **ERRORS})
def intake_application_get(request: HttpRequest, application_id: int) -> dict[str, Any]:
    actor = request.auth  # type: ignore[attr-defined]
    return _out(actor, selectors.application_read(actor=actor, application_id=application_id))


@router.post("/applications/{application_id}/transition", response={200: ApplicationOut, **ERRORS})
def intake_application_transition(request: HttpRequest, application_id: int, payload: TransitionIn) -> dict[str, Any]:
    actor = request.auth  # type: ignore[attr-defined]
    app = services.application_transition(
        actor=actor,
        application_id=application_id,
        action=payload.action,
        reason=payload.reason,
        expected_version=payload.expected_version,
        category=payload.category,
    )
    return _out(actor, app)


@router.post("/applications", response={201: ApplicationOut, **ERRORS})
def intake_counter_create(request: HttpRequest, payload: CreateIn) -> Status:
    """At the counter: a cadre starts an application on a worker's behalf (a draft)."""
    return _create(request, payload)


@router.put("/applications/{application_id}", response=DRAFT_SAVE_ANSWERS)
def intake_counter_save(request: HttpRequest, application_id: int, payload: DraftIn) -> dict[str, Any]:
    """Save a counter application's form (a draft, or one returned to the counter). Saved since
    ``expected_version``: 409 ``conflict``, nothing saved, with the draft as saved now in
    ``details`` (its version, when and by whom it was saved, and its form as the GET gives it)."""
    return _save(request, application_id, payload)


@router.post("/applications/{application_id}/submit", response={200: ApplicationOut, **ERRORS})
def intake_counter_submit(request: HttpRequest, application_id: int, payload: SubmitIn) -> dict[str, Any]:
    return _submit(request, application_id, payload)


@router.post("/applications/{application_id}/attachments", response={201: AttachmentOut, **ERRORS})
def intake_attachment_add(
    request: HttpRequest, application_id: int, file: File[UploadedFile], kind: Form[str] = AttachmentKind.PROOF
) -> Status:
    """A proof, a home-visit photo, the review minutes or the checking centre's answer (photos lose
    their location data)."""
    return Status(201, _fields(_attachment_add(request, application_id, file, kind), AttachmentOut))


@router.get("/applications/{application_id}/attachments/{attachment_id}", response={200: None, **ERRORS})
def intake_attachment_get(request: HttpRequest, application_id: int, attachment_id: int) -> FileResponse:
    return _attachment_file(request, application_id, attachment_id)


@router.post(
    "/applications/{application_id}/attachments/{attachment_id}/remove",
    response={200: RemovedAttachmentOut, **ERRORS},
)
def intake_attachment_remove(
    request: HttpRequest, application_id: int, attachment_id: int, payload: RemoveIn
) -> dict[str, Any]:
    """Take a file the union uploaded by mistake off the case, with the ``reason`` (required). The
    file is kept for audit, not deleted. Who uploaded it, or a colleague of their union, removes it
    while the case is at a step their role takes; a file the worker sent is not removed here (403:
    return the case to the worker for correction), nor one of a closed case (409)."""
    row = steps.attachment_remove_by_staff(
        actor=request.auth,  # type: ignore[attr-defined]
        application_id=application_id,
        attachment_id=attachment_id,
        reason=payload.reason,
    )
    return _removed(row)


class VisitIn(InSchema):
    visited_on: dt.date | None = None
    visitors: str = Field("", max_length=200)
    seen: str = Field("", max_length=5000)
    asked: str = Field("", max_length=5000)
    explained: str = Field("", max_length=5000)
    findings: str = Field("", max_length=5000)


@router.post("/applications/{application_id}/home-visit", response={201: HomeVisitOut, **ERRORS})
def intake_home_visit(request: HttpRequest, application_id: int, payload: VisitIn) -> Status:
    """The 一看二问三讲 record of the home visit (the step then moves on with the ``visit_done`` action)."""
    row: HomeVisit = steps.home_visit_record(
        actor=request.auth,  # type: ignore[attr-defined]
        application_id=application_id,
        visit=steps.VisitInput(**payload.model_dump()),
    )
    return Status(201, _fields(row, HomeVisitOut))


class UnitReviewIn(InSchema):
    held_on: dt.date | None = None
    minutes: str = Field("", max_length=5000)


@router.post("/applications/{application_id}/unit-review", response={200: ApplicationOut, **ERRORS})
def intake_unit_review(request: HttpRequest, application_id: int, payload: UnitReviewIn) -> dict[str, Any]:
    """The unit's review meeting; the public notice runs from the next day for the configured days."""
    actor = request.auth  # type: ignore[attr-defined]
    app = steps.unit_review_record(
        actor=actor, application_id=application_id, held_on=payload.held_on, minutes=payload.minutes
    )
    return _out(actor, app)


class ObjectionIn(InSchema):
    received_on: dt.date | None = None
    text: str = Field("", max_length=5000)


class AnswerIn(InSchema):
    answer: str = Field("", max_length=5000)


@router.post("/applications/{application_id}/objections", response={201: ObjectionOut, **ERRORS})
def intake_objection_add(request: HttpRequest, application_id: int, payload: ObjectionIn) -> Status:
    row: Objection = steps.objection_record(
        actor=request.auth,  # type: ignore[attr-defined]
        application_id=application_id,
        received_on=payload.received_on,
        text=payload.text,
    )
    return Status(201, _fields(row, ObjectionOut))


@router.post("/applications/{application_id}/objections/{objection_id}/answer", response={200: ObjectionOut, **ERRORS})
def intake_objection_answer(
    request: HttpRequest, application_id: int, objection_id: int, payload: AnswerIn
) -> dict[str, Any]:
    actor = request.auth  # type: ignore[attr-defined]
    row = steps.objection_answer(
        actor=actor, application_id=application_id, objection_id=objection_id, answer=payload.answer
    )
    return _fields(row, ObjectionOut)


@router.post("/applications/{application_id}/check/paper-authorisation", response={200: ApplicationOut, **ERRORS})
def intake_paper_authorisation(request: HttpRequest, application_id: int) -> dict[str, Any]:
    """Record the worker's authorisation for the economic check, signed on paper at the counter."""
    actor = request.auth  # type: ignore[attr-defined]
    return _out(actor, steps.authorisation_sign(actor=actor, application_id=application_id, agreed=True, ip=None))


@router.post("/applications/{application_id}/check/request", response={200: ApplicationOut, **ERRORS})
def intake_check_request(request: HttpRequest, application_id: int) -> dict[str, Any]:
    """Ask the checking centre for the economic check (the members are also cross-checked against
    the department data, in the background: ``check_matches``)."""
    actor = request.auth  # type: ignore[attr-defined]
    return _out(actor, steps.check_request(actor=actor, application_id=application_id))


class CheckAnswerIn(InSchema):
    passed: bool
    note: str = Field("", max_length=500)


@router.post("/applications/{application_id}/check/answer", response={200: ApplicationOut, **ERRORS})
def intake_check_answer(request: HttpRequest, application_id: int, payload: CheckAnswerIn) -> dict[str, Any]:
    """The checking centre's answer, as received (a failed check needs a note)."""
    actor = request.auth  # type: ignore[attr-defined]
    app = steps.check_answer(actor=actor, application_id=application_id, passed=payload.passed, note=payload.note)
    return _out(actor, app)


class ConvertIn(InSchema):
    reason: LineText = Field("", max_length=services.REASON_MAX)


@router.post("/applications/{application_id}/convert", response={201: ApplicationOut, **ERRORS})
def intake_convert(request: HttpRequest, application_id: int, payload: ConvertIn) -> Status:
    """Make an approved temporary-aid case a formal application without re-entering its data."""
    actor = request.auth  # type: ignore[attr-defined]
    app = services.application_convert(actor=actor, application_id=application_id, reason=payload.reason)
    return Status(201, _out(actor, app))


# --- legacy import ----------------------------------------------------------------------------------


class ImportIssueOut(Schema):
    row: int
    column: str
    file_number: str
    reason: str


class ImportBatchOut(Schema):
    id: int
    name: str
    unit_id: int
    state: str
    state_label: str
    sha256: str
    rows_total: int
    rows_done: int
    percent: int
    households_total: int
    households_valid: int
    households_invalid: int
    households_existing: int
    persons_valid: int
    households_created: int
    issues_count: int
    message: str
    # What the check says of the file as a whole (the sheet read, columns left out, totals passed over).
    notes: list[str] = Field(default_factory=list)
    first_issues: list[ImportIssueOut] = Field(default_factory=list)


def _batch_out(batch: ImportBatch) -> dict[str, Any]:
    out = {
        f: getattr(batch, f) for f in ImportBatchOut.model_fields if f not in {"state_label", "first_issues", "notes"}
    }
    out["state_label"] = batch.state_label
    out["message"] = in_reader_language(batch.message)
    out["notes"] = [in_reader_language(note) for note in batch.notes]
    out["first_issues"] = [
        {**i, "reason": in_reader_language(i["reason"])}
        for i in batch.issues.values("row", "column", "file_number", "reason")[:50]
    ]
    return out


@router.post("/imports", response={200: ImportBatchOut, 201: ImportBatchOut, **ERRORS})
def intake_import_create(request: HttpRequest, unit_id: Form[int], file: File[UploadedFile]) -> Status:
    """Stage a legacy workbook for import into the union ``unit_id`` and check it: 201 with the new
    batch. The same file again for the same union answers 200 with its batch (checked, imported or
    still at work), and nothing new is made; after a failed or cancelled batch it is checked anew."""
    batch, created = imports.import_batch_upload(
        actor=request.auth,  # type: ignore[attr-defined]
        unit_id=unit_id,
        name=file.name or "",
        content=file.read(),
    )
    return Status(201 if created else 200, _batch_out(batch))


@router.get("/imports/{batch_id}", response={200: ImportBatchOut, **ERRORS})
def intake_import_get(request: HttpRequest, batch_id: int) -> dict[str, Any]:
    return _batch_out(imports.import_batch_get(actor=request.auth, batch_id=batch_id))  # type: ignore[attr-defined]


@router.post("/imports/{batch_id}/commit", response={200: ImportBatchOut, **ERRORS})
def intake_import_commit(request: HttpRequest, batch_id: int) -> dict[str, Any]:
    return _batch_out(imports.import_batch_commit(actor=request.auth, batch_id=batch_id))  # type: ignore[attr-defined]


@router.post("/imports/{batch_id}/cancel", response={200: ImportBatchOut, **ERRORS})
def intake_import_cancel(request: HttpRequest, batch_id: int) -> dict[str, Any]:
    """Stop a batch being checked or waiting (409 ``import_not_running`` for one no longer at work):
    it is marked failed, and the same file may be uploaded again."""
    return _batch_out(imports.import_batch_cancel(actor=request.auth, batch_id=batch_id))  # type: ignore[attr-defined]


@router.get("/imports/{batch_id}/report", response={200: None, **ERRORS})
def intake_import_report(request: HttpRequest, batch_id: int, format: str = "csv") -> HttpResponse:
    body, content_type = imports.error_report(actor=request.auth, batch_id=batch_id, fmt=format)  # type: ignore[attr-defined]
    response = HttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="import-{batch_id}-errors.{format}"'
    response["Cache-Control"] = "no-store"
    return response


# --- yearly review ----------------------------------------------------------------------------------


class ReviewDeclineOut(Schema):
    """A worker's report staff did not take (``POST /reviews/{id}/decline``), as it was sent."""

    id: int
    changes: dict[str, Any]
    note: str = Field(description="The worker's note with the report")
    reported_after_confirmation: bool
    reason: str = Field(description="Why it was not taken; the worker reads it")
    declined_by: str
    declined_at: dt.datetime


class ReviewOut(Schema):
    id: int
    household_id: int
    file_number: str
    unit_id: int
    year: int
    state: str
    due_on: dt.date
    done_at: dt.datetime | None
    changes: dict[str, Any]
    note: str
    reported_after_confirmation: bool = Field(
        False, description="The worker's report came after the review was confirmed unchanged, and reopened it"
    )
    file_token: str = Field(
        "",
        description="The file's values of the reported fields now, as a fingerprint: send it back with "
        "POST /reviews/{id}/confirm to apply the report over the file as you have seen it",
    )
    report_token: str = Field(
        "",
        description="The worker's report waiting for staff, as a fingerprint: send it back with "
        "POST /reviews/{id}/confirm or /decline, so that a report sent after an earlier one was declined "
        "is not applied or declined unseen (409 conflict)",
    )
    declined: list[ReviewDeclineOut] = Field(
        default_factory=list, description="The worker's reports on this review that staff declined, oldest first"
    )


REVIEW_PAGE_MAX = 200


class _ReviewFilters(Schema):
    """The list's filters and page, asked by query (``ReviewQuery``) or in a body (``ReviewSearchIn``)."""

    state: str = Field(
        "",
        max_length=16,
        description="todo (reported or open), reported (the worker's report waits for staff), open "
        "(waiting for the worker), done (confirmed or updated), confirmed, updated; empty for all",
    )
    year: int | None = Field(None, ge=2000, le=9999, description="The review year; all years when left out")
    unit_id: int | None = Field(None, description="Only the files of this union and the unions below it")
    page: int = Field(1, ge=1, le=MAX_PAGE)
    page_size: int = Field(50, ge=1, le=REVIEW_PAGE_MAX)


class ReviewQuery(_ReviewFilters):
    q: str = Field(
        "",
        max_length=100,
        description="All or part of the file number; an ID number is refused here (422): search by it with "
        "POST /reviews/search",
    )


class ReviewSearchIn(_ReviewFilters, InSchema):
    """``ReviewQuery`` as a body (``POST /reviews/search``): a field it does not know is refused."""

    q: str = Field("", max_length=100, description="All or part of the file number, or a member's whole ID number")


class ReviewCountsOut(Schema):
    reported: int
    open: int
    done: int


class ReviewPageOut(Schema):
    count: int = Field(description="Tasks matching, counted up to 10,001")
    count_capped: bool = Field(description="True when more tasks match than are counted: narrow the filters")
    page: int
    page_size: int
    counts: ReviewCountsOut = Field(description="Tasks matching the search and year per state, whatever ``state``")
    results: list[ReviewOut]


def _members_keyed_by_id(value: Any) -> Any:
    """A report's ``members`` must be an object keyed by member id: a list of members (with their
    ids inside) is said to be the wrong shape, not taken for members who are not on the file."""
    if value is not None and not isinstance(value, dict):
        raise PydanticCustomError("said", "{said}", {"said": reviews.members_shape_message()})
    return value


class ReviewMemberChangesIn(InSchema):
    """What changed of one living member; a field left out (or null, or "") stays as it is. The
    values are checked by the report (each problem named with the member and the field)."""

    monthly_income: Any = Field(
        None,
        description='The monthly income now, in yuan and fen ("1200", "1200.50"), from 0 to 1,000,000',
        json_schema_extra={"type": "string", "example": "1200.00"},
    )
    work_status: Any = Field(
        None, description="The work status now, a code", json_schema_extra={"enum": list(codes.WorkStatus.values)}
    )
    health: Any = Field(
        None, description="The health now, a code", json_schema_extra={"enum": list(codes.Health.values)}
    )


class ReviewChangesIn(InSchema):
    """What changed since the file was made or last reviewed; anything left out stays as it is.
    A key that is not one of these is refused by name (``fields["changes.<key>"]``)."""

    address: Any = Field(
        None,
        description="The household's address now, at most 200 characters",
        json_schema_extra={"type": "string"},
    )
    phone: Any = Field(
        None,
        description="The head's phone number now: 7 to 12 digits (spaces, dashes and +86 are taken out)",
        json_schema_extra={"type": "string"},
    )
    members: Annotated[dict[str, ReviewMemberChangesIn] | None, BeforeValidator(_members_keyed_by_id)] = Field(
        None,
        description="The members' changes keyed by member id (the ids of GET /applicant/reviews/{id}'s "
        'members): {"1024": {"monthly_income": "800"}}',
    )


class ReviewReportIn(InSchema):
    changes: ReviewChangesIn = Field(default_factory=lambda: ReviewChangesIn.model_validate({}))
    note: str = Field("", max_length=500)


class ReviewConfirmIn(InSchema):
    note: str = Field("", max_length=500)


class StaffReviewConfirmIn(ReviewConfirmIn):
    # Required, as the reviews page's form always sends them (422 naming each one left out): staff
    # apply a report only onto the file they saw, so a client that says nothing of what it saw
    # would skip every check. They default to "" here only so that a caller who may not act on the
    # review, or a review already closed, is answered that first (403, 404, 409 ``review_done``).
    state: str = Field(
        "",
        max_length=16,
        description="Required: the review's state as you saw it (open: confirm unchanged; reported: apply the "
        "report). A review that moved on since answers 409 conflict, nothing written",
    )
    file_token: str = Field(
        "",
        max_length=64,
        description="Required for a report (state reported): the file_token you saw beside it. A file changed "
        "since answers 409 conflict naming each change, with the file_token of the file now",
    )
    report_token: str = Field(
        "",
        max_length=64,
        description="Required for a report (state reported): the report_token you saw. A report sent since "
        "(after an earlier one was declined) answers 409 conflict",
    )


class StaffReviewDeclineIn(InSchema):
    # Required (422 when empty), at most 1,000 characters, refused whole beyond that; the worker reads it.
    reason: LineText = Field("", max_length=services.REASON_MAX)
    state: str = Field(
        "", max_length=16, description="Required: the review's state as you saw it (reported); 409 when it moved on"
    )
    report_token: str = Field(
        "", max_length=64, description="Required: the report_token you saw; 409 when another report was sent since"
    )


def _review_out(t: ReviewTask) -> dict[str, Any]:
    if not hasattr(t, "file_token"):
        reviews.review_changes_shown([t])
    return {
        "id": t.pk,
        "household_id": t.household_id,
        "file_number": t.household.file_number,
        "unit_id": t.household.unit_id,
        "year": t.year,
        "state": t.state,
        "due_on": t.due_on,
        "done_at": t.done_at,
        "changes": t.changes,
        "note": t.note,
        "reported_after_confirmation": t.reported_after_confirmation,
        "file_token": t.file_token if t.state == ReviewState.REPORTED else "",  # type: ignore[attr-defined]
        "report_token": t.report_token,  # type: ignore[attr-defined]
        "declined": [
            {
                "id": d.pk,
                "changes": d.changes,
                "note": d.note,
                "reported_after_confirmation": d.reported_after_confirmation,
                "reason": d.reason,
                "declined_by": d.declined_by.get_username(),
                "declined_at": d.declined_at,
            }
            for d in t.declined  # type: ignore[attr-defined]
        ],
    }


@router.get("/reviews", response={200: ReviewPageOut, **ERRORS})
def intake_review_list(request: HttpRequest, query: Query[ReviewQuery]) -> dict[str, Any]:
    """The yearly reviews in the caller's jurisdiction, a page at a time: the reports waiting for
    staff first, then the tasks waiting for the worker, then the closed ones, oldest first within
    each; with how many match and how many of them are in each state.

    A ``q`` that holds an ID number (whole or nearly, in any form) is refused (422 on ``q``): an
    address is written to servers' and proxies' access logs. Search by ID number with
    ``POST /reviews/search``, which takes the same fields in its body and answers the same page."""
    refuse_id_in_address(query.q, "/api/v1/reviews/search")
    return _review_page(request, query)


@router.post("/reviews/search", response={200: ReviewPageOut, **ERRORS})
def intake_review_search(request: HttpRequest, payload: ReviewSearchIn) -> dict[str, Any]:
    """``GET /reviews`` with its fields in the body, so that an ID number searched for is in no
    address (nor in the access logs that keep them): the same filters, the same page."""
    return _review_page(request, payload)


def _review_page(request: HttpRequest, query: ReviewQuery | ReviewSearchIn) -> dict[str, Any]:
    if query.state and query.state not in selectors.REVIEW_FILTERS:
        raise ValidationError({"state": _("“%(value)s” is not one of the allowed values.") % {"value": query.state}})
    actor = request.auth  # type: ignore[attr-defined]
    unit_filter_checked(access.units(actor, Perm.HOUSEHOLD_VIEW), query.unit_id)
    filters = selectors.ReviewFilters(state=query.state, q=query.q, year=query.year, unit_id=query.unit_id)
    qs = selectors.review_list(actor=actor, filters=filters)
    paginator = CappedPaginator(qs, query.page_size)
    start = (query.page - 1) * query.page_size
    return {
        "count": paginator.count,
        "count_capped": paginator.capped,
        "page": query.page,
        "page_size": query.page_size,
        "counts": selectors.review_counts(actor=actor, filters=filters).groups,
        "results": [_review_out(t) for t in _shown(list(qs[start : start + query.page_size]))],
    }


@router.post("/reviews/{task_id}/confirm", response={200: ReviewOut, **ERRORS})
def intake_review_confirm(request: HttpRequest, task_id: int, payload: StaffReviewConfirmIn) -> dict[str, Any]:
    """Confirm the file unchanged (an open task) or apply the worker's checked report (a reported
    one); applying it identifies the household again. Send ``state`` as you saw it and, for a
    report, its ``file_token`` and ``report_token`` from the list: each one left out is refused
    (422 naming it), as staff apply a report only onto the file they saw."""
    task = reviews.review_confirm(
        actor=request.auth,  # type: ignore[attr-defined]
        task_id=task_id,
        note=payload.note,
        seen_state=payload.state,
        seen_file=payload.file_token,
        seen_report=payload.report_token,
        seen_required=True,
    )
    return _review_out(task)


@router.post("/reviews/{task_id}/decline", response={200: ReviewOut, **ERRORS})
def intake_review_decline(request: HttpRequest, task_id: int, payload: StaffReviewDeclineIn) -> dict[str, Any]:
    """Decline the worker's report (不采纳申报) with a ``reason`` (required, at most 1,000 characters;
    the worker reads it): nothing in the file changes, the report is kept with the decision
    (``declined``), and the review waits for the worker again — they may report again or confirm,
    and staff may confirm it unchanged. Who may apply a report may decline it. Send ``state`` and
    ``report_token`` as you saw them (422 naming each one left out): a review answered or declined
    since, or another report sent, answers 409 (``conflict``, or ``review_done`` once closed),
    nothing written."""
    reviews.review_decline(
        actor=request.auth,  # type: ignore[attr-defined]
        task_id=task_id,
        reason=payload.reason,
        seen_state=payload.state,
        seen_report=payload.report_token,
        seen_required=True,
    )
    task = ReviewTask.objects.select_related("household", "household__unit").get(pk=task_id)
    return _review_out(task)


def _shown(tasks: list[ReviewTask]) -> list[ReviewTask]:
    reviews.review_changes_shown(tasks)  # each one's file_token, the page's members read in one query
    return tasks


class MyReviewDeclineOut(Schema):
    reason: str
    declined_at: dt.datetime
    changes: dict[str, Any]
    note: str


class MyReviewOut(Schema):
    """A yearly review as the worker sees it: the file's number and the report only once this
    sign-in has proved to be one of the household (``proven``; see the ``/proof`` endpoint)."""

    id: int
    year: int
    state: str
    due_on: dt.date
    proven: bool
    household_id: int | None = None
    file_number: str | None = None
    changes: dict[str, Any] | None = None
    note: str | None = None
    declined: list[MyReviewDeclineOut] | None = Field(
        None, description="The reports of this review the union did not take, with why (after the proof)"
    )


class ReviewMemberOut(Schema):
    id: int
    name: str
    relationship: str
    monthly_income: Decimal
    work_status: str
    health: str


class MyReviewDetailOut(MyReviewOut):
    address: str = ""
    members: list[ReviewMemberOut] = Field(default_factory=list)


class ProofIn(InSchema):
    id_number: str = Field(max_length=30)


def _my_review_out(t: ReviewTask, proven: bool) -> dict[str, Any]:
    out: dict[str, Any] = {"id": t.pk, "year": t.year, "state": t.state, "due_on": t.due_on, "proven": proven}
    if proven:
        out |= {"household_id": t.household_id, "file_number": t.household.file_number, "changes": t.changes}
        out["note"] = t.note
        if not hasattr(t, "declined"):
            reviews.review_changes_shown([t])
        out["declined"] = [
            {"reason": d.reason, "declined_at": d.declined_at, "changes": d.changes, "note": d.note}
            for d in t.declined  # type: ignore[attr-defined]
        ]
    return out


def _my_review_detail(request: HttpRequest, task_id: int) -> dict[str, Any]:
    task, members = reviews.review_household(actor=request.auth, task_id=task_id)  # type: ignore[attr-defined]
    return {
        **_my_review_out(task, True),
        "address": task.household.address,
        "members": [
            {
                "id": m.pk,
                "name": m.name,
                "relationship": m.relationship,
                "monthly_income": m.monthly_income,
                "work_status": m.work_status,
                "health": m.health,
            }
            for m in members
        ],
    }


@router.get("/applicant/reviews", auth=applicant_auth, response={200: list[MyReviewOut], **ERRORS})
def intake_my_reviews(request: HttpRequest) -> list[dict[str, Any]]:
    """The open yearly reviews of the files whose head has the worker's phone number."""
    tasks = list(reviews.review_tasks_for(actor=request.auth))  # type: ignore[attr-defined]
    # The declined reports of the proven ones, read in one query.
    reviews.review_changes_shown([t for t in tasks if t.proven])  # type: ignore[attr-defined]
    return [_my_review_out(t, t.proven) for t in tasks]  # type: ignore[attr-defined]


@router.post("/applicant/reviews/{task_id}/proof", auth=applicant_auth, response={200: MyReviewDetailOut, **ERRORS})
def intake_my_review_proof(request: HttpRequest, task_id: int, payload: ProofIn) -> dict[str, Any]:
    """Show that the household is the worker's: the ID number of a living member of the file. Five
    wrong numbers a day lock the file's review on the phone (``review_proof_locked``); the proof
    holds for this sign-in. Answers the file as the review shows it."""
    reviews.review_proof(actor=request.auth, task_id=task_id, id_number=payload.id_number)  # type: ignore[attr-defined]
    return _my_review_detail(request, task_id)


@router.get("/applicant/reviews/{task_id}", auth=applicant_auth, response={200: MyReviewDetailOut, **ERRORS})
def intake_my_review(request: HttpRequest, task_id: int) -> dict[str, Any]:
    """The file to review: its address and living members (``review_proof_needed`` before the proof)."""
    return _my_review_detail(request, task_id)


@router.post("/applicant/reviews/{task_id}/confirm", auth=applicant_auth, response={200: ReviewOut, **ERRORS})
def intake_my_review_confirm(request: HttpRequest, task_id: int, payload: ReviewConfirmIn) -> dict[str, Any]:
    return _review_out(reviews.review_confirm(actor=request.auth, task_id=task_id, note=payload.note))  # type: ignore[attr-defined]


@router.post("/applicant/reviews/{task_id}/report", auth=applicant_auth, response={200: ReviewOut, **ERRORS})
def intake_my_review_report(request: HttpRequest, task_id: int, payload: ReviewReportIn) -> dict[str, Any]:
    changes = payload.changes.model_dump(exclude_unset=True)
    task = reviews.review_report(actor=request.auth, task_id=task_id, changes=changes, note=payload.note)  # type: ignore[attr-defined]
    return _review_out(task)


# Kept last among the worker's endpoints: the API's garbage test walks the schema in order with one
# worker's token, and signing out ends it.
@router.post("/applicant/logout", auth=applicant_auth, response={204: None, **ERRORS})
def intake_applicant_logout(request: HttpRequest) -> Status:
    """End this sign-in: its token answers 401 from now on."""
    otp.login_end(applicant=request.auth)  # type: ignore[attr-defined]
    return Status(204, None)
