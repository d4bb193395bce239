"""The pure engine: table-driven cases from domain.md §3 and property tests."""

from __future__ import annotations

import ast
import pathlib
from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bangfu.eligibility.rules import (
    DEPTH,
    BusinessRoleFacts,
    Category,
    HomeFacts,
    HouseholdFacts,
    MemberFacts,
    RuleSet,
    Standard,
    decide,
    decide_legacy,
)

D = Decimal
STD = Standard(
    division_code="532923",
    year=2026,
    dibao_monthly=D("1001.00"),
    minimum_wage_monthly=D("1900.00"),
    housing_area_per_head=D("20"),
    version="532923/2026/1",
)
RULES = RuleSet(version="r1")
TODAY = date(2026, 6, 1)


def person(age: int = 45, **kw: object) -> MemberFacts:
    defaults: dict[str, object] = {"identity": "working", "work_status": "employed"}
    defaults.update(kw)
    return MemberFacts(age=age, **defaults)  # type: ignore[arg-type]


def household(*members: MemberFacts, **kw: object) -> HouseholdFacts:
    return HouseholdFacts(members=members, region_code="532923", decision_date=TODAY, **kw)  # type: ignore[arg-type]


def ill_head(income: str) -> MemberFacts:
    return person(health="malignant_tumour", monthly_income=D(income))


# (name, facts, expected category)
CASES = [
    # 2 members, 1,500 + 100 a month → 800.00 per head < 1,001 with illness → deep
    ("deep: illness, 800 < 1×", household(ill_head("1500"), person(monthly_income=D("100"))), Category.DEEP),
    # same income, nobody ill, no schooling → below 1× but no condition → relative
    ("relative: below 1× without condition", household(person(monthly_income=D("1600"))), Category.RELATIVE),
    # 1,900 per head < 2,002 → relative
    ("relative: 1,900 < 2×", household(person(monthly_income=D("1900"))), Category.RELATIVE),
    ("not eligible: 2,100 ≥ 2×", household(person(monthly_income=D("2100"))), Category.NOT_ELIGIBLE),
    # rigid expenses are deducted: 2,500 a month − 12,000 medical a year → 1,500 per head
    (
        "relative after rigid expenses",
        household(person(monthly_income=D("2500")), rigid_expenses=(("medical", D("12000")),)),
        Category.RELATIVE,
    ),
    # basic residents' pension and festival gifts do not count
    (
        "not counted incomes",
        household(
            ill_head("900"),
            incomes=(("basic_resident_pension", D("6000")), ("festival_gift", D("1200"))),
        ),
        Category.DEEP,
    ),
    # union aid already paid counts: 900 a month + 2,400 aid = 1,100 per head → above 1×
    (
        "union aid counts",
        household(ill_head("900"), incomes=(("union_aid", D("2400")),)),
        Category.RELATIVE,
    ),
    # an able 30-year-old without a job is imputed the minimum wage 1,900
    (
        "imputed minimum wage",
        household(
            ill_head("300"),
            person(age=30, identity="unemployed", work_status="unemployed"),
        ),
        Category.RELATIVE,  # (300 + 1900) / 2 = 1,100 ≥ 1,001
    ),
    # a student is not imputed
    (
        "student not imputed",
        household(ill_head("300"), person(age=19, identity="student", work_status="")),
        Category.DEEP,
    ),
    # job loss from a closed enterprise is a deep condition
    (
        "deep: job loss from closed enterprise",
        household(
            person(identity="unemployed", work_status="laid_off", enterprise_state="closed", age=62),
        ),
        Category.DEEP,
    ),
    # accident: income 2,100 a month is above 2×, but costs 21,000 > 0.8 × income 25,200 = 20,160
    (
        "accident: costs above 80% of income",
        household(person(monthly_income=D("2100")), main_cause=8, accident_costs_yearly=D("21000")),
        Category.ACCIDENT,
    ),
    (
        "no accident: costs below 80% of income",
        household(person(monthly_income=D("2500")), main_cause=8, accident_costs_yearly=D("20000")),
        Category.NOT_ELIGIBLE,
    ),
    # disqualifiers
    (
        "car disqualifies",
        household(ill_head("500"), vehicles=("car",)),
        Category.NOT_ELIGIBLE,
    ),
    ("livelihood vehicle allowed", household(ill_head("500"), vehicles=("livelihood", "disability")), Category.DEEP),
    (
        "active company role disqualifies",
        household(ill_head("500"), business_roles=(BusinessRoleFacts("legal_representative", True),)),
        Category.NOT_ELIGIBLE,
    ),
    (
        "inactive company role allowed",
        household(ill_head("500"), business_roles=(BusinessRoleFacts("legal_representative", False),)),
        Category.DEEP,
    ),
    (
        "two homes above 2× housing standard",
        household(ill_head("500"), homes=(HomeFacts(D("30")), HomeFacts(D("20")))),
        Category.NOT_ELIGIBLE,  # 50 m² per head > 40
    ),
    (
        "two small homes allowed",
        household(ill_head("500"), homes=(HomeFacts(D("20")), HomeFacts(D("20")))),
        Category.DEEP,  # 40 m² per head is not above 40
    ),
    (
        "home bought within the year",
        household(ill_head("500"), homes=(HomeFacts(D("40"), date(2025, 9, 1)),)),
        Category.NOT_ELIGIBLE,
    ),
    (
        "home bought earlier",
        household(ill_head("500"), homes=(HomeFacts(D("40"), date(2024, 9, 1)),)),
        Category.DEEP,
    ),
    (
        "private school above 2× public",
        household(
            ill_head("500"),
            private_school_fees_yearly=D("20001"),
            public_school_fees_yearly=D("10000"),
        ),
        Category.NOT_ELIGIBLE,
    ),
    ("nobody living together", household(person(living_together=False)), Category.CANNOT_DECIDE),
]


