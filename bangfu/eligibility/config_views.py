"""Staff pages of identification settings: standards per division and year, rule-set versions per
region, and the what-if preview of changed standards or rules.

Reading standards and rule sets is open to every staff member (``selectors``: public
configuration) for the divisions of their jurisdiction and the divisions above it, whose
standards they inherit; another division answers 404. Changing them is decided by
``services.require_config`` (``Perm.STANDARD_MANAGE`` at a unit covering the division): 403
otherwise. Each view parses, calls one service, and renders.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from bangfu.common import divisions
from bangfu.common.audit import audit_record
from bangfu.common.errors import field_errors
from bangfu.common.models import AuditAction
from bangfu.common.paging import CappedPaginator
from bangfu.common.punctuation import join_list
from bangfu.org import access
from bangfu.org.access import Perm
from bangfu.org.models import OrgLevel, OrgUnit
from bangfu.registry.models import Household, Member
from bangfu.registry.services import mask_name

from . import recompute, rules, selectors, services
from .adapters import StandardBook, fallback_codes
from .config_forms import PARAM_NAMES, PARAMS, STANDARD_FIELDS, RuleSetForm, StandardForm, WhatIfForm, params_initial
from .models import DecisionCategory, RuleSetVersion, Standard
from .rules.model import Comparison, fmt_multiple

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DIVISIONS_PER_PAGE = 100
WHATIF_UNITS_SHOWN = 200
WHATIF_HOUSEHOLDS_SHOWN = 200
UNIT_CHOICES_LIMIT = 1000
NATIONAL = "national"  # the national rule set ("" in the database) in URLs


# ---- who may see and change which division ----------------------------------------------------


def _require_staff(actor: Any) -> None:
    if not access.grants(actor):
        raise PermissionDenied(Perm.HOUSEHOLD_VIEW.value)


def _grant_units(actor: Any, perm: Perm | None = None) -> list[tuple[str, int]]:
    """(division code, level) of the units where the actor holds a role (with ``perm``)."""
    ids = [g.unit_id for g in access.grants(actor) if perm is None or perm in g.perms]
    return list(OrgUnit.objects.filter(pk__in=ids).values_list("division_code", "level"))


class Config:
    """Which divisions one actor may read and which they may change, per request."""

    def __init__(self, actor: Any) -> None:
        _require_staff(actor)
        self.actor = actor
        self.own = _grant_units(actor)
        self.managing = _grant_units(actor, Perm.STANDARD_MANAGE)

    def may_change(self, code: str) -> bool:
        """What ``services.require_config`` decides, without a query per division."""
        return any(services.covers(unit_code, level, code) for unit_code, level in self.managing)

    def visible(self, code: str) -> bool:
        """The divisions of the jurisdiction and those above it (the national rule set: "")."""
        if code == "" or any(level == OrgLevel.NATIONAL or code in fallback_codes(c) for c, level in self.own):
            return True
        return access.units(self.actor).filter(division_code=code, level__lt=OrgLevel.GRASSROOTS).exists()

    def require_visible(self, code: str) -> None:
        if not self.visible(code):
            raise Http404


def _render(request: HttpRequest, template: str, context: dict[str, Any]) -> HttpResponse:
    context["may_whatif"] = access.has_perm(request.user, Perm.STANDARD_MANAGE)
    return render(request, template, context)


def _names(codes: Iterable[str]) -> dict[str, str]:
    """A name per division code: its federation's name, else the division table's name."""
    wanted = {c for c in codes if c}
    rows = (
        OrgUnit.objects.filter(division_code__in=wanted, level__lt=OrgLevel.GRASSROOTS)
        .order_by("-level", "path")
        .values_list("division_code", "name")
    )
    out: dict[str, str] = dict(rows)  # the highest federation of a code last, so it wins
    for code in wanted - out.keys():
        out[code] = divisions.division_name(code) or code
    out[""] = _("National")
    return out


def _code(value: str) -> str:
    if not (len(value) == 6 and value.isascii() and value.isdigit()):
        raise Http404
    return value


def _year(value: Any, default: int) -> int:
    try:
        year = int(value)
    except (TypeError, ValueError):
        return default
    return year if 2000 <= year <= 2100 else default


def _day(value: Any) -> dt.date | None:
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        return None


def _on(year: int, value: Any = None) -> dt.date:
    """The day a year's standards are shown for: the given day in that year, today in this year,
    else 1 January."""
    day = _day(value) if value else None
    if day is not None and day.year == year:
        return day
    today = timezone.localdate()
    return today if today.year == year else dt.date(year, 1, 1)


# ---- standards ------------------------------------------------------------------------------------


@dataclass
class StandardRow:
    unit: OrgUnit
    indent: int
    own: Standard | None
    effective: rules.Standard | None
    source_name: str = ""
    may_change: bool = False

    @property
    def inherited(self) -> bool:
        return self.effective is not None and self.effective.division_code != self.unit.division_code


def _book(actor: Any, year: int) -> StandardBook:
    """The standards as identification finds them for ``year``: that year's, and the year before's
    carried over where a division has none yet for it (``StandardBook.load``)."""
    return StandardBook(year, selectors.standard_list(actor=actor, history=True).filter(year__in=(year - 1, year)))


def _years(actor: Any) -> list[int]:
    this = timezone.localdate().year
    stored = set(selectors.standard_list(actor=actor, history=True).values_list("year", flat=True).distinct())
    return sorted(stored | {this, this + 1}, reverse=True)


@login_required
def standard_list(request: HttpRequest) -> HttpResponse:
    """The standard in force in each division of the jurisdiction on a day of the chosen year."""
    cfg = Config(request.user)
    year = _year(request.GET.get("year"), timezone.localdate().year)
    on = _on(year, request.GET.get("on"))
    units = access.units(request.user).filter(level__lt=OrgLevel.GRASSROOTS).order_by("path")
    page = CappedPaginator(units, DIVISIONS_PER_PAGE).get_page(request.GET.get("page"))
    book = _book(request.user, year)
    page_units = list(page.object_list)
    top = min((u.level for u in page_units), default=0)
    own = {
        s.division_code: s
        for s in selectors.standard_list(actor=request.user, year=year).filter(
            division_code__in={u.division_code for u in page_units}
        )
    }
    rows = [
        StandardRow(
            unit=u,
            indent=u.level - top,
            own=own.get(u.division_code),
            effective=book.get(u.division_code, on),
            may_change=cfg.may_change(u.division_code),
        )
        for u in page_units
    ]
    names = _names(r.effective.division_code for r in rows if r.effective is not None)
    for r in rows:
        if r.effective is not None:
            r.source_name = names.get(r.effective.division_code, r.effective.division_code)
    context = {
        "rows": rows,
        "page": page,
        "year": year,
        "on": on,
        "years": _years(request.user),
        "may_change_any": bool(cfg.managing),
    }
    return _render(request, "eligibility/config/standard_list.html", context)


FIELD_LABELS = {
    "dibao_monthly": gettext_lazy("Urban dibao per month"),
    "minimum_wage_monthly": gettext_lazy("Minimum wage per month"),
    "housing_area_per_head": gettext_lazy("Housing standard per head (m²)"),
    "disposable_income_per_head_last_year": gettext_lazy("Last year's disposable income per head"),
    "effective_from": gettext_lazy("Effective from"),
}


@dataclass
class Version:
    row: Any
    changes: list[tuple[str, Any, Any]] = field(default_factory=list)
    first: bool = False


def _shown(value: Any) -> str:
    """A standard's value in the history: money grouped, days as 2026-01-01, nothing as a dash."""
    if value is None:
        return "—"
    if isinstance(value, Decimal):
        return f"{value:,.2f}"
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _standard_versions(rows: list[Standard]) -> list[Version]:
    """Newest first, each with what it changed from the version before it."""
    out: list[Version] = []
    for i, row in enumerate(rows):
        before = rows[i + 1] if i + 1 < len(rows) else None
        v = Version(row=row, first=before is None)
        if before is not None:
            for name in (*STANDARD_FIELDS, "effective_from"):
                old, new = getattr(before, name), getattr(row, name)
                if old != new:
                    v.changes.append((str(FIELD_LABELS[name]), _shown(old), _shown(new)))
        out.append(v)
    return out


