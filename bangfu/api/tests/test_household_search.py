"""Searching the files by ID number through the API: in the body of ``POST /households/search``,
never in an address (``GET /households?q=`` refuses it, 422 on ``q``)."""

from __future__ import annotations

from typing import Any

from bangfu.common import crypto
from bangfu.registry import services
from bangfu.registry.models import Household
from bangfu.testing.factories import household_input


def _head_id(h: Household) -> str:
    return crypto.decrypt(h.members.get(relationship="head").id_cipher)


def test_get_refuses_an_id_number_in_the_address(api_as: Any, xiangyun_file: Household) -> None:
    api = api_as("xiangyun_staff")
    head_id = _head_id(xiangyun_file)
    full_width = "".join(chr(ord(ch) + 0xFEE0) for ch in head_id)
    for q in [head_id, head_id.lower(), f"{head_id[:6]} {head_id[6:14]} {head_id[14:]}", full_width, head_id[:17]]:
        response = api.get("/households", q=q)
        assert response.status_code == 422, q
        body = response.json()
        assert list(body["error"]["fields"]) == ["q"], body
        assert "POST /api/v1/households/search" in body["error"]["fields"]["q"][0]
    # A file number, a name and a masked number are still searched in the address.
    assert api.get("/households", q=xiangyun_file.file_number).json()["count"] == 1
    assert api.get("/households", q="zjg").json()["count"] == 1


def test_post_search_takes_the_id_number_in_the_body(api_as: Any, tree: dict, users: dict[str, Any]) -> None:
    target = services.household_create(actor=users["xiangyun_staff"], data=household_input(tree["xiangyun_g"]))
    other = services.household_create(actor=users["xiangyun_staff"], data=household_input(tree["xiangyun_g"]))
    api = api_as("xiangyun_staff")
    head_id = _head_id(target)
    found = api.post("/households/search", {"q": f" {head_id[:6]} {head_id[6:].lower()} "})
    assert found.status_code == 200, found.content
    body = found.json()
    assert [r["id"] for r in body["results"]] == [target.pk] and body["count"] == 1
    # The same page as the GET: same shape, filters and paging.
    listed = api.get("/households", state="active", page_size=1, page=2).json()
    searched = api.post("/households/search", {"state": "active", "page_size": 1, "page": 2}).json()
    assert searched == listed and listed["results"][0]["id"] == target.pk and other.pk
    assert api.post("/households/search", {"q": head_id, "state": "exited"}).json()["count"] == 0
    # Bad input is refused by field, as on the GET.
    refused = api.post("/households/search", {"q": head_id, "main_cause": 99}).json()
    assert list(refused["error"]["fields"]) == ["main_cause"]
    assert "quest" in api.post("/households/search", {"quest": head_id}).json()["error"]["fields"]
    assert head_id not in found.content.decode()
