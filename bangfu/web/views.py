"""Staff pages. Each view parses input, calls one selector or service, and renders the result;
who may see what is decided by the access gate behind the selectors and services."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import FieldDoesNotExist, PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Min, Q
from django.forms.formsets import BaseFormSet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext
from django.views.decorators.http import require_POST

from bangfu.common.errors import DomainError, ErrorCode, field_errors
from bangfu.common.paging import CappedPaginator
from bangfu.eligibility.models import TIMELINE_KINDS as ELIGIBILITY_TIMELINE_KINDS
from bangfu.eligibility.services import category_follows, decision_compute
from bangfu.intake.models import TIMELINE_KINDS as INTAKE_TIMELINE_KINDS
from bangfu.matching.models import TIMELINE_KINDS as MATCHING_TIMELINE_KINDS
from bangfu.org import access
from bangfu.org.access import Perm
from bangfu.registry import codes, selectors, services
from bangfu.registry.models import Household, TimelineEvent

from . import searches
from .forms import HouseholdFilterForm, HouseholdForms, unknown_filters
from .widgets import PICKER_FULL_LIST, PICKER_SEARCH_LIMIT, shown_units


def _htmx_partial(request: HttpRequest) -> bool:
    htmx: Any = getattr(request, "htmx", None)
    return bool(htmx) and not htmx.boosted and not htmx.history_restore_request


@login_required
def index(request: HttpRequest) -> HttpResponse:
    return redirect("web:household_list")


@login_required
def household_list(request: HttpRequest) -> HttpResponse:
    """The files, filtered and searched. A search with a digit in it (an ID number above all) is
    posted and kept in the session (``searches``): the address carries its key ``s``, never the
    text; an ID number in the address's ``q`` (an old bookmark, a hand-made link) is not searched."""
    units = list(selectors.unit_choices(actor=request.user))
    if request.method == "POST":
        return _household_search_posted(request, units)
    address = searches.read_address(request, reverse("web:household_list"))
    if address.redirect_to:
        return redirect(address.redirect_to)
    form = HouseholdFilterForm(address.data or None, units=units)
    response = _household_page(request, form, address.query.urlencode(), address.notices)
    patch_vary_headers(response, ["HX-Request"])
    return response


def _household_search_posted(request: HttpRequest, units: list[Any]) -> HttpResponse:
    """A search sent by the form (POST): the list's address with the search kept in the session
    (``s``) when it has a digit, else in ``q``; htmx gets the list at once and the address to show,
    a plain form is sent there."""
    form = HouseholdFilterForm(request.POST, units=units)
    params = searches.address_params(request, form.filters().q)
    for name in ("unit", "category", "main_cause", "state"):
        if value := request.POST.get(name, ""):
            params[name] = value
    query = urlencode(params)
    url = reverse("web:household_list") + (f"?{query}" if query else "")
    if not _htmx_partial(request):
        return redirect(url)
    response = _household_page(request, form, query, [])
    response["HX-Push-Url"] = url
    return response


def _household_page(request: HttpRequest, form: HouseholdFilterForm, query: str, notices: list[str]) -> HttpResponse:
    filters = form.filters() if form.is_bound else selectors.HouseholdFilters()
    households = selectors.household_list(actor=request.user, filters=filters)
    cap = selectors.household_count_cap(filters)
    page_number = request.GET.get("page") if request.method == "GET" else None
    page = CappedPaginator(households, settings.BANGFU_PAGE_SIZE, cap=cap).get_page(page_number)
    page.object_list = _with_decided_category(list(page.object_list))
    context = {
        "form": form,
        "page": page,
        "query": query,
        "can_create": access.has_perm(request.user, Perm.HOUSEHOLD_EDIT),
        # ``?category=bogus`` listed every file without a word (the API refuses it: 422).
        "filter_problems": notices + (unknown_filters(form) if form.is_bound else []),
        # A few digits search nothing (a file number or an ID number is searched from 6 digits).
        "short_number": filters.q.strip().isdigit() and len(filters.q.strip()) < 6,
        # Under the box (an htmx answer replaces it out of band): an ID number Excel turned into 5.32923E+17.
        "search_hint": selectors.search_hint(filters.q),
        "partial": _htmx_partial(request),
    }
    template = "web/_household_results.html" if _htmx_partial(request) else "web/household_list.html"
    return render(request, template, context)