def _standard_initial(own: Standard | None, effective: rules.Standard | None, year: int) -> dict[str, Any]:
    source: Any = own or effective
    initial: dict[str, Any] = {"effective_from": own.effective_from if own else dt.date(year, 1, 1)}
    if source is not None:
        for name in STANDARD_FIELDS:
            value = getattr(source, name)
            initial[name] = "" if value is None else f"{value:f}"
    return initial


@login_required
def standard_detail(request: HttpRequest, code: str, year: int) -> HttpResponse:
    """One division's standard for a year: what is in force, every version, and the form to set it."""
    code = _code(code)
    if not 2000 <= year <= 2100:
        raise Http404
    cfg = Config(request.user)
    cfg.require_visible(code)
    versions = list(
        selectors.standard_list(actor=request.user, division_code=code, year=year, history=True).order_by("-version")
    )
    own = next((v for v in versions if v.is_current), None)
    on = _on(year, request.GET.get("on"))
    effective = _book(request.user, year).get(code, on)
    may_change = cfg.may_change(code)
    form = StandardForm(initial=_standard_initial(own, effective, year))
    if request.method == "POST":
        services.require_config(request.user, code)
        form = StandardForm(request.POST)
        if form.is_valid():
            try:
                row = services.standard_set(
                    actor=request.user,
                    division_code=code,
                    year=year,
                    **{k: form.cleaned_data.get(k) for k in STANDARD_FIELDS},
                    effective_from=form.cleaned_data.get("effective_from"),
                    note=form.cleaned_data.get("note") or "",
                )
            except ValidationError as exc:
                form.apply_errors(field_errors(exc))
            else:
                messages.success(request, _("The standard was saved as version %(version)s.") % {"version": row.label})
                return redirect("eligibility:standard_detail", code=code, year=year)
    names = _names([code, *(fallback_codes(code))])
    context = {
        "code": code,
        "name": names[code],
        "year": year,
        "on": on,
        "own": own,
        "effective": effective,
        "inherited": effective is not None and effective.division_code != code,
        "source_name": names.get(effective.division_code, "") if effective else "",
        "versions": _standard_versions(versions),
        "may_change": may_change,
        "form": form,
        "has_errors": request.method == "POST",
    }
    return _render(request, "eligibility/config/standard_detail.html", context)


