"""The household economy as the national form computes it (pure; no Django).

    net income per head per month = (yearly income − yearly rigid expenses) / 12 / members living together

Yearly income is 12 × the monthly incomes of the members living together (deceased members
excluded) plus the household's other yearly incomes that count (domain.md §3: the basic
residents' pension and small festival gifts do not count). Identification rules may impute or
add more (issue #3's rule engine); this is the file's own arithmetic, stored for lists and filters.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, NamedTuple

FEN = Decimal("0.01")
NOT_COUNTED = frozenset({"basic_resident_pension", "festival_gift"})
WORKING_AGE = (16, 60)


class PersonFacts(NamedTuple):
    """What the household's arithmetic needs of a member (a plain tuple: bulk imports make one
    per member, and a frozen dataclass costs more to make than the arithmetic)."""

    relationship: str
    birth_date: date
    living_together: bool
    deceased: bool
    monthly_income: Decimal
    identity: str
    work_status: str
    disability_grade: int | None


def person_facts(m: Any, birth_date: date) -> PersonFacts:
    """The facts of a person from anything with the member attributes (a stored member or an input)."""
    return PersonFacts(
        m.relationship, birth_date, m.living_together, m.deceased, m.monthly_income,
        m.identity, m.work_status, m.disability_grade,
    )  # fmt: skip


@dataclass(frozen=True)
class Economy:
    members_living_together: int
    head_monthly_income: Decimal
    other_income_yearly: Decimal
    income_yearly: Decimal
    rigid_expense_yearly: Decimal
    income_per_head_monthly: Decimal
    net_income_per_head_monthly: Decimal
    zero_employment: bool


def _age(born: date, on: date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


_ZERO = Decimal(0)


def compute_economy(
    members: Sequence[PersonFacts],
    incomes: Iterable[tuple[str, Decimal]],
    expenses: Iterable[Decimal],
    today: date,
) -> Economy:
    return Economy(*economy_values(members, incomes, expenses, today))


ECONOMY_FIELDS = tuple(f.name for f in fields(Economy))


def economy_values(
    members: Sequence[PersonFacts],
    incomes: Iterable[tuple[str, Decimal]],
    expenses: Iterable[Decimal],
    today: date,
) -> tuple[int, Decimal, Decimal, Decimal, Decimal, Decimal, Decimal, bool]:
    """``compute_economy``'s fields as a plain tuple in ``Economy``'s order (``ECONOMY_FIELDS``),
    for bulk writes that would only take the ``Economy`` apart again."""
    counted = [m for m in members if m.living_together and not m.deceased]
    n = max(len(counted), 1)
    head_income = next((m.monthly_income for m in members if m.relationship == "head"), _ZERO)
    wages = sum([m.monthly_income for m in counted], _ZERO) * 12
    other = sum([amount for kind, amount in incomes if kind not in NOT_COUNTED], _ZERO)
    income = wages + other
    rigid = sum(expenses, _ZERO)
    able = [
        m
        for m in counted
        if WORKING_AGE[0] <= _age(m.birth_date, today) < WORKING_AGE[1]
        and m.identity not in {"student", "unable", "retired"}
        and m.work_status not in {"retired", "early_retired"}
        and not (m.disability_grade is not None and m.disability_grade <= 2)
    ]
    employed = any(m.identity == "working" or m.work_status in {"employed", "migrant_worker"} for m in able)
    return (
        len(counted),
        head_income,
        other.quantize(FEN),
        income.quantize(FEN),
        rigid.quantize(FEN),
        (income / 12 / n).quantize(FEN, ROUND_HALF_UP),
        ((income - rigid) / 12 / n).quantize(FEN, ROUND_HALF_UP),
        bool(able) and not employed,
    )