def _with_decided_category(households: list[Household]) -> list[Household]:
    """The page's households, each marked with the category its current identification decision
    puts in force where that is not the file's own (``decided_label``; one query a page): the
    file keeps the category it was approved with, and the list shows which files the rules now
    see otherwise."""
    from bangfu.eligibility.models import DecisionCategory, EligibilityDecision
    from bangfu.eligibility.selectors import file_not_eligible

    decisions = EligibilityDecision.objects.current().filter(household_id__in=[h.pk for h in households])
    fields = ("household_id", "category", "override_status", "overridden_category", "override_replaces")
    current = {d.household_id: d for d in decisions.only(*fields)}
    labels = dict(DecisionCategory.choices)
    for h in households:
        d = current.get(h.pk)
        category = d.effective_category if d is not None else None
        h.decided_label = str(labels.get(category, category)) if category and category != h.category else ""  # type: ignore[attr-defined]
        # An open file of a household found not eligible: to be taken to its exit or removal.
        h.not_eligible = file_not_eligible(h, d)  # type: ignore[attr-defined]
    return households


# A file's parts, as an edit's timeline event names them (``registry.services.snapshot``'s keys).
_PART_LABELS = {
    "members": gettext_lazy("members"),
    "incomes": gettext_lazy("incomes"),
    "rigid_expenses": gettext_lazy("rigid expenses"),
    "homes": gettext_lazy("homes"),
    "vehicles": gettext_lazy("vehicles"),
    "business_roles": gettext_lazy("business roles"),
    "bank_account": gettext_lazy("bank account"),
}


def changed_field_label(name: str) -> str:
    """A changed field of a file in words: its part, or its field's name on the form."""
    if name in _PART_LABELS:
        return str(_PART_LABELS[name])
    try:
        field = Household._meta.get_field(name.removesuffix("_id"))
    except FieldDoesNotExist:
        return name
    return str(getattr(field, "verbose_name", name))


def _timeline(request: HttpRequest, household: Household) -> list[tuple[TimelineEvent, str]]:
    # Each capability names the events it writes on the one household timeline.
    known = {
        **dict(codes.TimelineKind.choices),
        **ELIGIBILITY_TIMELINE_KINDS,
        **INTAKE_TIMELINE_KINDS,
        **MATCHING_TIMELINE_KINDS,
    }
    events = selectors.household_timeline(actor=request.user, household=household)
    states = dict(codes.FileState.choices)
    out = []
    for ev in events:
        label = str(known.get(ev.kind, ev.kind))
        data = ev.data if isinstance(ev.data, dict) else {}
        if ev.kind == codes.TimelineKind.FILE_UPDATED and isinstance(data.get("fields"), list) and data["fields"]:
            label = _("%(kind)s: %(fields)s") % {
                "kind": label,
                "fields": pgettext("between the items of a list", ", ").join(
                    changed_field_label(f) for f in data["fields"]
                ),
            }
        elif ev.kind == codes.TimelineKind.STATE_CHANGED and data.get("from") in states and data.get("to") in states:
            label = _("%(kind)s: %(from)s → %(to)s") % {
                "kind": label,
                "from": states[data["from"]],
                "to": states[data["to"]],
            }
        out.append((ev, label))
    return out


@login_required
def household_detail(request: HttpRequest, pk: int) -> HttpResponse:
    h = selectors.household_get(actor=request.user, household_id=pk)
    members = list(h.members.all())
    selectors.mask_phones(request.user, h.unit, members)
    context = {
        "h": h,
        "head": next((m for m in members if m.relationship == codes.Relationship.HEAD), None),
        "members": members,
        "secondary_causes": [codes.Cause(c).label for c in h.secondary_causes if c in codes.Cause.values],
        "timeline": _timeline(request, h),
        "can_reveal": access.has_perm(request.user, Perm.PERSONAL_REVEAL, h.unit),
        "can_edit": access.has_perm(request.user, Perm.HOUSEHOLD_EDIT, h.unit),
    }
    return render(request, "web/household_detail.html", context)


def _edit_units(request: HttpRequest) -> list[Any]:
    units = list(selectors.unit_choices(actor=request.user, perm=Perm.HOUSEHOLD_EDIT))
    if not units:
        raise PermissionDenied(Perm.HOUSEHOLD_EDIT.value)
    return units


def _save(request: HttpRequest, forms: HouseholdForms, household: Household | None) -> Household | None:
    """Call the service with the form's input; on failure put its errors on the forms."""
    if not forms.is_valid():
        # Every problem at once: what the service says of the values the forms could read, beside
        # their own errors (a negative amount hid a check digit, a phone, a person on another file).
        try:
            problems = services.household_problems(
                actor=request.user, data=forms.to_input(), household_id=household.pk if household is not None else None
            )
        except ValidationError as exc:  # a member key not of this file: said before the rest, as the save does
            problems = field_errors(exc)
        forms.apply_errors(problems)
        return None
    data = forms.to_input()
    try:
        # The household is decided again from the file as saved, as the yearly review's changes are:
        # the identification page never shows reasons from the file before the edit.
        with transaction.atomic():
            if household is None:
                saved = services.household_create(actor=request.user, data=data)
            else:
                saved = services.household_update(
                    actor=request.user, household_id=household.pk, data=data, expected_version=forms.expected_version
                )
            decision = decision_compute(actor=request.user, household_id=saved.pk)
            category_follows(
                before=household.category if household is not None else None, after=saved.category, decision=decision
            )
        return saved
    except ValidationError as exc:
        forms.apply_errors(field_errors(exc))
    except DomainError as exc:
        forms.page_errors.append(exc.message)
        forms.conflict = household is not None and exc.code == ErrorCode.CONFLICT
    return None