# ---- rule sets ------------------------------------------------------------------------------------


def ruleset_words(rs: rules.RuleSet) -> list[tuple[str, list[str]]]:
    """Every parameter of a rule set said in a sentence, by group."""
    sign = "≤" if rs.comparison == Comparison.LE else "<"
    share = f"{(rs.accident_share * 100).normalize():f} %"

    def on_off(flag: bool, text: str) -> str:
        return text if flag else _("Not checked: %(what)s") % {"what": text}

    lines = [
        _(
            "Deep hardship: net income per head per month %(sign)s %(m)s × dibao, with illness, disability, schooling "
            "or job loss from a closing enterprise"
        )
        % {"sign": sign, "m": fmt_multiple(rs.deep_multiple)},
        _("Relative hardship: net income per head per month %(sign)s %(m)s × dibao")
        % {"sign": sign, "m": fmt_multiple(rs.relative_multiple)},
        _("Income per head must also be below last year's disposable income per head")
        if rs.require_below_disposable_income
        else _("No precondition on last year's disposable income per head"),
    ]
    income = [
        _("A member of working age (%(a)s to %(b)s), able to work and without a job, is counted at the minimum wage")
        % {"a": rs.working_age_from, "b": rs.working_age_to}
        if rs.impute_minimum_wage
        else _("No income is counted for members without a job"),
        _("Union aid already paid this year counts as income")
        if rs.count_union_aid
        else _("Union aid already paid does not count as income"),
    ]
    accident = [
        _(
            "Hardship by accident when the year's hardship costs, after compensation and insurance, are above "
            "%(share)s of household income"
        )
        % {"share": share}
        if rs.accident_test
        else _("No accident test by share of income (hardship by accident only from income after hardship costs)"),
    ]
    exits = [
        ngettext(
            "A household meets the exit test after %(n)d month in a row with income per head above the dibao",
            "A household meets the exit test after %(n)d months in a row with income per head above the dibao",
            rs.exit_months,
        )
        % {"n": rs.exit_months},
        ngettext(
            "A migrant worker household needs at least %(n)d year of employment",
            "A migrant worker household needs at least %(n)d years of employment",
            rs.migrant_min_employment_years,
        )
        % {"n": rs.migrant_min_employment_years},
    ]
    legacy = [
        _("Dibao household: below %(m)s × dibao") % {"m": fmt_multiple(rs.legacy_dibao_multiple)},
        _("Near-dibao household: up to %(m)s × dibao") % {"m": fmt_multiple(rs.legacy_edge_multiple)},
        _("Accident household: up to %(m)s × dibao, with accident costs")
        % {"m": fmt_multiple(rs.legacy_accident_multiple)},
    ]
    disqualify = [
        on_off(rs.disqualify_vehicles, _("a vehicle other than a livelihood or disability vehicle")),
        on_off(rs.disqualify_business_roles, _("a role in an active company")),
        on_off(
            rs.disqualify_homes,
            _("two or more homes with floor area per head above %(m)s × the housing standard")
            % {"m": fmt_multiple(rs.homes_area_multiple)},
        ),
        on_off(rs.disqualify_recent_home, _("a home bought or built in the year before")),
        on_off(
            rs.disqualify_private_school,
            _("a private school costing over %(m)s × the public one, or studying abroad at own expense")
            % {"m": fmt_multiple(rs.private_school_ratio)},
        ),
    ]
    return [
        (_("Income lines"), lines),
        (_("Income counted"), income),
        (_("Hardship by accident"), accident),
        (_("Exit and migrant workers"), exits),
        (_("Legacy scheme (files from before 2018)"), legacy),
        (_("Disqualifiers"), disqualify),
    ]


