"""An approval in another category than the identification's is decided by a second person: the file
carries the category in force on the identification while the override waits (its page and the API
say that one waits), takes the chosen one when the override is approved and keeps the decided one
when it is rejected, each said on the household's timeline and in the audit log. A file put in the
asked category before its approval (as approvals did) takes the decided one again when rejected."""

from __future__ import annotations

from typing import Any

import pytest

from bangfu.common.models import AuditEntry
from bangfu.eligibility.models import OverrideStatus
from bangfu.eligibility.services import decision_override_approve
from bangfu.intake import services
from bangfu.intake.models import Application, ApplicationState
from bangfu.intake.tests.helpers import current_decision, staff_api, staff_page, submitted, to_state
from bangfu.registry.models import Household, TimelineEvent
from bangfu.registry.services import household_category_set

pytestmark = pytest.mark.django_db
S = ApplicationState


def _approved_as_accident(tree: dict, users: dict[str, Any]) -> Application:
    """Approved by the city's staff as hardship by accident; the identification finds deep hardship."""
    app = to_state(submitted(tree["xiangyun_g"]), S.APPROVAL, users)
    return services.application_transition(
        actor=users["dali_staff"], application_id=app.pk, action="approve", category="accident", reason="突发车祸"
    )


def _category_changes(household_id: int) -> list[tuple[str, str]]:
    return [
        (e.data["from"], e.data["to"])
        for e in TimelineEvent.objects.filter(household_id=household_id, kind="file_updated").order_by("pk")
        if e.data.get("fields") == ["category"]
    ]


def test_the_file_waits_for_the_second_person_and_takes_the_approved_override(
    tree: dict, users: dict[str, Any], standard: Any
) -> None:
    app = _approved_as_accident(tree, users)
    household_id = app.household_id or 0
    # While the override waits, the file carries what the rules decided, and says what waits.
    assert Household.objects.get(pk=household_id).category == "deep"
    page = staff_page(users["xiangyun_staff"]).get(f"/households/{household_id}/").content.decode()
    assert 'id="category-override-pending"' in page and "Override to Hardship by accident awaiting approval" in page
    shown = staff_api(users["xiangyun_staff"]).get(f"/api/v1/households/{household_id}").json()
    assert (shown["category"], shown["identification"]["effective_category"]) == ("deep", "deep")
    assert (shown["identification"]["override_status"], shown["identification"]["override_category"]) == (
        "pending",
        "accident",
    )

    decision = current_decision(household_id)
    decision_override_approve(actor=users["xiangyun_staff"], decision_id=decision.pk)
    assert Household.objects.get(pk=household_id).category == "accident"
    assert _category_changes(household_id) == [("deep", "accident")]
    entry = AuditEntry.objects.filter(target_type="household", target_id=str(household_id)).order_by("-pk")[0]
    assert (entry.before, entry.after) == ({"category": "deep"}, {"category": "accident"})
    page = staff_page(users["xiangyun_staff"]).get(f"/households/{household_id}/").content.decode()
    assert 'id="category-override-pending"' not in page


def test_a_rejected_override_leaves_the_file_in_the_decided_category(
    tree: dict, users: dict[str, Any], standard: Any
) -> None:
    app = _approved_as_accident(tree, users)
    household_id = app.household_id or 0
    decision = current_decision(household_id)
    decision_override_approve(actor=users["xiangyun_staff"], decision_id=decision.pk, approve=False)
    assert Household.objects.get(pk=household_id).category == "deep"
    assert _category_changes(household_id) == []  # never put in the category asked for
    said = TimelineEvent.objects.filter(household_id=household_id, kind="eligibility_override").order_by("-pk")[0]
    assert said.data["status"] == OverrideStatus.REJECTED
    shown = staff_api(users["xiangyun_staff"]).get(f"/api/v1/households/{household_id}").json()
    assert shown["identification"]["agrees_with_file"] is True


def test_a_file_put_in_the_asked_category_takes_the_decided_one_when_the_override_is_rejected(
    tree: dict, users: dict[str, Any], standard: Any
) -> None:
    # As approvals did before: the file in the chosen category while the override waited.
    app = _approved_as_accident(tree, users)
    household_id = app.household_id or 0
    household_category_set(actor=users["dali_staff"], household_id=household_id, category="accident", note="SQ")
    decision = current_decision(household_id)
    decision_override_approve(actor=users["xiangyun_staff"], decision_id=decision.pk, approve=False)
    assert Household.objects.get(pk=household_id).category == "deep"
    assert _category_changes(household_id) == [("deep", "accident"), ("accident", "deep")]
    changed = TimelineEvent.objects.filter(household_id=household_id, kind="file_updated").order_by("-pk")[0]
    assert "was not approved" in changed.summary
    entry = AuditEntry.objects.filter(target_type="household", target_id=str(household_id)).order_by("-pk")[0]
    assert (entry.before, entry.after, entry.actor_id) == (
        {"category": "accident"},
        {"category": "deep"},
        users["xiangyun_staff"].pk,
    )
    page = staff_page(users["xiangyun_staff"]).get(f"/households/{household_id}/").content.decode()
    assert "The file was approved as" not in page
