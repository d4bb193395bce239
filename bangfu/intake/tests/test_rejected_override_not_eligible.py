"""A household the identification finds not eligible, approved in a category with a reason, is on an
open file while the override waits; when the second person rejects it, the file cannot stay
unmarked: the household page's banner, the list of files and the API's identification say the file
is to be taken to its exit or removal, and the timeline says so with the rejection."""

from __future__ import annotations

from html import unescape
from typing import Any

import pytest

from bangfu.eligibility.services import decision_override_approve
from bangfu.intake import services
from bangfu.intake.models import Application, ApplicationState
from bangfu.intake.tests.helpers import current_decision, staff_api, staff_page, submitted, to_state
from bangfu.registry.models import Household, TimelineEvent

pytestmark = pytest.mark.django_db
S = ApplicationState

BANNER = (
    "The override to Relative hardship was not approved. The identification finds this household not eligible, yet "
    "its file is open as Relative hardship: explain the result to the worker and propose the file's exit or removal."
)


def _not_eligible_approved_as_relative(tree: dict, users: dict[str, Any]) -> Application:
    app = submitted(tree["xiangyun_g"], phone="13800138500")
    for member in app.data["members"]:
        member["monthly_income"] = "6000"  # far above twice the dibao a head
    Application.objects.filter(pk=app.pk).update(data=app.data)
    app = to_state(Application.objects.get(pk=app.pk), S.APPROVAL, users)
    return services.application_transition(
        actor=users["dali_staff"], application_id=app.pk, action="approve", category="relative", reason="家庭负担重"
    )


def test_a_rejected_override_flags_the_file_for_its_exit_or_removal(
    tree: dict, users: dict[str, Any], standard: Any
) -> None:
    app = _not_eligible_approved_as_relative(tree, users)
    household_id = app.household_id or 0
    decision = current_decision(household_id)
    assert (decision.category, decision.override_status) == ("not_eligible", "pending")
    staff = users["xiangyun_staff"]
    # While the override waits, it is marked as waiting, not flagged.
    page = staff_page(staff).get(f"/households/{household_id}/").content.decode()
    assert 'id="category-override-pending"' in page and 'id="file-not-eligible"' not in page

    decision_override_approve(actor=staff, decision_id=decision.pk, approve=False)
    h = Household.objects.get(pk=household_id)
    assert (h.state, h.category) == ("active", "relative")
    page = unescape(staff_page(staff).get(f"/households/{household_id}/").content.decode())
    assert 'id="file-not-eligible"' in page and BANNER in page
    listed = unescape(staff_page(staff).get("/households/").content.decode())
    assert 'data-testid="file-not-eligible"' in listed
    assert "Not eligible: propose the file's exit or removal" in listed
    shown = staff_api(staff).get(f"/api/v1/households/{household_id}").json()["identification"]
    assert (shown["effective_category"], shown["override_status"], shown["file_not_eligible"]) == (
        "not_eligible",
        "rejected",
        BANNER,
    )
    said = TimelineEvent.objects.filter(household_id=household_id, kind="eligibility_override").order_by("-pk")[0]
    assert said.summary == (
        "Override to Relative hardship rejected: the identification finds this household not eligible; its file "
        "is to be taken to its exit or removal"
    )


def test_a_file_the_identification_finds_eligible_is_not_flagged(
    tree: dict, users: dict[str, Any], standard: Any
) -> None:
    app = to_state(submitted(tree["xiangyun_g"], phone="13800138501"), S.APPROVAL, users)
    app = services.application_transition(actor=users["dali_staff"], application_id=app.pk, action="approve")
    shown = staff_api(users["xiangyun_staff"]).get(f"/api/v1/households/{app.household_id}").json()
    assert shown["identification"]["file_not_eligible"] == ""
    page = staff_page(users["xiangyun_staff"]).get(f"/households/{app.household_id}/").content.decode()
    assert 'id="file-not-eligible"' not in page
