"""Bulk recompute of a subtree (the identification side of 回头看) and the what-if preview.

``recompute_start`` records a run and either runs it at once or queues the background task;
``recompute_execute`` does the work (set-based, ``bulk.run_engine``) and records progress.
``whatif_preview`` runs the same engine with unsaved standards or rules and stores nothing;
``whatif_save`` makes them new versions.
"""

from __future__ import annotations

import io
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Max, Q
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from bangfu.common import runs, sheets
from bangfu.common.audit import audit_record
from bangfu.common.errors import DomainError, field_errors
from bangfu.common.models import AuditAction
from bangfu.org import access
from bangfu.org.access import Perm
from bangfu.org.models import OrgLevel, OrgUnit
from bangfu.registry.models import Household

from . import bulk
from .adapters import RuleBook, StandardBook
from .models import DecisionCategory, EligibilityDecision, RecomputeRun, RecomputeStatus, RuleSetVersion, Standard
from .services import (
    SYSTEM,
    TIMELINE_DECIDED,
    require_config,
    ruleset_check,
    ruleset_publish,
    standard_clean,
    standard_set,
)


def _unit(actor: Any, unit_id: int, perm: Perm) -> OrgUnit:
    units = OrgUnit.objects.all() if actor is SYSTEM else access.units(actor, perm)
    unit = units.filter(pk=unit_id).first()
    if unit is None:
        raise Http404
    return unit


def _division_unit(actor: Any, unit_id: int) -> OrgUnit:
    """The federation whose division's standard and rules a what-if changes. A grassroots union
    has none of its own: its division code is its district's, so a change made "for" it would be
    saved for every union of the district while the preview counted only its own files."""
    unit = _unit(actor, unit_id, Perm.HOUSEHOLD_VIEW)
    if unit.level == OrgLevel.GRASSROOTS:
        parent = unit.parent.name if unit.parent else ""
        raise ValidationError(
            {
                "unit_id": _(
                    "Standards and rules are set for a division, not for a grassroots union: choose its "
                    "federation (%(name)s)."
                )
                % {"name": parent}
            }
        )
    return unit


# One recompute of a union at a time (the constraint ``eligibility_one_active_recompute_per_unit``):
# the same union asked for three times at once was recomputed three times. A union above or inside
# one under way is refused too (``runs.overlapping``, under ``runs.hold_tree``'s locks): a county's
# and one of its companies' runs started at the same minute both decided the company's households.
# A run that stopped with its process holds the union no longer than this after it started (or,
# never taken by a worker, after it was queued): asked for again after that, it is marked failed first.
RUN_STALE_AFTER = runs.RUN_STALE_AFTER


def _stale_runs_failed(unit: OrgUnit) -> None:
    runs.fail_stale(
        RecomputeRun.objects.filter(Q(unit__path__in=runs.tree_paths(unit)) | Q(unit__path__startswith=unit.path)),
        running=RecomputeStatus.RUNNING,
        queued=RecomputeStatus.QUEUED,
        failed=RecomputeStatus.FAILED,
        error=_("Stopped without finishing: the process running it ended. Start the recompute again."),
    )


def _run_under_way(unit: OrgUnit) -> RecomputeRun | None:
    """A recompute queued or running over the union, one above it or one inside it."""
    active = RecomputeRun.objects.filter(status__in=[RecomputeStatus.QUEUED, RecomputeStatus.RUNNING])
    return runs.overlapping(active, unit)


def _refused_under_way(run: RecomputeRun) -> DomainError:
    """409 naming the recompute of the same union already queued or running: which, who, since when."""
    return runs.refused_under_way(
        run,
        _(
            "A recompute of %(unit)s is already under way: run %(run)s, started by %(who)s at %(when)s. "
            "Wait for it to finish (its page shows how far it is); a run that stopped is given up "
            "%(hours)s hours after it started."
        ),
    )


