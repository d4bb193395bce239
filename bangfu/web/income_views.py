"""The household page's monthly income follow-up (收入跟踪): the section listing the last twelve
months and the small form that records one (htmx, or a plain POST without JavaScript).

The section is drawn by the ``income_followup`` template tag on the household page; the form posts
to ``income_record_add``, which calls ``registry.income_records.income_record_add`` and answers
with the refreshed section (htmx) or a redirect back to the page (plain POST).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from bangfu.common.errors import DomainError, ErrorCode, field_errors
from bangfu.common.text import not_a_number, plain_amount
from bangfu.org import access
from bangfu.org.access import Perm
from bangfu.registry import income_records, selectors
from bangfu.registry.income_records import IncomeRecordInput, add_months, month_start, parse_amount, parse_month
from bangfu.registry.models import Household, IncomeRecordSource

FOLLOW_UP_MONTHS = 12
SECTION_TEMPLATE = "web/_income_followup.html"


class IncomeRecordForm(forms.Form):
    """Parses what the browser sends; the service checks the values and names each bad field."""

    month = forms.CharField(
        label=gettext_lazy("Month"),
        required=False,
        widget=forms.TextInput(attrs={"type": "month", "placeholder": "YYYY-MM", "class": "form-control"}),
    )
    net_income = forms.CharField(
        label=gettext_lazy("Household net income (yuan)"),
        required=False,
        help_text=gettext_lazy("All counted income that month less rigid expenses."),
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off", "class": "form-control"}),
    )
    members = forms.IntegerField(
        label=gettext_lazy("Members sharing it"),
        required=False,
        widget=forms.NumberInput(attrs={"min": 1, "max": 20, "class": "form-control"}),
    )
    source = forms.ChoiceField(
        label=gettext_lazy("Source"),
        required=False,
        choices=[("", "—"), *IncomeRecordSource.choices],
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    note = forms.CharField(
        label=gettext_lazy("Note"),
        required=False,
        max_length=200,
        widget=forms.TextInput(attrs={"class": "form-control"}),
    )
    replace = forms.BooleanField(
        label=gettext_lazy("Replace the record already kept for the month chosen"),
        required=False,
        widget=forms.CheckboxInput(attrs={"class": "form-check-input"}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            setattr(field, "grid", "col-6 col-md-4")  # noqa: B010 - read by web/_field.html

    def to_input(self) -> IncomeRecordInput:
        d = self.cleaned_data
        return IncomeRecordInput(
            month=parse_month(d["month"] or ""),
            net_income=parse_amount(d["net_income"] or ""),
            members=d["members"],
            source=d["source"] or "",
            note=d["note"] or "",
            replace=bool(d["replace"]),
        )

    def readable_input(self) -> IncomeRecordInput:
        """``to_input`` of a form some of whose values could not be read (a field in error is
        given as not given; the service's words for it are left out by ``apply_errors``)."""
        d = {k: v for k, v in self.cleaned_data.items() if k not in self.errors}
        return IncomeRecordInput(
            month=parse_month(d.get("month") or ""),
            net_income=parse_amount(d.get("net_income") or ""),
            members=d.get("members"),
            source=d.get("source") or "",
            note=d.get("note") or "",
            replace=bool(d.get("replace")),
        )

    def apply_errors(self, errors: dict[str, list[str]]) -> None:
        typed = plain_amount(self.cleaned_data.get("net_income") or "")
        amount = parse_amount(typed)
        for name, texts in errors.items():
            if name in self.errors:
                continue  # a value that could not be read: its own error says it
            for text in texts:
                if name == "net_income" and amount is not None and amount.is_nan():
                    text = not_a_number(typed)  # names a comma not between thousands, as typed
                self.add_error(name if name in self.fields else None, text)


def _action(household: Household) -> str | None:
    """Where the form posts; None (no form) when the page's URLs do not offer it."""
    try:
        return reverse("web:income_record_add", args=[household.pk])
    except NoReverseMatch:
        return None


def followup_context(
    request: HttpRequest,
    household: Household,
    form: IncomeRecordForm | None = None,
    *,
    show_replace: bool = False,
    saved: str = "",
) -> dict[str, Any]:
    """What the section shows: the last twelve months (newest first, gaps included) and the form."""
    today = timezone.localdate()
    since = add_months(today, -(FOLLOW_UP_MONTHS - 1))
    records = list(selectors.income_record_list(actor=request.user, household_id=household.pk).filter(month__gte=since))
    can_add = access.has_perm(request.user, Perm.HOUSEHOLD_EDIT, household.unit)
    if form is None:
        last_month = add_months(month_start(today), -1)
        form = IncomeRecordForm(
            initial={"month": f"{last_month:%Y-%m}", "members": max(household.members_living_together, 1)}
        )
    return {
        "h": household,
        "months": income_records.follow_up_months(records, today, FOLLOW_UP_MONTHS),
        "form": form,
        "can_add": can_add,
        "action": _action(household) if can_add else None,
        "show_replace": show_replace,
        "saved": saved,
        "request": request,
    }


def _htmx(request: HttpRequest) -> bool:
    htmx: Any = getattr(request, "htmx", None)
    return bool(htmx)


@login_required
@require_POST
def income_record_add(request: HttpRequest, pk: int) -> HttpResponse:
    household = selectors.household_get(actor=request.user, household_id=pk)  # 404 outside the jurisdiction
    form = IncomeRecordForm(request.POST)
    show_replace = False
    if not form.is_valid():
        # Every problem at once: what the service says of the values that could be read, beside
        # the form's own errors (members "2.5" hid a month "abc" and a missing source).
        form.apply_errors(
            income_records.income_record_problems(
                actor=request.user, household_id=household.pk, data=form.readable_input()
            )
        )
    else:
        try:
            done = income_records.income_record_add(actor=request.user, household_id=household.pk, data=form.to_input())
        except ValidationError as exc:
            form.apply_errors(field_errors(exc))
        except DomainError as exc:
            form.add_error("month", exc.message)
            show_replace = exc.code == ErrorCode.CONFLICT
        else:
            month = f"{done.record.month:%Y-%m}"
            text = (
                _("The income of %(month)s was corrected.") % {"month": month}
                if done.replaced
                else _("The income of %(month)s was recorded.") % {"month": month}
            )
            if _htmx(request):
                household.refresh_from_db(fields=["version", "updated_at"])
                return render(request, SECTION_TEMPLATE, followup_context(request, household, saved=text))
            messages.success(request, text)
            return redirect(reverse("web:household_detail", args=[household.pk]) + "#income-followup")
    context = followup_context(request, household, form, show_replace=show_replace)
    if _htmx(request):
        # htmx swaps only successful answers: the section comes back with the errors under the fields.
        return render(request, SECTION_TEMPLATE, context)
    return render(request, "web/income_followup.html", context, status=400)
