"""Reads of identification, each through the access gate."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import F, QuerySet
from django.utils.translation import gettext as _

from bangfu.org import access
from bangfu.registry.models import Household

from .models import DecisionCategory, EligibilityDecision, OverrideStatus, RecomputeRun, RuleSetVersion, Standard
from .system import SYSTEM


def decision_history(*, actor: Any, household_id: int) -> QuerySet[EligibilityDecision]:
    """Every decision of a household, newest first (404 outside the actor's jurisdiction)."""
    h = access.get_for(actor, Household, household_id)
    return EligibilityDecision.objects.filter(household_id=h.pk).select_related(
        "decided_by", "override_by", "override_approved_by"
    )


def decision_current(*, actor: Any, household_id: int) -> EligibilityDecision | None:
    return decision_history(actor=actor, household_id=household_id).order_by("-pk").first()  # the newest is current


def _require_viewer(actor: Any) -> None:
    if not access.grants(actor):
        raise PermissionDenied("household.view")


def standard_list(
    *, actor: Any, division_code: str = "", year: int | None = None, history: bool = False
) -> QuerySet[Standard]:
    """Standards are public configuration: any signed-in staff member may read them."""
    _require_viewer(actor)
    qs = Standard.objects.select_related("created_by")
    if not history:
        qs = qs.filter(is_current=True)
    if division_code:
        qs = qs.filter(division_code=division_code)
    if year:
        qs = qs.filter(year=year)
    return qs.order_by("division_code", "-year", "-version")


def ruleset_list(*, actor: Any, region_code: str | None = None, history: bool = False) -> QuerySet[RuleSetVersion]:
    _require_viewer(actor)
    qs = RuleSetVersion.objects.select_related("published_by")
    if not history:
        qs = qs.filter(is_current=True)
    if region_code is not None:
        qs = qs.filter(region_code=region_code)
    return qs.order_by("region_code", "-version")


def recompute_run_get(*, actor: Any, run_id: int) -> RecomputeRun:
    if actor is SYSTEM:
        return RecomputeRun.objects.select_related("unit").get(pk=run_id)
    return access.get_for(actor, RecomputeRun.objects.select_related("unit"), run_id)


def recompute_changes(*, actor: Any, run_id: int) -> QuerySet[EligibilityDecision]:
    """Households whose category changed in a run, and those it decided for the first time
    (``previous_category`` empty: a file imported or opened without a decision), by unit."""
    run = recompute_run_get(actor=actor, run_id=run_id)
    decisions = EligibilityDecision.objects.filter(run_id=run.pk)
    return (
        (decisions if actor is SYSTEM else access.scope(actor, decisions))
        .exclude(category=F("previous_category"))
        .select_related("household__unit")
        .order_by("household__unit__path", "household__file_number")
    )


def recompute_first_decided(*, actor: Any, run_id: int) -> int:
    """How many households of a run had no decision before it (within the actor's jurisdiction)."""
    run = recompute_run_get(actor=actor, run_id=run_id)
    decisions = EligibilityDecision.objects.filter(run_id=run.pk, previous_category="")
    return (decisions if actor is SYSTEM else access.scope(actor, decisions)).count()


def exit_test_met(household_id: int) -> bool | None:
    """Whether the household's current decision finds the exit test met (None: no decision, or the
    test not computed). No actor: the registry asks it inside an edit it has already let through
    the access gate (``registry.workflow.exit_test_met``)."""
    newest = (
        EligibilityDecision._base_manager.filter(household_id=household_id)
        .order_by("-pk")
        .values_list("exit_test_met", flat=True)
        .first()
    )
    return bool(newest) if newest is not None else None


# The categories of a household still in hardship (every one but "not eligible" and "cannot decide").
STILL_IN_HARDSHIP = frozenset(set(DecisionCategory) - {DecisionCategory.NOT_ELIGIBLE, DecisionCategory.CANNOT_DECIDE})


def hardship_in_force(household_id: int) -> str | None:
    """The category in force (with an approved override, the one a person set) of the household's
    current decision when it still finds hardship, in words; else None. No actor, as
    ``exit_test_met`` (``registry.workflow.hardship_in_force``)."""
    newest = EligibilityDecision._base_manager.filter(household_id=household_id).order_by("-pk").first()
    if newest is None or newest.effective_category not in STILL_IN_HARDSHIP:
        return None
    return str(DecisionCategory(newest.effective_category).label)


def file_not_eligible(household: Household, decision: EligibilityDecision | None) -> str:
    """What a user must not miss when an open file is held for a household its identification finds
    not eligible (the rules' finding in force, and no override waiting that could still change it):
    that the file is to be taken to its exit or removal, in a sentence (it begins by saying the
    override was not approved when the current decision's was rejected or withdrawn, as an
    application's approval in a category the rules did not find leaves it). "" otherwise. One
    source of truth: read from the file and its current decision, never kept, so the household
    page, the list of files and the API's ``identification`` say the same, and it goes when the
    file is closed or a person's approved override finds hardship again."""
    from bangfu.registry.codes import OPEN_STATES

    if (
        decision is None
        or household.state not in OPEN_STATES
        or decision.override_status == OverrideStatus.PENDING
        or decision.effective_category != DecisionCategory.NOT_ELIGIBLE
    ):
        return ""
    said = _(
        "The identification finds this household not eligible, yet its file is open as %(category)s: explain the "
        "result to the worker and propose the file's exit or removal."
    ) % {"category": household.get_category_display()}
    if decision.override_status == OverrideStatus.REJECTED and decision.overridden_category:
        said = (
            _("The override to %(category)s was not approved.")
            % {"category": DecisionCategory(decision.overridden_category).label}
            + " "
            + said
        )
    return said