def recompute_start(*, actor: Any, unit_id: int, run_async: bool = False, on: date | None = None) -> RecomputeRun:
    """Recompute every household of a unit's subtree; with ``run_async`` as a background task.
    Refused (``ErrorCode.RUN_UNDER_WAY``) while a recompute of the same union, of one above it or of
    one inside it is queued or running."""
    unit = _unit(actor, unit_id, Perm.HOUSEHOLD_EDIT)
    with transaction.atomic():
        runs.hold_tree(unit)  # a run over an overlapping subtree started meanwhile waits, then is refused
        _stale_runs_failed(unit)
        if under_way := _run_under_way(unit):
            raise _refused_under_way(under_way)
        try:
            with transaction.atomic():  # a run of the union inserted meanwhile: refused the same way
                run = RecomputeRun.objects.create(
                    unit=unit,
                    started_by=actor if getattr(actor, "is_authenticated", False) else None,
                    total=bulk.households_in(unit.path).count(),
                )
        except IntegrityError:
            if under_way := _run_under_way(unit):
                raise _refused_under_way(under_way) from None
            raise
    if run_async:
        from .tasks import recompute_task

        day = (on or timezone.localdate()).isoformat()
        transaction.on_commit(lambda: recompute_task.enqueue(run.pk, day))
        return run
    return recompute_execute(run_id=run.pk, on=on)


def recompute_execute(*, run_id: int, on: date | None = None) -> RecomputeRun:
    """Do a recorded run; running it again recomputes again (each household keeps one current decision)."""
    on = on or timezone.localdate()
    run = RecomputeRun.objects.select_related("unit", "started_by").get(pk=run_id)
    if run.status == RecomputeStatus.DONE:
        return run
    try:
        with transaction.atomic():
            RecomputeRun.objects.filter(pk=run.pk).update(
                status=RecomputeStatus.RUNNING, started_at=timezone.now(), done=0
            )
    except IntegrityError:
        # A failed run done again while another recompute of its union is under way.
        if under_way := _run_under_way(run.unit):
            raise _refused_under_way(under_way) from None
        raise

    def progress(out: bulk.Outcome) -> None:
        RecomputeRun.objects.filter(pk=run.pk).update(total=out.total, done=out.done, changed=out.changed)

    try:
        if bulk.can_run_parallel(run.total):
            RecomputeRun.objects.filter(pk=run.pk).update(changed=0)
            out = bulk.run_parallel(path=run.unit.path, on=on, run_id=run.pk, actor_id=run.started_by_id)
        else:
            out = bulk.run_engine(
                path=run.unit.path, on=on, write=True, run_id=run.pk, actor_id=run.started_by_id, progress=progress
            )
    except Exception as exc:
        RecomputeRun.objects.filter(pk=run.pk).update(
            status=RecomputeStatus.FAILED, error=str(exc)[:2000], finished_at=timezone.now()
        )
        raise
    _timeline_changes(run)
    RecomputeRun.objects.filter(pk=run.pk).update(
        status=RecomputeStatus.DONE, total=out.total, done=out.done, changed=out.changed, finished_at=timezone.now()
    )
    audit_record(
        actor=run.started_by,
        action=AuditAction.UPDATE,
        target_type="eligibility_recompute",
        target_id=run.pk,
        unit_path=run.unit.path,
        after={
            "households": out.total,
            "changed": out.changed,
            "categories": dict(out.categories),
            "overrides_lapsed": out.lapsed,
            # households another decision replaced twice while the run went on: left as they are
            "superseded": out.superseded,
        },
    )
    run.refresh_from_db()
    return run


def _timeline_changes(run: RecomputeRun, batch: int = 5000) -> None:
    """Each household whose category the run changed gets it on its timeline, as a decision of
    one household does (``services.decision_compute``): the event of the decision, its category
    and the one before. Households decided for the first time are in the run's report, not on
    their timelines (a first recompute of a province would write one event per file)."""
    from bangfu.registry.models import TimelineEvent

    labels = dict(DecisionCategory.choices)
    now = timezone.now()
    changed = (
        EligibilityDecision._base_manager.filter(run_id=run.pk)
        .exclude(previous_category="")
        .exclude(category=F("previous_category"))
        .values_list("household_id", "pk", "category", "previous_category")
    )
    rows = []
    for household_id, decision_id, category, previous in changed.iterator(chunk_size=batch):
        rows.append(
            TimelineEvent(
                household_id=household_id,
                at=now,
                actor_id=run.started_by_id,
                kind=TIMELINE_DECIDED,
                summary=str(labels.get(category, category)),
                data={"decision_id": decision_id, "category": category, "previous": previous, "run": run.pk},
            )
        )
        if len(rows) >= batch:
            TimelineEvent.objects.bulk_create(rows)
            rows = []
    TimelineEvent.objects.bulk_create(rows)


