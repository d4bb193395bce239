"""The public self-test (issue: identification, item 7): a worker enters the household's size,
incomes, costs and assets on a phone and sees, without signing in, the category the rules would
likely give and why. The same engine and the region's current standard decide; nothing is stored."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, ClassVar

from django import forms
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods

from bangfu.common import divisions
from bangfu.org import signin
from bangfu.org.models import OrgLevel, OrgUnit

from . import rules
from .adapters import RuleBook, StandardBook
from .models import DecisionCategory
from .presentation import reason_text

MEMBER_ROWS = 6
MAX_MEMBERS = 20
MAX_MONEY = Decimal(1_000_000)
RATE_LIMIT = 30  # answers per address and window
RATE_WINDOW = 600  # seconds


class Situation:
    """What a member does, as the rules read it: (identity, work status, health, enterprise state)."""

    CHOICES: ClassVar[tuple[tuple[str, Any], ...]] = (
        ("working", _("In work")),
        ("unemployed", _("Without a job, able to work")),
        ("laid_off_closed", _("Lost the job when the enterprise closed or restructured")),
        ("student", _("Student")),
        ("retired", _("Retired")),
        ("ill", _("Seriously ill")),
        ("disabled", _("Disabled")),
        ("child", _("Child below school age")),
    )
    FACTS: ClassVar[dict[str, tuple[str, str, str, str]]] = {
        "working": ("working", "employed", "good", ""),
        "unemployed": ("unemployed", "unemployed", "good", ""),
        "laid_off_closed": ("unemployed", "laid_off", "good", "closed"),
        "student": ("student", "", "good", ""),
        "retired": ("retired", "retired", "good", ""),
        "ill": ("unable", "", "malignant_tumour", ""),
        "disabled": ("unable", "", "disabled", ""),
        "child": ("preschool", "", "good", ""),
    }


def _money(label: Any, required: bool = False) -> forms.DecimalField:
    return forms.DecimalField(
        label=label,
        required=required,
        min_value=Decimal(0),
        max_value=MAX_MONEY,
        decimal_places=2,
        initial=None,
        widget=forms.NumberInput(attrs={"class": "form-control", "inputmode": "decimal", "step": "0.01"}),
    )


def region_choices() -> list[tuple[str, str]]:
    codes = sorted(set(OrgUnit.objects.filter(level=OrgLevel.COUNTY).values_list("division_code", flat=True)))
    return [(c, divisions.full_name(c) or c) for c in codes if c]


class SelfTestForm(forms.Form):
    region = forms.ChoiceField(label=_("Where you live (county or district)"), choices=())
    household_size = forms.IntegerField(
        label=_("People living in the household"),
        min_value=1,
        max_value=MAX_MEMBERS,
        widget=forms.NumberInput(attrs={"class": "form-control", "inputmode": "numeric"}),
    )
    other_income_yearly = _money(_("Other income this year (pensions, benefits, support, rent, interest, aid)"))
    medical_yearly = _money(_("Medical costs paid yourselves this year"))
    schooling_yearly = _money(_("Tuition and schooling this year"))
    care_yearly = _money(_("Long-term care this year"))
    job_costs_yearly = _money(_("Necessary job costs this year"))
    accident_costs_yearly = _money(
        _("Costs of a disaster, accident or major illness this year, after compensation and insurance")
    )
    owns_car = forms.BooleanField(label=_("We own a car (not a livelihood or disability vehicle)"), required=False)
    company_role = forms.BooleanField(
        label=_("Someone is the legal representative, a manager or a controlling shareholder of an active company"),
        required=False,
    )
    homes = forms.IntegerField(
        label=_("Homes owned"),
        min_value=0,
        max_value=20,
        initial=0,
        required=False,
        widget=forms.NumberInput(attrs={"class": "form-control", "inputmode": "numeric"}),
    )
    homes_area = forms.DecimalField(
        label=_("Floor area of all homes (m²)"),
        min_value=Decimal(0),
        max_value=Decimal(100_000),
        decimal_places=2,
        required=False,
        widget=forms.NumberInput(attrs={"class": "form-control", "inputmode": "decimal"}),
    )
    bought_home_recently = forms.BooleanField(label=_("We bought or built a home in the last year"), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        region = self.fields["region"]
        assert isinstance(region, forms.ChoiceField)  # noqa: S101 - declared above
        region.choices = [("", "—"), *region_choices()]
        region.widget.attrs["class"] = "form-select"
        for i in range(MEMBER_ROWS):
            self.fields[f"m{i}_age"] = forms.IntegerField(
                label=_("Age"),
                min_value=0,
                max_value=120,
                required=False,
                widget=forms.NumberInput(attrs={"class": "form-control", "inputmode": "numeric"}),
            )
            self.fields[f"m{i}_situation"] = forms.ChoiceField(
                label=_("Situation"),
                choices=Situation.CHOICES,
                required=False,
                widget=forms.Select(attrs={"class": "form-select"}),
            )
            self.fields[f"m{i}_income"] = _money(_("Monthly income (yuan)"))
        for name in ("owns_car", "company_role", "bought_home_recently"):
            self.fields[name].widget.attrs["class"] = "form-check-input"
        for f in self.fields.values():
            f.grid = "col-12"  # type: ignore[attr-defined]  # read by the shared field template

    def member_rows(self) -> list[tuple[forms.BoundField, forms.BoundField, forms.BoundField]]:
        return [(self[f"m{i}_age"], self[f"m{i}_situation"], self[f"m{i}_income"]) for i in range(MEMBER_ROWS)]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        listed = [i for i in range(MEMBER_ROWS) if data.get(f"m{i}_age") is not None]
        # An age given but not valid already has its own message under the field.
        given = any(f"m{i}_age" in self.errors for i in range(MEMBER_ROWS))
        if not listed and not given:
            self.add_error("m0_age", _("Enter at least yourself: your age, situation and monthly income."))
        size = data.get("household_size")
        if size is not None and len(listed) > size:
            self.add_error("household_size", _("More people are listed than live in the household."))
        if (data.get("homes") or 0) > 0 and data.get("homes_area") is None:
            self.add_error("homes_area", _("Enter the floor area of the homes."))
        return data


@dataclass
class Answer:
    category: str
    label: str
    eligible: bool
    reasons: list[str]
    standard_version: str
    dibao: Decimal | None


def facts_from_form(data: dict[str, Any], on: date) -> rules.HouseholdFacts:
    members: list[rules.MemberFacts] = []
    for i in range(MEMBER_ROWS):
        age = data.get(f"m{i}_age")
        if age is None:
            continue
        identity, work, health, enterprise = Situation.FACTS[data.get(f"m{i}_situation") or "working"]
        members.append(
            rules.MemberFacts(
                age=age,
                relationship="head" if not members else "other",
                monthly_income=data.get(f"m{i}_income") or Decimal(0),
                identity=identity,
                work_status=work,
                health=health,
                disabled=health == "disabled",
                enterprise_state=enterprise,
            )
        )
    # The others living in the household, without income and not of working age (children, elderly).
    extra = max(0, (data.get("household_size") or 0) - len(members))
    members.extend(rules.MemberFacts(age=0, relationship="other", identity="other") for _ in range(extra))
    rigid = tuple(
        (kind, data[f"{kind}_yearly"])
        for kind in ("medical", "schooling", "care", "job_costs")
        if data.get(f"{kind}_yearly")
    )
    accident = data.get("accident_costs_yearly") or Decimal(0)
    homes_n = data.get("homes") or 0
    area = data.get("homes_area") or Decimal(0)
    homes = tuple(rules.HomeFacts(floor_area=(area / homes_n).quantize(Decimal("0.01"))) for _ in range(homes_n))
    if homes and data.get("bought_home_recently"):
        homes = (rules.HomeFacts(floor_area=homes[0].floor_area, acquired_on=on), *homes[1:])
    return rules.HouseholdFacts(
        members=tuple(members),
        region_code=data["region"],
        decision_date=on,
        incomes=(("other", data["other_income_yearly"]),) if data.get("other_income_yearly") else (),
        rigid_expenses=rigid,
        homes=homes,
        vehicles=("car",) if data.get("owns_car") else (),
        business_roles=(rules.BusinessRoleFacts("legal_representative"),) if data.get("company_role") else (),
        main_cause=8 if accident > 0 else None,
        accident_costs_yearly=accident,
    )


def self_test_answer(data: dict[str, Any], on: date | None = None) -> Answer:
    """The likely decision for the entered facts, by the region's current standard and rule set."""
    on = on or timezone.localdate()
    facts = facts_from_form(data, on)
    standard = StandardBook.load(on.year).get(facts.region_code, on)
    decision = rules.decide(facts, standard, RuleBook.load().get(facts.region_code))
    return Answer(
        category=decision.category,
        label=str(DecisionCategory(decision.category).label),
        eligible=decision.category in rules.ELIGIBLE,
        reasons=[reason_text(r._asdict()) for r in decision.reasons],
        standard_version=decision.standard_version,
        dibao=standard.dibao_monthly if standard else None,
    )


def _client(request: HttpRequest) -> str:
    """The client's address; behind the reverse proxy the one it saw (else every worker would
    share the proxy's limit)."""
    return signin.client_address(request) or ""


def rate_limited(request: HttpRequest) -> bool:
    """At most ``RATE_LIMIT`` answers per address in ``RATE_WINDOW`` seconds (the page is public)."""
    key = f"eligibility:self-test:{_client(request)}"
    cache.add(key, 0, RATE_WINDOW)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, RATE_WINDOW)
        count = 1
    return count > RATE_LIMIT


@require_http_methods(["GET", "POST"])
def self_test(request: HttpRequest) -> HttpResponse:
    answer: Answer | None = None
    status = 200
    limited = False
    if request.method == "POST":
        form = SelfTestForm(request.POST)
        if rate_limited(request):
            limited, status = True, 429
        elif form.is_valid():
            answer = self_test_answer(form.cleaned_data)
    else:
        form = SelfTestForm(initial={"household_size": 1})
    context = {"form": form, "answer": answer, "limited": limited}
    response = render(request, "eligibility/self_test.html", context, status=status)
    response["Cache-Control"] = "no-store"
    return response
