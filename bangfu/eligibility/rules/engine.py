"""The identification rules (domain.md §3): facts, standard and rule set in; decision with reasons out.

    net income per head per month = (counted yearly income − yearly rigid expenses) / 12 / members living together

deep      net < deep multiple × dibao, with illness, disability, schooling or job loss from a closing enterprise
relative  net < relative multiple × dibao (rigid expenses already deducted)
accident  a disaster, accident or major illness, and the year's hardship costs above a share of income
          (with the share test off: net income after those costs below the relative line)

Any disqualifier makes the household not eligible (a person may override with a reason).
"""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from .model import (
    CONDITION_TEXT,
    Category,
    Comparison,
    Decision,
    HouseholdFacts,
    HouseholdSummary,
    MemberFacts,
    Reason,
    RuleSet,
    Standard,
    fmt_money,
    fmt_multiple,
)

FEN = Decimal("0.01")
ZERO = Decimal(0)
TWELVE = Decimal(12)
NOT_COUNTED_INCOME = frozenset({"basic_resident_pension", "festival_gift"})
UNION_AID = "union_aid"
SERIOUS_HEALTH = frozenset(
    {
        "malignant_tumour",
        "cardiovascular",
        "cerebrovascular",
        "end_stage_renal",
        "mental_illness",
        "liver_disease",
        "blood_disease",
        "diabetes",
        "spinal",
        "hypertension",
        "lung_disease",
        "deep_coma",
        "permanent_paralysis",
        "severe_alzheimers",
        "severe_parkinsons",
    }
)
NOT_ABLE_IDENTITIES = frozenset({"student", "unable", "retired", "preschool"})
RETIRED_STATUSES = frozenset({"retired", "early_retired", "sick_leave"})
EMPLOYED_STATUSES = frozenset({"employed", "migrant_worker"})
JOB_LOSS_STATUSES = frozenset({"laid_off", "unemployed"})
CLOSED_ENTERPRISE = frozenset({"closed", "restructured"})
ALLOWED_VEHICLES = frozenset({"livelihood", "disability"})
ACCIDENT_CAUSES = frozenset({6, 7, 8})  # major illness, natural disaster, accident
DEEP_CAUSES = frozenset({6, 9})  # major illness, children's schooling


def _round(value: Decimal) -> Decimal:
    return value.quantize(FEN, ROUND_HALF_UP)


def below(value: Decimal, line: Decimal, comparison: str) -> bool:
    return value <= line if comparison == Comparison.LE else value < line


def counted_members(facts: HouseholdFacts) -> list[MemberFacts]:
    return [m for m in facts.members if m.living_together and not m.deceased]


def is_able_without_job(m: MemberFacts, rules: RuleSet) -> bool:
    """Working-age, able-bodied, not a student and not employed: imputed the minimum wage."""
    return rules.working_age_from <= m.age < rules.working_age_to and is_able_profile(m)


def count_income(facts: HouseholdFacts, standard: Standard, rules: RuleSet) -> tuple[Decimal, Decimal, list[Reason]]:
    """(counted yearly income, yearly union aid counted, reasons for imputations)."""
    reasons: list[Reason] = []
    income = ZERO
    for m in counted_members(facts):
        monthly = m.monthly_income
        if rules.impute_minimum_wage and is_able_without_job(m, rules) and monthly < standard.minimum_wage_monthly:
            reasons.append(
                Reason(
                    "imputed_minimum_wage",
                    {"age": str(m.age), "wage": fmt_money(standard.minimum_wage_monthly)},
                )
            )
            monthly = standard.minimum_wage_monthly
        income += monthly * TWELVE
    aid = facts.union_aid_paid_yearly
    for kind, amount in facts.incomes:
        if kind in NOT_COUNTED_INCOME:
            continue
        if kind == UNION_AID:
            aid += amount
            continue
        income += amount
    if rules.count_union_aid:
        income += aid
    elif aid:
        reasons.append(
            Reason(
                "union_aid_not_counted",
                {"aid": fmt_money(aid)},
            )
        )
    return income, (aid if rules.count_union_aid else ZERO), reasons


