"""The formal approval settles the file's category: an override still waiting on the household
(asked at its temporary-aid approval) is closed as superseded, on the timeline and in the audit
log, and the approver sees it on the case page before deciding. A decision's reason is never cut:
too long, it is refused under its box; the approval's reason box says the worker sees it. The
"all cases under way" tab holds every case of the work queue; a temporary case submitted at the
counter is not said to wait at an economic check; a user who may not refuse is told so first."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bangfu.common.errors import DomainError
from bangfu.common.models import AuditEntry
from bangfu.eligibility.models import OverrideStatus
from bangfu.eligibility.services import decision_override_approve
from bangfu.intake import services
from bangfu.intake.models import Application, ApplicationEvent, ApplicationState, Notice
from bangfu.intake.tests.helpers import current_decision, staff_api, staff_page, submitted, to_state
from bangfu.intake.tests.test_pages import _post_form
from bangfu.registry.models import Household, TimelineEvent

pytestmark = pytest.mark.django_db
S = ApplicationState


def _temporary_approved_as_accident(unit: Any, cadre: Any, staff: Any, phone: str) -> Application:
    """A temporary-aid case accepted by the cadre and approved by staff in another category than
    identified (an accident): its override request waits for a second person."""
    temp = submitted(unit, phone=phone, kind="temporary")
    services.application_transition(actor=cadre, application_id=temp.pk, action="emergency_accept")
    return services.application_transition(
        actor=staff, application_id=temp.pk, action="approve", category="accident", reason="突发车祸"
    )


def test_the_formal_approval_closes_the_override_left_by_the_temporary_one(
    tree: dict, users: dict[str, Any], standard: Any
) -> None:
    unit = tree["xiangyun_g"]
    cadre, staff, approver = users["xiangyun_cadre"], users["xiangyun_staff"], users["dali_staff"]
    temp = _temporary_approved_as_accident(unit, cadre, staff, "13800138200")
    household_id = temp.household_id or 0
    waiting = current_decision(household_id)
    assert (waiting.override_status, waiting.overridden_category) == (OverrideStatus.PENDING, "accident")

    formal = services.application_convert(actor=cadre, application_id=temp.pk, reason="长期困难")
    formal = to_state(formal, S.APPROVAL, users, approver=approver)
    # The approver sees the request before deciding, and that approving closes it.
    page = staff_page(approver).get(f"/applications/{formal.pk}/").content.decode()
    assert 'id="pending-override"' in page
    assert "An override to Hardship by accident, asked by xiangyun_staff" in page
    assert "突发车祸" in page and f"/eligibility/households/{household_id}/" in page
    # And the API, to staff.
    shown = staff_api(approver).get(f"/api/v1/applications/{formal.pk}").json()["pending_override"]
    assert shown["decision_id"] == waiting.pk and shown["household_id"] == household_id
    assert (shown["category"], shown["asked_by"], shown["reason"]) == ("accident", "xiangyun_staff", "突发车祸")

    formal = services.application_transition(actor=approver, application_id=formal.pk, action="approve")
    household = Household.objects.get(pk=household_id)
    assert (household.state, household.category) == ("active", "deep")
    decision = current_decision(household_id)
    assert decision.override_status == OverrideStatus.SUPERSEDED
    assert (decision.overridden_category, decision.override_by_id) == ("accident", staff.pk)  # kept
    assert decision.override_approved_by_id == approver.pk and decision.override_approved_at is not None
    assert decision.effective_category == "deep"
    # Nothing is left for a second person to approve that would undo the approval.
    with pytest.raises(DomainError):
        decision_override_approve(actor=approver, decision_id=decision.pk)
    assert Household.objects.get(pk=household_id).category == "deep"
    said = TimelineEvent.objects.filter(household_id=household_id, kind="eligibility_override").order_by("-pk")[0]
    assert said.data["status"] == "superseded"
    assert formal.reference in said.summary and "xiangyun_staff" in said.summary
    entry = AuditEntry.objects.filter(target_type="eligibility_decision", target_id=str(decision.pk)).order_by("-pk")[0]
    assert (entry.after or {}).get("request") == "superseded" and formal.reference in entry.note
    assert entry.actor_id == approver.pk
    page = staff_page(approver).get(f"/eligibility/households/{household_id}/").content.decode()
    assert 'id="override-pending"' not in page
    assert services.approval_note(formal) == ""
    assert staff_api(approver).get(f"/api/v1/applications/{formal.pk}").json()["pending_override"] is None


def test_the_approval_in_another_category_is_not_blocked_by_the_old_request(
    tree: dict, users: dict[str, Any], standard: Any
) -> None:
    # Before, the approver's own override request was refused: another person's was waiting.
    unit = tree["xiangyun_g"]
    cadre, staff, approver = users["xiangyun_cadre"], users["xiangyun_staff"], users["dali_staff"]
    temp = _temporary_approved_as_accident(unit, cadre, staff, "13800138201")
    formal = to_state(
        services.application_convert(actor=cadre, application_id=temp.pk), S.APPROVAL, users, approver=approver
    )
    formal = services.application_transition(
        actor=approver, application_id=formal.pk, action="approve", category="relative", reason="有稳定低收入"
    )
    decision = current_decision(temp.household_id or 0)
    assert (decision.override_status, decision.overridden_category) == (OverrideStatus.PENDING, "relative")
    assert decision.override_by_id == approver.pk


def _returning(users: dict[str, Any], tree: dict) -> Application:
    return to_state(submitted(tree["xiangyun_g"]), S.HIGHER_REVIEW, users)


def test_a_reason_too_long_is_refused_under_its_box_and_nothing_is_saved(
    tree: dict, users: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    app = _returning(users, tree)
    staff = users["xiangyun_staff"]
    c = staff_page(staff)
    page = c.get(f"/applications/{app.pk}/").content.decode()
    assert 'id="reason-return" rows="2" maxlength="1000"' in page
    assert "At most 1000 characters." in page
    events = ApplicationEvent.objects.filter(application=app).count()
    long = "这个理由很长。" * 800  # 5,600 characters
    r = c.post(f"/applications/{app.pk}/act/", {"action": "return", "reason": long, "version": app.version})
    page = c.get(r["Location"]).content.decode()
    assert 'id="reason-return-error"' in page
    assert "The reason is 5600 characters long: shorten it to at most 1000." in page
    app.refresh_from_db()
    assert app.state == S.HIGHER_REVIEW
    assert ApplicationEvent.objects.filter(application=app).count() == events
    # At the limit (line breaks as the browser counts them) it is kept whole, as the worker is told.
    reason = "一二三四\r\n" * 100 + "五" * 500  # 1,000 characters in the box, 1,100 as sent
    with django_capture_on_commit_callbacks(execute=True):
        c.post(f"/applications/{app.pk}/act/", {"action": "return", "reason": reason, "version": app.version})
    app.refresh_from_db()
    assert app.state == S.UNIT_REVIEW
    kept = ApplicationEvent.objects.filter(application=app, action="return").get().reason
    told = Notice.objects.filter(application=app).order_by("-pk")[0]
    assert kept == reason.replace("\r\n", "\n") and len(kept) == 1000
    assert told.params["reason"] == kept and kept in told.shown


def test_the_approval_reason_says_the_worker_sees_it(tree: dict, users: dict[str, Any], standard: Any) -> None:
    app = to_state(submitted(tree["xiangyun_g"]), S.APPROVAL, users)
    page = staff_page(users["dali_staff"]).get(f"/applications/{app.pk}/").content.decode()
    assert "Reason, if the category differs from the identification (the worker sees it)" in page


def test_a_temporary_case_submitted_at_the_counter_is_not_said_to_wait_at_an_economic_check(
    tree: dict, users: dict[str, Any]
) -> None:
    unit = tree["xiangyun_g"]
    cadre = users["xiangyun_cadre"]
    c = staff_page(cadre)
    for kind in ("temporary", "formal"):
        app = services.application_create(actor=cadre, unit_id=unit.pk, kind=kind)
        post = {**_post_form(unit), "h-cause_note": "家中失火", "version": app.version, "submit": "1"}
        r = c.post(f"/applications/{app.pk}/", post, follow=True)
        app.refresh_from_db()
        assert app.state == S.SUBMITTED
        page = r.content.decode()
        assert ("where the case waits for it" in page) == (kind == "formal")


def test_a_user_who_may_not_refuse_is_told_so_before_the_reason(tree: dict, users: dict[str, Any]) -> None:
    app = _returning(users, tree)  # at the higher review: the county staff's step
    answer = staff_api(users["xiangyun_cadre"]).post(
        f"/api/v1/applications/{app.pk}/transition",
        json.dumps({"action": "refuse", "reason": ""}),
        "application/json",
    )
    assert answer.status_code == 403, answer.content
    assert "reason" not in answer.content.decode()
    answer = staff_api(users["xiangyun_staff"]).post(
        f"/api/v1/applications/{app.pk}/transition",
        json.dumps({"action": "refuse", "reason": ""}),
        "application/json",
    )
    assert answer.status_code == 422 and "reason" in answer.content.decode()
    app.refresh_from_db()
    assert app.state == S.HIGHER_REVIEW
