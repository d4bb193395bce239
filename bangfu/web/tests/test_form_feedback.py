"""What the file form says when a save is refused for something that is not a field."""

from __future__ import annotations

from typing import Any

from django.test import Client
from django.urls import reverse

from bangfu.registry.models import Household

from .formdata import form_data


def client_for(user: Any) -> Client:
    c = Client(headers={"Accept-Language": "en"})
    c.force_login(user)
    return c


def test_a_stale_version_does_not_ask_to_correct_fields_and_offers_the_current_file(
    xiangyun_household: Household, users: dict[str, Any]
) -> None:
    c = client_for(users["xiangyun_staff"])
    url = reverse("web:household_edit", args=[xiangyun_household.pk])
    data = form_data(c.get(url).content.decode())
    assert c.post(url, data).status_code == 302  # someone saves first
    html = c.post(url, data).content.decode()
    assert "The file was not saved." in html
    i = html.find("correct the marked fields")
    assert i == -1, html[i - 300 : i + 50]
    assert f'href="{url}" target="_blank"' in html


def test_field_errors_still_ask_to_correct_them(xiangyun_household: Household, users: dict[str, Any]) -> None:
    c = client_for(users["xiangyun_staff"])
    url = reverse("web:household_edit", args=[xiangyun_household.pk])
    data = form_data(c.get(url).content.decode())
    data["household-address"] = ["址" * 201]
    html = c.post(url, data).content.decode()
    assert "Please correct the marked fields." in html
    assert 'target="_blank"' not in html
