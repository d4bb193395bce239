"""The API decides a file it opens or changes, as the page does."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from bangfu.api.tests.conftest import as_json
from bangfu.eligibility import services as eligibility
from bangfu.eligibility.models import EligibilityDecision
from bangfu.registry.models import Household
from bangfu.testing.factories import household_input


def _standard(users: dict[str, Any]) -> None:
    eligibility.standard_set(
        actor=users["province_manager"], division_code="530000", year=2026, dibao_monthly="1001",
        minimum_wage_monthly="1900",
    )  # fmt: skip


def test_the_api_decides_a_file_it_opens_or_changes(api_as: Any, tree: dict, users: dict[str, Any]) -> None:
    _standard(users)
    api = api_as("xiangyun_staff")
    out = api.post("/households", as_json(household_input(tree["xiangyun_g"]))).json()
    assert out["identification"] is not None
    body = as_json(household_input(tree["xiangyun_g"]), version=out["version"])
    for i, m in enumerate(out["members"]):
        body["members"][i]["id_number"], body["members"][i]["member_id"] = "", m["id"]
    body["members"][1]["monthly_income"] = "5000"
    assert api.put(f"/households/{out['id']}", body).status_code == 200
    h = Household.objects.get(pk=out["id"])
    now = EligibilityDecision.objects.current().get(household_id=h.pk)
    assert now.facts_version == h.version and now.net_income_per_head_monthly == h.net_income_per_head_monthly
    assert h.net_income_per_head_monthly > Decimal("1000")
