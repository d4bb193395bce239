"""An approval in another category than the identification's opens the file in the identification's
and asks, on the household's identification, for an override to the chosen one by the approver with
the reason, for a second person to approve (the file takes it then); the approver is told so. A
temporary file made formal is approved the same way."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from bangfu.eligibility.models import OverrideStatus
from bangfu.intake import services
from bangfu.intake.models import ApplicationState
from bangfu.intake.tests.helpers import current_decision, submitted, to_state
from bangfu.org.services import token_create
from bangfu.registry.models import Household

pytestmark = pytest.mark.django_db
S = ApplicationState


def test_another_category_opens_the_file_and_asks_for_an_override(
    tree: dict, users: dict[str, Any], standard: Any
) -> None:
    # The standard fixture's household is identified as deep hardship.
    app = to_state(submitted(tree["xiangyun_g"]), S.APPROVAL, users)
    approver = users["dali_staff"]
    token = token_create(actor=approver, user=approver, name="api")
    client = Client(headers={"Authorization": f"Bearer {token}", "Accept-Language": "en"})
    body = {"action": "approve", "category": "accident", "reason": "突发车祸，医疗支出大"}
    answer = client.post(f"/api/v1/applications/{app.pk}/transition", json.dumps(body), "application/json")
    assert answer.status_code == 200, answer.content
    approved = answer.json()
    assert "the file takes it when another person approves it" in approved["message"]
    household = Household.objects.get(pk=approved["household_id"])
    assert household.category == "deep"  # what the rules decided, until a second person approves
    decision = current_decision(household.pk)
    assert decision.category == "deep"
    assert (decision.override_status, decision.overridden_category) == (OverrideStatus.PENDING, "accident")
    assert (decision.override_by_id, decision.override_reason) == (approver.pk, "突发车祸，医疗支出大")


def test_the_identifications_category_asks_for_nothing(tree: dict, users: dict[str, Any], standard: Any) -> None:
    app = to_state(submitted(tree["xiangyun_g"]), S.APPROVAL, users)
    app = services.application_transition(actor=users["dali_staff"], application_id=app.pk, action="approve")
    assert services.approval_note(app) == ""
    assert current_decision(app.household_id or 0).override_status == ""


def test_a_temporary_file_made_formal_takes_the_approved_category(
    tree: dict, users: dict[str, Any], standard: Any
) -> None:
    unit = tree["xiangyun_g"]
    cadre, staff, approver = users["xiangyun_cadre"], users["xiangyun_staff"], users["dali_staff"]
    temp = submitted(unit, phone="13800138200", kind="temporary")
    services.application_transition(actor=cadre, application_id=temp.pk, action="emergency_accept")
    temp = services.application_transition(actor=staff, application_id=temp.pk, action="approve")
    household_id = temp.household_id or 0
    assert Household.objects.get(pk=household_id).category == "deep"
    formal = services.application_convert(actor=cadre, application_id=temp.pk, reason="长期困难")
    with pytest.raises(services.DomainError) as caught:  # converted once: the second names the first
        services.application_convert(actor=cadre, application_id=temp.pk, reason="再转一次")
    assert caught.value.message == f"This case was already converted to {formal.reference}."
    formal = to_state(formal, S.APPROVAL, users, approver=approver)
    formal = services.application_transition(
        actor=approver, application_id=formal.pk, action="approve", category="relative", reason="有稳定低收入"
    )
    household = Household.objects.get(pk=household_id)
    assert (household.state, household.category) == ("active", "deep")
    decision = current_decision(household_id)
    assert (decision.override_status, decision.overridden_category) == (OverrideStatus.PENDING, "relative")
    assert "the file takes it when another person approves it" in services.approval_note(formal)


def test_the_page_tells_the_approver_the_override_awaits_approval(
    tree: dict, users: dict[str, Any], standard: Any
) -> None:
    app = to_state(submitted(tree["xiangyun_g"]), S.APPROVAL, users)
    page = Client(headers={"Accept-Language": "en"})
    page.force_login(users["dali_staff"])
    shown = page.post(
        f"/applications/{app.pk}/act/",
        {"action": "approve", "category": "relative", "reason": "有稳定低收入", "version": app.version},
        follow=True,
    ).content.decode()
    assert "when another person approves it" in shown
