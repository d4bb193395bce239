"""The bulk recompute and the one-household path give the same decision on 100,000 random households.

The households are the seed generator's (``bangfu.seed``), then shaken at random so that every
branch of the rules is met many times: deceased members and members living elsewhere, illness and
disability grades, students, job loss from a closing enterprise, migrant-worker heads, vehicles,
business roles, recent and large homes, every income and rigid-expense kind (union aid and the
incomes that are not counted included), hardship costs, school fees, study abroad, accident causes,
cancelled files, households with nobody left, income records for the exit test, and regions with
other rule sets and standards. The bulk path (PostgreSQL's summary query, SQLite's Python summary)
writes its decisions as a recompute does; each is compared with the decision the one-household
path (``facts_from_household`` and the engine, as ``services.decision_compute``) gives.
"""

from __future__ import annotations

import os
import random
from collections import Counter
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from django.db.models import Count, F

from bangfu.eligibility import bulk, services
from bangfu.eligibility.adapters import FACTS_PREFETCH, RuleBook, StandardBook
from bangfu.eligibility.models import EligibilityDecision
from bangfu.org.models import OrgUnit
from bangfu.registry import codes
from bangfu.registry.models import BusinessRole, Home, Household, Income, Member, RigidExpense, Vehicle

# The size can be lowered for a quick local run; the suite runs the full 100,000.
HOUSEHOLDS = int(os.environ.get("BANGFU_AGREEMENT_HOUSEHOLDS", "100000"))
ON = date(2026, 6, 1)
BATCH = 2000

pytestmark = pytest.mark.slow


def _update(model: Any, ids: list[int], **values: Any) -> None:
    for start in range(0, len(ids), 900):  # SQLite's limit of query parameters
        model.objects.filter(pk__in=ids[start : start + 900]).update(**values)


def _money(rng: random.Random, low: int, high: int) -> Decimal:
    return Decimal(rng.randint(low * 100, high * 100)) / 100


