"""Forms of the identification settings pages: a standard, a rule set, a what-if.

The forms only parse what the browser sends (numbers, dates, yes/no); every rule about the values
— what is required, what range, whether a rule set is consistent — is checked by
``services.standard_clean`` and ``services.ruleset_check``, whose field errors ``apply_errors``
puts back under the fields they name.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django import forms
from django.utils.translation import gettext_lazy as _

from bangfu.common.text import without_currency
from bangfu.org.models import OrgUnit

from .rules import RuleSet
from .rules.model import Comparison

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

STANDARD_FIELDS = (
    "dibao_monthly",
    "minimum_wage_monthly",
    "housing_area_per_head",
    "disposable_income_per_head_last_year",
)
FULL = "col-12"
HALF = "col-12 col-sm-6"
QUARTER = "col-6 col-sm-4"


@dataclass(frozen=True)
class Param:
    """One rule-set parameter as the pages show it."""

    name: str
    label: StrOrPromise
    group: StrOrPromise


G_LINES = _("Income lines")
G_INCOME = _("Income counted")
G_ACCIDENT = _("Hardship by accident")
G_EXIT = _("Exit and migrant workers")
G_LEGACY = _("Legacy scheme (files from before 2018)")
G_DISQUALIFY = _("Disqualifiers")

# Every parameter of ``rules.RuleSet`` but its version, in the order the pages show them.
PARAMS: tuple[Param, ...] = (
    Param("deep_multiple", _("Deep hardship: multiple of the dibao"), G_LINES),
    Param("relative_multiple", _("Relative hardship: multiple of the dibao"), G_LINES),
    Param("comparison", _("Comparison with the line"), G_LINES),
    Param(
        "require_below_disposable_income",
        _("Also require income per head below last year's disposable income per head"),
        G_LINES,
    ),
    Param("impute_minimum_wage", _("Count able working-age members without a job at the minimum wage"), G_INCOME),
    Param("working_age_from", _("Working age from"), G_INCOME),
    Param("working_age_to", _("Working age to"), G_INCOME),
    Param("count_union_aid", _("Union aid already paid counts as income"), G_INCOME),
    Param("accident_test", _("Accident test by share of income"), G_ACCIDENT),
    Param("accident_share", _("Hardship costs above this share of household income (0–1)"), G_ACCIDENT),
    Param("exit_months", _("Exit test: months in a row above the line"), G_EXIT),
    Param("migrant_min_employment_years", _("Migrant workers: years of employment at least"), G_EXIT),
    Param("legacy_dibao_multiple", _("Dibao household: below this multiple"), G_LEGACY),
    Param("legacy_edge_multiple", _("Near-dibao household: up to this multiple"), G_LEGACY),
    Param("legacy_accident_multiple", _("Accident household: up to this multiple"), G_LEGACY),
    Param("disqualify_vehicles", _("A vehicle (other than a livelihood or disability vehicle)"), G_DISQUALIFY),
    Param("disqualify_business_roles", _("A role in an active company"), G_DISQUALIFY),
    Param("disqualify_homes", _("Two or more homes with much floor area"), G_DISQUALIFY),
    Param("homes_area_multiple", _("Floor area per head above this multiple of the housing standard"), G_DISQUALIFY),
    Param("disqualify_recent_home", _("A home bought or built in the year before"), G_DISQUALIFY),
    Param("disqualify_private_school", _("A costly private school or studying abroad at own expense"), G_DISQUALIFY),
    Param("private_school_ratio", _("Private school fees above this multiple of public ones"), G_DISQUALIFY),
)
PARAM_NAMES = tuple(p.name for p in PARAMS)
DEFAULTS = RuleSet()
COMPARISON_CHOICES = [(Comparison.LT.value, _("below (<)")), (Comparison.LE.value, _("at or below (≤)"))]
# A number with thousands separators (NFKC has made a full-width comma an ASCII one).
THOUSANDS = re.compile(r"[+-]?\d{1,3}(,\d{3})+(\.\d*)?")
YES_NO_UNCHANGED = [("", _("unchanged")), ("yes", _("yes")), ("no", _("no"))]


def normalise_number(value: Any) -> Any:
    """What people type into a number field: full-width digits, spaces, thousands separators, the
    currency beside an amount (``1,800元``).

    A comma is taken as a thousands separator only where it separates groups of three digits:
    "1,5" or "1.000,50" stay as typed (and are refused as numbers) rather than read as 15 or 1.00050."""
    if not isinstance(value, str):
        return value
    text = without_currency(unicodedata.normalize("NFKC", value)).replace(" ", "")
    if "," in text and not THOUSANDS.fullmatch(text):
        return text
    return text.replace(",", "")


class NumberText(forms.CharField):
    """A number kept as text: the service parses it and says what is wrong with it."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("max_length", 20)
        kwargs.setdefault("widget", forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}))
        super().__init__(**kwargs)

    def to_python(self, value: Any) -> Any:
        return normalise_number(super().to_python(value))


