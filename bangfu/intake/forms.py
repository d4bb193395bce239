"""The application form on the phone (and at the counter): flat fields plus a members formset and
income/expense formsets, turned into the JSON the services keep; service errors go back under
their fields."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext, pgettext_lazy

from bangfu.registry import codes
from bangfu.registry.validation import HOUSEHOLD_TEXT
from bangfu.web.templatetags.punctuation import list_comma

from .models import ApplicationKind


def _choices(enum: Any) -> list[tuple[Any, Any]]:
    return [("", "—"), *enum.choices]


class Styled(forms.Form):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for f in self.fields.values():
            w = f.widget
            # A list of boxes gets the class on each box (intake/_field.html lays them out); Django
            # would also give it to the list's own container, squeezing it to a box's width.
            if isinstance(w, forms.CheckboxSelectMultiple | forms.CheckboxInput):
                w.attrs.setdefault("class", "form-check-input")
            elif isinstance(w, forms.Select):
                w.attrs.setdefault("class", "form-select")
            else:
                w.attrs.setdefault("class", "form-control")


# A box a phone fills in with a number opens the keyboard for it (``inputmode``): the phone pad for a
# phone number, digits and a point for an amount or an area, digits for a card number. An ID number
# can end in X, which no number pad has: its box is a text box (in capitals, no spelling help) that
# app.js makes a number pad with an X key beside it; ``data-id-number`` names that key.
def _keyboard(mode: str) -> forms.TextInput:
    return forms.TextInput(attrs={"inputmode": mode, "autocomplete": "off"})


def id_number_box() -> forms.TextInput:
    return forms.TextInput(
        attrs={
            "inputmode": "text",
            "autocomplete": "off",
            "autocapitalize": "characters",
            "spellcheck": "false",
            "data-id-number": _("Type X (the last character of some ID numbers)"),
        }
    )


YEARLY_HINT = _("The whole year's total: for a monthly payment, the monthly amount × the months.")


class HouseholdPart(Styled):
    address = forms.CharField(label=_("Address"), max_length=200, required=False)
    housing_type = forms.ChoiceField(label=_("Housing"), choices=_choices(codes.HousingType), required=False)
    housing_area = forms.CharField(
        label=_("Floor area (m²)"), max_length=12, required=False, widget=_keyboard("decimal")
    )
    main_cause = forms.ChoiceField(label=_("Main cause of hardship"), choices=_choices(codes.Cause), required=False)
    secondary_causes = forms.MultipleChoiceField(
        label=_("Secondary causes (up to three)"),
        choices=codes.Cause.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    cause_note = forms.CharField(label=_("Describe the cause"), max_length=HOUSEHOLD_TEXT["cause_note"], required=False)
    bank = forms.CharField(label=_("Bank"), max_length=60, required=False)
    branch = forms.CharField(label=_("Branch"), max_length=60, required=False)
    holder_name = forms.CharField(label=_("Account holder"), max_length=60, required=False)
    card_number = forms.CharField(label=_("Card number"), max_length=30, required=False, widget=_keyboard("numeric"))

    def __init__(self, *args: Any, kind: str = ApplicationKind.FORMAL, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if kind == ApplicationKind.TEMPORARY:
            # Temporary aid is asked for a sudden hardship: the box says what the centre decides on
            # at once (the same field as a file's cause note, which the aid's file keeps).
            note = self.fields["cause_note"]
            note.label = _("What happened, and what help is needed")
            note.help_text = _(
                "The sudden hardship (an accident, an illness, a disaster, a job lost …) and the help asked for now."
            )
            note.widget = forms.Textarea(
                attrs={"class": "form-control", "rows": 3, "maxlength": str(HOUSEHOLD_TEXT["cause_note"])}
            )


class MemberPart(Styled):
    relationship = forms.ChoiceField(label=_("Relationship"), choices=_choices(codes.Relationship), required=False)
    name = forms.CharField(label=_("Name"), max_length=60, required=False)
    # Room for an ID typed with spaces or dashes ("532923 19800101 1234"); the services normalise it.
    id_number = forms.CharField(label=_("ID number"), max_length=30, required=False, widget=id_number_box())
    phone = forms.CharField(label=_("Phone"), max_length=20, required=False, widget=_keyboard("tel"))
    identity = forms.ChoiceField(label=_("Identity"), choices=_choices(codes.Identity), required=False)
    work_status = forms.ChoiceField(label=_("Work status"), choices=_choices(codes.WorkStatus), required=False)
    health = forms.ChoiceField(label=_("Health"), choices=_choices(codes.Health), required=False)
    employer = forms.CharField(label=_("Employer or school"), max_length=100, required=False)
    monthly_income = forms.CharField(
        label=_("Monthly income (yuan)"), max_length=14, required=False, widget=_keyboard("decimal")
    )


class AmountPart(Styled):
    kind = forms.ChoiceField(label=_("Kind"), required=False)
    # Beside the members' monthly incomes: the hint says it is the year's total (a monthly benefit
    # typed as it is paid read as a twelfth of itself, and the household's income per head fell).
    amount_yearly = forms.CharField(
        label=_("Amount a year (yuan)"),
        max_length=14,
        required=False,
        help_text=YEARLY_HINT,
        widget=_keyboard("decimal"),
    )

    def __init__(self, *args: Any, kinds: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = _choices(kinds or codes.IncomeKind)  # type: ignore[attr-defined]


MemberFormSet = forms.formset_factory(MemberPart, extra=1, max_num=20, absolute_max=20)
AmountFormSet = forms.formset_factory(AmountPart, extra=1, max_num=20, absolute_max=20)
MEMBER_KEYS = list(MemberPart.base_fields)
BANK_KEYS = ("bank", "branch", "holder_name", "card_number")


class ApplicationForms:
    """The whole form bound together; ``form_data()`` is what the services keep."""

    def __init__(
        self, post: Any = None, *, initial: dict[str, Any] | None = None, kind: str = ApplicationKind.FORMAL
    ) -> None:
        initial = initial or {}
        bank = initial.get("bank_account") or {}
        top = {k: initial.get(k) for k in HouseholdPart.base_fields if k in initial}
        top.update({k: bank.get(k) for k in BANK_KEYS if bank.get(k)})
        self.household = HouseholdPart(post, initial=top, prefix="h", kind=kind)
        members = initial.get("members") or [{"relationship": codes.Relationship.HEAD}]
        self.members = MemberFormSet(post, initial=[{k: m.get(k) for k in MEMBER_KEYS} for m in members], prefix="m")
        self.incomes = AmountFormSet(
            post, initial=initial.get("incomes") or [], prefix="i", form_kwargs={"kinds": codes.IncomeKind}
        )
        self.expenses = AmountFormSet(
            post, initial=initial.get("rigid_expenses") or [], prefix="e", form_kwargs={"kinds": codes.RigidExpenseKind}
        )
        self.page_errors: list[str] = []
        self._rows: dict[str, list[Any]] = {}
        # The version the values on the page were based on (the form's optimistic lock): what the
        # draft held when it was opened, kept when the form comes back refused, so that saving
        # it again cannot overwrite a change made meanwhile.
        self.version: int | str | None = None
        self.saved = False  # the draft took what was posted (a submit refused after the save)
        # Saved meanwhile (another tab, or someone else): (label, saved now, typed) of each field
        # that differs, shown beside the form.
        self.conflict = False
        self.differences: list[tuple[str, str, str]] = []

    def is_valid(self) -> bool:
        return all(
            [self.household.is_valid(), self.members.is_valid(), self.incomes.is_valid(), self.expenses.is_valid()]
        )

    @staticmethod
    def _kept(formset: Any) -> list[Any]:
        return [f for f in formset.forms if any(v not in ("", None, []) for v in f.cleaned_data.values())]

    def form_data(self) -> dict[str, Any]:
        cd = self.household.cleaned_data
        members = self._kept(self.members)
        incomes, expenses = self._kept(self.incomes), self._kept(self.expenses)
        self._rows = {"members": members, "incomes": incomes, "rigid_expenses": expenses}
        out: dict[str, Any] = {k: cd.get(k) for k in HouseholdPart.base_fields if k not in BANK_KEYS}
        out["secondary_causes"] = list(cd.get("secondary_causes") or [])
        out["members"] = [{k: v for k, v in f.cleaned_data.items() if v not in ("", None)} for f in members]
        out["incomes"] = [f.cleaned_data for f in incomes]
        out["rigid_expenses"] = [f.cleaned_data for f in expenses]
        bank = {k: cd.get(k) or "" for k in BANK_KEYS}
        out["bank_account"] = bank if any(bank.values()) else None
        return out

    def apply_errors(self, errors: dict[str, list[str]]) -> None:
        for path, messages in errors.items():
            head, _dot, rest = path.partition(".")
            if head in self._rows:
                index, _dot, field = rest.partition(".")
                rows = self._rows[head]
                if index.isdigit() and int(index) < len(rows) and field in rows[int(index)].fields:
                    rows[int(index)].add_error(field, messages)
                    continue
                self.page_errors.extend(messages)
            elif head == "bank_account" and rest in BANK_KEYS:
                self.household.add_error(rest, messages)
            elif head in self.household.fields:
                self.household.add_error(head, messages)
            else:
                self.page_errors.extend(messages)

    @property
    def has_field_errors(self) -> bool:
        return bool(
            self.household.errors
            or any(f.errors for fs in (self.members, self.incomes, self.expenses) for f in fs.forms)
        )

    @property
    def has_errors(self) -> bool:
        return bool(
            self.page_errors
            or self.household.errors
            or any(f.errors for fs in (self.members, self.incomes, self.expenses) for f in fs.forms)
        )


def _shown(field: forms.Field, value: Any) -> str:
    """A form value as the form shows it: a code by its label, a list joined."""
    if value in (None, "", []):
        return ""
    choices = {str(k): label for k, label in getattr(field, "choices", None) or []}
    if isinstance(value, list):
        return list_comma().join(str(choices.get(str(v), v)) for v in value)
    return str(choices.get(str(value), value))


def differences(saved: dict[str, Any], typed: dict[str, Any], *, kind: str) -> list[tuple[str, str, str]]:
    """(label, saved, typed) of each field of the form whose value differs between two forms'
    data (as ``ApplicationForms.form_data`` and the services keep it), in the form's order; a row
    of a list named by its place ("Member 2: Name")."""
    out: list[tuple[str, str, str]] = []
    top = HouseholdPart(kind=kind).fields

    def compare(label: Any, field: forms.Field, a: Any, b: Any) -> None:
        shown_a, shown_b = _shown(field, a), _shown(field, b)
        if shown_a != shown_b:
            out.append((str(label), shown_a, shown_b))

    saved_bank, typed_bank = saved.get("bank_account") or {}, typed.get("bank_account") or {}
    for name, field in top.items():
        if name in BANK_KEYS:
            continue
        compare(field.label, field, saved.get(name), typed.get(name))
    rows: list[tuple[str, Any, dict[str, forms.Field]]] = [
        ("members", _("Member"), MemberPart().fields),
        ("incomes", _("Other income"), AmountPart(kinds=codes.IncomeKind).fields),
        ("rigid_expenses", _("Rigid expense"), AmountPart(kinds=codes.RigidExpenseKind).fields),
    ]
    for key, what, fields in rows:
        a_rows, b_rows = saved.get(key) or [], typed.get(key) or []
        for i in range(max(len(a_rows), len(b_rows))):
            a = a_rows[i] if i < len(a_rows) and isinstance(a_rows[i], dict) else {}
            b = b_rows[i] if i < len(b_rows) and isinstance(b_rows[i], dict) else {}
            for name, field in fields.items():
                label = pgettext("a field of a numbered row of a form", "%(what)s %(n)s: %(field)s") % {
                    "what": what,
                    "n": i + 1,
                    "field": field.label,
                }
                compare(label, field, a.get(name), b.get(name))
    for name in BANK_KEYS:
        compare(top[name].label, top[name], saved_bank.get(name), typed_bank.get(name))
    return out


class NewApplicationForm(Styled):
    unit_id = forms.TypedChoiceField(label=_("Your union"), coerce=int)
    kind = forms.ChoiceField(label=_("Kind"), choices=ApplicationKind.choices, initial=ApplicationKind.FORMAL)

    def __init__(self, *args: Any, units: Any, counter: bool = False, **kwargs: Any) -> None:
        """``units``: grassroots unions in tree order, with their parents. A province has hundreds,
        so they are grouped under their county's union, and none is chosen unless there is one.
        ``counter``: a cadre applies on a worker's behalf (the worker's union, not "your union")."""
        super().__init__(*args, **kwargs)
        groups: dict[str, list[tuple[int, str]]] = {}
        for u in units:
            groups.setdefault(u.parent.name, []).append((u.pk, u.name))
        blank = _("Choose the worker's union") if counter else _("Choose your union")
        if counter:
            self.fields["unit_id"].label = _("The worker's union")
        self.fields["unit_id"].choices = [("", blank), *groups.items()]  # type: ignore[attr-defined]
        if sum(len(options) for options in groups.values()) == 1:  # a cadre of one union
            self.fields["unit_id"].initial = next(iter(groups.values()))[0][0]


# A date box takes the ISO form whatever the language (zh-hans would render 2026/11/30, which the
# browser drops, leaving the box empty).
_DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class VisitForm(Styled):
    visited_on = forms.DateField(label=_("Visited on"), widget=_DATE)
    visitors = forms.CharField(label=_("Visitors"), max_length=200)
    seen = forms.CharField(label=_("Seen (the home)"), widget=forms.Textarea(attrs={"rows": 2}))
    asked = forms.CharField(label=_("Asked (living situation)"), widget=forms.Textarea(attrs={"rows": 2}))
    explained = forms.CharField(label=_("Explained (policies)"), widget=forms.Textarea(attrs={"rows": 2}))
    findings = forms.CharField(label=pgettext_lazy("home visit", "Findings"), widget=forms.Textarea(attrs={"rows": 2}))


class ReviewForm(Styled):
    held_on = forms.DateField(label=_("Unit review held on"), widget=_DATE)
    minutes = forms.CharField(label=_("Minutes"), widget=forms.Textarea(attrs={"rows": 3}))


class ObjectionForm(Styled):
    received_on = forms.DateField(label=_("Received on"), widget=_DATE)
    text = forms.CharField(label=_("Objection"), widget=forms.Textarea(attrs={"rows": 2}))
