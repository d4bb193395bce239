"""What the household's identification page says after an override is asked for or decided."""

from __future__ import annotations

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
        f"/eligibility/households/{pk}/decisions/{d}/override/", {"category": "relative", "reason": ""}, follow=True
    )
    text = page.content.decode()
    assert "Give the reason for the override." in text
    assert "reason: " not in text


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
