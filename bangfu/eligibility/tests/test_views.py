"""The staff pages, through the browser's HTTP requests."""

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


def test_decide_override_and_approve_on_the_page(tree: dict[str, Any], users: dict[str, Any]) -> None:
    h = household_create(actor=users["xiangyun_staff"], data=household_input(tree["xiangyun_g"]))
    services.standard_set(
        actor=users["province_manager"],
        division_code="530000",
        year=2026,
        dibao_monthly="1001",
        minimum_wage_monthly="1900",
    )
    staff, cadre = client_for(users["xiangyun_staff"]), client_for(users["xiangyun_cadre"])
    checker = client_for(user_with_role(tree["xiangyun"], Role.CENTRE_STAFF, "xiangyun_checker"))
    page = staff.get(f"/eligibility/households/{h.pk}/")
    assert "No decision yet." in page.content.decode()
    staff.post(f"/eligibility/households/{h.pk}/compute/")
    text = staff.get(f"/eligibility/households/{h.pk}/").content.decode()
    assert "Deep hardship" in text
    assert "with illness" in text
    d = EligibilityDecision.objects.current().get(household=h)
    file_page = staff.get(f"/households/{h.pk}/").content.decode()  # the household page shows it too
    assert 'id="identification"' in file_page
    assert f'href="/eligibility/households/{h.pk}/"' in file_page
    assert "Recompute categories" in file_page  # centre staff may run a recompute
    assert "Recompute categories" not in client_for(users["evaluator"]).get("/households/").content.decode()
    staff.post(
        f"/eligibility/households/{h.pk}/decisions/{d.pk}/override/", {"category": "relative", "reason": "Cured"}
    )
    page = staff.post(f"/eligibility/households/{h.pk}/decisions/{d.pk}/approve/", {"approve": "1"}, follow=True)
    assert "approved by someone other than its maker" in page.content.decode()
    assert cadre.post(f"/eligibility/households/{h.pk}/decisions/{d.pk}/approve/", {"approve": "1"}).status_code == 403
    checker.post(f"/eligibility/households/{h.pk}/decisions/{d.pk}/approve/", {"approve": "1"})
    assert "Set by a person" in staff.get(f"/eligibility/households/{h.pk}/").content.decode()
    assert client_for(users["dalishi_staff"]).get(f"/eligibility/households/{h.pk}/").status_code == 404


def test_recompute_page_shows_progress_and_report(
    tree: dict[str, Any], users: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    household_create(actor=users["xiangyun_staff"], data=household_input(tree["xiangyun_g"]))
    admin = client_for(users["admin"])
    assert "Recompute categories" in admin.get("/eligibility/recompute/").content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        r = admin.post("/eligibility/recompute/", {"unit_id": tree["province"].pk})
    page = admin.get(r["Location"]).content.decode()
    assert "1 of 1 households, 0 changed category" in page
    assert "Download the changes (Excel)" in page
