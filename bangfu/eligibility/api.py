"""Identification over the API (mounted at ``/api/v1/eligibility``): decisions, overrides,
standards, rule sets, what-if previews and bulk recomputes.

Each endpoint parses its input, calls one service or selector with the caller as ``actor`` and
renders the result; a household outside the caller's jurisdiction answers 404.
"""

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from ninja import Field, Query, Router, Schema, Status

from bangfu.api.errors import ERRORS
from bangfu.api.permissions import actor, requires
from bangfu.api.schemas import InSchema
from bangfu.common.errors import field_errors
from bangfu.org.access import Perm

from . import recompute, selectors, services
from .models import EligibilityDecision, RecomputeRun, RuleSetVersion, Standard
from .presentation import reason_texts

router = Router(tags=["eligibility"])
HISTORY_LIMIT = 20
WHATIF_HOUSEHOLDS_LIMIT = 1000


class ReasonOut(Schema):
    code: str
    params: dict[str, str]
    text: str


class OverrideOut(Schema):
    status: str
    category: str
    reason: str
    requested_by: str | None
    approved_by: str | None


class DecisionOut(Schema):
    id: int
    household_id: int
    category: str
    effective_category: str
    income_category: str
    previous_category: str
    is_migrant_worker: bool
    net_income_per_head_monthly: Decimal | None
    reasons: list[ReasonOut]
    disqualifiers: list[str]
    exit_months_above: int | None
    exit_test_met: bool | None
    standard_version: str
    ruleset_version: str
    decided_at: datetime
    is_current: bool
    override: OverrideOut | None


class HouseholdDecisionsOut(Schema):
    current: DecisionOut | None
    history: list[DecisionOut]


class OverrideIn(InSchema):
    category: str = Field(description="deep, relative, accident or not_eligible")
    reason: str


class ApproveIn(InSchema):
    approve: bool = Field(description="true approves the override, false rejects it")


class StandardIn(InSchema):
    division_code: str
    year: int
    dibao_monthly: Decimal
    minimum_wage_monthly: Decimal
    housing_area_per_head: Decimal | None = None
    disposable_income_per_head_last_year: Decimal | None = None
    effective_from: date | None = None
    note: str = ""


class StandardOut(Schema):
    id: int
    version: str
    division_code: str
    year: int
    is_current: bool
    dibao_monthly: Decimal
    minimum_wage_monthly: Decimal
    housing_area_per_head: Decimal | None
    disposable_income_per_head_last_year: Decimal | None
    effective_from: date
    note: str
    created_by: str | None
    created_at: datetime


class StandardQuery(Schema):
    division_code: str = ""
    year: int | None = None
    history: bool = False


class RuleSetIn(InSchema):
    region_code: str = Field("", description='six-digit division code, "" for the national rule set')
    params: dict[str, Any]
    note: str = ""


class RuleSetOut(Schema):
    id: int
    version: str
    region_code: str
    is_current: bool
    params: dict[str, Any]
    note: str
    published_by: str | None
    published_at: datetime


class WhatIfStandardIn(InSchema):
    """The standard's values to try; one left out (or null) stays as it is in force."""

    dibao_monthly: Decimal | None = None
    minimum_wage_monthly: Decimal | None = None
    housing_area_per_head: Decimal | None = None
    disposable_income_per_head_last_year: Decimal | None = None


class WhatIfIn(InSchema):
    unit_id: int
    on: date | None = Field(None, description="effective from (default today)")
    standard: WhatIfStandardIn | None = Field(None, description="the standard's values to try")
    rule_params: dict[str, Any] | None = None
    save: bool = Field(False, description="save the parameters as new versions after the preview")


class TransitionOut(Schema):
    previous: str
    new: str
    households: int


class UnitChangesOut(Schema):
    unit_id: int
    unit_name: str
    changed: int
    transitions: list[TransitionOut]