def _region(value: str) -> str:
    return "" if value == NATIONAL else _code(value)


def _slug(region: str) -> str:
    return region or NATIONAL


@dataclass
class Effective:
    """The rule set a region decides by: its own current version, a parent's, or the default."""

    rules: rules.RuleSet
    row: RuleSetVersion | None
    source: str | None  # region code it comes from ("" national); None: the built-in default


def _effective_rules(actor: Any, code: str, current: dict[str, RuleSetVersion] | None = None) -> Effective:
    if current is None:
        wanted = [*fallback_codes(code), ""] if code else [""]
        current = {r.region_code: r for r in selectors.ruleset_list(actor=actor).filter(region_code__in=wanted)}
    for c in [*fallback_codes(code), ""] if code else [""]:
        row = current.get(c)
        if row is not None:
            return Effective(rules.RuleSet.from_params(row.params, version=row.label), row, c)
    return Effective(rules.RuleSet(), None, None)


@dataclass
class RegionRow:
    code: str
    name: str
    effective: Effective
    may_change: bool
    source_name: str = ""

    @property
    def inherited(self) -> bool:
        return self.effective.source is not None and self.effective.source != self.code

    @property
    def slug(self) -> str:
        return _slug(self.code)


@login_required
def ruleset_list(request: HttpRequest) -> HttpResponse:
    """The rule set each region of the jurisdiction decides by, and a way to open any of them."""
    cfg = Config(request.user)
    if request.GET.get("region") is not None:
        region = request.GET["region"]
        return redirect("eligibility:ruleset_detail", region=_slug(_region(region) if region else ""))
    current = {r.region_code: r for r in selectors.ruleset_list(actor=request.user)}
    own_codes = [c for c, level in cfg.own if level < OrgLevel.GRASSROOTS]
    codes = dict.fromkeys(["", *own_codes, *(c for c in sorted(current) if c and cfg.visible(c))])
    effective = {c: _effective_rules(request.user, c, current) for c in codes}
    names = _names([*codes, *(e.source or "" for e in effective.values())])
    rows = [
        RegionRow(
            code=c,
            name=names.get(c, c),
            effective=e,
            may_change=cfg.may_change(c),
            source_name=names.get(e.source, "") if e.source is not None else "",
        )
        for c, e in effective.items()
    ]
    managed = (
        access.units(request.user, Perm.STANDARD_MANAGE)
        .filter(level__lt=OrgLevel.GRASSROOTS)
        .order_by("path")[:UNIT_CHOICES_LIMIT]
    )
    context = {"rows": rows, "names": names, "managed": managed}
    return _render(request, "eligibility/config/ruleset_list.html", context)


