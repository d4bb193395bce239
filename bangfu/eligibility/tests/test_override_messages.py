"""What the household's identification page says after an override is asked for or decided."""

from __future__ import annotations

import re
from typing import Any

from django.test import Client

from bangfu.eligibility import services
from bangfu.eligibility.models import EligibilityDecision
from bangfu.org.models import Role
from bangfu.registry.services import household_create
from bangfu.testing.factories import household_input, user_with_role


def client_for(user: Any) -> Client:
    c = Client(headers={"Accept-Language": "en"})
    c.force_login(user)
    return c


def _decided(tree: dict[str, Any], users: dict[str, Any]) -> tuple[int, int]:
    h = household_create(actor=users["xiangyun_staff"], data=household_input(tree["xiangyun_g"]))
    services.standard_set(
        actor=users["province_manager"],
        division_code="530000",
        year=2026,
        dibao_monthly="1001",
        minimum_wage_monthly="1900",
    )
    services.decision_compute(actor=users["xiangyun_staff"], household_id=h.pk)
    return h.pk, EligibilityDecision.objects.current().get(household_id=h.pk).pk


def test_a_missing_reason_is_said_in_words_without_the_field_name(tree: dict[str, Any], users: dict[str, Any]) -> None:
    pk, d = _decided(tree, users)
    page = client_for(users["xiangyun_staff"]).post(
        f"/eligibility/households/{pk}/decisions/{d}/override/", {"category": "not_eligible", "reason": "   "}
    )
    assert page.status_code == 400
    text = page.content.decode()
    assert "Give the reason for the override." in text
    assert "reason: " not in text
    # Under its field, with the category chosen kept (it went back to the first in the list, and
    # a person who only typed the reason again asked for another category).
    reason = re.search(r'<input[^>]*id="reason"[^>]*>\s*<div class="invalid-feedback" id="reason-error">([^<]*)<', text)
    assert reason and reason.group(1) == "Give the reason for the override."
    assert 'aria-invalid="true"' in reason.group(0)
    assert re.search(r'<option value="not_eligible" selected>', text)
    assert not EligibilityDecision.objects.filter(override_status="pending").exists()


def test_approval_and_rejection_say_which(tree: dict[str, Any], users: dict[str, Any]) -> None:
    pk, d = _decided(tree, users)
    staff = client_for(users["xiangyun_staff"])
    checker = client_for(user_with_role(tree["xiangyun"], Role.CENTRE_STAFF, "xiangyun_checker"))
    url = f"/eligibility/households/{pk}/decisions/{d}"
    staff.post(f"{url}/override/", {"category": "relative", "reason": "Cured after surgery"})
    assert (
        "The override was rejected." in checker.post(f"{url}/approve/", {"approve": "0"}, follow=True).content.decode()
    )
    staff.post(f"{url}/override/", {"category": "relative", "reason": "Cured after surgery"})
    assert (
        "The override was approved." in checker.post(f"{url}/approve/", {"approve": "1"}, follow=True).content.decode()
    )


def test_a_pending_override_is_shown_to_those_who_cannot_decide_it(tree: dict[str, Any], users: dict[str, Any]) -> None:
    pk, d = _decided(tree, users)
    staff = client_for(users["xiangyun_staff"])
    staff.post(f"/eligibility/households/{pk}/decisions/{d}/override/", {"category": "relative", "reason": "Cured"})
    page = client_for(users["xiangyun_cadre"]).get(f"/eligibility/households/{pk}/").content.decode()
    assert 'id="override-pending"' in page and "Override awaiting approval" in page


def test_the_built_in_rule_set_is_named_in_the_users_language() -> None:
    from django.utils import translation

    from bangfu.eligibility.templatetags.eligibility import ruleset_name

    with translation.override("zh-hans"):
        assert ruleset_name("default") == "内置"
    with translation.override("en"):
        assert ruleset_name("default") == "built-in" and ruleset_name("2027-v2") == "2027-v2"


