"""Writes of identification: decisions, overrides (maker-checker), standards and rule sets.

Every write is atomic, checked by the access gate, audit-logged, and — for a household — put on its
timeline. Standards and rule sets are never changed in place: a change adds a version.
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from bangfu.common.audit import audit_record
from bangfu.common.errors import DomainError, ErrorCollector
from bangfu.common.models import AuditAction
from bangfu.org import access
from bangfu.org.access import Perm
from bangfu.org.models import OrgLevel, OrgUnit
from bangfu.registry.models import Household
from bangfu.registry.timeline import timeline_add

from . import rules
from .adapters import FACTS_PREFETCH, RuleBook, StandardBook, facts_from_household
from .bulk import basis_of
from .models import (
    CARRIED_OVERRIDES,
    OVERRIDE_FIELDS,
    DecisionCategory,
    EligibilityDecision,
    OverrideStatus,
    RuleSetVersion,
    Standard,
    override_holds,
)
from .presentation import problem_text
from .system import SYSTEM

TIMELINE_DECIDED = "eligibility_decided"
TIMELINE_OVERRIDE = "eligibility_override"
MAX_DIBAO = Decimal(100_000)
MAX_HOUSING_AREA = Decimal(10_000)  # m² per head; the column holds less than a million
OVERRIDE_CATEGORIES = frozenset(
    {DecisionCategory.DEEP, DecisionCategory.RELATIVE, DecisionCategory.ACCIDENT, DecisionCategory.NOT_ELIGIBLE}
)


class EligibilityErrorCode(StrEnum):
    NO_DECISION = "no_decision"
    NOT_PENDING = "override_not_pending"
    SAME_PERSON = "maker_checker"
    PENDING = "override_pending"


def _decision_row(
    d: rules.Decision,
    *,
    household_id: int,
    previous: str,
    actor: Any,
    now: Any,
    run_id: int | None = None,
    basis: str = "",
    facts_version: int | None = None,
    override: tuple[Any, ...] | None = None,
) -> EligibilityDecision:
    """The decision to store; ``override`` is the replaced decision's ``OVERRIDE_FIELDS`` when it
    is carried over (``override_holds``)."""
    carried = dict(zip(OVERRIDE_FIELDS, override, strict=True)) if override is not None else {}
    return EligibilityDecision(
        condition=d.condition or "",
        precondition_ok=d.precondition_ok if d.net_income_per_head_monthly is not None else None,
        accident_by_share=d.accident_by_share,
        net_after_accident=d.net_after_accident,
        basis=basis,
        facts_version=facts_version,
        household_id=household_id,
        category=d.category,
        income_category=d.income_category,
        previous_category=previous,
        is_migrant_worker=d.is_migrant_worker,
        net_income_per_head_monthly=d.net_income_per_head_monthly,
        reasons=[r.as_dict() for r in d.reasons],
        disqualifiers=list(d.disqualifiers),
        exit_months_above=d.exit_months_above,
        exit_test_met=d.exit_test_met,
        standard_version=d.standard_version,
        ruleset_version=d.ruleset_version,
        decided_at=now,
        decided_by=actor if getattr(actor, "is_authenticated", False) else None,
        run_id=run_id,
        **carried,
    )


def decide_household(h: Household, on: date, standards: StandardBook, rulebook: RuleBook) -> rules.Decision:
    facts = facts_from_household(h, on)
    return rules.decide(facts, standards.get(facts.region_code, on), rulebook.get(facts.region_code))


def decision_compute(*, actor: Any, household_id: int, on: date | None = None) -> EligibilityDecision:
    """Decide one household now and store the decision as its current one.

    An override holds while the computed decision it overrode stays the same: when the current
    decision has an approved or pending override and the new computed category equals its computed
    category, the new decision carries the override (status, category, reason, maker, approval);
    otherwise the override lapses, and the household's timeline says so. ``bulk.run_engine``
    stores the same rows."""
    on = on or timezone.localdate()
    qs = Household.objects.select_related("unit").prefetch_related(*FACTS_PREFETCH)
    h = access.get_for(actor, qs, household_id)
    access.require(actor, Perm.HOUSEHOLD_EDIT, h.unit)
    standards, rulebook = StandardBook.load(on.year), RuleBook.load()
    decision = decide_household(h, on, standards, rulebook)
    code = h.unit.division_code
    basis = basis_of(on, standards.get(code, on), rulebook.get(code))
    with transaction.atomic():
        # The new decision replaces the newest one by being newer (history is append-only); the lock
        # makes an override asked at the same moment wait and then see that it was replaced.
        current = _lock_newest_decision(h.pk)
        previous, override = (current[0], current[1:]) if current is not None else ("", None)
        holds = override is not None and override_holds(override[0], previous, decision.category)
        row = _decision_row(
            decision,
            household_id=h.pk,
            previous=previous,
            actor=actor,
            now=timezone.now(),
            basis=basis,
            facts_version=h.version,
            override=override if holds else None,
        )
        row.save(force_insert=True)
        row.is_current = True
        timeline_add(
            household=h,
            actor=actor,
            kind=TIMELINE_DECIDED,
            summary=str(DecisionCategory(decision.category).label),
            data={"decision_id": row.pk, "category": decision.category, "previous": previous},
        )
        if override is not None and override[0] in CARRIED_OVERRIDES and not holds:
            # An approved or pending override whose computed category changed lapses.
            timeline_add(
                household=h,
                actor=actor,
                kind=TIMELINE_OVERRIDE,
                summary=_("Override to %(category)s lapsed: the computed category changed to %(new)s")
                % {
                    "category": DecisionCategory(override[1]).label,
                    "new": DecisionCategory(decision.category).label,
                },
                data={
                    "decision_id": row.pk,
                    "status": "lapsed",
                    "category": override[1],
                    "previous_status": override[0],
                },
            )
    return row


def category_follows(*, before: str | None, after: str, decision: EligibilityDecision) -> None:
    """A file opened by hand, or an edit that changes its category, takes the identification's
    category (its computed one, or an approved override's): one person may not put a file in
    another category, which an override needs a second person for (``ValidationError`` on
    ``category``). ``before``: the category before the edit; None for a new file. Where the
    identification cannot decide (no standard for the region), nothing is held against it."""
    decided = decision.effective_category
    no_standard = decided == DecisionCategory.CANNOT_DECIDE and all(
        isinstance(r, dict) and r.get("code") == "no_standard" for r in decision.reasons or [{}]
    )
    if no_standard or after == decided:
        return
    if after == before and not (before is not None and decided == DecisionCategory.CANNOT_DECIDE):
        return  # the category kept while the facts change: the list marks the file decided otherwise
    label = DecisionCategory(decided).label if decided in DecisionCategory.values else decided
    if decided == DecisionCategory.NOT_ELIGIBLE and before is None:
        raise ValidationError(
            {
                "category": _(
                    "The identification finds this household not eligible: a file is not opened for it by hand. "
                    "Take it through an application, whose approval may decide otherwise with a reason and a "
                    "second person's override."
                )
            }
        )
    if decided == DecisionCategory.CANNOT_DECIDE:
        raise ValidationError(
            {
                "category": _(
                    "The identification cannot decide this household as entered (no member lives in it, say): "
                    "put the members right first; a file's category follows its identification."
                )
            }
        )
    if before is None:
        raise ValidationError(
            {
                "category": _(
                    "A file opened by hand takes the category its identification finds, “%(decided)s”: to file "
                    "the household otherwise, take it through an application, whose approval may choose another "
                    "category with a reason and a second person's override."
                )
                % {"decided": label}
            }
        )
    raise ValidationError(
        {
            "category": _(
                "The category of a file follows its identification, which now finds “%(decided)s”: to set "
                "another, ask for an override on the identification page (a second person approves it)."
            )
            % {"decided": label}
        }
    )


def _lock_newest_decision(household_id: int) -> tuple[Any, ...] | None:
    """Lock the household's newest decision and return its category and ``OVERRIDE_FIELDS``.

    A lock that had to wait returns the row it waited for, which a decision stored meanwhile (by
    whoever held the lock: a recompute's chunk) has replaced; so the newest is asked again by a
    statement started after the lock, and locked in its turn until the two agree."""
    decisions = EligibilityDecision._base_manager.filter(household_id=household_id).order_by("-pk")
    while True:
        locked = decisions.select_for_update().values_list("pk", "category", *OVERRIDE_FIELDS).first()
        if locked is None or decisions.values_list("pk", flat=True).first() == locked[0]:
            return None if locked is None else locked[1:]


def _current_decision(actor: Any, decision_id: int, perm: Perm) -> EligibilityDecision:
    # Only the decision is locked (not its household and union, read with it): override requests
    # in one union do not queue behind each other.
    d = access.get_for(
        actor,
        EligibilityDecision.objects.select_for_update(of=("self",)).select_related("household__unit"),
        decision_id,
    )
    access.require(actor, perm, d.household.unit)
    # Asked again after the row lock: a decision stored while this one was locked is newer.
    if EligibilityDecision._base_manager.filter(household_id=d.household_id, pk__gt=d.pk).exists():
        raise DomainError(EligibilityErrorCode.NO_DECISION, _("This decision has been replaced by a newer one."))
    return d


def decision_override_request(*, actor: Any, decision_id: int, category: str, reason: str) -> EligibilityDecision:
    """A person sets the category with a reason; it takes effect when a second person approves."""
    errors = ErrorCollector()
    if category not in OVERRIDE_CATEGORIES:
        errors.add("category", _("Choose deep, relative, accident or not eligible."))
    if len(reason.strip()) < 2:  # a short reason is a reason (生计车, 已就业); one character is none
        errors.add("reason", _("Give the reason for the override."))
    errors.raise_if_any()
    with transaction.atomic():
        d = _current_decision(actor, decision_id, Perm.DECISION_OVERRIDE)
        if category == d.effective_category:
            # Approved, it would change nothing: the category a person sets is another than the one in force.
            raise ValidationError(
                {
                    "category": _("%(category)s is already the category in force: an override to it changes nothing.")
                    % {"category": DecisionCategory(category).label}
                }
            )
        if d.override_status == OverrideStatus.PENDING and d.override_by_id != actor.pk:
            raise DomainError(
                EligibilityErrorCode.PENDING,
                _("An override to %(category)s asked by another person is waiting: approve or reject it first.")
                % {"category": DecisionCategory(d.overridden_category).label},
            )
        if d.override_status == OverrideStatus.APPROVED:
            # The approved override stays in force until a second person approves the new one.
            d.override_replaces = json.dumps(
                {
                    "category": d.overridden_category,
                    "reason": d.override_reason,
                    "by": d.override_by_id,
                    "at": d.override_at.isoformat() if d.override_at else None,
                    "approved_by": d.override_approved_by_id,
                    "approved_at": d.override_approved_at.isoformat() if d.override_approved_at else None,
                }
            )
        elif d.override_status != OverrideStatus.PENDING:
            d.override_replaces = ""
        d.override_status = OverrideStatus.PENDING
        d.overridden_category = category
        d.override_reason = reason.strip()
        d.override_by = actor
        d.override_at = timezone.now()
        d.override_approved_by = None
        d.override_approved_at = None
        d.save()
        audit_record(
            actor=actor,
            action=AuditAction.UPDATE,
            target_type="eligibility_decision",
            target_id=d.pk,
            unit_path=d.household.unit.path,
            before={"category": d.category},
            after={"override_status": d.override_status, "overridden_category": category},
            note=d.override_reason,
        )
        timeline_add(
            household=d.household,
            actor=actor,
            kind=TIMELINE_OVERRIDE,
            summary=_("Override to %(category)s requested: %(reason)s")
            % {"category": DecisionCategory(category).label, "reason": d.override_reason},
            data={"decision_id": d.pk, "status": d.override_status, "category": category},
        )
    return d


def decision_override_approve(*, actor: Any, decision_id: int, approve: bool = True) -> EligibilityDecision:
    """The second person approves (or rejects) a pending override; never the person who asked,
    who may only withdraw it (``approve=False``). An approved override it would have replaced is in
    force again when it is rejected or withdrawn."""
    with transaction.atomic():
        d = _current_decision(actor, decision_id, Perm.DECISION_OVERRIDE)
        if d.override_status != OverrideStatus.PENDING:
            raise DomainError(EligibilityErrorCode.NOT_PENDING, _("There is no override waiting for approval."))
        if d.override_by_id == actor.pk and approve:
            raise DomainError(
                EligibilityErrorCode.SAME_PERSON, _("The override must be approved by someone other than its maker.")
            )
        asked = d.overridden_category
        replaced = d.replaced_override
        _close_request(d, actor, OverrideStatus.APPROVED if approve else OverrideStatus.REJECTED)
        audit_record(
            actor=actor,
            action=AuditAction.UPDATE,
            target_type="eligibility_decision",
            target_id=d.pk,
            unit_path=d.household.unit.path,
            before={"override_status": OverrideStatus.PENDING},
            after={"override_status": d.override_status, "effective_category": d.effective_category},
        )
        if approve:
            _file_takes(actor, d.household, asked)
        else:
            _file_returns(actor, d.household, asked, d.effective_category)
        withdrawn = not approve and d.override_by_id == actor.pk and not replaced.get("category")
        if approve:
            summary = _("Override to %(category)s approved") % {"category": DecisionCategory(asked).label}
        elif replaced.get("category"):
            summary = _("Override to %(category)s not taken; the approved override to %(kept)s stays in force") % {
                "category": DecisionCategory(asked).label,
                "kept": DecisionCategory(replaced["category"]).label,
            }
        elif withdrawn and _left_not_eligible(d):
            summary = _(
                "Override to %(category)s withdrawn by its maker: the identification finds this household not "
                "eligible; its file is to be taken to its exit or removal"
            ) % {"category": DecisionCategory(asked).label}
        elif withdrawn:
            summary = _("Override to %(category)s withdrawn by its maker") % {"category": DecisionCategory(asked).label}
        elif _left_not_eligible(d):
            summary = _(
                "Override to %(category)s rejected: the identification finds this household not eligible; its file "
                "is to be taken to its exit or removal"
            ) % {"category": DecisionCategory(asked).label}
        else:
            summary = _("Override to %(category)s rejected") % {"category": DecisionCategory(asked).label}
        timeline_add(
            household=d.household,
            actor=actor,
            kind=TIMELINE_OVERRIDE,
            summary=summary,
            data={"decision_id": d.pk, "status": d.override_status, "category": asked},
        )
    return d


def _left_not_eligible(d: EligibilityDecision) -> bool:
    """Whether the override just closed on ``d`` leaves an open file on a household its
    identification finds not eligible (``selectors.file_not_eligible``)."""
    from .selectors import file_not_eligible

    return bool(file_not_eligible(d.household, d))


def _close_request(d: EligibilityDecision, actor: Any, status: str) -> None:
    """Close the override request waiting on ``d`` with ``status``, saying who closed it and when;
    a request not approved that was to replace an approved override puts that one in force again."""
    replaced = d.replaced_override
    if status != OverrideStatus.APPROVED and replaced.get("category"):
        _restore_override(d, replaced)
    else:
        d.override_status = status
        d.override_approved_by = actor
        d.override_approved_at = timezone.now()
    d.override_replaces = ""
    d.save()


def decision_override_supersede(*, actor: Any, decision_id: int, ref: str, category: str) -> EligibilityDecision | None:
    """Close the override waiting on the household's current decision without a second person's
    decision, because an application's approval (``ref``, by ``actor``) settles the category
    (``category``, the one it files the household in): approved later, the old request would undo
    it. When ``category`` is the one in force the approval files the household in it; otherwise the
    approval asks for its own override to it next (``decision_override_request``), which takes the
    old request's place. The old one becomes ``superseded`` (its maker, reason and category kept;
    ``override_approved_by``/``_at`` say who closed it and when), or, when it was to replace an
    approved override, that one is in force again, as when such a request is rejected. The
    household's timeline and the audit log say who closed it, when and which of the two, in one
    message (shown again in the reader's language). Returns the decision closed, or None when
    nothing waited."""
    with transaction.atomic():
        d = _current_decision(actor, decision_id, Perm.DECISION_OVERRIDE)
        if d.override_status != OverrideStatus.PENDING:
            return None
        asked, asked_by = d.overridden_category, d.override_by
        _close_request(d, actor, OverrideStatus.SUPERSEDED)
        values = {
            "category": DecisionCategory(asked).label,
            "who": asked_by.get_username() if asked_by else "—",
            "ref": ref,
            "new": DecisionCategory(category).label,
        }
        if category == d.effective_category:
            summary = (
                _(
                    "Override to %(category)s asked by %(who)s closed without a decision: the approval of %(ref)s "
                    "filed the household in the category in force, %(new)s"
                )
                % values
            )
        else:
            summary = (
                _(
                    "Override to %(category)s asked by %(who)s closed without a decision: it gives way to the "
                    "override to %(new)s that the approval of %(ref)s asks for"
                )
                % values
            )
        audit_record(
            actor=actor,
            action=AuditAction.UPDATE,
            target_type="eligibility_decision",
            target_id=d.pk,
            unit_path=d.household.unit.path,
            before={"override_status": OverrideStatus.PENDING, "overridden_category": asked},
            after={
                "request": OverrideStatus.SUPERSEDED.value,
                "override_status": d.override_status,
                "effective_category": d.effective_category,
                "approval": ref,
                "approved_category": category,
            },
            note=summary,
        )
        timeline_add(
            household=d.household,
            actor=actor,
            kind=TIMELINE_OVERRIDE,
            summary=summary,
            data={"decision_id": d.pk, "status": OverrideStatus.SUPERSEDED.value, "category": asked},
        )
    return d


def _file_takes(actor: Any, household: Household, category: str) -> None:
    """An approved override puts its category on an open file (a file's category follows its
    identification: it waited for someone to edit the file before); a category a file cannot
    hold (not eligible) leaves the file as it is, for its exit or removal."""
    from bangfu.registry.codes import OPEN_STATES, HardshipCategory

    if category in HardshipCategory.values and household.state in OPEN_STATES:
        file_category_set(
            actor=actor, household_id=household.pk, category=category, note=_("The category of the approved override")
        )


def _file_returns(actor: Any, household: Household, asked: str, in_force: str) -> None:
    """An override not approved (rejected or withdrawn) leaves the category in force: an open file
    that carries the category it asked for (put there before its approval, as approvals of an
    application did) takes the category in force again, audited and on the timeline, so that the
    second person's decision is the file's. A category a file cannot hold (not eligible) leaves the
    file as it is, for its exit or removal; a file in another category was not moved for the request."""
    from bangfu.registry.codes import OPEN_STATES, HardshipCategory

    if (
        household.category == asked
        and in_force != asked
        and in_force in HardshipCategory.values
        and household.state in OPEN_STATES
    ):
        file_category_set(
            actor=actor,
            household_id=household.pk,
            category=in_force,
            note=_("The category in force: the override to %(category)s was not approved")
            % {"category": DecisionCategory(asked).label},
        )


def file_category_set(*, actor: Any, household_id: int, category: str, note: str) -> Household:
    """Put on the file the category its identification settles (an override approved or not, an
    application's approval opening the file), through the registry's ``household_category_set``
    (audited, on the timeline, a new version of the file). The rules do not read a file's category,
    so the household's current decision, read from the version just before, is kept as read from
    the new one: the identification page does not call it out of date for its own write. Call it
    inside the transaction that decided."""
    from bangfu.registry import services as registry

    before = Household.objects.select_for_update().values_list("version", flat=True).get(pk=household_id)
    h = registry.household_category_set(actor=actor, household_id=household_id, category=category, note=note)
    if h.version != before:
        decisions = EligibilityDecision._base_manager.filter(household_id=household_id)
        newest = decisions.order_by("-pk").values_list("pk", flat=True).first()
        if newest is not None:
            decisions.filter(pk=newest, facts_version=before).update(facts_version=h.version)
    return h


def _restore_override(d: EligibilityDecision, replaced: dict[str, Any]) -> None:
    """Put back the approved override a pending one would have replaced."""
    from django.utils.dateparse import parse_datetime

    d.override_status = OverrideStatus.APPROVED
    d.overridden_category = str(replaced["category"])
    d.override_reason = str(replaced.get("reason") or "")
    d.override_by_id = replaced.get("by")
    d.override_at = parse_datetime(replaced["at"]) if replaced.get("at") else None
    d.override_approved_by_id = replaced.get("approved_by")
    d.override_approved_at = parse_datetime(replaced["approved_at"]) if replaced.get("approved_at") else None


def division_path(code: str) -> str:
    """The path of the union of a division (the federation of a county, city or province), for
    the audit entries of its standards and rule sets: read by that union's managers. "" for the
    national rule set (an entry of no union, read at the top of the tree)."""
    if not code:
        return ""
    unions = OrgUnit.objects.filter(division_code=code).exclude(level=OrgLevel.GRASSROOTS).order_by("level", "path")
    return unions.values_list("path", flat=True).first() or ""


def covers(unit_code: str, level: int, code: str) -> bool:
    """Whether a unit's division covers a division code (530000 covers 53xxxx; 532900 covers 5329xx)."""
    if level == OrgLevel.NATIONAL:
        return True
    if not code:
        return False
    prefix = unit_code[:2] if unit_code[2:] == "0000" else unit_code[:4] if unit_code[4:] == "00" else unit_code
    return code.startswith(prefix)


def require_config(actor: Any, code: str) -> None:
    """Standards and rule sets are set by holders of ``Perm.STANDARD_MANAGE`` (managers and
    administrators) for the divisions their unit covers; the national rule set ("") only from the
    national level."""
    if actor is SYSTEM:
        return
    for g in access.grants(actor):
        if Perm.STANDARD_MANAGE in g.perms:
            unit = access.units(actor).filter(pk=g.unit_id).values_list("division_code", "level").first()
            if unit and covers(unit[0], unit[1], code):
                return
    raise PermissionDenied(Perm.STANDARD_MANAGE)


def _decimal(
    errors: ErrorCollector,
    name: str,
    value: Any,
    *,
    required: bool = True,
    within: tuple[Decimal, str] | None = None,
) -> Decimal | None:
    """A number of the standard, 0 to 1,000,000 unless ``within`` gives its range (above 0, at
    most the value given) and the one sentence that says both, for a value passed on either side
    (-5 and 0 were told two different limits)."""
    if value is None or value == "":
        if required:
            errors.add(name, _("This field is required."))
        return None
    try:
        d = Decimal(str(value))
    except (InvalidOperation, ValueError):
        errors.add(name, _("Enter a number."))
        return None
    most, said = within or (MAX_DIBAO * 10, _("Enter an amount between 0 and 1,000,000."))
    if not d.is_finite() or (d <= 0 if within else d < 0) or d > most:
        errors.add(name, said)
        return None
    if d != d.quantize(Decimal("0.01")):  # 1500.125 was kept as 1500.12 without a word
        area = name == "housing_area_per_head"
        errors.add(
            name, _("Use at most two decimal places.") if area else _("Use at most two decimal places (yuan and fen).")
        )
        return None
    return d.quantize(Decimal("0.01"))


def standard_clean(
    *,
    division_code: str,
    year: int,
    dibao_monthly: Any,
    minimum_wage_monthly: Any,
    housing_area_per_head: Any = None,
    disposable_income_per_head_last_year: Any = None,
    effective_from: date | None = None,
) -> dict[str, Any]:
    """Checked values of a standard; a ValidationError names every bad field."""
    errors = ErrorCollector()
    if not (len(division_code) == 6 and division_code.isascii() and division_code.isdigit()):
        errors.add("division_code", _("Enter a six-digit division code."))
    year_ok = 2000 <= int(year) <= 2100
    if not year_ok:
        errors.add("year", _("Enter a year between 2000 and 2100."))
    # Each value has one range, said in one sentence whichever side it is passed on.
    dibao = _decimal(
        errors,
        "dibao_monthly",
        dibao_monthly,
        within=(MAX_DIBAO, _("The dibao must be above 0 and at most 100,000 yuan a month.")),
    )
    # The wage counted for a member able to work and without a job.
    wage = _decimal(
        errors,
        "minimum_wage_monthly",
        minimum_wage_monthly,
        within=(MAX_DIBAO * 10, _("The minimum wage must be above 0 and at most 1,000,000 yuan a month.")),
    )
    housing = _decimal(  # 0 would put every home above it
        errors,
        "housing_area_per_head",
        housing_area_per_head,
        required=False,
        within=(
            MAX_HOUSING_AREA,
            _("The housing standard must be above 0 and at most 10,000 m² per head; leave it empty for none."),
        ),
    )
    disposable = _decimal(
        errors, "disposable_income_per_head_last_year", disposable_income_per_head_last_year, required=False
    )
    if effective_from is None and year_ok:
        effective_from = date(int(year), 1, 1)
    if effective_from is not None and effective_from.year != int(year):
        errors.add("effective_from", _("The standard must take effect within its year."))
    errors.raise_if_any()
    return {
        "dibao_monthly": dibao,
        "minimum_wage_monthly": wage,
        "housing_area_per_head": housing,
        "disposable_income_per_head_last_year": disposable,
        "effective_from": effective_from,
    }


def standard_set(
    *,
    actor: Any,
    division_code: str,
    year: int,
    dibao_monthly: Any,
    minimum_wage_monthly: Any,
    housing_area_per_head: Any = None,
    disposable_income_per_head_last_year: Any = None,
    effective_from: date | None = None,
    note: str = "",
) -> Standard:
    """A new version of a division's standard for a year; the old version stays as history."""
    clean = standard_clean(
        division_code=division_code,
        year=year,
        dibao_monthly=dibao_monthly,
        minimum_wage_monthly=minimum_wage_monthly,
        housing_area_per_head=housing_area_per_head,
        disposable_income_per_head_last_year=disposable_income_per_head_last_year,
        effective_from=effective_from,
    )
    require_config(actor, division_code)
    with transaction.atomic():
        old = (
            Standard.objects.select_for_update().filter(division_code=division_code, year=year, is_current=True).first()
        )
        last = Standard.objects.filter(division_code=division_code, year=year).aggregate(m=Max("version"))["m"] or 0
        if old is not None:
            Standard.objects.filter(pk=old.pk).update(is_current=False)
        row = Standard.objects.create(
            division_code=division_code,
            year=year,
            version=last + 1,
            note=note,
            **clean,
            created_by=actor if getattr(actor, "is_authenticated", False) else None,
        )
        audit_record(
            actor=actor,
            action=AuditAction.CREATE if old is None else AuditAction.UPDATE,
            target_type="eligibility_standard",
            target_id=row.label,
            unit_path=division_path(division_code),
            before=_standard_snapshot(old) if old else None,
            after=_standard_snapshot(row),
            note=note,
        )
    return row


def _standard_snapshot(s: Standard) -> dict[str, Any]:
    return {
        "version": s.label,
        "dibao_monthly": s.dibao_monthly,
        "minimum_wage_monthly": s.minimum_wage_monthly,
        "housing_area_per_head": s.housing_area_per_head,
        "disposable_income_per_head_last_year": s.disposable_income_per_head_last_year,
        "effective_from": s.effective_from,
    }


def ruleset_check(params: dict[str, Any]) -> rules.RuleSet:
    """Parse and check rule-set parameters; a ValidationError names each bad parameter and why, all
    of them at once: an unknown one, a value of the wrong kind ("Enter a number.", as every form
    says it), and the rules the others break (``RuleSet.problems``)."""
    errors = ErrorCollector()
    defaults = rules.RuleSet()
    readable: dict[str, Any] = {}
    for key, value in params.items():
        try:
            rules.RuleSet.from_params({key: value})
        except KeyError:
            errors.add(str(key), _("Unknown parameter."))
        except ValueError:
            errors.add(str(key), _wrong_kind(getattr(defaults, key)))
        else:
            readable[key] = value
    parsed = rules.RuleSet.from_params(readable)
    for name, template, values in parsed.problems():
        if not (rules.PROBLEM_INPUTS.get(name, frozenset({name})) & errors.errors.keys()):
            errors.add(name, problem_text(template, values))
    errors.raise_if_any()
    return parsed


def _wrong_kind(default: Any) -> str:
    """What a parameter takes, said as the forms say it, by the kind of its default value."""
    if isinstance(default, bool):
        return _("Enter true or false.")
    if isinstance(default, int):
        return _("Enter a whole number.")
    return _("Enter a number.")


def ruleset_publish(*, actor: Any, region_code: str, params: dict[str, Any], note: str = "") -> RuleSetVersion:
    """Publish a new rule-set version for a region ("" = national); parameters not given keep
    their defaults. An inconsistent rule set is refused with the reason."""
    if region_code and not (len(region_code) == 6 and region_code.isascii() and region_code.isdigit()):
        raise ValidationError({"region_code": [_("Enter a six-digit division code.")]})
    parsed = ruleset_check(params)
    require_config(actor, region_code)
    clean = {k: v for k, v in parsed.to_params().items() if k != "version"}
    with transaction.atomic():
        old = RuleSetVersion.objects.select_for_update().filter(region_code=region_code, is_current=True).first()
        last = RuleSetVersion.objects.filter(region_code=region_code).aggregate(m=Max("version"))["m"] or 0
        if old is not None:
            RuleSetVersion.objects.filter(pk=old.pk).update(is_current=False)
        row = RuleSetVersion.objects.create(
            region_code=region_code,
            version=last + 1,
            params=clean,
            note=note,
            published_by=actor if getattr(actor, "is_authenticated", False) else None,
        )
        audit_record(
            actor=actor,
            action=AuditAction.CREATE if old is None else AuditAction.UPDATE,
            target_type="eligibility_ruleset",
            target_id=row.label,
            unit_path=division_path(region_code),
            before=old.params if old else None,
            after=clean,
            note=note,
        )
    return row


__all__ = [
    "EligibilityErrorCode",
    "decision_compute",
    "decision_override_approve",
    "decision_override_request",
    "ruleset_check",
    "ruleset_publish",
    "standard_clean",
    "standard_set",
]
