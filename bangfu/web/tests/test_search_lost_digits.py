"""A search by an ID number Excel showed as a number (5.32923E+17) says under the box, in the
department import's words, that its last digits are lost; the API's search says the same."""

from __future__ import annotations

import re
from typing import Any

from django.test import Client

from bangfu.org.services import token_create
from bangfu.registry import services
from bangfu.testing.factories import household_input

from .test_pages import client_for

LOST = "The ID number was stored as a number (for example by Excel), so its last digits are lost"


def _hint(page: str) -> str:
    found = re.search(r'<div id="id_q_hint"[^>]*>(.*?)</div>', page, re.S)
    return found.group(1).strip() if found else ""


def test_an_excel_mangled_id_number_is_explained_under_the_box(tree: dict, users: dict[str, Any]) -> None:
    services.household_create(actor=users["xiangyun_staff"], data=household_input(tree["xiangyun_g"]))
    c = client_for(users["xiangyun_staff"])
    page = c.post("/households/", {"q": "5.32923E+17"}, follow=True).content.decode()
    assert "0 households" in page
    assert _hint(page).startswith(LOST)
    assert 'aria-describedby="id_q_hint"' in page  # read with the box
    live = c.post("/households/", {"q": "5.32923e+17"}, headers={"HX-Request": "true"}).content.decode()
    assert 'hx-swap-oob="true"' in live and _hint(live).startswith(LOST)
    # Another search clears it (the live answer empties the hint under the box).
    again = c.post("/households/", {"q": "zjg"}, headers={"HX-Request": "true"}).content.decode()
    assert 'id="id_q_hint"' in again and _hint(again) == ""
    assert _hint(c.get("/households/").content.decode()) == ""


def test_the_api_search_says_the_same(tree: dict, users: dict[str, Any]) -> None:
    user = users["xiangyun_staff"]
    headers = {"Authorization": f"Bearer {token_create(actor=user, user=user, name='t')}", "Accept-Language": "zh-hans"}
    client = Client()
    found = client.post(
        "/api/v1/households/search", {"q": "5.32923E+17"}, content_type="application/json", headers=headers
    ).json()
    assert found["count"] == 0
    assert found["search_hint"].startswith("身份证号被存成了数字（例如在Excel中），后几位已丢失")
    listed = client.get("/api/v1/households", {"q": "5.32923E+17"}, headers=headers).json()
    assert listed["search_hint"] == found["search_hint"]
    assert client.get("/api/v1/households", {"q": "zjg"}, headers=headers).json()["search_hint"] == ""
