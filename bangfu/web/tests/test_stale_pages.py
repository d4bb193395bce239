"""A page left open while its sign-in changed: signed out in another tab, the session expired, or
signed in again (a new CSRF token). htmx controls and forms on it say so, instead of drawing the
sign-in page inside the page or showing Django's own CSRF page."""

from __future__ import annotations

from typing import Any

from django.test import Client
from django.urls import reverse

from bangfu.registry.models import Household

HTMX = {"HX-Request": "true"}


def test_an_htmx_request_without_a_session_takes_the_whole_page_to_sign_in(
    xiangyun_household: Household, users: dict[str, Any]
) -> None:
    member = xiangyun_household.members.first()
    assert member is not None
    page = f"http://testserver/households/{xiangyun_household.pk}/?tab=members"
    anonymous = Client(headers={"Accept-Language": "en", **HTMX, "HX-Current-URL": page})
    response = anonymous.post(reverse("web:member_id_reveal", args=[member.pk]))
    assert response.status_code == 200
    assert response["HX-Redirect"] == f"/login/?next=%2Fhouseholds%2F{xiangyun_household.pk}%2F%3Ftab%3Dmembers"
    assert b"<form" not in response.content and b"password" not in response.content.lower()

    # The live search: the sign-in page, not the search results, and not the endpoint as next.
    search = anonymous.get("/households/?q=zjg", headers={"HX-Current-URL": "http://testserver/households/"})
    assert search["HX-Redirect"] == "/login/?next=%2Fhouseholds%2F"
    assert b"password" not in search.content.lower()


def test_an_htmx_request_from_another_site_is_sent_to_sign_in_without_next() -> None:
    anonymous = Client(headers={**HTMX, "HX-Current-URL": "https://elsewhere.example/households/"})
    assert anonymous.get("/households/?q=zjg")["HX-Redirect"] == "/login/"


def test_a_page_without_htmx_still_redirects_to_sign_in() -> None:
    response = Client().get("/households/")
    assert response.status_code == 302
    assert response["Location"] == "/login/?next=/households/"
    assert not response.has_header("HX-Redirect")


def test_a_form_from_before_a_sign_in_elsewhere_says_the_page_expired(
    xiangyun_household: Household, users: dict[str, Any]
) -> None:
    client = Client(enforce_csrf_checks=True, headers={"Accept-Language": "en"})
    client.force_login(users["xiangyun_staff"])
    edit = f"/households/{xiangyun_household.pk}/edit/"
    response = client.post(edit, {"csrfmiddlewaretoken": "stale" * 8}, headers={"Referer": f"http://testserver{edit}"})
    assert response.status_code == 403
    text = response.content.decode()
    assert "This page had expired" in text
    assert "copy anything you typed, reload the page and try again" in text
    assert f'href="http://testserver{edit}"' in text
    assert "DEBUG" not in text
    assert 'id="nav-main"' in text  # the site's own page, with its menu

    zh = Client(enforce_csrf_checks=True, headers={"Accept-Language": "zh-hans"})
    zh.force_login(users["xiangyun_staff"])
    assert "DEBUG" not in zh.post(edit, {}).content.decode()

    # An htmx control on such a page gets the sentence alone, for the page's alert.
    hx = client.post(reverse("web:bank_card_reveal", args=[xiangyun_household.pk]), headers=HTMX)
    assert hx.status_code == 403
    assert hx.content.decode().strip().startswith("<p data-htmx-message>This page had expired")


def test_a_sign_in_form_that_expired_opens_a_fresh_sign_in_page(users: dict[str, Any]) -> None:
    client = Client(enforce_csrf_checks=True, headers={"Accept-Language": "en"})
    response = client.post(
        "/login/?next=/households/", {"username": "xiangyun_staff", "password": "x", "next": "/households/"}
    )
    assert response.status_code == 302
    assert response["Location"] == "/login/?next=%2Fhouseholds%2F"
    page = client.get(response["Location"])
    assert "The sign-in page had expired; sign in again." in page.content.decode()
    assert page.context["next"] == "/households/"

    # Another site's address as next is not followed.
    away = client.post("/login/", {"next": "https://elsewhere.example/"})
    assert away["Location"] == "/login/"

    phone = client.post(reverse("intake:phone_login"), {"phone": "13912345678"})
    assert phone.status_code == 302 and phone["Location"] == reverse("intake:phone_login")
