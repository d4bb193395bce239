"""Staff pages of identification: a household's decision (compute, override, approve) and bulk
recompute with a progress bar and the Excel report. Each view calls one service or selector."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from bangfu.common.errors import DomainError, field_errors
from bangfu.org import access
from bangfu.org.access import Perm
from bangfu.org.models import OrgLevel
from bangfu.registry.models import Household

from . import recompute, selectors, services
from .models import DecisionCategory
from .presentation import reason_texts
from .services import OVERRIDE_CATEGORIES

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _error(request: HttpRequest, exc: Exception) -> None:
    # The messages name what is wrong ("Give the reason for the override."), so the field's
    # internal name is not put in front of them.
    if isinstance(exc, ValidationError):
        for errors in field_errors(exc).values():
            messages.error(request, " ".join(errors))
    elif isinstance(exc, DomainError):
        messages.error(request, exc.message)


def _decision_context(request: HttpRequest, pk: int) -> dict[str, Any]:
    history = list(selectors.decision_history(actor=request.user, household_id=pk)[:20])
    household = access.get_for(request.user, Household.objects.select_related("unit"), pk)
    current = next((d for d in history if d.is_current), None)
    return {
        "h": household,
        "current": current,
        "reasons": reason_texts(current.reasons) if current else [],
        # Decided from an earlier version of the file (a monthly income record, a death, a change
        # made while the decision was being stored): its reasons may be out of date.
        "stale": current is not None
        and current.facts_version is not None
        and current.facts_version != household.version,
        "history": history,
        "can_edit": access.has_perm(request.user, Perm.HOUSEHOLD_EDIT, household.unit),
        "can_override": access.has_perm(request.user, Perm.DECISION_OVERRIDE, household.unit),
        "override_choices": [
            (c, DecisionCategory(c).label) for c in DecisionCategory.values if c in OVERRIDE_CATEGORIES
        ],
        "override_form": {"category": "", "reason": "", "errors": {}, "problem": ""},
    }


@login_required
def household_decision(request: HttpRequest, pk: int) -> HttpResponse:
    return render(request, "eligibility/household_decision.html", _decision_context(request, pk))


@login_required
@require_POST
def decision_compute(request: HttpRequest, pk: int) -> HttpResponse:
    services.decision_compute(actor=request.user, household_id=pk)
    messages.success(request, _("The household was decided again."))
    return redirect("eligibility:household_decision", pk=pk)


@login_required
@require_POST
def override_request(request: HttpRequest, pk: int, decision_id: int) -> HttpResponse:
    try:
        services.decision_override_request(
            actor=request.user,
            decision_id=decision_id,
            category=request.POST.get("category", ""),
            reason=request.POST.get("reason", ""),
        )
    except (ValidationError, DomainError) as exc:
        # Refused: the form again with what was chosen and typed, each error under its field.
        context = _decision_context(request, pk)
        form = context["override_form"]
        form.update(category=request.POST.get("category", ""), reason=request.POST.get("reason", ""))
        if isinstance(exc, ValidationError):
            errors = field_errors(exc)
            form["errors"] = {k: v for k, v in errors.items() if k in ("category", "reason")}
            form["problem"] = " ".join(m for k, ms in errors.items() if k not in form["errors"] for m in ms)
        else:
            form["problem"] = exc.message
        return render(request, "eligibility/household_decision.html", context, status=400)
    messages.success(request, _("The override waits for a second person's approval."))
    return redirect("eligibility:household_decision", pk=pk)


@login_required
@require_POST
def override_approve(request: HttpRequest, pk: int, decision_id: int) -> HttpResponse:
    try:
        approve = request.POST.get("approve") == "1"
        d = services.decision_override_approve(actor=request.user, decision_id=decision_id, approve=approve)
        if approve:
            messages.success(request, _("The override was approved."))
        elif d.override_status == "approved":  # an approved override it would have replaced is back
            messages.success(request, _("The request was not taken; the approved override stays in force."))
        elif d.override_by_id == request.user.pk:
            messages.success(request, _("Your request was withdrawn."))
        else:
            messages.success(request, _("The override was rejected."))
    except DomainError as exc:
        _error(request, exc)
    return redirect("eligibility:household_decision", pk=pk)


# A jurisdiction of up to this many unions offers each of them; a larger one its county and
# higher unions (a recompute of a county covers its grassroots unions).
RECOMPUTE_ALL_UNITS = 200
RECOMPUTE_UNITS_LIMIT = 1000


def _recompute_units(actor: Any) -> list[tuple[int, str]]:
    """The unions a user may recompute, in tree order and indented by level."""
    units = access.units(actor, Perm.HOUSEHOLD_EDIT).order_by("path")
    shown = list(units[: RECOMPUTE_ALL_UNITS + 1])
    if len(shown) > RECOMPUTE_ALL_UNITS:
        shown = list(units.filter(level__lt=OrgLevel.GRASSROOTS)[:RECOMPUTE_UNITS_LIMIT])
    top = min((u.level for u in shown), default=0)
    return [(u.pk, "\u2003" * (u.level - top) + u.name) for u in shown]


@login_required
def recompute_start(request: HttpRequest) -> HttpResponse:
    units = _recompute_units(request.user)
    if not units:
        raise PermissionDenied(Perm.HOUSEHOLD_EDIT.value)
    error = ""
    under_way = None
    raw = request.POST.get("unit_id", "").strip() if request.method == "POST" else ""
    if request.method == "POST":
        if raw.isascii() and raw.isdigit() and len(raw) <= 18 and int(raw) in {pk for pk, _label in units}:
            try:
                run = recompute.recompute_start(actor=request.user, unit_id=int(raw), run_async=True)
            except DomainError as exc:  # a recompute of this union already under way: named, linked
                error, under_way = exc.message, exc.details.get("run_id")
            else:
                return redirect("eligibility:recompute_status", run_id=run.pk)
        else:
            error = _("Choose one of the unions in the list.")
    context = {"units": units, "selected": raw, "error": error, "under_way": under_way}
    status = 409 if under_way else 400 if error else 200
    return render(request, "eligibility/recompute_start.html", context, status=status)


@login_required
def recompute_status(request: HttpRequest, run_id: int) -> HttpResponse:
    run = selectors.recompute_run_get(actor=request.user, run_id=run_id)
    percent = int(100 * run.done / run.total) if run.total else 100
    context = {
        "run": run,
        "percent": percent,
        "finished": run.status in {"done", "failed"},
        "can_download": access.has_perm(request.user, Perm.REGISTRY_EXPORT, run.unit),
    }
    if run.status == "done":
        context["first_decided"] = selectors.recompute_first_decided(actor=request.user, run_id=run.pk)
    template = (
        "eligibility/_recompute_progress.html"
        if getattr(request, "htmx", False)
        else "eligibility/recompute_status.html"
    )
    return render(request, template, context)


@login_required
def recompute_report(request: HttpRequest, run_id: int) -> HttpResponse:
    body = recompute.recompute_report_xlsx(actor=request.user, run_id=run_id)
    response = HttpResponse(body, content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="recompute-{run_id}.xlsx"'
    response["Cache-Control"] = "no-store"  # people's data: not kept in the browser's cache
    return response