def _form_page(request: HttpRequest, forms: HouseholdForms, household: Household | None) -> HttpResponse:
    # A formset's ``errors`` is one dict per row, a non-empty list even when every dict is empty.
    marked = any(f.total_error_count() if isinstance(f, BaseFormSet) else f.errors for f in forms.all_forms())
    has_errors = bool(forms.page_errors) or marked
    context = {
        "forms": forms,
        "h": household,
        "has_errors": request.method == "POST" and has_errors,
        # "correct the marked fields" only when some are marked (not for someone else's change).
        "fields_marked": marked,
    }
    return render(request, "web/household_form.html", context, status=400 if context["has_errors"] else 200)


@login_required
def household_create(request: HttpRequest) -> HttpResponse:
    units = _edit_units(request)
    forms = HouseholdForms(request.POST if request.method == "POST" else None, units=units)
    if request.method == "POST":
        h = _save(request, forms, None)
        if h is not None:
            messages.success(request, _("File %(number)s was opened.") % {"number": h.file_number})
            return redirect("web:household_detail", pk=h.pk)
    return _form_page(request, forms, None)


@login_required
def household_edit(request: HttpRequest, pk: int) -> HttpResponse:
    h = selectors.household_get(actor=request.user, household_id=pk)
    access.require(request.user, Perm.HOUSEHOLD_EDIT, h.unit)
    units = _edit_units(request)
    forms = HouseholdForms(request.POST if request.method == "POST" else None, units=units, household=h)
    if request.method == "POST":
        saved = _save(request, forms, h)
        if saved is not None:
            messages.success(request, _("File %(number)s was saved.") % {"number": saved.file_number})
            return redirect("web:household_detail", pk=saved.pk)
    return _form_page(request, forms, h)


def _revealed(request: HttpRequest, value: str) -> HttpResponse:
    back = request.POST.get("back", "")
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        back = ""
    template = "web/_revealed.html" if _htmx_partial(request) else "web/revealed.html"
    response = render(request, template, {"value": value, "back": back})
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def member_id_reveal(request: HttpRequest, member_id: int) -> HttpResponse:
    value = services.member_id_reveal(actor=request.user, member_id=member_id, reason=request.POST.get("reason", ""))
    return _revealed(request, value)


@login_required
@require_POST
def bank_card_reveal(request: HttpRequest, pk: int) -> HttpResponse:
    value = services.bank_card_reveal(actor=request.user, household_id=pk, reason=request.POST.get("reason", ""))
    return _revealed(request, value)


@login_required
def unit_options(request: HttpRequest) -> HttpResponse:
    """The ``<option>``s of a union picker's search (``widgets.UnitPicker``): unions in the
    user's jurisdiction for the permission asked, by name or code, the chosen one first."""
    try:
        perm = Perm(request.GET.get("perm", Perm.HOUSEHOLD_VIEW.value))
    except ValueError:
        perm = Perm.HOUSEHOLD_VIEW
    q = request.GET.get("q", "").strip()[:50]
    units = access.units(request.user, perm).select_related("parent").order_by("path")
    selected_id = request.GET.get("selected", "")
    selected_ok = selected_id.isascii() and selected_id.isdigit() and len(selected_id) <= 18
    selected = units.filter(pk=int(selected_id)).first() if selected_ok else None
    if q:
        found = list(
            units.filter(Q(name__icontains=q) | Q(division_code__startswith=q) | Q(code__startswith=q))[
                :PICKER_SEARCH_LIMIT
            ]
        )
    else:
        # What the picker lists before a search: among the top two levels (one more than the
        # list holds is enough to know they are too many), the unions shown_units keeps.
        top = units.aggregate(top=Min("level"))["top"]
        near = list(units.filter(level__lte=top + 1)[: PICKER_FULL_LIST + 1]) if top is not None else []
        keep = shown_units(near)
        found = [u for u in near if u.pk in keep]
    for u in found:
        # A search result is out of its place in the tree: its parent tells two namesakes apart.
        parent = u.parent.name if q and u.parent else ""
        u.label = f"{u.name} · {parent}" if parent else u.name  # type: ignore[attr-defined]
    context = {"units": found, "selected": selected, "q": q, "blank": request.GET.get("blank")}
    return render(request, "web/_unit_options.html", context)