PARAM_LABELS = {p.name: p.label for p in PARAMS}


def _param_text(name: str, value: Any) -> str:
    if isinstance(value, bool):
        return str(_("yes") if value else _("no"))
    if name == "comparison":
        return "≤" if value == Comparison.LE else "<"
    return str(value)


def _ruleset_versions(rows: list[RuleSetVersion]) -> list[Version]:
    out: list[Version] = []
    for i, row in enumerate(rows):
        before = rows[i + 1] if i + 1 < len(rows) else None
        v = Version(row=row, first=before is None)
        new = params_initial(row.params)
        old = params_initial(before.params) if before is not None else params_initial({})
        for name in PARAM_NAMES:
            if old[name] != new[name]:
                v.changes.append((str(PARAM_LABELS[name]), _param_text(name, old[name]), _param_text(name, new[name])))
        out.append(v)
    return out


@login_required
def ruleset_detail(request: HttpRequest, region: str) -> HttpResponse:
    """A region's rule set in words, its versions with what each changed, and the form to publish."""
    code = _region(region)
    cfg = Config(request.user)
    cfg.require_visible(code)
    effective = _effective_rules(request.user, code)
    versions = list(selectors.ruleset_list(actor=request.user, region_code=code, history=True))
    may_change = cfg.may_change(code)
    form = RuleSetForm(initial=params_initial(effective.rules.to_params()))
    if request.method == "POST":
        services.require_config(request.user, code)
        form = RuleSetForm(request.POST)
        if form.is_valid():
            try:
                row = services.ruleset_publish(
                    actor=request.user, region_code=code, params=form.params(), note=form.cleaned_data.get("note") or ""
                )
            except ValidationError as exc:
                form.apply_errors(field_errors(exc))
            else:
                messages.success(request, _("Rule set %(version)s was published.") % {"version": row.label})
                return redirect("eligibility:ruleset_detail", region=_slug(code))
    names = _names([code, *(fallback_codes(code) if code else [])])
    context = {
        "code": code,
        "slug": _slug(code),
        "name": names.get(code, code),
        "effective": effective,
        "source_name": names.get(effective.source, "") if effective.source is not None else "",
        "inherited": effective.source is not None and effective.source != code,
        "words": ruleset_words(effective.rules),
        "versions": _ruleset_versions(versions),
        "may_change": may_change,
        "form": form,
    }
    return _render(request, "eligibility/config/ruleset_detail.html", context)


# ---- what-if --------------------------------------------------------------------------------------


def _whatif_units(actor: Any) -> list[OrgUnit]:
    return list(
        access.units(actor, Perm.STANDARD_MANAGE)
        .filter(level__lt=OrgLevel.GRASSROOTS)
        .order_by("path")[:UNIT_CHOICES_LIMIT]
    )