@pytest.mark.parametrize(("name", "facts", "expected"), CASES, ids=[c[0] for c in CASES])
def test_table(name: str, facts: HouseholdFacts, expected: str) -> None:
    assert decide(facts, STD, RULES).category == expected


def test_reason_text_carries_the_numbers() -> None:
    d = decide(household(person(health="malignant_tumour", monthly_income=D("812.50"))), STD, RULES)
    texts = [r.text for r in d.reasons]
    assert (
        "Net income per head per month as counted (members without a job at the minimum wage) "
        "812.50 yuan < 1 × dibao 1,001.00 yuan, with illness"
    ) in texts
    assert d.ruleset_version == "r1"
    assert d.standard_version == "532923/2026/1"
    assert d.net_income_per_head_monthly == D("812.50")


def test_comparison_le_includes_the_line() -> None:
    facts = household(ill_head("1001"))
    assert decide(facts, STD, RULES).category == Category.RELATIVE
    assert decide(facts, STD, replace(RULES, comparison="<=")).category == Category.DEEP


def test_union_aid_switch() -> None:
    facts = household(ill_head("900"), incomes=(("union_aid", D("2400")),))
    assert decide(facts, STD, replace(RULES, count_union_aid=False)).category == Category.DEEP


def test_no_standard_cannot_decide() -> None:
    d = decide(household(person()), None, RULES)
    assert d.category == Category.CANNOT_DECIDE
    assert d.reasons[0].text == "Cannot decide: no dibao standard for 532923 in 2026"


def test_disqualified_keeps_income_category_and_names_the_rule() -> None:
    d = decide(household(ill_head("500"), vehicles=("car",)), STD, RULES)
    assert (d.category, d.income_category, d.disqualifiers) == (Category.NOT_ELIGIBLE, Category.DEEP, ("vehicle",))


def test_disqualifier_switch_off() -> None:
    facts = household(ill_head("500"), vehicles=("car",))
    assert decide(facts, STD, replace(RULES, disqualify_vehicles=False)).category == Category.DEEP


def test_migrant_worker() -> None:
    head = person(work_status="migrant_worker", hukou="agricultural", employment_years=2, monthly_income=D("1500"))
    assert decide(household(head), STD, RULES).is_migrant_worker
    new = replace(head, employment_years=0)
    assert not decide(household(new), STD, RULES).is_migrant_worker


def test_exit_test() -> None:
    history = tuple(D(x) for x in ["900", "1100", "1200", "1100", "1050", "1300", "1002"])
    d = decide(household(ill_head("900"), income_history=history), STD, RULES)
    assert (d.exit_months_above, d.exit_test_met) == (6, True)
    d = decide(household(ill_head("900"), income_history=history), STD, replace(RULES, exit_months=7))
    assert (d.exit_months_above, d.exit_test_met) == (6, False)
    assert decide(household(ill_head("900")), STD, RULES).exit_test_met is None


@pytest.mark.parametrize(
    ("income", "costs", "expected"),
    [
        ("1000", "0", Category.LEGACY_DIBAO),
        ("1001", "0", Category.LEGACY_DIBAO_EDGE),
        ("1501.50", "0", Category.LEGACY_DIBAO_EDGE),  # ≤ 1.5 × 1,001 = 1,501.50
        ("1501.51", "0", Category.NOT_ELIGIBLE),
        ("3003", "5000", Category.LEGACY_ACCIDENT),
        ("3003.01", "5000", Category.NOT_ELIGIBLE),
    ],
)
def test_legacy(income: str, costs: str, expected: str) -> None:
    facts = household(person(monthly_income=D(income)), accident_costs_yearly=D(costs))
    decision = decide_legacy(facts, STD, RULES)
    assert decision.category == expected
    assert f"(members without a job at the minimum wage) {D(income):,.2f} yuan" in decision.reasons[-1].text


def test_inconsistent_rule_set_is_reported() -> None:
    problems = replace(RULES, relative_multiple=D("0.5")).problems()
    assert [p[0] for p in problems] == ["relative_multiple"]
    assert RULES.problems() == []