def _shake(rng: random.Random, households: list[int], heads: dict[int, int], members: list[int]) -> None:
    """Random changes over the seeded files, each on a few per cent of them."""

    def some(pool: list[int], share: float) -> list[int]:
        return sorted(rng.sample(pool, max(1, int(len(pool) * share))))

    # Members: the counted ones, conditions, work and the migrant-worker head.
    _update(Member, some(members, 0.03), deceased=True)
    _update(Member, some(members, 0.04), living_together=False)
    for health in ("diabetes", "malignant_tumour", "hypertension", "general_illness"):
        _update(Member, some(members, 0.01), health=health)
    _update(Member, some(members, 0.01), health="disabled", disability_type="", disability_grade=None)
    for grade in (1, 2, 3, 4):
        _update(Member, some(members, 0.005), disability_type="physical", disability_grade=grade)
    _update(Member, some(members, 0.02), identity="student", work_status="")
    _update(Member, some(members, 0.03), identity="unemployed", work_status="unemployed", monthly_income=0)
    for state in ("closed", "restructured", "normal"):
        _update(Member, some(members, 0.01), work_status="laid_off", enterprise_state=state)
    head_ids = list(heads.values())
    _update(Member, some(head_ids, 0.05), work_status="migrant_worker", hukou="non_agricultural")
    _update(Member, some(head_ids, 0.05), hukou="agricultural")
    _update(Member, some(head_ids, 0.05), work_start_date=date(2025, 12, 1))
    _update(Member, some(head_ids, 0.02), work_start_date=None)
    # Households with nobody left, cancelled and removed files, causes (accident and deep ones).
    nobody = some(households, 0.005)
    Member.objects.filter(household_id__in=nobody[:900]).update(deceased=True)
    _update(Household, some(households, 0.01), state=codes.FileState.CANCELLED)
    _update(Household, some(households, 0.005), state=codes.FileState.REMOVED)
    for cause in (6, 7, 8, 9):
        _update(Household, some(households, 0.02), main_cause=cause)
    for secondary in ([6], [9], [7, 9], [8]):
        _update(Household, some(households, 0.01), secondary_causes=secondary)
    # Assets: every vehicle kind, roles in active and closed companies, homes recent, old and large.
    kinds = [k.value for k in codes.VehicleKind]
    Vehicle.objects.bulk_create(
        [Vehicle(household_id=h, kind=rng.choice(kinds)) for h in some(households, 0.06)], batch_size=2000
    )
    roles = [r.value for r in codes.BusinessRoleKind]
    BusinessRole.objects.bulk_create(
        [
            BusinessRole(household_id=h, company="X", role=rng.choice(roles), company_active=rng.random() < 0.6)
            for h in some(households, 0.03)
        ],
        batch_size=2000,
    )
    Home.objects.bulk_create(
        [
            Home(
                household_id=h,
                floor_area=_money(rng, 20, 400),
                acquired_on=rng.choice([None, date(2025, 9, 1), date(2025, 6, 1), date(2010, 3, 1), ON]),
            )
            for h in some(households, 0.06)
        ],
        batch_size=2000,
    )
    # Every income and rigid-expense kind, now and then of nothing.
    incomes = [k.value for k in codes.IncomeKind]
    Income.objects.bulk_create(
        [
            Income(household_id=h, kind=rng.choice(incomes), amount_yearly=rng.choice([0, _money(rng, 100, 40_000)]))
            for h in some(households, 0.12)
        ],
        batch_size=2000,
    )
    expenses = [k.value for k in codes.RigidExpenseKind]
    RigidExpense.objects.bulk_create(
        [
            RigidExpense(
                household_id=h, kind=rng.choice(expenses), amount_yearly=rng.choice([0, _money(rng, 100, 30_000)])
            )
            for h in some(households, 0.08)
        ],
        batch_size=2000,
    )
    # Hardship by accident: an accident cause, wages above the relative line and large costs.
    accident = set(some(households, 0.03))
    ordered = sorted(accident)
    for start in range(0, len(ordered), 900):
        part = ordered[start : start + 900]
        Household.objects.filter(pk__in=part).update(main_cause=rng.choice([6, 7, 8]))
        Member.objects.filter(household_id__in=part).update(monthly_income=F("monthly_income") + 2500)
    # Facts identification asks for: hardship costs, school fees, study abroad.
    others = some(sorted(set(households) - accident), 0.06)
    Household.objects.bulk_update(
        [
            Household(
                pk=h,
                accident_costs_yearly=_money(rng, 20_000, 200_000)
                if h in accident
                else rng.choice([0, _money(rng, 1000, 90_000)]),
                private_school_fees_yearly=rng.choice([0, _money(rng, 1000, 60_000)]),
                public_school_fees_yearly=rng.choice([0, _money(rng, 500, 20_000)]),
                studying_abroad_self_funded=rng.random() < 0.1,
            )
            for h in sorted({*accident, *others})
        ],
        [
            "accident_costs_yearly",
            "private_school_fees_yearly",
            "public_school_fees_yearly",
            "studying_abroad_self_funded",
        ],
        batch_size=500,
    )