# ---- what-if -------------------------------------------------------------------------------------


@dataclass
class UnitChanges:
    unit_id: int
    unit_name: str
    changed: int = 0
    transitions: dict[tuple[str, str], int] = field(default_factory=lambda: defaultdict(int))


@dataclass
class WhatIf:
    total: int
    changed: int
    categories: dict[str, int]
    by_unit: list[UnitChanges]
    # (unit name, file number, previous category, new category)
    households: list[tuple[str, str, str, str]]
    standard_version: str
    ruleset_version: str
    # Whether saving would make a new version: False when the values are those in force already
    saves: bool = True
    # Of the changes, those the day brings whatever the values (the values in force on that day
    # give the same new category), and their file numbers
    anyway: int = 0
    anyway_files: frozenset[str] = frozenset()


def _standard_draft(actor: Any, code: str, on: date, changes: dict[str, Any]) -> Standard:
    """An unsaved next version of ``code``'s standard for ``on``'s year with ``changes`` applied."""
    current = Standard.objects.filter(division_code=code, year=on.year, is_current=True).first()
    base = StandardBook.load(on.year).get(code, on) if current is None else None
    values: dict[str, Any] = {
        "dibao_monthly": current.dibao_monthly if current else (base.dibao_monthly if base else None),
        "minimum_wage_monthly": current.minimum_wage_monthly
        if current
        else (base.minimum_wage_monthly if base else None),
        "housing_area_per_head": current.housing_area_per_head
        if current
        else (base.housing_area_per_head if base else None),
        "disposable_income_per_head_last_year": current.disposable_income_per_head_last_year
        if current
        else (base.disposable_income_per_head_last_year if base else None),
    }
    values.update({k: v for k, v in changes.items() if v is not None})
    if current is None and base is None:
        # Nothing in force to take the values not given from (a new install before its first
        # standard): say so, rather than only "required".
        missing = [k for k in ("dibao_monthly", "minimum_wage_monthly") if values.get(k) is None]
        if missing:
            message = _(
                "No standard is in force for %(division)s in %(year)d to take this value from: give it too, "
                "or set the year's standard first."
            ) % {"division": code, "year": on.year}
            raise ValidationError(dict.fromkeys(missing, message))
    clean = standard_clean(division_code=code, year=on.year, effective_from=on, **values)
    last = Standard.objects.filter(division_code=code, year=on.year).aggregate(m=Max("version"))["m"] or 0
    return Standard(division_code=code, year=on.year, version=last + 1, is_current=True, **clean)