class ChangedHouseholdOut(Schema):
    unit_name: str
    file_number: str
    previous: str
    new: str
    whatever_the_values: bool = Field(
        description="The values in force give the same new category on that day (ages, the year before a "
        "purchase, a file changed since its decision): the change is not the previewed values'"
    )


class WhatIfOut(Schema):
    total: int
    changed: int
    changed_whatever_the_values: int = Field(
        description="Of `changed`, the households the values in force would move the same way on that day"
    )
    categories: dict[str, int]
    by_unit: list[UnitChangesOut]
    households: list[ChangedHouseholdOut]
    standard_version: str
    ruleset_version: str
    saved: list[str]


class RecomputeIn(InSchema):
    unit_id: int
    on: date | None = None


class RecomputeRunOut(Schema):
    id: int
    unit_id: int
    status: str
    total: int
    done: int
    changed: int
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    error: str


def _username(user: Any) -> str | None:
    return user.get_username() if user is not None else None


def _decision(d: EligibilityDecision) -> dict[str, Any]:
    texts = reason_texts(d.reasons)
    return {
        "id": d.pk,
        "household_id": d.household_id,
        "category": d.category,
        "effective_category": d.effective_category,
        "income_category": d.income_category,
        "previous_category": d.previous_category,
        "is_migrant_worker": d.is_migrant_worker,
        "net_income_per_head_monthly": d.net_income_per_head_monthly,
        "reasons": [
            {"code": r.get("code", ""), "params": r.get("params") or {}, "text": t}
            for r, t in zip(d.reasons, texts, strict=True)
        ],
        "disqualifiers": d.disqualifiers,
        "exit_months_above": d.exit_months_above,
        "exit_test_met": d.exit_test_met,
        "standard_version": d.standard_version,
        "ruleset_version": d.ruleset_version,
        "decided_at": d.decided_at,
        "is_current": d.is_current,
        "override": (
            {
                "status": d.override_status,
                "category": d.overridden_category,
                "reason": d.override_reason,
                "requested_by": _username(d.override_by),
                "approved_by": _username(d.override_approved_by),
            }
            if d.override_status
            else None
        ),
    }


def _standard(s: Standard) -> dict[str, Any]:
    return {
        "id": s.pk,
        "version": s.label,
        "division_code": s.division_code,
        "year": s.year,
        "is_current": s.is_current,
        "dibao_monthly": s.dibao_monthly,
        "minimum_wage_monthly": s.minimum_wage_monthly,
        "housing_area_per_head": s.housing_area_per_head,
        "disposable_income_per_head_last_year": s.disposable_income_per_head_last_year,
        "effective_from": s.effective_from,
        "note": s.note,
        "created_by": _username(s.created_by),
        "created_at": s.created_at,
    }


def _ruleset(r: RuleSetVersion) -> dict[str, Any]:
    return {
        "id": r.pk,
        "version": r.label,
        "region_code": r.region_code,
        "is_current": r.is_current,
        "params": r.params,
        "note": r.note,
        "published_by": _username(r.published_by),
        "published_at": r.published_at,
    }


def _run(r: RecomputeRun) -> dict[str, Any]:
    return {
        "id": r.pk,
        "unit_id": r.unit_id,
        "status": r.status,
        "total": r.total,
        "done": r.done,
        "changed": r.changed,
        "created_at": r.created_at,
        "started_at": r.started_at,
        "finished_at": r.finished_at,
        "error": r.error,
    }


@router.get(
    "/households/{household_id}/decision",
    response={200: HouseholdDecisionsOut, **ERRORS},
    summary="Read a household's decision and its history",
)
@requires(Perm.HOUSEHOLD_VIEW)
def decision_get(request: HttpRequest, household_id: int) -> dict[str, Any]:
    """The current decision (or null) with each reason as text, and the last 20 decisions."""
    history = list(selectors.decision_history(actor=actor(request), household_id=household_id)[:HISTORY_LIMIT])
    current = next((d for d in history if d.is_current), None)
    return {"current": _decision(current) if current else None, "history": [_decision(d) for d in history]}