class ConfigForm(forms.Form):
    """Bootstrap classes on the widgets, ``is-invalid`` once a field has an error, and service
    errors put back under their fields."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._style()

    def _style(self) -> None:
        """Bootstrap classes on every widget (again after fields were added)."""
        for field in self.fields.values():
            widget = field.widget
            if isinstance(widget, forms.CheckboxInput):
                css = "form-check-input"
            elif isinstance(widget, forms.Select):
                css = "form-select"
            else:
                css = "form-control"
            if css not in widget.attrs.get("class", "").split():
                widget.attrs["class"] = (widget.attrs.get("class", "") + " " + css).strip()
            if not hasattr(field, "grid"):
                setattr(field, "grid", HALF)  # noqa: B010 - read by the shared field template

    def add_error(self, field: str | None, error: Any) -> None:
        super().add_error(field, error)
        if field and field in self.fields:
            widget = self.fields[field].widget
            if "is-invalid" not in widget.attrs.get("class", ""):
                widget.attrs["class"] = widget.attrs.get("class", "") + " is-invalid"

    def apply_errors(self, errors: dict[str, list[str]]) -> None:
        for name, messages in errors.items():
            target = name if name in self.fields else None
            for message in messages:
                self.add_error(target, message)


def _grid(field: forms.Field, grid: str) -> forms.Field:
    setattr(field, "grid", grid)  # noqa: B010 - read by the shared field template
    return field


class StandardForm(ConfigForm):
    dibao_monthly = _grid(NumberText(label=_("Urban dibao per month (yuan)")), HALF)
    minimum_wage_monthly = _grid(NumberText(label=_("Minimum wage per month (yuan)")), HALF)
    housing_area_per_head = _grid(NumberText(label=_("Housing standard per head (m²)")), HALF)
    disposable_income_per_head_last_year = _grid(
        NumberText(label=_("Last year's disposable income per head (yuan)")), HALF
    )
    effective_from = _grid(
        forms.DateField(
            label=_("Effective from"),
            required=False,
            widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            help_text=_("Within the standard's year; empty: 1 January."),
        ),
        HALF,
    )
    note = _grid(forms.CharField(label=_("Note"), max_length=200, required=False), HALF)


def _param_field(name: str, label: StrOrPromise, *, optional: bool) -> forms.Field:
    """The form field of one rule parameter; ``optional``: empty means "unchanged" (what-if)."""
    default = getattr(DEFAULTS, name)
    field: forms.Field
    if name == "comparison":
        choices = [("", _("unchanged")), *COMPARISON_CHOICES] if optional else COMPARISON_CHOICES
        field = forms.ChoiceField(label=label, choices=choices, required=not optional)
        return _grid(field, HALF)
    if isinstance(default, bool):
        if optional:
            return _grid(forms.ChoiceField(label=label, choices=YES_NO_UNCHANGED, required=False), HALF)
        return _grid(forms.BooleanField(label=label, required=False), FULL)
    if isinstance(default, int):
        field = forms.IntegerField(
            label=label, required=not optional, widget=forms.NumberInput(attrs={"inputmode": "numeric"})
        )
        return _grid(field, QUARTER)
    return _grid(NumberText(label=label, required=not optional), QUARTER)


class RuleSetForm(ConfigForm):
    """Every parameter of a rule set; submitted whole, published as a new version."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for p in PARAMS:
            self.fields[p.name] = _param_field(p.name, p.label, optional=False)
        self.fields["note"] = _grid(forms.CharField(label=_("Note"), max_length=200, required=False), FULL)
        self._style()

    def groups(self) -> list[tuple[str, list[forms.BoundField]]]:
        return _groups(self)

    def params(self) -> dict[str, Any]:
        """The cleaned parameters as JSON values (``RuleSet.from_params`` reads them)."""
        return {p.name: _json_value(self.cleaned_data.get(p.name)) for p in PARAMS}


