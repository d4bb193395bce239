"""An edit of the file (page or API) decides the household again; a decision made from an earlier
version of the file says so; the identification's net income per head is labelled apart from the
file's own."""

from __future__ import annotations

from typing import Any

from django.test import Client
from django.urls import reverse

from bangfu.eligibility import services as eligibility
from bangfu.eligibility.models import EligibilityDecision
from bangfu.registry import services
from bangfu.registry.models import Household
from bangfu.testing.factories import household_input
from bangfu.web.tests.formdata import form_data


def _standard(users: dict[str, Any]) -> None:
    eligibility.standard_set(
        actor=users["province_manager"], division_code="530000", year=2026, dibao_monthly="1001",
        minimum_wage_monthly="1900",
    )  # fmt: skip


def test_an_edit_on_the_page_decides_the_household_again(tree: dict, users: dict[str, Any]) -> None:
    _standard(users)
    staff = users["xiangyun_staff"]
    h = services.household_create(actor=staff, data=household_input(tree["xiangyun_g"]))
    first = eligibility.decision_compute(actor=staff, household_id=h.pk)
    c = Client(headers={"Accept-Language": "en"})
    c.force_login(staff)
    data = form_data(c.get(reverse("web:household_edit", args=[h.pk])).content.decode())
    data["members-0-monthly_income"] = ["5000"]  # the spouse's income
    assert c.post(reverse("web:household_edit", args=[h.pk]), data).status_code == 302
    h.refresh_from_db()
    now = EligibilityDecision.objects.current().get(household_id=h.pk)
    assert now.pk != first.pk and now.facts_version == h.version
    assert now.net_income_per_head_monthly == h.net_income_per_head_monthly != first.net_income_per_head_monthly
    page = c.get(f"/eligibility/households/{h.pk}/").content.decode()
    assert 'id="decision-stale"' not in page
    assert "as counted (members without a job at the minimum wage)" in page


def test_a_decision_from_an_earlier_file_is_marked(tree: dict, users: dict[str, Any]) -> None:
    _standard(users)
    staff = users["xiangyun_staff"]
    h = services.household_create(actor=staff, data=household_input(tree["xiangyun_g"]))
    eligibility.decision_compute(actor=staff, household_id=h.pk)
    Household.objects.filter(pk=h.pk).update(version=h.version + 1)  # changed by a step that does not decide
    c = Client(headers={"Accept-Language": "en"})
    c.force_login(staff)
    page = c.get(f"/eligibility/households/{h.pk}/").content.decode()
    assert 'id="decision-stale"' in page and "The file has changed since this decision" in page
