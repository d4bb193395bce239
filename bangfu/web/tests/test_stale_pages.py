"""A page left open while its sign-in changed: signed out in another tab, the session expired, or
signed in again (a new CSRF token). htmx controls and forms on it say so, instead of drawing the
sign-in page inside the page or showing Django's own CSRF page."""

from __future__ import annotations

from typing import Any

from django.test import Client
from django.urls import reverse

from bangfu.registry.models import Household

from .test_pages import client_for

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
