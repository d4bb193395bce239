"""Standards with odd values and dates, and reasons as people read them."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from bangfu.eligibility import services
from bangfu.eligibility.adapters import StandardBook
from bangfu.eligibility.config_forms import StandardForm
from bangfu.eligibility.models import Standard
from bangfu.eligibility.presentation import reason_text
from bangfu.registry.services import household_create
from bangfu.testing.factories import household_input

ON = date(2026, 6, 1)


def _set(users: dict[str, Any], **values: Any) -> Standard:
    data: dict[str, Any] = {
        "division_code": "530000",
        "year": 2026,
        "dibao_monthly": "1001",
        "minimum_wage_monthly": "1900",
        **values,
    }
    return services.standard_set(actor=users["province_manager"], **data)


def test_a_standard_taking_effect_later_leaves_the_one_before_in_force(
    tree: dict[str, Any], users: dict[str, Any], province_standard: Standard
) -> None:
    # Next December's dibao, set in advance, does not take today's standard away.
    _set(users, dibao_monthly="1100", effective_from=date(2026, 12, 1))
    book = StandardBook.load(2026)
    june, december = book.get("532923", ON), book.get("532923", date(2026, 12, 1))
    assert june is not None and december is not None
    assert (june.version, june.dibao_monthly) == ("530000/2026/v1", Decimal("1001.00"))
    assert (december.version, december.dibao_monthly) == ("530000/2026/v2", Decimal("1100.00"))
    h = household_create(actor=users["xiangyun_staff"], data=household_input(tree["xiangyun_g"]))
    d = services.decision_compute(actor=users["xiangyun_staff"], household_id=h.pk, on=ON)
    assert (d.category, d.standard_version) == ("deep", "530000/2026/v1")


def test_a_later_version_for_the_same_day_replaces_the_earlier_one(
    users: dict[str, Any], province_standard: Standard
) -> None:
    _set(users, dibao_monthly="1050")
    found = StandardBook.load(2026).get("532923", ON)
    assert found is not None
    assert (found.version, found.dibao_monthly) == ("530000/2026/v2", Decimal("1050.00"))


def test_last_years_standard_stays_in_force_until_the_years_first_takes_effect(
    tree: dict[str, Any], users: dict[str, Any], province_standard: Standard
) -> None:
    # The new year's dibao is often published in spring: meanwhile files are decided on last
    # year's, not left undecided for want of a standard.
    january, march = date(2027, 1, 5), date(2027, 3, 1)
    found = StandardBook.load(2027).get("532923", january)
    assert found is not None and found.version == "530000/2026/v1"
    _set(users, year=2027, dibao_monthly="1100", effective_from=march)
    book = StandardBook.load(2027)
    before, after = book.get("532923", january), book.get("532923", march)
    assert before is not None and before.version == "530000/2026/v1"
    assert after is not None and (after.version, after.dibao_monthly) == ("530000/2027/v1", Decimal("1100.00"))
    h = household_create(actor=users["xiangyun_staff"], data=household_input(tree["xiangyun_g"]))
    d = services.decision_compute(actor=users["xiangyun_staff"], household_id=h.pk, on=january)
    assert d.standard_version == "530000/2026/v1" and d.category != "cannot_decide"
    assert StandardBook.load(2028).get("532923", date(2028, 1, 5)) is not None  # two years on: the year before's
    assert StandardBook.load(2029).get("532923", date(2029, 1, 5)) is None  # older ones are not carried on


def test_full_width_division_codes_are_refused(users: dict[str, Any]) -> None:
    with pytest.raises(ValidationError) as exc:
        _set(users, division_code="53000０")
    assert "division_code" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        services.ruleset_publish(actor=users["province_manager"], region_code="５３００００", params={})
    assert "region_code" in exc.value.message_dict
    assert not Standard.objects.exists()


@pytest.mark.parametrize("year", [99999, 0, -1])
def test_a_year_out_of_range_is_a_field_error(users: dict[str, Any], year: int) -> None:
    with pytest.raises(ValidationError) as exc:
        _set(users, year=year)
    assert set(exc.value.message_dict) == {"year"}


def test_a_housing_standard_beyond_the_column_is_a_field_error(users: dict[str, Any]) -> None:
    for value in ("1000000", "999999.999", "10000.01"):
        with pytest.raises(ValidationError) as exc:
            _set(users, housing_area_per_head=value)
        assert set(exc.value.message_dict) == {"housing_area_per_head"}
    assert _set(users, housing_area_per_head="10000").housing_area_per_head == Decimal("10000.00")


@pytest.mark.parametrize(("field", "value"), [("minimum_wage_monthly", "0"), ("housing_area_per_head", "0.00")])
def test_a_zero_wage_or_housing_standard_is_a_field_error(users: dict[str, Any], field: str, value: str) -> None:
    """A wage of 0 would count members without a job as earning nothing; a housing standard of 0
    would put every home above it."""
    with pytest.raises(ValidationError) as exc:
        _set(users, **{field: value})
    assert set(exc.value.message_dict) == {field}
    assert _set(users, housing_area_per_head="").housing_area_per_head is None  # empty: no housing standard


@pytest.mark.parametrize(
    ("typed", "value"),
    [("1,001", "1001"), ("１，００１．５", "1001.5"), ("1 001", "1001"), ("1,5", "1,5"), ("1.000,50", "1.000,50")],
)
def test_a_comma_is_read_only_as_a_thousands_separator(typed: str, value: str) -> None:
    form = StandardForm(data={"dibao_monthly": typed, "minimum_wage_monthly": "1900"})
    assert form.is_valid(), form.errors
    assert form.cleaned_data["dibao_monthly"] == value


def test_a_decimal_comma_is_refused_not_read_as_a_larger_number(users: dict[str, Any]) -> None:
    form = StandardForm(data={"dibao_monthly": "1,5", "minimum_wage_monthly": "1900"})
    assert form.is_valid()
    with pytest.raises(ValidationError) as exc:
        _set(users, dibao_monthly=form.cleaned_data["dibao_monthly"])
    assert set(exc.value.message_dict) == {"dibao_monthly"}


def test_vehicles_and_company_roles_are_named_in_the_reader_s_language() -> None:
    vehicle = {"code": "vehicle", "params": {"kinds": "car, farm_machinery"}}
    role = {"code": "business_role", "params": {"roles": "legal_representative"}}
    with translation.override("en"):
        assert reason_text(vehicle).endswith("(Private car, Large farm machinery)")
        assert reason_text(role).endswith("(Legal representative)")
    with translation.override("zh-hans"):
        text = reason_text(vehicle)
        assert "car" not in text and "farm_machinery" not in text
        assert "legal_representative" not in reason_text(role)


@pytest.mark.parametrize(
    ("reason", "taken"), [("生计车", True), ("已就业", True), ("ok", True), ("车", False), (" ", False)]
)
def test_a_short_reason_for_an_override_is_a_reason(
    tree: dict[str, Any], users: dict[str, Any], reason: str, taken: bool
) -> None:
    staff = users["xiangyun_staff"]
    h = household_create(actor=staff, data=household_input(tree["xiangyun_g"]))
    d = services.decision_compute(actor=staff, household_id=h.pk)
    if taken:
        assert services.decision_override_request(actor=staff, decision_id=d.pk, category="relative", reason=reason)
    else:
        with pytest.raises(ValidationError) as refused:
            services.decision_override_request(actor=staff, decision_id=d.pk, category="relative", reason=reason)
        assert "reason" in refused.value.message_dict


@pytest.mark.parametrize("field", ["dibao_monthly", "minimum_wage_monthly", "disposable_income_per_head_last_year"])
def test_an_amount_of_three_decimals_is_refused_not_rounded(users: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as exc:
        _set(users, **{field: "1500.125"})
    assert exc.value.message_dict == {field: ["Use at most two decimal places (yuan and fen)."]}
    assert _set(users, **{field: "1500.10"})