@dataclass
class ChangedHousehold:
    unit_name: str
    file_number: str
    previous: str
    new: str
    household_id: int | None = None
    head: str = ""


def _changed_households(actor: Any, rows: list[tuple[str, str, str, str]]) -> list[ChangedHousehold]:
    """The first changed households with a link and the head's masked name, read through the gate."""
    shown = [ChangedHousehold(*r) for r in rows[:WHATIF_HOUSEHOLDS_SHOWN]]
    ids = dict(
        access.scope(actor, Household.objects.filter(file_number__in=[h.file_number for h in shown])).values_list(
            "file_number", "id"
        )
    )
    heads = dict(
        access.scope(
            actor, Member.objects.filter(household_id__in=list(ids.values()), relationship="head")
        ).values_list("household_id", "name")
    )
    for h in shown:
        h.household_id = ids.get(h.file_number)
        h.head = mask_name(heads[h.household_id]) if h.household_id in heads else ""
    return shown


def _transition_totals(preview: recompute.WhatIf) -> list[tuple[str, str, int]]:
    totals: dict[tuple[str, str], int] = defaultdict(int)
    for u in preview.by_unit:
        for key, n in u.transitions.items():
            totals[key] += n
    return sorted(((a, b, n) for (a, b), n in totals.items()), key=lambda t: -t[2])


def _label(category: str) -> str:
    labels = dict(DecisionCategory.choices)
    return str(labels.get(category, category or _("no decision")))


def _whatif_args(form: WhatIfForm) -> dict[str, Any]:
    return {
        "unit_id": form.cleaned_data["unit_id"],
        "on": form.cleaned_data["on"],
        "standard": form.standard_changes() or None,
        "rule_params": form.rule_changes() or None,
    }


def _fingerprint(args: dict[str, Any]) -> str:
    """The previewed parameters, sent back with "save": what is saved is what was previewed."""
    return json.dumps(args, sort_keys=True, default=str, ensure_ascii=False)