@pytest.fixture
def households(db: Any) -> dict[str, Any]:
    from bangfu.seed.run import seed_run

    result = seed_run(households=HOUSEHOLDS, random_seed=2029, province="530000")
    province = OrgUnit.objects.get(path=result.province_path)
    rng = random.Random(2029)
    ids = list(Household.objects.order_by("id").values_list("id", flat=True))
    heads = dict(Member.objects.filter(relationship="head").values_list("household_id", "id"))
    members = list(Member.objects.order_by("id").values_list("id", flat=True))
    _shake(rng, ids, heads, members)
    # The province's standard, another with a disposable income for a prefecture below it, and
    # rule sets of three prefectures that turn the options.
    prefectures = sorted(
        {u.division_code[:4] + "00" for u in OrgUnit.objects.filter(path__startswith=province.path, level=4)}
    )
    assert len(prefectures) > 3
    for code, dibao, disposable in (("530000", "1001", None), (prefectures[0], "930", "16000")):
        services.standard_set(
            actor=services.SYSTEM,
            division_code=code,
            year=ON.year,
            dibao_monthly=dibao,
            minimum_wage_monthly="1900",
            housing_area_per_head="20",
            disposable_income_per_head_last_year=disposable,
            effective_from=date(ON.year, 1, 1),
        )
    rule_sets: list[dict[str, Any]] = [  # the first prefecture's standard has a disposable income
        {"impute_minimum_wage": False, "require_below_disposable_income": True, "relative_multiple": "2.5"},
        {"comparison": "<=", "accident_test": False, "count_union_aid": False, "exit_months": 3},
        {"disqualify_vehicles": False, "disqualify_homes": False, "migrant_min_employment_years": 0},
    ]
    for code, params in zip(prefectures, rule_sets, strict=False):
        services.ruleset_publish(actor=services.SYSTEM, region_code=code, params=params)
    return {"province": province}


# What a stored decision holds of the engine's decision.
STORED = (
    "household_id",
    "category",
    "income_category",
    "net_income_per_head_monthly",
    "reasons",
    "disqualifiers",
    "is_migrant_worker",
    "exit_months_above",
    "exit_test_met",
    "standard_version",
    "ruleset_version",
    "condition",
    "precondition_ok",
    "accident_by_share",
    "net_after_accident",
)


def test_bulk_and_one_household_paths_agree_on_100000_random_households(households: dict[str, Any]) -> None:
    path = households["province"].path
    out = bulk.run_engine(path=path, on=ON, write=True)
    stored = {
        row[0]: row[1:] for row in EligibilityDecision.objects.filter(run__isnull=True).order_by().values_list(*STORED)
    }
    assert len(stored) == out.total == out.done == bulk.households_in(path).count()

    standards, rulebook = StandardBook.load(ON.year), RuleBook.load()
    ids = sorted(stored)
    one = Household.objects.select_related("unit").prefetch_related(*FACTS_PREFETCH)
    differ: list[tuple[int, tuple[Any, ...], tuple[Any, ...]]] = []
    seen: Counter[str] = Counter()
    for start in range(0, len(ids), BATCH):
        for h in one.filter(pk__in=ids[start : start + BATCH]):
            d = services.decide_household(h, ON, standards, rulebook)
            expected = (
                d.category,
                d.income_category,
                d.net_income_per_head_monthly,
                [r.as_dict() for r in d.reasons],
                list(d.disqualifiers),
                d.is_migrant_worker,
                d.exit_months_above,
                d.exit_test_met,
                d.standard_version,
                d.ruleset_version,
                d.condition or "",
                d.precondition_ok if d.net_income_per_head_monthly is not None else None,
                d.accident_by_share,
                d.net_after_accident,
            )
            if stored[h.pk] != expected:
                differ.append((h.pk, stored[h.pk], expected))
            seen.update({d.category, *d.disqualifiers, *(r.code for r in d.reasons)})
    assert not differ, f"{len(differ)} households differ, e.g. {differ[:3]}"

    # The random households went through every part of the rules.
    assert len(ids) > HOUSEHOLDS * 0.9
    share = max(1, len(ids) // 1000)
    expected_seen = {
        "deep",
        "relative",
        "accident",
        "not_eligible",
        "cannot_decide",
        "vehicle",
        "business_role",
        "homes",
        "recent_home",
        "private_school",
        "study_abroad",
        "imputed_minimum_wage",
        "union_aid_not_counted",
        "disposable_income",
        "disposable_income_failed",
        "deep_no_condition",
        "accident_after_costs",
        "migrant_worker",
        "exit_test_met",
        "exit_test_not_met",
        "no_members",
    }
    rare = {k for k in expected_seen if seen[k] < min(share, 5)}
    assert not rare, f"too few households met {sorted(rare)}: {seen}"
    categories = dict(EligibilityDecision.objects.values_list("category").annotate(n=Count("id")))
    assert sum(categories.values()) == len(ids)