def whatif_preview(
    *,
    actor: Any,
    unit_id: int,
    on: date | None = None,
    standard: dict[str, Any] | None = None,
    rule_params: dict[str, Any] | None = None,
) -> WhatIf:
    """What a recompute of the unit's subtree would give if its division's standard (``standard``:
    dibao_monthly, minimum_wage_monthly, …) or rule set (``rule_params``) changed from ``on``.
    Compared with the households' current decisions; nothing is stored."""
    unit = _division_unit(actor, unit_id) if standard or rule_params else _unit(actor, unit_id, Perm.HOUSEHOLD_VIEW)
    on = on or timezone.localdate()
    code = unit.division_code
    overrides: list[Standard] = []
    # The standard's errors and the rules' are told together, each under its field.
    errors: dict[str, list[str]] = {}
    if standard:
        require_config(actor, code)
        try:
            overrides.append(_standard_draft(actor, code, on, standard))
        except ValidationError as exc:
            for name, messages in field_errors(exc).items():
                errors.setdefault(name, []).extend(messages)
    rule_overrides: list[tuple[str, int, dict[str, Any]]] = []
    if rule_params:
        require_config(actor, code)
        current = RuleSetVersion.objects.filter(region_code=code, is_current=True).first()
        merged = {**(current.params if current else {}), **rule_params}
        merged.pop("version", None)
        try:
            ruleset_check(merged)
        except ValidationError as exc:
            for name, messages in field_errors(exc).items():
                errors.setdefault(name, []).extend(messages)
        last = RuleSetVersion.objects.filter(region_code=code).aggregate(m=Max("version"))["m"] or 0
        rule_overrides.append((code, last + 1, merged))
    if errors:
        raise ValidationError(errors)
    standards = StandardBook.load(on.year, overrides=overrides)
    rulebook = RuleBook.load(overrides=rule_overrides)
    # The values in force on the same day tell the changes the day brings from those the values do.
    baseline = (StandardBook.load(on.year), RuleBook.load()) if overrides or rule_overrides else None
    out = bulk.whatif(path=unit.path, on=on, standards=standards, rulebook=rulebook, baseline=baseline)
    names = dict(OrgUnit.objects.filter(path__startswith=unit.path).values_list("id", "name"))
    files = dict(
        Household.objects.filter(pk__in=[c[1] for c in out.changes]).values_list("id", "file_number")
        if len(out.changes) < 50_000
        else []
    )
    by_unit: dict[int, UnitChanges] = {}
    for unit_pk, _hid, prev, new in out.changes:
        u = by_unit.setdefault(unit_pk, UnitChanges(unit_pk, names.get(unit_pk, "")))
        u.changed += 1
        u.transitions[(prev, new)] += 1
    s = standards.get(code, on)
    new_standard, new_rules = _what_changes(code, on, standard, rule_params)
    return WhatIf(
        total=out.total,
        changed=out.changed,
        categories=dict(out.categories),
        by_unit=sorted(by_unit.values(), key=lambda u: -u.changed),
        households=[(names.get(u, ""), files.get(h, str(h)), p, n) for u, h, p, n in out.changes],
        standard_version=s.version if s else "",
        ruleset_version=rulebook.get(code).version,
        saves=bool(new_standard or new_rules),
        anyway=len(out.anyway),
        anyway_files=frozenset(files.get(h, str(h)) for h in out.anyway),
    )


_STANDARD_VALUES = (
    "dibao_monthly",
    "minimum_wage_monthly",
    "housing_area_per_head",
    "disposable_income_per_head_last_year",
)


def _what_changes(
    code: str, on: date, standard: dict[str, Any] | None, rule_params: dict[str, Any] | None
) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """``standard`` and ``rule_params`` less what would change nothing: a standard whose values
    are those of the year's current version, in force on ``on`` already, and rule parameters that
    give the rule set the division decides by now, are dropped (saving them would only make a
    version equal to the one before)."""
    if standard:
        # The standard identification uses on that day: the year's, or the year before's carried over.
        current = StandardBook.load(on.year).get(code, on)
        draft = _standard_draft(None, code, on, standard)
        if current is not None and all(getattr(current, f) == getattr(draft, f) for f in _STANDARD_VALUES):
            standard = None
    if rule_params:
        row = RuleSetVersion.objects.filter(region_code=code, is_current=True).first()
        merged = {**(row.params if row else {}), **rule_params}
        merged.pop("version", None)
        in_force = {k: v for k, v in RuleBook.load().get(code).to_params().items() if k != "version"}
        if {k: v for k, v in ruleset_check(merged).to_params().items() if k != "version"} == in_force:
            rule_params = None
    return standard or None, rule_params or None


