"""The applications API (mounted by the project's API): the worker's endpoints, signed in with a
phone code (``Authorization: Bearer <applicant token>``), and the staff's work queue and steps.
Errors have the API's one shape."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Field, File, Form, Router, Schema, Status
from ninja.files import UploadedFile
from ninja.security import HttpBearer

from . import imports, otp, reviews, selectors, services, steps
from .models import Application, ApplicationEvent, ApplicationKind, ImportBatch, ReviewTask


class ApplicantBearer(HttpBearer):
    """``Authorization: Bearer <token>`` as issued by ``intake_applicant_token``."""

    def authenticate(self, request: HttpRequest, token: str) -> Any | None:
        return otp.applicant_from_token(token.strip())


applicant_auth = ApplicantBearer()
router = Router(tags=["applications"])


class CodeIn(Schema):
    phone: str = Field(max_length=20)


class TokenIn(Schema):
    phone: str = Field(max_length=20)
    code: str = Field(max_length=6)


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
    allowed_actions: list[str] = Field(default_factory=list)
    check_result: str = ""
    # Staff only: the cross-check of the members at the economic check (``steps.check_match``).
    check_matches: dict[str, Any] | None = None


class CreateIn(Schema):
    unit_id: int
    kind: str = ApplicationKind.FORMAL
    form: dict[str, Any] = Field(default_factory=dict)
    idempotency_key: str = Field("", max_length=64)


class DraftIn(Schema):
    form: dict[str, Any]
    expected_version: int | None = None


class SubmitIn(Schema):
    expected_version: int | None = None


class AuthoriseIn(Schema):
    agreed: bool


class TransitionIn(Schema):
    action: str = Field(max_length=32)
    reason: str = Field("", max_length=1000)
    expected_version: int | None = None
    category: str = Field("", max_length=24)


class QueueRowOut(Schema):
    id: int
    reference: str
    kind: str
    state: str
    unit_id: int
    head_name: str
    head_id_masked: str
    days_waiting: int
    overdue: bool


def _out(actor: Any, app: Application, events: Any = None) -> dict[str, Any]:
    evs: list[ApplicationEvent] = list(events if events is not None else app.events.all())
    return {
        "id": app.pk,
        "reference": app.reference,
        "kind": app.kind,
        "state": app.state,
        "state_label": str(app.get_state_display()),
        "unit_id": app.unit_id,
        "version": app.version,
        "head_name": app.head_name,
        "head_id_masked": app.head_id_masked,
        "submitted_at": app.submitted_at,
        "authorised_at": app.authorised_at,
        "household_id": app.household_id,
        "data": app.data,
        "events": [
            {
                "at": e.at,
                "action": e.action,
                "label": e.label,
                "from_state": e.from_state,
                "to_state": e.to_state,
                "reason": e.reason,
            }
            for e in evs
        ],
        "allowed_actions": services.allowed_actions(actor, app),
        "check_result": app.check_result,
        "check_matches": None if services.is_applicant(actor) else app.check_matches,
    }


# --- the worker ------------------------------------------------------------------------------------


@router.post("/applicant/code", auth=None, response={204: None})
def intake_applicant_code(request: HttpRequest, payload: CodeIn) -> Status:
    otp.code_request(phone=payload.phone)
    return Status(204, None)


@router.post("/applicant/token", auth=None, response=TokenOut)
def intake_applicant_token(request: HttpRequest, payload: TokenIn) -> dict[str, Any]:
    applicant = otp.code_verify(phone=payload.phone, code=payload.code)
    return {"token": otp.token_for(applicant), "applicant_id": applicant.pk}


@router.get("/applicant/applications", auth=applicant_auth, response=list[ApplicationOut])
def intake_my_applications(request: HttpRequest) -> list[dict[str, Any]]:
    actor = request.auth  # type: ignore[attr-defined]
    return [_out(actor, a) for a in selectors.my_applications(applicant=actor).prefetch_related("events")[:50]]


@router.post("/applicant/applications", auth=applicant_auth, response={201: ApplicationOut})
def intake_application_create(request: HttpRequest, payload: CreateIn) -> Status:
    actor = request.auth  # type: ignore[attr-defined]
    app = services.application_create(
        actor=actor,
        unit_id=payload.unit_id,
        kind=payload.kind,
        form=payload.form,
        idempotency_key=payload.idempotency_key,
    )
    return Status(201, _out(actor, app))


@router.get("/applicant/applications/{application_id}", auth=applicant_auth, response=ApplicationOut)
def intake_my_application(request: HttpRequest, application_id: int) -> dict[str, Any]:
    actor = request.auth  # type: ignore[attr-defined]
    return _out(actor, selectors.application_read(actor=actor, application_id=application_id))


@router.put("/applicant/applications/{application_id}", auth=applicant_auth, response=ApplicationOut)
def intake_draft_save(request: HttpRequest, application_id: int, payload: DraftIn) -> dict[str, Any]:
    actor = request.auth  # type: ignore[attr-defined]
    app = services.application_save_draft(
        actor=actor, application_id=application_id, form=payload.form, expected_version=payload.expected_version
    )
    return _out(actor, app)


@router.post("/applicant/applications/{application_id}/submit", auth=applicant_auth, response=ApplicationOut)
def intake_submit(request: HttpRequest, application_id: int, payload: SubmitIn) -> dict[str, Any]:
    actor = request.auth  # type: ignore[attr-defined]
    app = services.application_submit(
        actor=actor, application_id=application_id, expected_version=payload.expected_version
    )
    return _out(actor, app)


@router.post("/applicant/applications/{application_id}/authorise", auth=applicant_auth, response=ApplicationOut)
def intake_authorise(request: HttpRequest, application_id: int, payload: AuthoriseIn) -> dict[str, Any]:
    actor = request.auth  # type: ignore[attr-defined]
    app = steps.authorisation_sign(
        actor=actor, application_id=application_id, agreed=payload.agreed, ip=request.META.get("REMOTE_ADDR")
    )
    return _out(actor, app)


# --- staff ----------------------------------------------------------------------------------------


@router.get("/applications/queue", response=list[QueueRowOut])
def intake_queue(request: HttpRequest, state: str = "", page: int = 1) -> list[dict[str, Any]]:
    rows, _page = selectors.queue(actor=request.auth, state=state, page=page)  # type: ignore[attr-defined]
    return [
        {
            "id": r.application.pk,
            "reference": r.application.reference,
            "kind": r.application.kind,
            "state": r.application.state,
            "unit_id": r.application.unit_id,
            "head_name": r.application.head_name,
            "head_id_masked": r.application.head_id_masked,
            "days_waiting": r.days_waiting,
            "overdue": r.overdue,
        }
        for r in rows
    ]


@router.get("/applications/{application_id}", response=ApplicationOut)
def intake_application_get(request: HttpRequest, application_id: int) -> dict[str, Any]:
    actor = request.auth  # type: ignore[attr-defined]
    return _out(actor, selectors.application_read(actor=actor, application_id=application_id))


@router.post("/applications/{application_id}/transition", response=ApplicationOut)
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
    first_issues: list[ImportIssueOut] = Field(default_factory=list)


def _batch_out(batch: ImportBatch) -> dict[str, Any]:
    out = {f: getattr(batch, f) for f in ImportBatchOut.model_fields if f not in {"state_label", "first_issues"}}
    out["state_label"] = str(batch.get_state_display())
    out["first_issues"] = list(batch.issues.values("row", "column", "file_number", "reason")[:50])
    return out


@router.post("/imports", response={201: ImportBatchOut})
def intake_import_create(request: HttpRequest, unit_id: Form[int], file: File[UploadedFile]) -> Status:
    batch = imports.import_batch_create(
        actor=request.auth,  # type: ignore[attr-defined]
        unit_id=unit_id,
        name=file.name or "",
        content=file.read(),
    )
    return Status(201, _batch_out(batch))


@router.get("/imports/{batch_id}", response=ImportBatchOut)
def intake_import_get(request: HttpRequest, batch_id: int) -> dict[str, Any]:
    return _batch_out(imports.import_batch_get(actor=request.auth, batch_id=batch_id))  # type: ignore[attr-defined]


@router.post("/imports/{batch_id}/commit", response=ImportBatchOut)
def intake_import_commit(request: HttpRequest, batch_id: int) -> dict[str, Any]:
    return _batch_out(imports.import_batch_commit(actor=request.auth, batch_id=batch_id))  # type: ignore[attr-defined]


@router.get("/imports/{batch_id}/report")
def intake_import_report(request: HttpRequest, batch_id: int, format: str = "csv") -> HttpResponse:
    body, content_type = imports.error_report(actor=request.auth, batch_id=batch_id, fmt=format)  # type: ignore[attr-defined]
    response = HttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="import-{batch_id}-errors.{format}"'
    return response


# --- yearly review ----------------------------------------------------------------------------------


class ReviewOut(Schema):
    id: int
    household_id: int
    file_number: str
    year: int
    state: str
    due_on: dt.date
    changes: dict[str, Any]
    note: str


class ReviewReportIn(Schema):
    changes: dict[str, Any] = Field(default_factory=dict)
    note: str = Field("", max_length=500)


class ReviewConfirmIn(Schema):
    note: str = Field("", max_length=500)


def _review_out(t: ReviewTask) -> dict[str, Any]:
    return {
        "id": t.pk,
        "household_id": t.household_id,
        "file_number": t.household.file_number,
        "year": t.year,
        "state": t.state,
        "due_on": t.due_on,
        "changes": t.changes,
        "note": t.note,
    }


@router.get("/reviews", response=list[ReviewOut])
def intake_review_list(request: HttpRequest) -> list[dict[str, Any]]:
    return [_review_out(t) for t in reviews.review_tasks_for(actor=request.auth)[:200]]  # type: ignore[attr-defined]


@router.post("/reviews/{task_id}/confirm", response=ReviewOut)
def intake_review_confirm(request: HttpRequest, task_id: int, payload: ReviewConfirmIn) -> dict[str, Any]:
    return _review_out(reviews.review_confirm(actor=request.auth, task_id=task_id, note=payload.note))  # type: ignore[attr-defined]


@router.get("/applicant/reviews", auth=applicant_auth, response=list[ReviewOut])
def intake_my_reviews(request: HttpRequest) -> list[dict[str, Any]]:
    return [_review_out(t) for t in reviews.review_tasks_for(actor=request.auth)]  # type: ignore[attr-defined]


@router.post("/applicant/reviews/{task_id}/confirm", auth=applicant_auth, response=ReviewOut)
def intake_my_review_confirm(request: HttpRequest, task_id: int, payload: ReviewConfirmIn) -> dict[str, Any]:
    return _review_out(reviews.review_confirm(actor=request.auth, task_id=task_id, note=payload.note))  # type: ignore[attr-defined]


@router.post("/applicant/reviews/{task_id}/report", auth=applicant_auth, response=ReviewOut)
def intake_my_review_report(request: HttpRequest, task_id: int, payload: ReviewReportIn) -> dict[str, Any]:
    task = reviews.review_report(actor=request.auth, task_id=task_id, changes=payload.changes, note=payload.note)  # type: ignore[attr-defined]
    return _review_out(task)