def test_an_approved_override_stays_in_force_until_a_new_one_is_approved(
    tree: dict[str, Any], users: dict[str, Any]
) -> None:
    """One person asking again took the approved override away at once (and a rejection left
    none): the two-person rule undone by one person. The approved one now stays until a second
    person approves the new one, and is in force again when the new one is rejected or withdrawn."""
    pk, d = _decided(tree, users)
    maker, checker = users["xiangyun_staff"], user_with_role(tree["xiangyun"], Role.CENTRE_STAFF, "xiangyun_checker")

    def current() -> EligibilityDecision:
        return EligibilityDecision.objects.get(pk=d)

    computed = current().category
    services.decision_override_request(actor=maker, decision_id=d, category="accident", reason="突发车祸")
    services.decision_override_approve(actor=checker, decision_id=d)
    assert current().effective_category == "accident"

    # The approver asks for another category: the approved one stays in force meanwhile.
    services.decision_override_request(actor=checker, decision_id=d, category="not_eligible", reason="已就业")
    assert current().effective_category == "accident" and current().override_status == "pending"
    page = client_for(checker).get(f"/eligibility/households/{pk}/").content.decode()
    assert 'id="override-withdraw"' in page and "stays in force until this one is approved" in page
    assert ">Approve<" not in page  # the maker cannot approve it
    # Rejected by the other person: the approved override is back, as it was.
    services.decision_override_approve(actor=maker, decision_id=d, approve=False)
    back = current()
    assert (back.override_status, back.effective_category, back.override_by_id) == ("approved", "accident", maker.pk)
    assert back.override_approved_by_id == checker.pk and not back.override_replaces
    # Asked again and withdrawn by its maker: the same.
    services.decision_override_request(actor=checker, decision_id=d, category="not_eligible", reason="已就业")
    services.decision_override_approve(actor=checker, decision_id=d, approve=False)
    assert current().effective_category == "accident"
    # Asked again and approved by the other person: the new one is in force.
    services.decision_override_request(actor=checker, decision_id=d, category="not_eligible", reason="已就业")
    services.decision_override_approve(actor=maker, decision_id=d)
    assert current().effective_category == "not_eligible" and computed != "not_eligible"


def test_a_request_waiting_for_another_persons_approval_is_not_replaced(
    tree: dict[str, Any], users: dict[str, Any]
) -> None:
    from bangfu.common.errors import DomainError

    _pk, d = _decided(tree, users)
    maker, other = users["xiangyun_staff"], user_with_role(tree["xiangyun"], Role.CENTRE_STAFF, "xiangyun_other")
    services.decision_override_request(actor=maker, decision_id=d, category="accident", reason="突发车祸")
    try:
        services.decision_override_request(actor=other, decision_id=d, category="relative", reason="另有原因")
    except DomainError as exc:
        assert exc.code == "override_pending"
    else:
        raise AssertionError("a second person's request replaced the first")
    # Its maker may change it (before anyone decides it).
    services.decision_override_request(actor=maker, decision_id=d, category="relative", reason="更正")
    assert EligibilityDecision.objects.get(pk=d).overridden_category == "relative"


def test_a_pending_override_carries_the_approved_one_it_would_replace_across_recomputes(
    tree: dict[str, Any], users: dict[str, Any]
) -> None:
    from django.utils import timezone

    from bangfu.eligibility import bulk

    pk, d = _decided(tree, users)
    maker, checker = users["xiangyun_staff"], user_with_role(tree["xiangyun"], Role.CENTRE_STAFF, "xiangyun_checker")
    services.decision_override_request(actor=maker, decision_id=d, category="accident", reason="突发车祸")
    services.decision_override_approve(actor=checker, decision_id=d)
    services.decision_override_request(actor=checker, decision_id=d, category="not_eligible", reason="已就业")
    for recompute in ("one", "bulk"):
        if recompute == "one":
            services.decision_compute(actor=maker, household_id=pk)
        else:
            bulk.run_engine(path=tree["xiangyun"].path, on=timezone.localdate(), write=True)
        now = EligibilityDecision.objects.current().get(household_id=pk)
        assert now.pk != d and now.override_status == "pending", recompute
        assert now.effective_category == "accident" and now.replaced_category_label, recompute
    services.decision_override_approve(actor=maker, decision_id=now.pk, approve=False)
    assert EligibilityDecision.objects.current().get(household_id=pk).effective_category == "accident"