@router.post(
    "/households/{household_id}/decision",
    response={201: DecisionOut, **ERRORS},
    summary="Decide a household now",
)
@requires(Perm.HOUSEHOLD_EDIT)
def decision_compute(request: HttpRequest, household_id: int) -> Status[dict[str, Any]]:
    """Run the rules on the file as it is today and store the result as the current decision."""
    d = services.decision_compute(actor=actor(request), household_id=household_id)
    return Status(201, _decision(d))


@router.post(
    "/decisions/{decision_id}/override",
    response={200: DecisionOut, **ERRORS},
    summary="Ask to override a decision",
)
@requires(Perm.DECISION_OVERRIDE)
def decision_override_request(request: HttpRequest, decision_id: int, payload: OverrideIn) -> dict[str, Any]:
    """Set the category by hand with a reason; it takes effect once a second person approves (an
    approved override stays in force until then). Refused (400 ``override_pending``) while another
    person's request waits; the person who asked may change their own."""
    d = services.decision_override_request(
        actor=actor(request), decision_id=decision_id, category=payload.category, reason=payload.reason
    )
    return _decision(d)


@router.post(
    "/decisions/{decision_id}/override/approve",
    response={200: DecisionOut, **ERRORS},
    summary="Approve or reject an override",
)
@requires(Perm.DECISION_OVERRIDE)
def decision_override_approve(request: HttpRequest, decision_id: int, payload: ApproveIn) -> dict[str, Any]:
    """Approved by someone other than the person who asked (else 403 ``maker_checker``); rejected
    by another person, or withdrawn by the one who asked (``approve: false``). An approved override
    the request would have replaced is in force again when it is rejected or withdrawn."""
    d = services.decision_override_approve(actor=actor(request), decision_id=decision_id, approve=payload.approve)
    return _decision(d)


@router.get("/standards", response={200: list[StandardOut], **ERRORS}, summary="List standards")
@requires(Perm.HOUSEHOLD_VIEW)
def standard_list(request: HttpRequest, filters: Query[StandardQuery]) -> list[dict[str, Any]]:
    """Current standards (``history=true``: every version), by division and year."""
    qs = selectors.standard_list(
        actor=actor(request), division_code=filters.division_code, year=filters.year, history=filters.history
    )
    return [_standard(s) for s in qs[:1000]]


@router.post("/standards", response={201: StandardOut, **ERRORS}, summary="Set a standard")
@requires(Perm.STANDARD_MANAGE)
def standard_set(request: HttpRequest, payload: StandardIn) -> Status[dict[str, Any]]:
    """A new version of a division's standard for a year (managers of a unit covering the division)."""
    s = services.standard_set(actor=actor(request), **payload.dict())
    return Status(201, _standard(s))


@router.get("/rulesets", response={200: list[RuleSetOut], **ERRORS}, summary="List rule sets")
@requires(Perm.HOUSEHOLD_VIEW)
def ruleset_list(request: HttpRequest, history: bool = False) -> list[dict[str, Any]]:
    return [_ruleset(r) for r in selectors.ruleset_list(actor=actor(request), history=history)[:1000]]


@router.post("/rulesets", response={201: RuleSetOut, **ERRORS}, summary="Publish a rule set")
@requires(Perm.STANDARD_MANAGE)
def ruleset_publish(request: HttpRequest, payload: RuleSetIn) -> Status[dict[str, Any]]:
    """A new rule-set version; an inconsistent one (e.g. relative multiple below deep) is refused (422)."""
    r = services.ruleset_publish(
        actor=actor(request), region_code=payload.region_code, params=payload.params, note=payload.note
    )
    return Status(201, _ruleset(r))