def test_rule_set_round_trips_through_json_params() -> None:
    assert RuleSet.from_params(RULES.to_params()) == RULES
    with pytest.raises(KeyError):
        RuleSet.from_params({"nonsense": 1})
    with pytest.raises(ValueError, match="exit_months"):
        RuleSet.from_params({"exit_months": "six"})


def test_rules_package_imports_nothing_from_django() -> None:
    root = pathlib.Path(__file__).resolve().parents[1] / "rules"
    for path in root.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            assert not any(n.split(".")[0] == "django" for n in names), path


# ---- properties -------------------------------------------------------------------------------

money = st.decimals(min_value=0, max_value=8000, places=2, allow_nan=False, allow_infinity=False)
members_st = st.builds(
    MemberFacts,
    age=st.integers(0, 90),
    relationship=st.sampled_from(["head", "spouse", "son"]),
    living_together=st.booleans(),
    monthly_income=money,
    identity=st.sampled_from(["working", "unemployed", "student", "retired", "unable", ""]),
    work_status=st.sampled_from(["employed", "laid_off", "unemployed", "retired", "migrant_worker", ""]),
    health=st.sampled_from(["good", "malignant_tumour", "general_illness"]),
    enterprise_state=st.sampled_from(["", "closed", "normal"]),
)
facts_st = st.builds(
    HouseholdFacts,
    members=st.lists(members_st, min_size=1, max_size=5).map(tuple),
    region_code=st.just("532923"),
    decision_date=st.just(TODAY),
    incomes=st.lists(
        st.tuples(st.sampled_from(["pension", "union_aid", "festival_gift", "business"]), money), max_size=3
    ).map(tuple),
    rigid_expenses=st.lists(st.tuples(st.sampled_from(["medical", "schooling"]), money), max_size=2).map(tuple),
    main_cause=st.sampled_from([1, 3, 6, 8, 9]),
    accident_costs_yearly=st.decimals(min_value=0, max_value=60000, places=2),
    vehicles=st.lists(st.sampled_from(["car", "livelihood"]), max_size=1).map(tuple),
)
rules_st = st.builds(
    RuleSet,
    comparison=st.sampled_from(["<", "<="]),
    accident_test=st.booleans(),
    count_union_aid=st.booleans(),
    impute_minimum_wage=st.booleans(),
)


@settings(max_examples=300, deadline=None)
@given(facts=facts_st, rules=rules_st, extra=money, which=st.integers(0, 4), as_income=st.booleans())
def test_more_income_never_gives_a_deeper_category(
    facts: HouseholdFacts, rules: RuleSet, extra: Decimal, which: int, as_income: bool
) -> None:
    if as_income:
        richer = replace(facts, incomes=(*facts.incomes, ("wages", extra * 12)))
    else:
        i = which % len(facts.members)
        m = facts.members[i]
        members = list(facts.members)
        members[i] = replace(m, monthly_income=m.monthly_income + extra)
        richer = replace(facts, members=tuple(members))
    before, after = decide(facts, STD, rules), decide(richer, STD, rules)
    assert all(r.text for r in (*before.reasons, *after.reasons))  # every reason renders
    assert DEPTH[after.category] <= DEPTH[before.category]


@settings(max_examples=300, deadline=None)
@given(facts=facts_st, rules=rules_st, raise_by=st.decimals(min_value=0, max_value=2000, places=2))
def test_higher_dibao_never_removes_eligibility(facts: HouseholdFacts, rules: RuleSet, raise_by: Decimal) -> None:
    before = decide(facts, STD, rules)
    after = decide(facts, replace(STD, dibao_monthly=STD.dibao_monthly + raise_by), rules)
    if before.category in {Category.DEEP, Category.RELATIVE, Category.ACCIDENT}:
        assert after.category in {Category.DEEP, Category.RELATIVE, Category.ACCIDENT}
        assert DEPTH[after.category] >= DEPTH[before.category]


def test_reason_text_follows_the_number_in_english_and_chinese() -> None:
    from django.utils import translation

    from bangfu.eligibility.presentation import reason_text

    params = {"income": "9,600", "rigid": "0", "members": "1", "net": "800.00"}
    one = {"code": "net_income", "params": params}
    three = {"code": "net_income", "params": {**params, "members": "3"}}
    run = {"dibao": "1,001", "run": "1", "months": "6"}
    month = {"code": "exit_test_not_met", "params": run}
    year = {"code": "migrant_worker", "params": {"years": "1"}}
    with translation.override("en"):
        assert "over 12 months and 1 member = 800.00" in reason_text(one)
        assert "over 12 months and 3 members = 800.00" in reason_text(three)
        assert reason_text(month) == "Income per head above dibao 1,001 yuan for 1 consecutive month; 6 needed"
        assert reason_text(year) == "Migrant worker living in the city with at least 1 year of employment"
        # a stored reason whose number is not a whole number still reads (the plural wording)
        assert "for 1.5 consecutive month(s)" in reason_text({**month, "params": {**run, "run": "1.5"}})
    with translation.override("zh-hans"):
        assert "÷ 1人" in reason_text(one)
        assert reason_text(month) == "人均收入已连续1个月高于低保标准1,001元；需连续6个月"
