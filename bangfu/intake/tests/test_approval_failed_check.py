"""A failed economic check is a disqualifier a person overrides only with a reason (domain §2, §4
step 5): the approval form shows the failed result and asks for the reason, which the case's
history and the audit log keep beside the decision; where a passed check is required, the approval
is refused with its own message and not offered. Page and API alike."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.core.exceptions import ValidationError

from bangfu.common.errors import DomainError
from bangfu.common.models import AuditEntry
from bangfu.intake import services, steps
from bangfu.intake.models import Application, ApplicationState
from bangfu.intake.tests.helpers import staff_api, staff_page, submitted, to_state
from bangfu.registry.models import Household

pytestmark = pytest.mark.django_db
S = ApplicationState
FOUND = "名下有车辆一辆"


def _failed_check(tree: dict, users: dict[str, Any]) -> Application:
    """A formal case at the approval step whose economic check was not passed."""
    app = to_state(submitted(tree["xiangyun_g"]), S.ECONOMIC_CHECK, users)
    staff = users["xiangyun_staff"]
    steps.authorisation_sign(actor=staff, application_id=app.pk, agreed=True, ip=None)
    steps.check_request(actor=staff, application_id=app.pk)
    steps.check_answer(actor=staff, application_id=app.pk, passed=False, note=FOUND)
    return services.application_transition(actor=staff, application_id=app.pk, action="check_done")


def test_an_approval_after_a_failed_check_needs_a_reason_kept_beside_it(
    tree: dict, users: dict[str, Any], standard: Any
) -> None:
    app = _failed_check(tree, users)
    approver = users["dali_staff"]
    with pytest.raises(ValidationError) as caught:
        services.application_transition(actor=approver, application_id=app.pk, action="approve")
    assert list(caught.value.message_dict) == ["reason"]
    assert "economic check was not passed" in caught.value.message_dict["reason"][0]
    assert not Household.objects.exists()

    app = services.application_transition(
        actor=approver, application_id=app.pk, action="approve", reason="生计用车，经复核可予建档"
    )
    assert app.state == S.FILE_OPENED and app.household_id is not None
    last = list(app.events.order_by("at", "id"))[-2:]
    assert [(e.action, e.reason) for e in last] == [
        ("check_overridden", FOUND),
        ("approve", "生计用车，经复核可予建档"),
    ]
    assert last[0].label == "Approved although the economic check was not passed"
    entry = AuditEntry.objects.filter(target_type="intake.application", target_id=str(app.pk)).order_by("-pk")[0]
    assert (entry.after or {}).get("check_result") == "failed" and (entry.after or {}).get("check_note") == FOUND
    assert entry.note == "生计用车，经复核可予建档"
    # The history beside the decision, on the case page.
    page = staff_page(approver).get(f"/applications/{app.pk}/").content.decode()
    assert "Approved although the economic check was not passed" in page and "生计用车，经复核可予建档" in page


def test_the_approval_form_shows_the_failed_check_and_refuses_it_without_a_reason(
    tree: dict, users: dict[str, Any], standard: Any
) -> None:
    app = _failed_check(tree, users)
    page = staff_page(users["dali_staff"])
    shown = page.get(f"/applications/{app.pk}/").content.decode()
    assert 'id="check-failed"' in shown and FOUND in shown
    assert "Reason for approving although the economic check was not passed" in shown
    answer = page.post(
        f"/applications/{app.pk}/act/", {"action": "approve", "reason": "", "version": app.version}, follow=True
    )
    shown = answer.content.decode()
    assert 'id="reason-approve-error"' in shown and "give the reason for approving all the same" in shown
    assert Application.objects.get(pk=app.pk).state == S.APPROVAL


def test_the_api_asks_for_the_reason_and_shows_the_check(tree: dict, users: dict[str, Any], standard: Any) -> None:
    app = _failed_check(tree, users)
    client = staff_api(users["dali_staff"])
    shown = client.get(f"/api/v1/applications/{app.pk}").json()
    assert (shown["check_result"], shown["check_note"]) == ("failed", FOUND)
    url = f"/api/v1/applications/{app.pk}/transition"
    answer = client.post(url, json.dumps({"action": "approve"}), "application/json")
    assert answer.status_code == 422 and "reason" in answer.json()["error"]["fields"]
    answer = client.post(url, json.dumps({"action": "approve", "reason": "生计用车"}), "application/json")
    assert answer.status_code == 200, answer.content
    assert [e["action"] for e in answer.json()["events"]][-2:] == ["check_overridden", "approve"]


def test_where_a_passed_check_is_required_the_approval_is_refused(
    tree: dict, users: dict[str, Any], standard: Any, settings: Any
) -> None:
    app = _failed_check(tree, users)
    settings.BANGFU_INTAKE_CHECK_REQUIRED = ["532900"]  # the prefecture: covers the county's cases
    approver = users["dali_staff"]
    with pytest.raises(DomainError) as caught:
        services.application_transition(actor=approver, application_id=app.pk, action="approve", reason="生计用车")
    assert caught.value.code == services.IntakeError.CHECK_NOT_PASSED
    assert "a passed economic check is required" in caught.value.message
    assert not Household.objects.exists()
    # Not offered on the page, which says why; refused by the API with the same words.
    shown = staff_page(approver).get(f"/applications/{app.pk}/").content.decode()
    assert 'id="approval-check-barred"' in shown and 'value="approve"' not in shown
    client = staff_api(approver)
    assert "approve" not in client.get(f"/api/v1/applications/{app.pk}").json()["allowed_actions"]
    answer = client.post(
        f"/api/v1/applications/{app.pk}/transition",
        json.dumps({"action": "approve", "reason": "生计用车"}),
        "application/json",
    )
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "check_not_passed"
    assert answer.json()["error"]["message"] == caught.value.message


def test_a_passed_check_asks_for_no_reason(tree: dict, users: dict[str, Any], standard: Any) -> None:
    app = to_state(submitted(tree["xiangyun_g"]), S.APPROVAL, users)
    assert 'id="check-failed"' not in staff_page(users["dali_staff"]).get(f"/applications/{app.pk}/").content.decode()
    app = services.application_transition(actor=users["dali_staff"], application_id=app.pk, action="approve")
    assert app.state == S.FILE_OPENED
    assert not app.events.filter(action="check_overridden").exists()