def _download(request: HttpRequest, form: WhatIfForm, preview: recompute.WhatIf) -> HttpResponse:
    """The changes as Excel; the export is audit-logged (file numbers with their categories)."""
    args = _whatif_args(form)
    unit = access.units(request.user).get(pk=args["unit_id"])
    access.require(request.user, Perm.REGISTRY_EXPORT, unit)  # file numbers with their categories
    body = recompute.changes_xlsx(preview.households, preview.anyway_files)
    with transaction.atomic():
        audit_record(
            actor=request.user,
            action=AuditAction.EXPORT,
            target_type="eligibility_whatif",
            target_id=unit.code,
            unit_path=unit.path,
            after={
                "rows": len(preview.households),
                "format": "xlsx",
                "on": args["on"],
                "standard": {k: str(v) for k, v in (args["standard"] or {}).items()},
                "rule_params": args["rule_params"] or {},
            },
        )
    response = HttpResponse(body, content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="whatif-{unit.division_code}-{args["on"]:%Y%m%d}.xlsx"'
    response["Cache-Control"] = "no-store"  # people's data: not kept in the browser's cache
    return response


@login_required
def whatif(request: HttpRequest) -> HttpResponse:
    """Change a unit's standard or rules from a day, see which households would change category,
    download them, or save the change as new versions."""
    if not access.has_perm(request.user, Perm.STANDARD_MANAGE):
        raise PermissionDenied(Perm.STANDARD_MANAGE.value)
    units = _whatif_units(request.user)
    today = timezone.localdate()
    form = WhatIfForm(
        request.POST if request.method == "POST" else None,
        units=units,
        initial={"unit_id": units[0].pk if units else None, "on": today},
    )
    preview: recompute.WhatIf | None = None
    action = request.POST.get("action", "preview")
    if request.method == "POST" and form.is_valid():
        args = _whatif_args(form)
        try:
            if action == "save" and request.POST.get("previewed") == _fingerprint(args):
                return _save(request, form)
            if action == "save":
                messages.warning(request, _("The values changed after the preview: check the new preview, then save."))
            preview = recompute.whatif_preview(actor=request.user, **args)
        except ValidationError as exc:
            form.apply_errors(field_errors(exc))
        else:
            if action == "download":
                return _download(request, form, preview)
    rules_open = bool(form.is_bound and any(form.data.get(f"rule_{name}") for name in PARAM_NAMES)) or any(
        name.startswith("rule_") for name in form.errors
    )
    context: dict[str, Any] = {"form": form, "preview": preview, "rules_open": rules_open}
    if preview is not None:
        unit = access.units(request.user).filter(pk=form.cleaned_data["unit_id"]).first()
        context["can_download"] = unit is not None and access.has_perm(request.user, Perm.REGISTRY_EXPORT, unit)
    if preview is not None:
        context.update(
            {
                "previewed": _fingerprint(_whatif_args(form)),
                "units_shown": [
                    (u, [(_label(a), _label(b), n) for (a, b), n in sorted(u.transitions.items(), key=lambda t: -t[1])])
                    for u in preview.by_unit[:WHATIF_UNITS_SHOWN]
                ],
                "units_more": max(0, len(preview.by_unit) - WHATIF_UNITS_SHOWN),
                "totals": [(_label(a), _label(b), n) for a, b, n in _transition_totals(preview)],
                "households": [
                    (h, _label(h.previous), _label(h.new))
                    for h in _changed_households(request.user, preview.households)
                ],
                "households_more": max(0, len(preview.households) - WHATIF_HOUSEHOLDS_SHOWN),
                "on": form.cleaned_data["on"],
            }
        )
    return _render(request, "eligibility/config/whatif.html", context)


def _save(request: HttpRequest, form: WhatIfForm) -> HttpResponse:
    args = _whatif_args(form)
    saved_standard, saved_rules = recompute.whatif_save(
        actor=request.user,
        unit_id=args["unit_id"],
        on=args["on"],
        standard=args["standard"],
        rule_params=args["rule_params"],
        note=form.cleaned_data.get("note") or "",
    )
    labels = [x.label for x in (saved_standard, saved_rules) if x is not None]
    messages.success(request, _("Saved as %(versions)s.") % {"versions": join_list(labels)})
    if saved_standard is not None:
        return redirect("eligibility:standard_detail", code=saved_standard.division_code, year=saved_standard.year)
    if saved_rules is not None:
        return redirect("eligibility:ruleset_detail", region=_slug(saved_rules.region_code))
    return redirect("eligibility:whatif")


@login_required
def whatif_current(request: HttpRequest) -> HttpResponse:
    """The standard and rule set a unit decides by on a day (the what-if form shows them beside
    the fields it changes)."""
    _require_staff(request.user)
    try:
        unit_id = int(request.GET.get("unit_id") or 0)
    except ValueError as exc:
        raise Http404 from exc
    unit = access.units(request.user).filter(pk=unit_id).first()
    if unit is None:
        raise Http404
    on = _day(request.GET.get("on")) or timezone.localdate()
    if not 2000 <= on.year <= 2100:
        on = timezone.localdate()
    code = unit.division_code
    standard = _book(request.user, on.year).get(code, on)
    effective = _effective_rules(request.user, code)
    names = _names([code, *fallback_codes(code), standard.division_code if standard else ""])
    context = {
        "unit": unit,
        "on": on,
        "standard": standard,
        "standard_source": names.get(standard.division_code, "") if standard else "",
        "standard_inherited": standard is not None and standard.division_code != code,
        "effective": effective,
        "rules_source": names.get(effective.source, "") if effective.source is not None else "",
        "rules_inherited": effective.source is not None and effective.source != code,
        "sign": "≤" if effective.rules.comparison == Comparison.LE else "<",
    }
    return render(request, "eligibility/config/_whatif_current.html", context)


__all__ = [
    "ruleset_detail",
    "ruleset_list",
    "ruleset_words",
    "standard_detail",
    "standard_list",
    "whatif",
    "whatif_current",
]
