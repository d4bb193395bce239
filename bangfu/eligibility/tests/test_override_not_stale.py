"""The category an override's decision puts on the file (approved: its own; rejected: the one in
force again) is the identification's own write: the identification page does not then say the file
changed since the decision and ask for it to be decided again."""

from __future__ import annotations

from typing import Any

from bangfu.eligibility.models import EligibilityDecision
from bangfu.eligibility.tests.test_override_messages import _decided, client_for
from bangfu.org.models import Role
from bangfu.registry.models import Household
from bangfu.registry.services import household_category_set
from bangfu.testing.factories import user_with_role


def _other(pk: int, d: int) -> str:
    h = Household.objects.get(pk=pk)
    computed = EligibilityDecision.objects.get(pk=d).category
    return next(c for c in ("deep", "relative", "accident") if c not in {h.category, computed})


def test_the_approval_of_an_override_does_not_make_its_decision_look_stale(
    tree: dict[str, Any], users: dict[str, Any]
) -> None:
    pk, d = _decided(tree, users)
    other = _other(pk, d)
    version = Household.objects.get(pk=pk).version
    checker = user_with_role(tree["xiangyun"], Role.CENTRE_STAFF, "xiangyun_checker")
    asker = client_for(users["xiangyun_staff"])
    asker.post(f"/eligibility/households/{pk}/decisions/{d}/override/", {"category": other, "reason": "实际更困难"})
    url = f"/eligibility/households/{pk}/decisions/{d}/approve/"
    page = client_for(checker).post(url, {"approve": "1"}, follow=True)
    h = Household.objects.get(pk=pk)
    assert (h.category, h.version) == (other, version + 1)  # the file took it: a new version
    text = page.content.decode()
    assert "The override was approved." in text
    assert 'id="decision-stale"' not in text
    assert EligibilityDecision.objects.get(pk=d).facts_version == h.version


def test_the_category_in_force_put_back_on_a_rejection_does_not_either(
    tree: dict[str, Any], users: dict[str, Any]
) -> None:
    pk, d = _decided(tree, users)
    other = _other(pk, d)
    staff = users["xiangyun_staff"]
    # A file put in the asked category before the second person decided (as approvals once did).
    household_category_set(actor=staff, household_id=pk, category=other, note="SQ")
    EligibilityDecision.objects.filter(pk=d).update(facts_version=Household.objects.get(pk=pk).version)
    checker = user_with_role(tree["xiangyun"], Role.CENTRE_STAFF, "xiangyun_checker")
    client_for(staff).post(f"/eligibility/households/{pk}/decisions/{d}/override/", {"category": other, "reason": "x2"})
    url = f"/eligibility/households/{pk}/decisions/{d}/approve/"
    page = client_for(checker).post(url, {"approve": "0"}, follow=True)
    assert Household.objects.get(pk=pk).category != other
    assert 'id="decision-stale"' not in page.content.decode()


def test_a_change_of_the_file_by_another_step_still_marks_the_decision(
    tree: dict[str, Any], users: dict[str, Any]
) -> None:
    pk, d = _decided(tree, users)
    other = _other(pk, d)
    checker = user_with_role(tree["xiangyun"], Role.CENTRE_STAFF, "xiangyun_checker")
    client_for(users["xiangyun_staff"]).post(
        f"/eligibility/households/{pk}/decisions/{d}/override/", {"category": other, "reason": "实际更困难"}
    )
    client_for(checker).post(f"/eligibility/households/{pk}/decisions/{d}/approve/", {"approve": "1"})
    Household.objects.filter(pk=pk).update(version=Household.objects.get(pk=pk).version + 1)  # an income record, say
    page = client_for(checker).get(f"/eligibility/households/{pk}/").content.decode()
    assert 'id="decision-stale"' in page