def _whatif_path(name: str) -> str:
    """A what-if error's field as the request names it: the standard's values are sent inside
    ``standard`` (a value that is not a number was ``standard.dibao_monthly``, one out of range
    ``dibao_monthly``), the rules' inside ``rule_params``, the day as ``on``."""
    if name in WhatIfStandardIn.model_fields:
        return f"standard.{name}"
    if name == "effective_from":
        return "on"
    if name in {"__all__", "unit_id"}:
        return name
    return f"rule_params.{name}"


@router.post("/whatif", response={200: WhatIfOut, **ERRORS}, summary="Preview changed standards or rules")
@requires(Perm.STANDARD_MANAGE)
def whatif(request: HttpRequest, payload: WhatIfIn) -> dict[str, Any]:
    """How many households of each unit would change category, and which (first 1,000); nothing is
    stored unless ``save`` is true, which then makes new standard / rule-set versions."""
    standard = payload.standard.model_dump(exclude_none=True) if payload.standard else {}
    try:
        preview = recompute.whatif_preview(
            actor=actor(request),
            unit_id=payload.unit_id,
            on=payload.on,
            standard=standard,
            rule_params=payload.rule_params,
        )
    except ValidationError as exc:
        paths: dict[str, list[str]] = {}
        for name, said in field_errors(exc).items():
            paths.setdefault(_whatif_path(name), []).extend(said)
        raise ValidationError(paths) from exc
    saved: list[str] = []
    if payload.save:
        s, r = recompute.whatif_save(
            actor=actor(request),
            unit_id=payload.unit_id,
            on=payload.on or timezone.localdate(),
            standard=standard,
            rule_params=payload.rule_params,
        )
        saved = [x.label for x in (s, r) if x is not None]
    return {
        "total": preview.total,
        "changed": preview.changed,
        "changed_whatever_the_values": preview.anyway,
        "categories": preview.categories,
        "by_unit": [
            {
                "unit_id": u.unit_id,
                "unit_name": u.unit_name,
                "changed": u.changed,
                "transitions": [{"previous": a, "new": b, "households": n} for (a, b), n in u.transitions.items()],
            }
            for u in preview.by_unit
        ],
        "households": [
            {
                "unit_name": u,
                "file_number": f,
                "previous": p,
                "new": n,
                "whatever_the_values": f in preview.anyway_files,
            }
            for u, f, p, n in preview.households[:WHATIF_HOUSEHOLDS_LIMIT]
        ],
        "standard_version": preview.standard_version,
        "ruleset_version": preview.ruleset_version,
        "saved": saved,
    }


@router.post("/recompute", response={202: RecomputeRunOut, **ERRORS}, summary="Recompute a subtree")
@requires(Perm.HOUSEHOLD_EDIT)
def recompute_start(request: HttpRequest, payload: RecomputeIn) -> Status[dict[str, Any]]:
    """Queue a recompute of every household under the unit; follow it at ``/recompute/{id}``."""
    run = recompute.recompute_start(actor=actor(request), unit_id=payload.unit_id, run_async=True, on=payload.on)
    return Status(202, _run(run))


@router.get("/recompute/{run_id}", response={200: RecomputeRunOut, **ERRORS}, summary="Progress of a recompute")
@requires(Perm.HOUSEHOLD_VIEW)
def recompute_status(request: HttpRequest, run_id: int) -> dict[str, Any]:
    return _run(selectors.recompute_run_get(actor=actor(request), run_id=run_id))


@router.get("/recompute/{run_id}/report.xlsx", response={200: None, **ERRORS}, summary="Changes of a recompute")
@requires(Perm.REGISTRY_EXPORT)
def recompute_report(request: HttpRequest, run_id: int) -> HttpResponse:
    """Excel: households whose category changed in the run, by unit (an export: needs the export
    permission at the run's union)."""
    body = recompute.recompute_report_xlsx(actor=actor(request), run_id=run_id)
    response = HttpResponse(body, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    response["Content-Disposition"] = f'attachment; filename="recompute-{run_id}.xlsx"'
    response["Cache-Control"] = "no-store"  # people's data: not kept in the browser's cache
    return response
