"""Facts, standards, rule sets and decisions of identification (domain.md §3) — plain data, no Django.

Money is ``Decimal`` (yuan, fen-exact). Every message is an English source template with named
parameters; the Django layer translates the template and fills in the parameters, so a stored
decision can be shown in any language.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Any, NamedTuple


def gettext_noop(message: str) -> str:
    """Marks a template for the translation catalogue; it is translated where it is shown."""
    return message


class Category(StrEnum):
    DEEP = "deep"
    RELATIVE = "relative"
    ACCIDENT = "accident"
    NOT_ELIGIBLE = "not_eligible"
    CANNOT_DECIDE = "cannot_decide"
    LEGACY_DIBAO = "legacy_dibao"
    LEGACY_DIBAO_EDGE = "legacy_dibao_edge"
    LEGACY_ACCIDENT = "legacy_accident"


# How deep each outcome is: used by the property "more income never gives a deeper category".
DEPTH: dict[str, int] = {
    Category.DEEP: 3,
    Category.RELATIVE: 2,
    Category.ACCIDENT: 1,
    Category.NOT_ELIGIBLE: 0,
    Category.CANNOT_DECIDE: -1,
    Category.LEGACY_DIBAO: 3,
    Category.LEGACY_DIBAO_EDGE: 2,
    Category.LEGACY_ACCIDENT: 1,
}
ELIGIBLE = frozenset({Category.DEEP, Category.RELATIVE, Category.ACCIDENT})


@dataclass(frozen=True)
class MemberFacts:
    age: int
    relationship: str = "head"
    living_together: bool = True
    deceased: bool = False
    monthly_income: Decimal = Decimal(0)
    identity: str = ""  # registry Identity: working, unemployed, student, preschool, retired, unable, other
    work_status: str = ""  # registry WorkStatus
    health: str = "good"
    disability_grade: int | None = None
    disabled: bool = False
    enterprise_state: str = ""  # of the member's employer: closed / restructured count as job loss
    employment_years: int = 0
    hukou: str = ""
    # When known, the dates the age and the years of employment were counted from.
    birth_date: date | None = None
    work_start: date | None = None

    @property
    def is_student(self) -> bool:
        return self.identity == "student"


@dataclass(frozen=True)
class HomeFacts:
    floor_area: Decimal
    acquired_on: date | None = None


@dataclass(frozen=True)
class BusinessRoleFacts:
    role: str
    company_active: bool = True


@dataclass(frozen=True)
class HouseholdFacts:
    members: tuple[MemberFacts, ...]
    region_code: str
    decision_date: date
    incomes: tuple[tuple[str, Decimal], ...] = ()  # (kind, yearly amount), registry IncomeKind
    rigid_expenses: tuple[tuple[str, Decimal], ...] = ()  # (kind, yearly amount), registry RigidExpenseKind
    homes: tuple[HomeFacts, ...] = ()
    vehicles: tuple[str, ...] = ()  # registry VehicleKind
    business_roles: tuple[BusinessRoleFacts, ...] = ()
    main_cause: int | None = None
    secondary_causes: tuple[int, ...] = ()
    accident_costs_yearly: Decimal = Decimal(0)  # hardship costs left after compensation and insurance
    union_aid_paid_yearly: Decimal = Decimal(0)  # union aid already paid this year (besides income rows)
    private_school_fees_yearly: Decimal = Decimal(0)
    public_school_fees_yearly: Decimal = Decimal(0)
    studying_abroad_self_funded: bool = False
    # Net income per head per month, oldest first, for the exit test.
    income_history: tuple[Decimal, ...] = ()


@dataclass(frozen=True)
class HouseholdSummary:
    """Everything the rules read from a household's facts, reduced to one row and independent of the
    decision date, the standard and the rule set: ``decide_summary`` gives the same decision from it
    as ``decide`` from the facts; the bulk path builds it in one database query per chunk."""

    region_code: str
    members: int  # living together and alive
    wages_monthly: Decimal  # sum of those members' monthly incomes
    # (birth date, monthly income) of members who, at working age, would be imputed the minimum
    # wage (able-bodied, not a student, not retired, without a job), in member order
    able_without_job: tuple[tuple[date, Decimal], ...] = ()
    other_income_yearly: Decimal = Decimal(0)  # counted income rows, union aid apart
    union_aid_yearly: Decimal = Decimal(0)
    rigid_yearly: Decimal = Decimal(0)
    condition: str | None = None  # the deep test's extra condition (CONDITION_TEXT key)
    accident_costs_yearly: Decimal = Decimal(0)  # 0 unless a disaster, accident or major illness is a cause
    vehicles: str = ""  # kinds other than livelihood and disability vehicles, sorted, ", "-joined
    roles: str = ""  # roles in active companies, sorted, ", "-joined
    homes: int = 0
    homes_area: Decimal = Decimal(0)
    last_home_acquired: date | None = None
    private_school_fees_yearly: Decimal = Decimal(0)
    public_school_fees_yearly: Decimal = Decimal(0)
    studying_abroad_self_funded: bool = False
    head_migrant: bool = False  # the head lives with the household and is a migrant worker or agricultural hukou
    head_work_start: date | None = None
    income_history: tuple[Decimal, ...] = ()


@dataclass(frozen=True)
class Standard:
    division_code: str
    year: int
    dibao_monthly: Decimal
    minimum_wage_monthly: Decimal
    housing_area_per_head: Decimal | None = None  # m²
    disposable_income_per_head_last_year: Decimal | None = None  # yuan a year
    effective_from: date | None = None
    effective_to: date | None = None
    version: str = ""


class Comparison(StrEnum):
    LT = "<"
    LE = "<="


@dataclass(frozen=True)
class RuleSet:
    version: str = "default"
    deep_multiple: Decimal = Decimal(1)
    relative_multiple: Decimal = Decimal(2)
    comparison: str = Comparison.LT
    accident_test: bool = True
    accident_share: Decimal = Decimal("0.8")
    impute_minimum_wage: bool = True
    working_age_from: int = 16
    working_age_to: int = 60
    count_union_aid: bool = True
    require_below_disposable_income: bool = False
    exit_months: int = 6
    legacy_dibao_multiple: Decimal = Decimal(1)
    legacy_edge_multiple: Decimal = Decimal("1.5")
    legacy_accident_multiple: Decimal = Decimal(3)
    migrant_min_employment_years: int = 1
    disqualify_vehicles: bool = True
    disqualify_business_roles: bool = True
    disqualify_homes: bool = True
    homes_area_multiple: Decimal = Decimal(2)
    disqualify_recent_home: bool = True
    disqualify_private_school: bool = True
    private_school_ratio: Decimal = Decimal(2)

    def problems(self) -> list[tuple[str, str, dict[str, str]]]:
        """Inconsistencies as (field, message template, params); empty when the rule set is usable."""
        out: list[tuple[str, str, dict[str, str]]] = []
        if self.deep_multiple <= 0:
            out.append(("deep_multiple", gettext_noop("The deep-hardship multiple must be above zero."), {}))
        if self.relative_multiple < self.deep_multiple:
            out.append(
                (
                    "relative_multiple",
                    gettext_noop(
                        "The relative-hardship multiple ({relative}) may not be below the deep-hardship "
                        "multiple ({deep}): a household could then be deep but not relative."
                    ),
                    {"relative": fmt_multiple(self.relative_multiple), "deep": fmt_multiple(self.deep_multiple)},
                )
            )
        if self.comparison not in {c.value for c in Comparison}:
            out.append(("comparison", gettext_noop("The comparison must be < or <=."), {}))
        if not (Decimal(0) < self.accident_share <= Decimal(1)):
            out.append(("accident_share", gettext_noop("The accident share must be above 0 and at most 1."), {}))
        if not (0 <= self.working_age_from < self.working_age_to <= 100):
            out.append(("working_age_to", gettext_noop("The working age must be a range within 0 to 100."), {}))
        if not (1 <= self.exit_months <= 36):
            out.append(("exit_months", gettext_noop("The exit test needs 1 to 36 months."), {}))
        if not (0 < self.legacy_dibao_multiple <= self.legacy_edge_multiple <= self.legacy_accident_multiple):
            out.append(
                (
                    "legacy_edge_multiple",
                    gettext_noop("The legacy multiples must rise: dibao ≤ near-dibao ≤ accident."),
                    {},
                )
            )
        if self.migrant_min_employment_years < 0:
            out.append(
                ("migrant_min_employment_years", gettext_noop("The years of employment cannot be negative."), {})
            )
        out.extend(  # each under its own box
            (name, gettext_noop("Disqualifier multiples must be above zero."), {})
            for name in ("homes_area_multiple", "private_school_ratio")
            if getattr(self, name) <= 0
        )
        return out

    def to_params(self) -> dict[str, Any]:
        return {f.name: (str(v) if isinstance(v := getattr(self, f.name), Decimal) else v) for f in fields(self)}

    @classmethod
    def from_params(cls, params: dict[str, Any], version: str | None = None) -> RuleSet:
        """Build from JSON parameters; unknown keys raise KeyError, wrong types ValueError."""
        kwargs: dict[str, Any] = {}
        known = {f.name: f for f in fields(cls)}
        for key, value in params.items():
            if key not in known:
                raise KeyError(key)
            default = getattr(cls(), key)
            if isinstance(default, bool):
                if not isinstance(value, bool):
                    raise ValueError(key)
                kwargs[key] = value
            elif isinstance(default, Decimal):
                try:
                    kwargs[key] = Decimal(str(value))
                except ArithmeticError as exc:
                    raise ValueError(key) from exc
                if not kwargs[key].is_finite():
                    raise ValueError(key)
            elif isinstance(default, int):
                if isinstance(value, bool) or not isinstance(value, int):
                    raise ValueError(key)
                kwargs[key] = value
            else:
                kwargs[key] = str(value)
        if version is not None:
            kwargs["version"] = version
        return cls(**kwargs)


# The parameters each problem of ``RuleSet.problems`` compares, by the one it is reported under (a
# problem of one parameter alone is not listed): a problem is not told while a parameter it reads
# could not be read, as it would be judged against the stored value or the default instead.
PROBLEM_INPUTS: dict[str, frozenset[str]] = {
    "relative_multiple": frozenset({"relative_multiple", "deep_multiple"}),
    "working_age_to": frozenset({"working_age_from", "working_age_to"}),
    "legacy_edge_multiple": frozenset({"legacy_dibao_multiple", "legacy_edge_multiple", "legacy_accident_multiple"}),
}

# "As counted": with the minimum wage imputed to members able to work without a job, so not the
# file's own figure of the same name (the household page's), which counts only what they earn.
_NET_VS_LINE = gettext_noop(
    "Net income per head per month as counted (members without a job at the minimum wage) {net} yuan {sign} "
    "{multiple} × dibao {dibao} yuan"
)

# Every reason code and its English template; a stored decision keeps only codes and parameters.
TEMPLATES: dict[str, str] = {
    "no_standard": gettext_noop("Cannot decide: no dibao standard for {code} in {year}"),
    "no_members": gettext_noop("Cannot decide: nobody lives in the household"),
    "net_income": gettext_noop(
        "Counted income {income} yuan − rigid expenses {rigid} yuan a year, over 12 months and {members} members "
        "= {net} yuan per head per month"
    ),
    "imputed_minimum_wage": gettext_noop(
        "A working-age member able to work and without a job (age {age}) is counted at the minimum wage "
        "{wage} yuan a month"
    ),
    "union_aid_not_counted": gettext_noop("Union aid of {aid} yuan this year is not counted as income"),
    "disposable_income": gettext_noop(
        "Income per head {income} yuan a year < last year's disposable income {limit} yuan"
    ),
    "disposable_income_failed": gettext_noop(
        "Income per head {income} yuan a year ≥ last year's disposable income {limit} yuan"
    ),
    "deep": gettext_noop(
        "Net income per head per month as counted (members without a job at the minimum wage) {net} yuan {sign} "
        "{multiple} × dibao {dibao} yuan, with {condition}"
    ),
    "deep_no_condition": gettext_noop(
        "Below the deep-hardship line but without illness, disability, schooling or job loss from a closing enterprise"
    ),
    "relative": _NET_VS_LINE,
    "above_relative": _NET_VS_LINE,
    "accident": gettext_noop(
        "Hardship costs {costs} yuan this year > {share} × household income {income} yuan after compensation "
        "and insurance"
    ),
    "accident_after_costs": gettext_noop(
        "Net income per head per month after hardship costs {after} yuan below {line} yuan"
    ),
    "vehicle": gettext_noop("Owns a vehicle other than a livelihood or disability vehicle ({kinds})"),
    "business_role": gettext_noop("Holds a role in an active company ({roles})"),
    "homes": gettext_noop(
        "Owns {homes} homes with {per_head} m² per head > {multiple} × housing standard {standard} m²"
    ),
    "recent_home": gettext_noop("Bought or built a home on {date}, within the year before {decided}"),
    "private_school": gettext_noop(
        "Private school fees {private} yuan a year > {ratio} × public school fees {public} yuan"
    ),
    "study_abroad": gettext_noop("A child studies abroad at the family's own expense"),
    "migrant_worker": gettext_noop("Migrant worker living in the city with at least {years} year(s) of employment"),
    "exit_test_met": gettext_noop(
        "Income per head above dibao {dibao} yuan for {run} consecutive month(s); {months} needed"
    ),
    "exit_test_not_met": gettext_noop(
        "Income per head above dibao {dibao} yuan for {run} consecutive month(s); {months} needed"
    ),
    "legacy_dibao": _NET_VS_LINE,
    "legacy_dibao_edge": _NET_VS_LINE,
    "legacy_accident": _NET_VS_LINE,
    "legacy_above": _NET_VS_LINE,
}
# Words put into templates as parameters (translated where shown).
CONDITION_TEXT = {
    "illness": gettext_noop("illness"),
    "disability": gettext_noop("disability"),
    # A student in the household, a schooling expense or the schooling cause: not always costs.
    "schooling": gettext_noop("children's schooling"),
    "job_loss": gettext_noop("job loss from an enterprise closing or restructuring"),
}
DISQUALIFIERS = frozenset({"vehicle", "business_role", "homes", "recent_home", "private_school", "study_abroad"})


class Reason(NamedTuple):
    """One reason: a template code and its parameters (a tuple: a million are made per recompute)."""

    code: str
    params: dict[str, str] = {}  # noqa: RUF012 - never mutated

    @property
    def template(self) -> str:
        return TEMPLATES[self.code]

    @property
    def text(self) -> str:
        return self.template.format(**self.params)

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "params": self.params}


@dataclass(frozen=True)
class Decision:
    category: str
    income_category: str  # the category the income tests alone give, before disqualifiers
    reasons: tuple[Reason, ...]
    disqualifiers: tuple[str, ...] = ()
    is_migrant_worker: bool = False
    members_counted: int = 0
    income_yearly: Decimal | None = None
    rigid_expense_yearly: Decimal | None = None
    net_income_per_head_monthly: Decimal | None = None
    exit_months_above: int | None = None
    exit_test_met: bool | None = None
    ruleset_version: str = ""
    standard_version: str = ""
    # What the category ladder read besides the lines (multiples of the dibao): a what-if that only
    # moves the lines decides again from these (``engine.ladder``).
    condition: str | None = None
    precondition_ok: bool = True
    accident_by_share: bool | None = None  # hardship costs above the accident share of income
    net_after_accident: Decimal | None = None  # net income per head per month after hardship costs


def fmt_money(amount: Decimal) -> str:
    return f"{amount:,.2f}"


def fmt_multiple(m: Decimal) -> str:
    text = f"{m.normalize():f}"
    return text
