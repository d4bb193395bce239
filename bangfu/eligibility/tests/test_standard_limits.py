"""Each value of a standard has one range, told in one sentence whichever side it is passed on,
under one name: the what-if's API names it as sent (``standard.dibao_monthly``)."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError

from bangfu.eligibility import services
from bangfu.eligibility.tests.test_api import Api

DIBAO = "The dibao must be above 0 and at most 100,000 yuan a month."
WAGE = "The minimum wage must be above 0 and at most 1,000,000 yuan a month."
HOUSING = "The housing standard must be above 0 and at most 10,000 m² per head; leave it empty for none."


@pytest.mark.parametrize("value", ["-5", "0", "100000.01", "1e12"])
def test_the_dibao_has_one_limit_and_one_message(
    users: dict[str, Any], tree: dict[str, Any], province_standard: Any, value: str
) -> None:
    """−5 and 1e12 were "Enter an amount between 0 and 1,000,000", 0 "above 0 and at most
    100,000", under ``dibao_monthly`` where a value that is not a number is ``standard.dibao_monthly``."""
    r = Api(users["province_manager"]).post(
        "/whatif", {"unit_id": tree["province"].pk, "standard": {"dibao_monthly": value}}
    )
    assert r.status_code == 422
    assert r.json()["error"]["fields"] == {"standard.dibao_monthly": [DIBAO]}


@pytest.mark.parametrize(
    ("name", "values", "said"),
    [
        ("minimum_wage_monthly", ["-5", "0", "1000000.01"], WAGE),
        ("housing_area_per_head", ["-5", "0", "10000.01", "2000000"], HOUSING),
    ],
)
def test_each_value_of_a_standard_has_one_message(name: str, values: list[str], said: str) -> None:
    for value in values:
        given: dict[str, Any] = {"dibao_monthly": "1000", "minimum_wage_monthly": "1900", name: value}
        with pytest.raises(ValidationError) as exc:
            services.standard_clean(division_code="530000", year=2026, **given)
        assert exc.value.message_dict == {name: [said]}, value


def test_a_rule_of_the_whatif_is_named_as_sent(
    users: dict[str, Any], tree: dict[str, Any], province_standard: Any
) -> None:
    r = Api(users["province_manager"]).post(
        "/whatif", {"unit_id": tree["province"].pk, "rule_params": {"exit_months": -3}}
    )
    assert r.status_code == 422 and list(r.json()["error"]["fields"]) == ["rule_params.exit_months"], r.content