def whatif_save(
    *,
    actor: Any,
    unit_id: int,
    on: date,
    standard: dict[str, Any] | None = None,
    rule_params: dict[str, Any] | None = None,
    note: str = "",
) -> tuple[Standard | None, RuleSetVersion | None]:
    """Make the previewed parameters new versions of the standard and rule set; values that are
    those in force already make no version (``_what_changes``), and nothing to save is refused."""
    unit = _division_unit(actor, unit_id)
    code = unit.division_code
    standard, rule_params = _what_changes(code, on, standard, rule_params)
    if not standard and not rule_params:
        raise ValidationError({"__all__": [_("Nothing to save: these are the standard and rules in force already.")]})
    saved_standard = saved_rules = None
    with transaction.atomic():
        if standard:
            draft = _standard_draft(actor, code, on, standard)
            saved_standard = standard_set(
                actor=actor,
                division_code=code,
                year=on.year,
                dibao_monthly=draft.dibao_monthly,
                minimum_wage_monthly=draft.minimum_wage_monthly,
                housing_area_per_head=draft.housing_area_per_head,
                disposable_income_per_head_last_year=draft.disposable_income_per_head_last_year,
                effective_from=on,
                note=note,
            )
        if rule_params:
            current = RuleSetVersion.objects.filter(region_code=code, is_current=True).first()
            merged = {**(current.params if current else {}), **rule_params}
            merged.pop("version", None)
            saved_rules = ruleset_publish(actor=actor, region_code=code, params=merged, note=note)
    return saved_standard, saved_rules


# ---- reports -------------------------------------------------------------------------------------


def changes_xlsx(rows: list[tuple[str, str, str, str]], anyway: frozenset[str] | None = None) -> bytes:
    """An Excel workbook: a summary sheet by unit and one row per household whose category changed
    (or was decided for the first time: no previous category). ``anyway``: of a what-if, the file
    numbers that change even with the values in force, whatever the values previewed (a column says
    which)."""
    import openpyxl

    label: dict[str, Any] = {**dict(DecisionCategory.choices), "": _("None (first decision)")}
    wb = openpyxl.Workbook()
    summary = wb.active
    assert summary is not None  # noqa: S101 - a new workbook always has one sheet
    summary.title = str(_("By unit"))
    counts: dict[tuple[str, str, str], int] = defaultdict(int)
    for unit_name, _file, prev, new in rows:
        counts[(unit_name, prev, new)] += 1
    summary.append([str(_("Union")), str(_("Previous category")), str(_("New category")), str(_("Households"))])
    for (unit_name, prev, new), n in sorted(counts.items()):
        summary.append(sheets.xlsx_row(summary, [unit_name, str(label.get(prev, prev)), str(label.get(new, new)), n]))
    detail = wb.create_sheet(str(pgettext("a sheet listing households one a row", "Households")))
    header = [str(_("Union")), str(_("File number")), str(_("Previous category")), str(_("New category"))]
    detail.append([*header, str(_("Changes even with the values in force"))] if anyway is not None else header)
    for unit_name, file_number, prev, new in rows:
        row = [unit_name, file_number, str(label.get(prev, prev)), str(label.get(new, new))]
        if anyway is not None:
            row.append(str(_("Yes")) if file_number in anyway else "")
        detail.append(sheets.xlsx_row(detail, row))
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def recompute_report_rows(*, actor: Any, run_id: int) -> list[tuple[str, str, str, str]]:
    from .selectors import recompute_changes

    return [
        (d.household.unit.name, d.household.file_number, d.previous_category, d.category)
        for d in recompute_changes(actor=actor, run_id=run_id)
    ]


def recompute_report_xlsx(*, actor: Any, run_id: int) -> bytes:
    """The run's changes as Excel (file numbers with their categories): an export of the run's
    union, so a person needs the export permission there (``PermissionDenied`` naming it
    otherwise; the command acts as the system). It is audit-logged, whoever asks for it (page, API
    or command)."""
    from .selectors import recompute_run_get

    run = recompute_run_get(actor=actor, run_id=run_id)
    if actor is not SYSTEM:
        access.require(actor, Perm.REGISTRY_EXPORT, run.unit)
    rows = recompute_report_rows(actor=actor, run_id=run_id)
    audit_record(
        actor=actor,
        action=AuditAction.EXPORT,
        target_type="eligibility_recompute_report",
        target_id=run.pk,
        unit_path=run.unit.path,
        after={"rows": len(rows), "format": "xlsx"},
    )
    return changes_xlsx(rows)