def _json_value(value: Any) -> Any:
    return str(value) if isinstance(value, Decimal) else value


def _groups(form: forms.Form) -> list[tuple[str, list[forms.BoundField]]]:
    out: dict[str, list[forms.BoundField]] = {}
    for p in PARAMS:
        out.setdefault(str(p.group), []).append(form[p.name])
    return list(out.items())


def params_initial(params: dict[str, Any]) -> dict[str, Any]:
    """Form values from stored parameters (missing ones at their defaults)."""
    full = RuleSet.from_params({k: v for k, v in params.items() if k in PARAM_NAMES}).to_params()
    return {name: full[name] for name in PARAM_NAMES}


class AnyUnitField(forms.TypedChoiceField):
    """A unit offered from a list but not limited to it: the service answers a unit outside the
    jurisdiction as not found (404), as the other pages do."""

    def valid_value(self, value: Any) -> bool:
        return str(value).isascii() and str(value).isdigit() and len(str(value)) <= 18


class WhatIfForm(ConfigForm):
    """A unit, a date and the values to change; an empty field keeps today's value."""

    unit_id = _grid(AnyUnitField(label=_("Union"), coerce=int, choices=()), HALF)
    on = _grid(
        forms.DateField(
            label=_("Effective from"),
            widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        ),
        HALF,
    )
    dibao_monthly = _grid(NumberText(label=_("Urban dibao per month (yuan)")), HALF)
    minimum_wage_monthly = _grid(NumberText(label=_("Minimum wage per month (yuan)")), HALF)
    housing_area_per_head = _grid(NumberText(label=_("Housing standard per head (m²)")), HALF)
    disposable_income_per_head_last_year = _grid(
        NumberText(label=_("Last year's disposable income per head (yuan)")), HALF
    )
    note = _grid(forms.CharField(label=_("Note (kept with the saved versions)"), max_length=200, required=False), FULL)

    def __init__(self, *args: Any, units: Iterable[OrgUnit] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        units = list(units)
        top = min((u.level for u in units), default=0)
        self.fields["unit_id"].choices = [  # type: ignore[attr-defined]
            (u.pk, "\u2003" * max(0, u.level - top) + u.name) for u in units
        ]
        for p in PARAMS:
            self.fields[f"rule_{p.name}"] = _param_field(p.name, p.label, optional=True)
        self._style()

    def rule_groups(self) -> list[tuple[str, list[forms.BoundField]]]:
        out: dict[str, list[forms.BoundField]] = {}
        for p in PARAMS:
            out.setdefault(str(p.group), []).append(self[f"rule_{p.name}"])
        return list(out.items())

    def standard_changes(self) -> dict[str, Any]:
        return {k: self.cleaned_data[k] for k in STANDARD_FIELDS if self.cleaned_data.get(k) not in (None, "")}

    def rule_changes(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for p in PARAMS:
            value = self.cleaned_data.get(f"rule_{p.name}")
            if value in (None, ""):
                continue
            default = getattr(DEFAULTS, p.name)
            if isinstance(default, bool):
                out[p.name] = value == "yes"
            else:
                out[p.name] = _json_value(value)
        return out

    def apply_errors(self, errors: dict[str, list[str]]) -> None:
        """Service errors name standard fields as they are and rule parameters by their name."""
        renamed = {(f"rule_{k}" if k in PARAM_NAMES else k): v for k, v in errors.items()}
        super().apply_errors(renamed)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not self.errors and not self.standard_changes() and not self.rule_changes():
            raise forms.ValidationError(_("Change at least one value of the standard or the rules."))
        return data


__all__ = ["PARAMS", "PARAM_NAMES", "RuleSetForm", "StandardForm", "WhatIfForm", "params_initial"]