def disqualifiers(s: HouseholdSummary, on: date, standard: Standard, rules: RuleSet, members: int) -> list[Reason]:
    out: list[Reason] = []
    if rules.disqualify_vehicles and s.vehicles:
        out.append(Reason("vehicle", {"kinds": s.vehicles}))
    if rules.disqualify_business_roles and s.roles:
        out.append(Reason("business_role", {"roles": s.roles}))
    if rules.disqualify_homes and s.homes >= 2 and standard.housing_area_per_head is not None:
        per_head = _round(s.homes_area / max(members, 1))
        limit = _round(rules.homes_area_multiple * standard.housing_area_per_head)
        if per_head > limit:
            out.append(
                Reason(
                    "homes",
                    {
                        "homes": str(s.homes),
                        "per_head": fmt_money(per_head),
                        "multiple": fmt_multiple(rules.homes_area_multiple),
                        "standard": fmt_money(standard.housing_area_per_head),
                    },
                )
            )
    if rules.disqualify_recent_home and s.last_home_acquired and _year_before(on) < s.last_home_acquired:
        out.append(Reason("recent_home", {"date": s.last_home_acquired.isoformat(), "decided": on.isoformat()}))
    if rules.disqualify_private_school:
        private, public = s.private_school_fees_yearly, s.public_school_fees_yearly
        if private > 0 and private > rules.private_school_ratio * public:
            out.append(
                Reason(
                    "private_school",
                    {
                        "private": fmt_money(private),
                        "ratio": fmt_multiple(rules.private_school_ratio),
                        "public": fmt_money(public),
                    },
                )
            )
        if s.studying_abroad_self_funded:
            out.append(Reason("study_abroad"))
    return out


def _year_before(d: date) -> date:
    try:
        return d.replace(year=d.year - 1)
    except ValueError:  # 29 February
        return d.replace(year=d.year - 1, day=28)


def deep_condition(facts: HouseholdFacts) -> str | None:
    """Why the household qualifies for the deep test's extra condition, or None."""
    members = counted_members(facts)
    return condition_from(
        illness=any(m.health in SERIOUS_HEALTH for m in members),
        disability=any(m.disabled or m.disability_grade is not None for m in members),
        student=any(m.is_student for m in members),
        schooling_costs=any(k == "schooling" and a > 0 for k, a in facts.rigid_expenses),
        job_loss=any(m.work_status in JOB_LOSS_STATUSES and m.enterprise_state in CLOSED_ENTERPRISE for m in members),
        causes={facts.main_cause, *facts.secondary_causes},
    )


def exit_test(history: tuple[Decimal, ...], line: Decimal, months: int) -> tuple[int, bool] | None:
    """Trailing months with income per head above the line, and whether they reach ``months``."""
    if not history:
        return None
    run = 0
    for value in reversed(history):
        if value > line:
            run += 1
        else:
            break
    return run, run >= months


def cannot_decide(facts: HouseholdFacts, rules: RuleSet, reason: Reason) -> Decision:
    return Decision(
        category=Category.CANNOT_DECIDE,
        income_category=Category.CANNOT_DECIDE,
        reasons=(reason,),
        ruleset_version=rules.version,
    )


def no_standard_reason(region_code: str, year: int) -> Reason:
    return Reason(
        "no_standard",
        {"code": region_code, "year": str(year)},
    )


