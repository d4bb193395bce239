"""Forms of the staff UI: they parse what the browser sends into ``registry.inputs`` and put the
services' validation errors back under the fields they belong to.

The forms hold no business rules: which fields are required, which causes may combine, whether an
ID number is valid — all of that is checked by ``registry.services`` (via ``registry.validation``),
whose ``ValidationError`` paths (``members.1.id_number``) ``HouseholdForms.apply_errors`` maps onto
the forms. Form fields only parse types (numbers, dates) and are otherwise optional.

Personal numbers on the edit form: an existing member's ID number and the bank card number are
never sent to the browser. The form shows the masked value and carries the member's primary key in
a hidden field; a blank ID field goes to ``household_update`` as ``MemberInput.member_id`` with an
empty ``id_number``, and the service keeps that member's stored number (refusing a key that is not
a member of the file). For the card, ``HouseholdForms.to_input`` itself fills a blank card number
with the stored one, decrypted on the server from the account of the household the access gate
returned, so the number never travels to the browser and back.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import fields as dc_fields
from decimal import Decimal
from typing import Any, ClassVar

from django import forms
from django.forms.formsets import BaseFormSet
from django.utils.translation import gettext_lazy as _

from bangfu.common import crypto
from bangfu.common.models import AuditAction
from bangfu.org.access import Perm
from bangfu.org.audit_log import OBJECT_TYPES, AuditFilters
from bangfu.org.models import OrgUnit
from bangfu.registry import codes
from bangfu.registry.inputs import (
    AmountInput,
    BankAccountInput,
    BusinessRoleInput,
    HomeInput,
    HouseholdInput,
    MemberInput,
    VehicleInput,
)
from bangfu.registry.models import Household, Member
from bangfu.registry.selectors import HouseholdFilters

from .widgets import UnitPicker

BLANK = [("", "—")]


def _choices(enum: Any, blank: bool = True) -> list[tuple[Any, Any]]:
    return (BLANK if blank else []) + list(enum.choices)


def _choice(enum: Any, label: Any, blank: bool = True, initial: str = "") -> forms.ChoiceField:
    return forms.ChoiceField(label=label, choices=_choices(enum, blank), required=False, initial=initial)


def _int_choice(enum: Any, label: Any) -> forms.TypedChoiceField:
    return forms.TypedChoiceField(label=label, choices=_choices(enum), coerce=int, empty_value=None, required=False)


def _date(label: Any) -> forms.DateField:
    return forms.DateField(
        label=label, required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )


def _text(label: Any, max_length: int, required: bool = False) -> forms.CharField:
    return forms.CharField(label=label, max_length=max_length, required=required)


def _money(label: Any, required: bool = False) -> forms.DecimalField:
    return forms.DecimalField(
        label=label,
        max_digits=12,
        decimal_places=2,
        min_value=0,
        required=required,
        widget=forms.NumberInput({"step": "0.01"}),
    )


def unit_label(unit: OrgUnit, top_level: int) -> str:
    return "\u2003" * max(0, unit.level - top_level) + unit.name


def unit_choices_for(units: Iterable[OrgUnit]) -> list[tuple[Any, str]]:
    units = list(units)
    top = min((u.level for u in units), default=0)
    return [(u.pk, unit_label(u, top)) for u in units]


WIDE = "col-12 col-sm-6 col-lg-3"
NARROW = "col-6 col-lg-3"


class StyledForm(forms.Form):
    """Bootstrap classes on every widget, and ``is-invalid`` on a field once it has an error."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            widget = field.widget
            if isinstance(widget, forms.CheckboxInput | forms.CheckboxSelectMultiple):
                css = "form-check-input"
            elif isinstance(widget, forms.Select):
                css = "form-select"
            else:
                css = "form-control"
            widget.attrs["class"] = (widget.attrs.get("class", "") + " " + css).strip()
            # Grid width in the templates: free text gets a full row on a phone, the rest half.
            wide = isinstance(widget, forms.TextInput) and not isinstance(widget, forms.NumberInput)
            setattr(field, "grid", WIDE if wide else NARROW)  # noqa: B010 - an attribute Field does not declare

    # Field → the fields whose values the service reads with it: a service error under the field
    # is not shown when one of these could not be read (``HouseholdForms.apply_errors``).
    read_with: ClassVar[dict[str, tuple[str, ...]]] = {}

    def unread(self, field: str) -> bool:
        """Whether the form said ``field``'s value, or one the service reads with it, could not be read."""
        return any(name in self.errors for name in (field, *self.read_with.get(field, ())))

    def add_error(self, field: str | None, error: Any) -> None:
        super().add_error(field, error)
        for name in [field] if field else []:
            if name in self.fields:
                widget = self.fields[name].widget
                if "is-invalid" not in widget.attrs.get("class", ""):
                    widget.attrs["class"] = widget.attrs.get("class", "") + " is-invalid"


