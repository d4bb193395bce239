"""Hardship costs after compensation (the accident test) and the schooling disqualifiers' facts are
the file's: taken by the API and the form, shown, audited, and read by identification."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.test import Client

from bangfu.api.tests.conftest import as_json
from bangfu.common.models import AuditEntry
from bangfu.eligibility import services as eligibility
from bangfu.registry import services
from bangfu.registry.inputs import AmountInput
from bangfu.registry.models import Household
from bangfu.testing.factories import household_input
from bangfu.web.tests.formdata import form_data


def _accident_household(tree: dict) -> Any:
    """The tester's numbers: 520,000 out-of-pocket medical costs, 20,000 compensation, a head
    earning 50,000 a month, 500,000 of hardship costs after compensation."""
    data = household_input(tree["xiangyun_g"], members=1, main_cause=8, secondary_causes=[])
    data.members[0].monthly_income = Decimal(50_000)
    data.members[0].identity, data.members[0].work_status = "working", "employed"
    data.incomes = [AmountInput("compensation", Decimal(20_000))]
    data.rigid_expenses = [AmountInput("medical", Decimal(520_000))]
    data.accident_costs_yearly = Decimal(500_000)
    data.category = "accident"  # a file opened by hand takes its identification's category
    return data


def test_a_file_with_hardship_costs_is_identified_as_hardship_by_accident(
    api_as: Any, tree: dict, users: dict[str, Any]
) -> None:
    eligibility.standard_set(
        actor=users["province_manager"], division_code="530000", year=2026, dibao_monthly="1001",
        minimum_wage_monthly="1900",
    )  # fmt: skip
    api = api_as("xiangyun_staff")
    response = api.post("/households", as_json(_accident_household(tree)))
    assert response.status_code == 201, response.content
    out = response.json()
    assert out["accident_costs_yearly"] == "500000.00" and out["studying_abroad_self_funded"] is False
    h = Household.objects.get(pk=out["id"])
    assert h.accident_costs_yearly == Decimal(500_000)
    created = AuditEntry.objects.get(target_type="household", target_id=str(h.pk), action="create")
    assert (created.after or {})["accident_costs_yearly"] in ("500000.00", 500000, "500000")
    decision = eligibility.decision_compute(actor=users["xiangyun_staff"], household_id=h.pk)
    assert decision.category == "accident"

    # Changed by an update: in the audit entry and named on the timeline in words.
    body = as_json(_accident_household(tree), version=out["version"])
    body["members"][0]["id_number"] = ""
    body["members"][0]["member_id"] = out["members"][0]["id"]
    body["accident_costs_yearly"] = "0"
    body["studying_abroad_self_funded"] = True
    assert api.put(f"/households/{h.pk}", body).status_code == 200
    updated = AuditEntry.objects.filter(target_type="household", target_id=str(h.pk), action="update").last()
    assert updated is not None and {"accident_costs_yearly", "studying_abroad_self_funded"} <= set(updated.after or {})
    page = Client(headers={"Accept-Language": "en"})
    page.force_login(users["xiangyun_staff"])
    text = page.get(f"/households/{h.pk}/").content.decode()
    assert "hardship costs this year after compensation and insurance" in text  # the timeline's changed part
    assert "A child studies abroad at the family" in text


def test_the_form_records_hardship_costs(tree: dict, users: dict[str, Any]) -> None:
    h = services.household_create(actor=users["xiangyun_staff"], data=household_input(tree["xiangyun_g"]))
    page = Client(headers={"Accept-Language": "en"})
    page.force_login(users["xiangyun_staff"])
    form = page.get(f"/households/{h.pk}/edit/").content.decode()
    assert 'name="household-accident_costs_yearly"' in form and "compensation and insurance paid" in form
    data = form_data(form)
    data["household-accident_costs_yearly"] = ["12345.60"]
    data["household-private_school_fees_yearly"] = [""]
    response = page.post(f"/households/{h.pk}/edit/", data)
    assert response.status_code == 302, response.content.decode()[:2000]
    h.refresh_from_db()
    assert h.accident_costs_yearly == Decimal("12345.60") and h.private_school_fees_yearly == 0
    assert "12,345.60" in page.get(f"/households/{h.pk}/").content.decode()
