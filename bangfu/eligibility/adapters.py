"""From the database to the pure engine: standards, rule sets and household facts.

The one-household path (``facts_from_household``, from a prefetched Household) and the bulk path
(``bulk.py``, from rows) build the same ``HouseholdFacts``; a test proves they agree.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from typing import Any

from bangfu.registry.models import Household

from . import models
from .rules import BusinessRoleFacts, HomeFacts, HouseholdFacts, MemberFacts, RuleSet, Standard

DEFAULT_RULESET_VERSION = "default"
# The exit test reads at most this many months of income records: the longest ``exit_months`` a
# rule set may ask for (``RuleSet.check``: 1 to 36).
HISTORY_MONTHS = 36
# A month without a record in the history: never above any line, so it breaks a run of months.
MISSING_MONTH = Decimal("-Infinity")


def _month_index(d: date) -> int:
    return d.year * 12 + d.month - 1


def _month_of(index: int) -> date:
    return date(index // 12, index % 12 + 1, 1)


def history_from(on: date) -> date:
    """The first month an ``income_history`` on ``on`` may read: loaders fetch records from here
    to ``on`` (a month more than ``HISTORY_MONTHS``, as the last month may be the one before)."""
    return _month_of(_month_index(on) - HISTORY_MONTHS)


def income_history(records: Iterable[tuple[date, Decimal]], on: date) -> tuple[Decimal, ...]:
    """Income per head month by month, oldest first, for the exit test (``rules.exit_test`` counts
    the months above the line back from the last one).

    ``records``: (first day of the month, net income per head) of the household's income records,
    in any order. The last month is the month of ``on`` when it has a record, else the month
    before (the current month is often not followed up yet): a follow-up that stopped earlier
    ends the history with missing months, so an old run above the line does not count. The
    history starts at the first recorded month among the ``HISTORY_MONTHS`` up to the last;
    a month without a record inside it is ``MISSING_MONTH``. No record there: ``()`` (no exit test).
    """
    this = _month_index(on)
    by_index = {_month_index(m): v for m, v in records if _month_index(m) <= this}
    last = this if this in by_index else this - 1
    first = next((i for i in range(last - HISTORY_MONTHS + 1, last + 1) if i in by_index), None)
    if first is None:
        return ()
    return tuple(by_index.get(i, MISSING_MONTH) for i in range(first, last + 1))


def fallback_codes(code: str) -> list[str]:
    """County → prefecture → province: 532923, 532900, 530000 (without repeats)."""
    out: list[str] = []
    for c in (code, code[:4] + "00", code[:2] + "0000"):
        if c not in out:
            out.append(c)
    return out


def standard_from_row(row: models.Standard) -> Standard:
    return Standard(
        division_code=row.division_code,
        year=row.year,
        dibao_monthly=row.dibao_monthly,
        minimum_wage_monthly=row.minimum_wage_monthly,
        housing_area_per_head=row.housing_area_per_head,
        disposable_income_per_head_last_year=row.disposable_income_per_head_last_year,
        effective_from=row.effective_from,
        effective_to=row.effective_to,
        version=row.label,
    )


class StandardBook:
    """The standards of one year, resolved per division code with fallback to the parents.

    A division's standard on a day is its newest version in effect by then: a version that takes
    effect later in the year leaves the one before it in force until that day, and until a
    division's first standard of the year takes effect, its last one of the year before stays in
    force (a new year's dibao is often published months into the year; meanwhile files are still
    decided on the standard people are paid by)."""

    def __init__(self, year: int, rows: Iterable[models.Standard]) -> None:
        self.year = year
        self.by_code: dict[str, list[Standard]] = {}
        for row in sorted(rows, key=lambda r: (-r.year, -r.version)):
            self.by_code.setdefault(row.division_code, []).append(standard_from_row(row))
        self._cache: dict[tuple[str, date], Standard | None] = {}

    @classmethod
    def load(cls, year: int, overrides: Iterable[models.Standard] = ()) -> StandardBook:
        # The unsaved rows of a what-if are numbered as the next versions.
        return cls(year, [*models.Standard.objects.filter(year__in=(year - 1, year)), *overrides])

    def get(self, code: str, on: date) -> Standard | None:
        key = (code, on)
        if key not in self._cache:
            self._cache[key] = self._find(code, on)
        return self._cache[key]

    def _find(self, code: str, on: date) -> Standard | None:
        for c in fallback_codes(code):
            for s in self.by_code.get(c, ()):
                if (s.effective_from is None or s.effective_from <= on) and (
                    s.effective_to is None or on <= s.effective_to
                ):
                    return s
        return None


class RuleBook:
    """The current rule set per region, resolved with fallback to the parents and the national one."""

    def __init__(self, rows: Iterable[tuple[str, int, dict[str, Any]]]) -> None:
        self.by_region = {
            code: RuleSet.from_params(params, version=f"{code or 'national'}/v{version}")
            for code, version, params in rows
        }
        self._cache: dict[str, RuleSet] = {}

    @classmethod
    def load(cls, overrides: Iterable[tuple[str, int, dict[str, Any]]] = ()) -> RuleBook:
        rows = {
            code: (code, version, params)
            for code, version, params in models.RuleSetVersion.objects.filter(is_current=True).values_list(
                "region_code", "version", "params"
            )
        }
        for o in overrides:
            rows[o[0]] = o
        return cls(rows.values())

    def get(self, code: str) -> RuleSet:
        if code not in self._cache:
            found = next((self.by_region[c] for c in [*fallback_codes(code), ""] if c in self.by_region), None)
            self._cache[code] = found or RuleSet(version=DEFAULT_RULESET_VERSION)
        return self._cache[code]


def age_on(born: date, on: date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def member_facts(
    *,
    birth_date: date,
    on: date,
    relationship: str,
    living_together: bool,
    deceased: bool,
    monthly_income: Decimal,
    identity: str,
    work_status: str,
    health: str,
    disability_type: str,
    disability_grade: int | None,
    enterprise_state: str,
    work_start_date: date | None,
    hukou: str,
) -> MemberFacts:
    return MemberFacts(
        age=age_on(birth_date, on),
        relationship=relationship,
        living_together=living_together,
        deceased=deceased,
        monthly_income=monthly_income,
        identity=identity,
        work_status=work_status,
        health=health,
        disability_grade=disability_grade,
        disabled=health == "disabled" or bool(disability_type),
        enterprise_state=enterprise_state,
        employment_years=age_on(work_start_date, on) if work_start_date else 0,
        hukou=hukou,
        birth_date=birth_date,
        work_start=work_start_date,
    )


def member_facts_of(m: Any, *, birth_date: date, on: date) -> MemberFacts:
    """``member_facts`` from anything with the member attributes: a stored member or an input."""
    return member_facts(
        birth_date=birth_date,
        on=on,
        relationship=m.relationship,
        living_together=m.living_together,
        deceased=m.deceased,
        monthly_income=m.monthly_income,
        identity=m.identity,
        work_status=m.work_status,
        health=m.health,
        disability_type=m.disability_type,
        disability_grade=m.disability_grade,
        enterprise_state=m.enterprise_state,
        work_start_date=m.work_start_date,
        hukou=m.hukou,
    )


def facts_from_household(h: Household, on: date) -> HouseholdFacts:
    """Facts of one household; prefetch members, incomes, rigid_expenses, homes, vehicles,
    business_roles and income_records (see ``FACTS_PREFETCH``)."""
    members = tuple(
        member_facts_of(m, birth_date=m.birth_date, on=on) for m in sorted(h.members.all(), key=lambda m: m.pk)
    )
    return HouseholdFacts(
        members=members,
        region_code=h.unit.division_code,
        decision_date=on,
        incomes=tuple((i.kind, i.amount_yearly) for i in sorted(h.incomes.all(), key=lambda r: r.pk)),
        rigid_expenses=tuple((e.kind, e.amount_yearly) for e in sorted(h.rigid_expenses.all(), key=lambda r: r.pk)),
        homes=tuple(HomeFacts(x.floor_area, x.acquired_on) for x in sorted(h.homes.all(), key=lambda r: r.pk)),
        vehicles=tuple(v.kind for v in sorted(h.vehicles.all(), key=lambda r: r.pk)),
        business_roles=tuple(
            BusinessRoleFacts(b.role, b.company_active) for b in sorted(h.business_roles.all(), key=lambda r: r.pk)
        ),
        main_cause=h.main_cause,
        secondary_causes=tuple(int(c) for c in h.secondary_causes or ()),
        accident_costs_yearly=h.accident_costs_yearly,
        private_school_fees_yearly=h.private_school_fees_yearly,
        public_school_fees_yearly=h.public_school_fees_yearly,
        studying_abroad_self_funded=h.studying_abroad_self_funded,
        income_history=income_history(((r.month, r.per_head) for r in h.income_records.all()), on),
    )


FACTS_PREFETCH = ("members", "incomes", "rigid_expenses", "homes", "vehicles", "business_roles", "income_records")
