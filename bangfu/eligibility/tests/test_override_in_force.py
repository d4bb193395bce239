"""An override to the category already in force changes nothing: refused, under the field."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError

from bangfu.eligibility import services
from bangfu.eligibility.models import EligibilityDecision
from bangfu.eligibility.tests.test_override_messages import _decided, client_for
from bangfu.org.models import Role
from bangfu.testing.factories import user_with_role


def test_an_override_to_the_computed_category_is_refused_on_the_field(
    tree: dict[str, Any], users: dict[str, Any]
) -> None:
    pk, d = _decided(tree, users)
    computed = EligibilityDecision.objects.get(pk=d).category
    page = client_for(users["xiangyun_staff"]).post(
        f"/eligibility/households/{pk}/decisions/{d}/override/", {"category": computed, "reason": "复核后仍如此"}
    )
    assert page.status_code == 400
    text = page.content.decode()
    assert 'id="category-error">' in text and "already the category in force" in text
    assert EligibilityDecision.objects.get(pk=d).override_status == ""


def test_an_override_to_the_approved_override_is_refused(tree: dict[str, Any], users: dict[str, Any]) -> None:
    _pk, d = _decided(tree, users)
    staff = users["xiangyun_staff"]
    checker = user_with_role(tree["xiangyun"], Role.CENTRE_STAFF, "xiangyun_checker")
    other = "not_eligible" if EligibilityDecision.objects.get(pk=d).category != "not_eligible" else "relative"
    services.decision_override_request(actor=staff, decision_id=d, category=other, reason="生计车")
    services.decision_override_approve(actor=checker, decision_id=d)
    with pytest.raises(ValidationError) as exc:
        services.decision_override_request(actor=staff, decision_id=d, category=other, reason="再次")
    assert "already the category in force" in exc.value.message_dict["category"][0]
    # Back to the computed one is a change (the approved override is replaced), and is asked for.
    computed = EligibilityDecision.objects.get(pk=d).category
    services.decision_override_request(actor=staff, decision_id=d, category=computed, reason="已不再适用")
    assert EligibilityDecision.objects.get(pk=d).override_status == "pending"


def test_a_student_without_schooling_costs_is_not_said_to_have_them() -> None:
    from bangfu.eligibility.rules.model import CONDITION_TEXT

    # The condition is met by a student, the expense or the cause: the words name all three.
    assert CONDITION_TEXT["schooling"] == "children's schooling"


def test_an_approved_override_puts_its_category_on_the_file(tree: dict[str, Any], users: dict[str, Any]) -> None:
    """The file kept its old category after the second person approved an override, until someone
    edited it (the list then said "identification now: …")."""
    from bangfu.common.models import AuditEntry
    from bangfu.registry.models import Household

    pk, d = _decided(tree, users)
    h = Household.objects.get(pk=pk)
    other = next(
        c
        for c in ("deep", "relative", "accident")
        if c not in {h.category, EligibilityDecision.objects.get(pk=d).category}
    )
    checker = user_with_role(tree["xiangyun"], Role.CENTRE_STAFF, "xiangyun_checker")
    services.decision_override_request(
        actor=users["xiangyun_staff"], decision_id=d, category=other, reason="实际更困难"
    )
    assert Household.objects.get(pk=pk).category == h.category  # asked for: not yet
    services.decision_override_approve(actor=checker, decision_id=d)
    after = Household.objects.get(pk=pk)
    assert (after.category, after.version) == (other, h.version + 1)
    entry = AuditEntry.objects.filter(target_type="household", target_id=str(pk)).order_by("-seq").first()
    assert entry is not None and (entry.after or {}) == {"category": other}