# --- the household list filters ------------------------------------------------------------------


class AnyIntChoiceField(forms.TypedChoiceField):
    """An integer offered from a list, but not limited to it: the selector decides what a unit
    outside the list means (nothing found), so a stale or edited URL does not widen the list."""

    def valid_value(self, value: Any) -> bool:
        return str(value).isascii() and str(value).isdigit() and len(str(value)) <= 18


def unknown_filter_value(label: Any, value: Any) -> str:
    """What a list page says of a filter value it does not know (an address edited or kept from an
    older version), rather than listing everything without a word; the API refuses such a value."""
    return str(
        _("The filter “%(filter)s” does not know the value “%(value)s”: the list is not filtered by it.")
        % {"filter": label, "value": value}
    )


def unknown_filters(form: forms.Form) -> list[str]:
    """``unknown_filter_value`` for each of a filter form's fields whose value it does not read."""
    form.is_valid()
    return [
        unknown_filter_value(form.fields[name].label, form.data.get(name, ""))
        for name in form.fields
        if name in form.errors and name != "q" and form.data.get(name, "")
    ]


class HouseholdFilterForm(StyledForm):
    q = forms.CharField(
        label=_("Search"),
        required=False,
        max_length=100,
        widget=forms.TextInput(
            attrs={"type": "search", "placeholder": _("ID number, name, pinyin or file number"), "autocomplete": "off"}
        ),
    )
    unit = AnyIntChoiceField(
        label=_("Union"), coerce=int, empty_value=None, required=False, widget=UnitPicker(perm=Perm.HOUSEHOLD_VIEW)
    )
    category = _choice(codes.HardshipCategory, _("Category"))
    main_cause = _int_choice(codes.Cause, _("Main cause"))
    state = _choice(codes.FileState, _("State"))

    def __init__(self, *args: Any, units: Iterable[OrgUnit], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        units = list(units)
        self.fields["unit"].choices = [("", _("All unions")), *unit_choices_for(units)]  # type: ignore[attr-defined]
        self.fields["unit"].widget.set_units(units)

    def filters(self) -> HouseholdFilters:
        """The filters to apply: an invalid value (a tampered URL) is ignored, not an error page."""
        if not self.is_valid():
            valid = {k: v for k, v in self.cleaned_data.items() if k not in self.errors}
        else:
            valid = self.cleaned_data
        q = valid.get("q") or ""
        if "q" in self.errors:
            # Longer than any name, ID or file number (a pasted address): searched as cut, so that it
            # finds nothing rather than being dropped, which listed every file under the text.
            q = str(self.data.get("q", ""))[: self.fields["q"].max_length].strip()  # type: ignore[attr-defined]
        return HouseholdFilters(
            q=q,
            unit_id=valid.get("unit"),
            category=valid.get("category") or "",
            main_cause=valid.get("main_cause"),
            state=valid.get("state") or "",
        )


# --- the household file --------------------------------------------------------------------------


def _yuan_per_year(label: Any, help_text: Any) -> forms.DecimalField:
    """An optional amount of yuan a year, 0 or more, to the fen."""
    return forms.DecimalField(
        label=label,
        help_text=help_text,
        max_digits=12,
        decimal_places=2,
        min_value=0,
        required=False,
        widget=forms.NumberInput({"step": "0.01"}),
    )


class HouseholdForm(StyledForm):
    unit_id = forms.TypedChoiceField(
        label=_("Union keeping the file"),
        coerce=int,
        empty_value=None,
        required=False,
        widget=UnitPicker(perm=Perm.HOUSEHOLD_EDIT),
    )
    category = _choice(codes.HardshipCategory, _("Hardship category"))
    state = _choice(codes.FileState, _("File state"), blank=False, initial=codes.FileState.ACTIVE)
    tier = forms.ChoiceField(
        label=_("File tier"),
        choices=[("", _("From the union's level")), *codes.FileTier.choices],
        required=False,
    )
    is_migrant_worker = forms.BooleanField(label=_("Migrant worker household"), required=False)
    address = _text(_("Address"), 200)
    housing_type = _choice(codes.HousingType, _("Housing"))
    housing_area = forms.DecimalField(
        label=_("Floor area (m²)"),
        max_digits=8,
        decimal_places=2,
        required=False,
        widget=forms.NumberInput({"step": "0.01"}),
    )
    medical_insurance = _choice(codes.MedicalInsurance, _("Household medical insurance"))
    self_reliant = forms.BooleanField(label=_("Able to help itself"), required=False)
    # What identification reads beyond incomes and rigid expenses; blank is none (0).
    accident_costs_yearly = _yuan_per_year(
        _("Hardship costs this year after compensation and insurance (yuan)"),
        _(
            "Costs of a disaster, accident, epidemic or major illness this year, less what compensation and "
            "insurance paid: the accident test (hardship by accident) compares them with the household's income."
        ),
    )
    private_school_fees_yearly = _yuan_per_year(
        _("Private school fees per year (yuan)"),
        _("A child at a private school: its fees, compared with a public school's (a disqualifier)."),
    )
    public_school_fees_yearly = _yuan_per_year(
        _("Public school fees per year (yuan)"), _("What a public school at the same level would cost per year.")
    )
    studying_abroad_self_funded = forms.BooleanField(
        label=_("A child studies abroad at the family's own expense"), required=False
    )
    main_cause = _int_choice(codes.Cause, _("Main cause"))
    secondary_causes = forms.TypedMultipleChoiceField(
        label=_("Secondary causes (up to three)"),
        choices=codes.Cause.choices,
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    cause_note = _text(_("Cause details"), 200)
    filed_on = _date(_("Date filed"))
    filed_by_name = _text(_("Filed by"), 50)
    reviewed_by_name = _text(_("Reviewed by"), 50)
    version = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, units: Iterable[OrgUnit], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        units = list(units)
        self.fields["unit_id"].choices = BLANK + unit_choices_for(units)  # type: ignore[attr-defined]
        self.fields["unit_id"].widget.set_units(units)


class MemberForm(StyledForm):
    """One person. ``member_id`` keeps an existing member's identity (see the module docstring)."""

    member_id = forms.IntegerField(required=False, widget=forms.HiddenInput)
    relationship = forms.ChoiceField(
        label=_("Relationship to head"),
        choices=BLANK + [c for c in codes.Relationship.choices if c[0] != codes.Relationship.HEAD],
        required=False,
    )
    name = _text(_("Name"), 60)
    id_number = forms.CharField(
        label=_("ID number"), max_length=40, required=False, widget=forms.TextInput({"autocomplete": "off"})
    )
    sex = forms.ChoiceField(label=_("Sex"), choices=[("", _("From the ID number")), *codes.Sex.choices], required=False)
    birth_date = _date(_("Birth date"))
    ethnicity = _choice(codes.Ethnicity, _("Ethnicity"), blank=False, initial=codes.Ethnicity.HAN)
    living_together = forms.BooleanField(label=_("Lives in the household"), required=False, initial=True)
    deceased = forms.BooleanField(label=_("Deceased"), required=False)
    health = _choice(codes.Health, _("Health"), blank=False, initial=codes.Health.GOOD)
    disease_note = _text(_("Disease or disability details"), 200)
    disability_type = _choice(codes.DisabilityType, _("Disability type"))
    disability_grade = _int_choice(codes.DisabilityGrade, _("Disability grade"))
    medical_insurance = _choice(codes.MedicalInsurance, _("Medical insurance"))
    marital = _choice(codes.Marital, _("Marital status"))
    hukou = _choice(codes.Hukou, _("Hukou type"))
    phone = _text(_("Phone"), 20)
    identity = _choice(codes.Identity, _("Identity"))
    work_status = _choice(codes.WorkStatus, _("Work status"))
    monthly_income = _money(_("Monthly income (yuan)"))
    school_level = _choice(codes.SchoolLevel, _("School level"))
    enrolment_year = forms.IntegerField(label=_("Enrolment year"), required=False)
    programme_years = forms.IntegerField(label=_("Programme length (years)"), required=False)
    school_or_employer = _text(_("School or employer"), 100)
    political_status = _choice(codes.Political, _("Political status"))
    model_worker_level = _choice(codes.ModelWorkerLevel, _("Model-worker level"))
    work_start_date = _date(_("Date started work"))
    industry = _text(_("Industry"), 60)
    employer = _text(_("Employer"), 100)
    employer_type = _choice(codes.EmployerType, _("Employer type"))
    enterprise_state = _choice(codes.EnterpriseState, _("Enterprise state"))
    single_parent = forms.BooleanField(label=_("Single parent"), required=False)

    relationship_value = ""
    # A blank ID number keeps the stored one of the member the hidden key names.
    read_with: ClassVar[dict[str, tuple[str, ...]]] = {"id_number": ("member_id",)}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        masked = self.initial.get("id_masked")
        if masked:
            # An existing member: the number stays on the server unless a new one is typed.
            self.fields["id_number"].widget.attrs["placeholder"] = masked
            self.fields["id_number"].help_text = _("Leave blank to keep %(masked)s.") % {"masked": masked}

    def to_member(self, *, editing: bool, stored: Member | None = None) -> MemberInput:
        """``stored``: the member this row edits, whose fields the row does not show (the head's
        school, another member's political status…) are kept as they are, not blanked."""
        cd = self.cleaned_data
        values: dict[str, Any] = {}
        for f in dc_fields(MemberInput):
            if f.name in cd and cd[f.name] is not None:
                values[f.name] = cd[f.name]
            elif stored is not None and f.name not in self.fields and f.name not in _NOT_KEPT:
                values[f.name] = getattr(stored, f.name)
        values["relationship"] = self.relationship_value or cd.get("relationship", "")
        values["name"] = cd.get("name", "")
        values["id_number"] = (cd.get("id_number") or "").strip()
        # Only an edit names existing members; the service keeps the stored ID of a blank field.
        values["member_id"] = cd.get("member_id") if editing else None
        if cd.get("monthly_income") is None:
            values["monthly_income"] = Decimal(0)
        return MemberInput(**values)


# Never taken from the stored member: set by the row's kind or checked by the service.
_NOT_KEPT = frozenset({"relationship", "name", "id_number", "member_id", "sex", "birth_date"})


class HeadForm(MemberForm):
    """The head of household: always one, fields of the national form that apply to the head."""

    relationship = None  # type: ignore[assignment]
    living_together = None  # type: ignore[assignment]
    deceased = None  # type: ignore[assignment]
    school_level = None  # type: ignore[assignment]
    enrolment_year = None  # type: ignore[assignment]
    programme_years = None  # type: ignore[assignment]
    school_or_employer = None  # type: ignore[assignment]

    relationship_value = codes.Relationship.HEAD


class OtherMemberForm(MemberForm):
    political_status = None  # type: ignore[assignment]
    model_worker_level = None  # type: ignore[assignment]
    work_start_date = None  # type: ignore[assignment]
    industry = None  # type: ignore[assignment]
    employer = None  # type: ignore[assignment]
    employer_type = None  # type: ignore[assignment]
    enterprise_state = None  # type: ignore[assignment]
    single_parent = None  # type: ignore[assignment]


class IncomeForm(StyledForm):
    kind = forms.ChoiceField(label=_("Kind"), choices=_choices(codes.IncomeKind))
    amount_yearly = _money(_("Amount per year (yuan)"), required=True)
    note = _text(_("Note"), 200)

    def to_input(self) -> AmountInput:
        cd = self.cleaned_data  # a value the form could not read is not given (``HouseholdForms.to_input``)
        return AmountInput(kind=cd.get("kind", ""), amount_yearly=cd.get("amount_yearly"), note=cd.get("note", ""))


class RigidExpenseForm(IncomeForm):
    kind = forms.ChoiceField(label=_("Kind"), choices=_choices(codes.RigidExpenseKind))


class HomeForm(StyledForm):
    floor_area = forms.DecimalField(
        label=_("Floor area (m²)"), max_digits=8, decimal_places=2, widget=forms.NumberInput({"step": "0.01"})
    )
    acquired_on = _date(_("Bought or built on"))
    note = _text(_("Note"), 200)

    def to_input(self) -> HomeInput:
        cd = self.cleaned_data
        return HomeInput(floor_area=cd.get("floor_area"), acquired_on=cd.get("acquired_on"), note=cd.get("note", ""))


class VehicleForm(StyledForm):
    kind = forms.ChoiceField(label=_("Kind"), choices=_choices(codes.VehicleKind))
    note = _text(_("Note"), 200)

    def to_input(self) -> VehicleInput:
        return VehicleInput(kind=self.cleaned_data.get("kind", ""), note=self.cleaned_data.get("note", ""))


class BusinessRoleForm(StyledForm):
    company = _text(_("Company"), 100, required=True)
    role = forms.ChoiceField(label=_("Role"), choices=_choices(codes.BusinessRoleKind))
    company_active = forms.BooleanField(label=_("Company active"), required=False, initial=True)

    def to_input(self) -> BusinessRoleInput:
        cd = self.cleaned_data
        return BusinessRoleInput(
            company=cd.get("company", ""), role=cd.get("role", ""), company_active=cd.get("company_active", False)
        )


class BankAccountForm(StyledForm):
    bank = _text(_("Bank"), 60)
    branch = _text(_("Branch"), 100)
    holder_name = _text(_("Account holder"), 60)
    card_number = forms.CharField(
        label=_("Card number"), max_length=40, required=False, widget=forms.TextInput({"autocomplete": "off"})
    )

    def __init__(self, *args: Any, card_masked: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if card_masked:
            self.fields["card_number"].widget.attrs["placeholder"] = card_masked
            self.fields["card_number"].help_text = _("Leave blank to keep %(masked)s.") % {"masked": card_masked}

    def to_input(self, stored_card: str) -> BankAccountInput | None:
        cd = self.cleaned_data
        card = (cd.get("card_number") or "").strip() or stored_card
        if not any((cd.get("bank"), cd.get("branch"), cd.get("holder_name"), cd.get("card_number"))):
            return None  # no account given (or the account was cleared)
        return BankAccountInput(
            bank=cd.get("bank", ""),
            holder_name=cd.get("holder_name", ""),
            card_number=card,
            branch=cd.get("branch", ""),
        )


def _formset(form: type[forms.Form], extra: int) -> type[BaseFormSet]:
    # absolute_max: a tampered TOTAL_FORMS is refused at once, not built into a thousand forms first.
    return forms.formset_factory(form, extra=extra, can_delete=True, max_num=50, validate_max=True, absolute_max=50)


MemberFormSet = _formset(OtherMemberForm, 1)
IncomeFormSet = _formset(IncomeForm, 1)
RigidExpenseFormSet = _formset(RigidExpenseForm, 1)
HomeFormSet = _formset(HomeForm, 0)
VehicleFormSet = _formset(VehicleForm, 0)
BusinessRoleFormSet = _formset(BusinessRoleForm, 0)

# Input collection → the formset that edits it (prefixes are the collection names).
FORMSETS: dict[str, type[BaseFormSet]] = {
    "members": MemberFormSet,
    "incomes": IncomeFormSet,
    "rigid_expenses": RigidExpenseFormSet,
    "homes": HomeFormSet,
    "vehicles": VehicleFormSet,
    "business_roles": BusinessRoleFormSet,
}


def _member_initial(m: Member) -> dict[str, Any]:
    data = {name: getattr(m, name) for name in MemberForm.base_fields if name not in {"member_id", "id_number"}}
    data.update(member_id=m.pk, id_masked=m.id_masked)
    return data


def initial_from(h: Household) -> dict[str, Any]:
    """What the edit form starts with: everything but personal numbers in plaintext."""
    members = list(h.members.all())
    head = next((m for m in members if m.relationship == codes.Relationship.HEAD), None)
    bank = getattr(h, "bank", None)
    return {
        "household": {
            **{name: getattr(h, name) for name in HouseholdForm.base_fields if name not in {"version"}},
            "version": h.version,
        },
        "head": _member_initial(head) if head else {},
        "members": [_member_initial(m) for m in members if m is not head],
        "incomes": [{"kind": x.kind, "amount_yearly": x.amount_yearly, "note": x.note} for x in h.incomes.all()],
        "rigid_expenses": [
            {"kind": x.kind, "amount_yearly": x.amount_yearly, "note": x.note} for x in h.rigid_expenses.all()
        ],
        "homes": [{"floor_area": x.floor_area, "acquired_on": x.acquired_on, "note": x.note} for x in h.homes.all()],
        "vehicles": [{"kind": x.kind, "note": x.note} for x in h.vehicles.all()],
        "business_roles": [
            {"company": x.company, "role": x.role, "company_active": x.company_active} for x in h.business_roles.all()
        ],
        "bank": {"bank": bank.bank, "branch": bank.branch, "holder_name": bank.holder_name} if bank else {},
    }


class HouseholdForms:
    """The household form, the head form, one formset per collection and the bank-account form,
    bound together; builds the service input and maps the service's errors back."""

    def __init__(
        self,
        data: Any = None,
        *,
        units: Sequence[OrgUnit],
        household: Household | None = None,
    ) -> None:
        self.household = household
        initial = initial_from(household) if household is not None else {}
        bank = getattr(household, "bank", None) if household is not None else None
        self.household_form = HouseholdForm(data, units=units, initial=initial.get("household"), prefix="household")
        if household is None:
            # A new file starts open, in a current category (the service says so too, for the API).
            fields: Any = self.household_form.fields
            fields["state"].choices = [(v, lbl) for v, lbl in codes.FileState.choices if v in codes.OPEN_STATES]
            fields["category"].choices = [
                (v, lbl) for v, lbl in fields["category"].choices if v == "" or v in codes.CURRENT_CATEGORIES
            ]
        self.head_form = HeadForm(data, initial=initial.get("head"), prefix="head")
        self.formsets: dict[str, BaseFormSet] = {
            name: cls(data, initial=initial.get(name), prefix=name) for name, cls in FORMSETS.items()
        }
        self.bank_form = BankAccountForm(
            data, initial=initial.get("bank"), prefix="bank", card_masked=bank.card_masked if bank else ""
        )
        self.page_errors: list[str] = []
        self.conflict = False  # someone else saved the file since this form was opened
        # Input index → the form that produced it, per collection (filled by to_input).
        self._sources: dict[str, list[StyledForm]] = {}

    def __getattr__(self, name: str) -> BaseFormSet:
        # Templates reach formsets as ``forms.members``, ``forms.incomes``…
        formsets = self.__dict__.get("formsets", {})
        if name in formsets:
            return formsets[name]
        raise AttributeError(name)

    def all_forms(self) -> list[Any]:
        return [self.household_form, self.head_form, *self.formsets.values(), self.bank_form]

    def is_valid(self) -> bool:
        results = [f.is_valid() for f in self.all_forms()]  # validate every form: show all errors at once
        return all(results)

    @property
    def expected_version(self) -> int | None:
        return self.household_form.cleaned_data.get("version")

    def _kept(self, name: str) -> list[Any]:
        return [
            f
            for f in self.formsets[name].forms
            if f.has_changed() or not f.empty_permitted
            if not self.formsets[name].can_delete or not f.cleaned_data.get("DELETE")
        ]

    def to_input(self) -> HouseholdInput:
        """The service's input. Of forms that are not all valid, it is built from the values they
        could read, the others not given (``registry.services.household_problems`` checks it;
        ``apply_errors`` leaves out what the service says of the values not read)."""
        cd = self.household_form.cleaned_data
        members_forms: list[Any] = [self.head_form, *self._kept("members")]
        self._sources = {"members": members_forms}
        collections: dict[str, list[Any]] = {}
        for name in ("incomes", "rigid_expenses", "homes", "vehicles", "business_roles"):
            kept = self._kept(name)
            self._sources[name] = kept
            collections[name] = [f.to_input() for f in kept]
        bank = getattr(self.household, "bank", None) if self.household is not None else None
        stored = {m.pk: m for m in self.household.members.all()} if self.household is not None else {}
        return HouseholdInput(
            unit_id=cd.get("unit_id"),
            category=cd.get("category", ""),
            main_cause=cd.get("main_cause"),
            address=cd.get("address", ""),
            housing_type=cd.get("housing_type", ""),
            members=[
                f.to_member(editing=self.household is not None, stored=stored.get(f.cleaned_data.get("member_id")))
                for f in members_forms
            ],
            tier=cd.get("tier", ""),
            state=cd.get("state", ""),
            is_migrant_worker=cd.get("is_migrant_worker", False),
            secondary_causes=list(cd.get("secondary_causes") or []),
            cause_note=cd.get("cause_note", ""),
            housing_area=cd.get("housing_area"),
            medical_insurance=cd.get("medical_insurance", ""),
            self_reliant=cd.get("self_reliant", False),
            accident_costs_yearly=cd.get("accident_costs_yearly") or Decimal(0),
            private_school_fees_yearly=cd.get("private_school_fees_yearly") or Decimal(0),
            public_school_fees_yearly=cd.get("public_school_fees_yearly") or Decimal(0),
            studying_abroad_self_funded=cd.get("studying_abroad_self_funded", False),
            filed_on=cd.get("filed_on"),
            filed_by_name=cd.get("filed_by_name", ""),
            reviewed_by_name=cd.get("reviewed_by_name", ""),
            bank_account=self.bank_form.to_input(crypto.decrypt(bank.card_cipher) if bank else ""),
            **collections,
        )

    def apply_errors(self, errors: dict[str, list[str]]) -> None:
        """Put each service error under its field: ``members.1.id_number`` → member row 1, field
        ``id_number``; ``members`` → the members card; unknown paths → the page. What it says of a
        value the form could not read (not given to it: "required") is left out: the form's own
        error says it."""
        for path, messages in errors.items():
            head, _dot, rest = path.partition(".")
            if head in self._sources:
                index, _dot, field = rest.partition(".")
                if not index.isdigit() or int(index) >= len(self._sources[head]):
                    self.formsets[head].non_form_errors().extend(messages)
                    continue
                form = self._sources[head][int(index)]
                if form.unread(field):
                    continue
                visible = field in form.fields and not form.fields[field].widget.is_hidden
                form.add_error(field if visible else None, messages)
            elif head == "bank_account":
                form = self.bank_form
                if not form.unread(rest):
                    form.add_error(rest if rest in form.fields else None, messages)
            elif head in self.household_form.fields:
                if not self.household_form.unread(head):
                    self.household_form.add_error(head, messages)
            else:
                self.page_errors.extend(messages)


# --- the audit log's filters ---------------------------------------------------------------------


class AuditFilterForm(StyledForm):
    actor = forms.CharField(label=_("Actor (user name)"), required=False, max_length=150)
    action = forms.ChoiceField(
        label=_("Action"), choices=[("", _("All actions")), *AuditAction.choices], required=False
    )
    target_type = forms.ChoiceField(label=_("Object type"), required=False)
    target_id = forms.CharField(label=_("Object id"), required=False, max_length=64)
    date_from = _date(_("From"))
    date_to = _date(_("To"))
    unit = AnyIntChoiceField(
        label=_("Union"), coerce=int, empty_value=None, required=False, widget=UnitPicker(perm=Perm.AUDIT_VIEW)
    )

    def __init__(self, *args: Any, units: Iterable[OrgUnit], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        units = list(units)
        self.fields["unit"].choices = [("", _("All unions")), *unit_choices_for(units)]  # type: ignore[attr-defined]
        kinds = sorted(((code, str(label)) for code, label in OBJECT_TYPES.items()), key=lambda c: c[1])
        self.fields["target_type"].choices = [("", _("All objects")), *kinds]  # type: ignore[attr-defined]
        self.fields["unit"].widget.set_units(units)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", _("This day is before the day the list starts from."))
        return data

    def filters(self) -> AuditFilters:
        """The filters to apply; a field that does not read (a tampered URL, a day typed wrong) is
        left out and shown with its error."""
        valid = (
            self.cleaned_data
            if self.is_valid()
            else {k: v for k, v in self.cleaned_data.items() if k not in self.errors}
        )
        return AuditFilters(
            actor=valid.get("actor") or "",
            action=valid.get("action") or "",
            target_type=valid.get("target_type") or "",
            target_id=valid.get("target_id") or "",
            since=valid.get("date_from"),
            until=valid.get("date_to"),
            unit_id=valid.get("unit"),
        )