def age_on(born: date, on: date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def _years_before(on: date, years: int) -> date:
    """A date ``years`` whole years before ``on`` (28 February for a 29th): ``age_on`` gives ``years``."""
    try:
        return on.replace(year=on.year - years)
    except ValueError:
        return on.replace(year=on.year - years, day=28)


def is_able_profile(m: MemberFacts) -> bool:
    """Able-bodied, not a student, not retired and without a job: imputed the minimum wage at working age."""
    return (
        m.identity not in NOT_ABLE_IDENTITIES
        and m.work_status not in RETIRED_STATUSES
        and m.health not in SERIOUS_HEALTH
        and not m.disabled
        and not (m.disability_grade is not None and m.disability_grade <= 2)
        and m.identity != "working"
        and m.work_status not in EMPLOYED_STATUSES
    )


def condition_from(
    *, illness: bool, disability: bool, student: bool, schooling_costs: bool, job_loss: bool, causes: set[int | None]
) -> str | None:
    """The deep test's extra condition from the household's flags, in the order of domain.md §3."""
    if illness or 6 in causes:
        return "illness"
    if disability:
        return "disability"
    if student or schooling_costs or 9 in causes:
        return "schooling"
    if job_loss:
        return "job_loss"
    return None


def is_migrant_head(m: MemberFacts) -> bool:
    return m.work_status == "migrant_worker" or m.hukou == "agricultural"


def summarise(facts: HouseholdFacts) -> HouseholdSummary:
    """The facts reduced to what the rules read (``decide_summary`` gives the same decision)."""
    on = facts.decision_date
    members = counted_members(facts)
    other = ZERO
    aid = facts.union_aid_paid_yearly
    for kind, amount in facts.incomes:
        if kind in NOT_COUNTED_INCOME:
            continue
        if kind == UNION_AID:
            aid += amount
        else:
            other += amount
    causes = {facts.main_cause, *facts.secondary_causes}
    head = next((m for m in members if m.relationship == "head"), None)
    head_start: date | None = None
    if head is not None:
        head_start = head.work_start or (
            _years_before(on, head.employment_years) if head.employment_years > 0 else None
        )
    acquired = [h.acquired_on for h in facts.homes if h.acquired_on]
    return HouseholdSummary(
        region_code=facts.region_code,
        members=len(members),
        wages_monthly=sum((m.monthly_income for m in members), ZERO),
        able_without_job=tuple(
            (m.birth_date or _years_before(on, m.age), m.monthly_income) for m in members if is_able_profile(m)
        ),
        other_income_yearly=other,
        union_aid_yearly=aid,
        rigid_yearly=sum((amount for _kind, amount in facts.rigid_expenses), ZERO),
        condition=deep_condition(facts),
        accident_costs_yearly=facts.accident_costs_yearly if causes & ACCIDENT_CAUSES else ZERO,
        vehicles=", ".join(sorted({v for v in facts.vehicles if v not in ALLOWED_VEHICLES})),
        roles=", ".join(sorted({r.role for r in facts.business_roles if r.company_active})),
        homes=len(facts.homes),
        homes_area=sum((h.floor_area for h in facts.homes), ZERO),
        last_home_acquired=max(acquired) if acquired else None,
        private_school_fees_yearly=facts.private_school_fees_yearly,
        public_school_fees_yearly=facts.public_school_fees_yearly,
        studying_abroad_self_funded=facts.studying_abroad_self_funded,
        head_migrant=head is not None and is_migrant_head(head),
        head_work_start=head_start,
        income_history=facts.income_history,
    )


def decide(facts: HouseholdFacts, standard: Standard | None, rules: RuleSet) -> Decision:
    return decide_summary(summarise(facts), facts.decision_date, standard, rules)


def decide_summary(
    s: HouseholdSummary, on: date, standard: Standard | None, rules: RuleSet, *, explain: bool = True
) -> Decision:
    """The decision on ``on`` for a household summarised by ``s``. Without ``explain`` only the
    category, the category by income and the numbers are filled (no reasons): for previews."""
    if standard is None:
        return Decision(
            category=Category.CANNOT_DECIDE,
            income_category=Category.CANNOT_DECIDE,
            reasons=(no_standard_reason(s.region_code, on.year),),
            ruleset_version=rules.version,
        )
    n = s.members
    if n == 0:
        return Decision(
            category=Category.CANNOT_DECIDE,
            income_category=Category.CANNOT_DECIDE,
            reasons=(Reason("no_members"),),
            ruleset_version=rules.version,
        )
    reasons: list[Reason] = []
    wage = standard.minimum_wage_monthly
    income = s.wages_monthly * TWELVE
    if rules.impute_minimum_wage:
        for born, monthly in s.able_without_job:
            if monthly < wage:
                age = age_on(born, on)
                if rules.working_age_from <= age < rules.working_age_to:
                    income += (wage - monthly) * TWELVE
                    if explain:
                        reasons.append(Reason("imputed_minimum_wage", {"age": str(age), "wage": fmt_money(wage)}))
    income += s.other_income_yearly
    aid = s.union_aid_yearly
    if rules.count_union_aid:
        income += aid
    elif aid and explain:
        reasons.append(Reason("union_aid_not_counted", {"aid": fmt_money(aid)}))
    rigid = s.rigid_yearly
    net = _round((income - rigid) / TWELVE / n)
    dibao = standard.dibao_monthly
    cmp = rules.comparison
    sign = "≤" if cmp == Comparison.LE else "<"
    if explain:
        reasons.append(
            Reason(
                "net_income",
                {"income": fmt_money(income), "rigid": fmt_money(rigid), "members": str(n), "net": fmt_money(net)},
            )
        )
    precondition_ok = True
    if rules.require_below_disposable_income and standard.disposable_income_per_head_last_year is not None:
        per_head_year = _round(income / n)
        limit = standard.disposable_income_per_head_last_year
        precondition_ok = per_head_year < limit
        if explain:
            reasons.append(
                Reason(
                    "disposable_income" if precondition_ok else "disposable_income_failed",
                    {"income": fmt_money(per_head_year), "limit": fmt_money(limit)},
                )
            )

    deep_line = _round(rules.deep_multiple * dibao)
    relative_line = _round(rules.relative_multiple * dibao)
    costs = s.accident_costs_yearly
    by_share: bool | None = None
    after: Decimal | None = None
    if costs > 0:
        by_share = costs > _round(rules.accident_share * income)
        after = _round((income - rigid - costs) / TWELVE / n)
    dq = disqualifiers(s, on, standard, rules, n)
    category, income_category = ladder(
        net=net,
        condition=s.condition,
        precondition_ok=precondition_ok,
        disqualified=bool(dq),
        accident_by_share=by_share,
        net_after_accident=after,
        dibao=dibao,
        rules=rules,
    )
    if explain and precondition_ok:
        base = {"net": fmt_money(net), "dibao": fmt_money(dibao)}
        if income_category == Category.DEEP:
            reasons.append(
                Reason(
                    "deep",
                    {
                        **base,
                        "sign": sign,
                        "multiple": fmt_multiple(rules.deep_multiple),
                        "condition": CONDITION_TEXT[s.condition or ""],
                    },
                )
            )
        elif income_category == Category.RELATIVE:
            if below(net, deep_line, cmp):
                reasons.append(Reason("deep_no_condition", {}))
            reasons.append(
                Reason("relative", {**base, "sign": sign, "multiple": fmt_multiple(rules.relative_multiple)})
            )
        else:
            not_sign = ">" if cmp == Comparison.LE else "≥"
            reasons.append(
                Reason("above_relative", {**base, "sign": not_sign, "multiple": fmt_multiple(rules.relative_multiple)})
            )
            if income_category == Category.ACCIDENT and rules.accident_test:
                reasons.append(
                    Reason(
                        "accident",
                        {
                            "costs": fmt_money(costs),
                            "share": fmt_multiple(rules.accident_share),
                            "income": fmt_money(income),
                        },
                    )
                )
            elif income_category == Category.ACCIDENT and after is not None:
                reasons.append(
                    Reason("accident_after_costs", {"after": fmt_money(after), "line": fmt_money(relative_line)})
                )
    if dq and explain:
        reasons.extend(dq)
    migrant = (
        category in {Category.DEEP, Category.RELATIVE, Category.ACCIDENT}
        and s.head_migrant
        and (age_on(s.head_work_start, on) if s.head_work_start else 0) >= rules.migrant_min_employment_years
    )
    if migrant and explain:
        reasons.append(Reason("migrant_worker", {"years": str(rules.migrant_min_employment_years)}))
    exit_line = dibao
    ex = exit_test(s.income_history, exit_line, rules.exit_months)
    if ex is not None and explain:
        reasons.append(
            Reason(
                "exit_test_met" if ex[1] else "exit_test_not_met",
                {"dibao": fmt_money(exit_line), "run": str(ex[0]), "months": str(rules.exit_months)},
            )
        )
    return Decision(
        category=category,
        income_category=income_category,
        reasons=tuple(reasons) if explain else (),
        disqualifiers=tuple(r.code for r in dq),
        is_migrant_worker=migrant,
        members_counted=n,
        income_yearly=_round(income),
        rigid_expense_yearly=_round(rigid),
        net_income_per_head_monthly=net,
        exit_months_above=ex[0] if ex else None,
        exit_test_met=ex[1] if ex else None,
        ruleset_version=rules.version,
        standard_version=standard.version,
        condition=s.condition,
        precondition_ok=precondition_ok,
        accident_by_share=by_share,
        net_after_accident=after,
    )


def ladder(
    *,
    net: Decimal,
    condition: str | None,
    precondition_ok: bool,
    disqualified: bool,
    accident_by_share: bool | None,
    net_after_accident: Decimal | None,
    dibao: Decimal,
    rules: RuleSet,
) -> tuple[str, str]:
    """(category, category by income alone) from the numbers a decision read: deep below the deep
    line with a condition, relative below the relative line, else accident; a disqualifier makes
    it not eligible. The one place the categories are chosen (``decide_summary`` and what-ifs)."""
    cmp = rules.comparison
    category: str = Category.NOT_ELIGIBLE
    if precondition_ok:
        relative_line = _round(rules.relative_multiple * dibao)
        if condition and below(net, _round(rules.deep_multiple * dibao), cmp):
            category = Category.DEEP
        elif below(net, relative_line, cmp):
            category = Category.RELATIVE
        elif (
            accident_by_share
            if rules.accident_test
            else net_after_accident is not None and below(net_after_accident, relative_line, cmp)
        ):
            category = Category.ACCIDENT
    return (Category.NOT_ELIGIBLE if disqualified else category), category


def decide_legacy(facts: HouseholdFacts, standard: Standard | None, rules: RuleSet) -> Decision:
    """The pre-2018 scheme, for imported files: dibao household (< 1×), near-dibao (≤ 1.5×),
    accident household (≤ 3× with accident costs)."""
    if standard is None:
        return cannot_decide(facts, rules, no_standard_reason(facts.region_code, facts.decision_date.year))
    members = counted_members(facts)
    n = len(members)
    if n == 0:
        return cannot_decide(facts, rules, Reason("no_members"))
    income, _aid, reasons = count_income(facts, standard, rules)
    rigid = sum((amount for _kind, amount in facts.rigid_expenses), ZERO)
    net = _round((income - rigid) / TWELVE / n)
    dibao = standard.dibao_monthly
    base = {"net": fmt_money(net), "dibao": fmt_money(dibao)}
    steps: list[tuple[str, Decimal, str, bool]] = [
        (Category.LEGACY_DIBAO, rules.legacy_dibao_multiple, "<", True),
        (Category.LEGACY_DIBAO_EDGE, rules.legacy_edge_multiple, "≤", True),
        (Category.LEGACY_ACCIDENT, rules.legacy_accident_multiple, "≤", facts.accident_costs_yearly > 0),
    ]
    category: str = Category.NOT_ELIGIBLE
    for cat, multiple, sign, extra in steps:
        line = _round(multiple * dibao)
        ok = (net < line) if sign == "<" else (net <= line)
        if ok and extra:
            category = cat
            reasons.append(Reason(str(cat), {**base, "sign": sign, "multiple": fmt_multiple(multiple)}))
            break
    if category == Category.NOT_ELIGIBLE:
        reasons.append(
            Reason(
                "legacy_above",
                {**base, "sign": ">", "multiple": fmt_multiple(rules.legacy_edge_multiple)},
            )
        )
    return Decision(
        category=category,
        income_category=category,
        reasons=tuple(reasons),
        members_counted=n,
        income_yearly=_round(income),
        rigid_expense_yearly=_round(rigid),
        net_income_per_head_monthly=net,
        ruleset_version=rules.version,
        standard_version=standard.version,
    )
