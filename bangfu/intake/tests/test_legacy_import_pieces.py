"""Pieces of the bulk legacy import that must give what the plain code gives: the economy as a
plain tuple, card numbers, the thread switch interval while a writer runs, and garbage collection
after a file."""

from __future__ import annotations

import gc
import sys
from dataclasses import asdict
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from bangfu.intake import fastcheck, imports, legacy
from bangfu.registry.economy import ECONOMY_FIELDS, PersonFacts, compute_economy, economy_values
from bangfu.registry.validation import normalise_card


def _person(relationship: str, born: date, income: str = "0", **more: object) -> PersonFacts:
    values: dict[str, object] = {
        "relationship": relationship,
        "birth_date": born,
        "living_together": True,
        "deceased": False,
        "monthly_income": Decimal(income),
        "identity": "",
        "work_status": "",
        "disability_grade": None,
    }
    values.update(more)
    return PersonFacts(**values)  # type: ignore[arg-type]


def test_economy_values_are_the_economys_fields_in_order() -> None:
    today = date(2026, 11, 29)
    head = _person("head", date(1972, 3, 9), "800.00", work_status="laid_off")
    households = [
        ([head], [], []),
        ([head, _person("spouse", date(1974, 8, 2), "1200.5", work_status="employed")], [], []),
        ([head, _person("son", date(2010, 11, 30)), _person("daughter", date(2010, 11, 29))], [], []),
        ([head, _person("spouse", date(1966, 11, 30), deceased=True, monthly_income=Decimal("900"))], [], []),
        ([_person("spouse", date(1980, 1, 1), "100", living_together=False)], [], []),
        ([head, _person("son", date(2000, 1, 1), identity="student", disability_grade=2)], [], []),
        ([head], [("wage", Decimal("1200")), ("festival_gift", Decimal("300"))], [Decimal("2400.333")]),
        ([], [("basic_resident_pension", Decimal("100"))], []),
    ]
    for members, incomes, expenses in households:
        economy = compute_economy(members, incomes, expenses, today)
        assert dict(zip(ECONOMY_FIELDS, economy_values(members, incomes, expenses, today), strict=True)) == asdict(
            economy
        )
    # A hand-made case: 12 × (800 + 1200.50) + 1,200 counted (the gift is not), less 2,400.33
    # of expenses, over two people and twelve months.
    both = [head, _person("spouse", date(1974, 8, 2), "1200.50")]
    values = economy_values(
        both, [("wage", Decimal("1200")), ("festival_gift", Decimal("300"))], [Decimal("2400.33")], today
    )
    assert values == (
        2, Decimal("800.00"), Decimal("1200.00"), Decimal("25206.00"), Decimal("2400.33"),
        Decimal("1050.25"), Decimal("950.24"), True,
    )  # fmt: skip


def test_card_numbers_already_plain_come_back_as_they_are() -> None:
    for raw in ["6222021234567890123", "0", "12 34", "１２３", "\u0661\u0662\u0663", "6222\u30000212"]:
        assert fastcheck.card(raw) == normalise_card(raw)
    plain = "6222021234567890123"
    assert fastcheck.card(plain) is plain


def test_the_switch_interval_is_short_while_writers_run_and_put_back_after_the_last() -> None:
    before = sys.getswitchinterval()
    switch = imports._SwitchInterval(before / 10)
    with switch.short():
        assert sys.getswitchinterval() == before / 10
        with switch.short():  # a second writer at the same time
            assert sys.getswitchinterval() == before / 10
        assert sys.getswitchinterval() == before / 10
    assert sys.getswitchinterval() == before


def test_after_a_bulk_run_garbage_is_collected_again() -> None:
    assert gc.isenabled()
    with imports._bulk():
        assert not gc.isenabled()
        kept = [[i] for i in range(1000)]
    assert gc.isenabled() and gc.get_freeze_count() == 0  # nothing left out of the collections
    assert len(kept) == 1000

    class Cycle:
        other: object = None

    with imports._bulk():
        a, b = Cycle(), Cycle()
        a.other, b.other = b, a
        del a, b
    assert gc.collect() >= 2  # the cycle made inside is garbage the collector finds


@pytest.mark.parametrize(("header", "value"), [("残疾等级", "²"), ("主要致困原因", "³"), ("残疾等级", "٣")])
def test_digits_that_are_not_ascii_are_named_not_a_crash(header: str, value: str) -> None:
    """``"²".isdigit()`` is true and ``int("²")`` fails; ``int("٣")`` reads 3: neither is a code."""
    from bangfu.intake.tests.test_legacy_import import HEADERS, household_rows

    head: dict[str, Any] = {header: value}
    rows = household_rows("N-0001", **head)
    households, loose, _count = legacy.parse([HEADERS, *rows])
    assert not loose
    reasons = [(i.column, i.reason) for h in households for i in h.issues]
    assert any(c == header and r.startswith(f"“{value}” is not one of the allowed values") for c, r in reasons)
