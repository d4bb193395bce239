"""An ID number typed into the household search is never in an address: the search is posted and
kept in the session, the address carries its key (``?s=``)."""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import unquote

from bangfu.common.ids import holds_id_number
from bangfu.registry import services
from bangfu.testing.factories import household_input
from bangfu.web.searches import SESSION_KEY

from .test_pages import _rows, client_for, id_ending_in_x


def _two_files(tree: dict, users: dict[str, Any]) -> tuple[str, Any, Any]:
    data = household_input(tree["xiangyun_g"])
    head_id = id_ending_in_x()
    data.members[0].id_number = head_id
    target = services.household_create(actor=users["xiangyun_staff"], data=data)
    other = services.household_create(actor=users["xiangyun_staff"], data=household_input(tree["xiangyun_g"]))
    return head_id, target, other


def test_a_search_by_id_number_is_posted_and_the_address_carries_a_key(tree: dict, users: dict[str, Any]) -> None:
    head_id, target, other = _two_files(tree, users)
    c = client_for(users["xiangyun_staff"])
    full_width = "".join(chr(ord(ch) + 0xFEE0) for ch in head_id[:17]) + "ｘ"
    for typed in [head_id, f" {head_id[:6]} {head_id[6:14]} {head_id[14:].lower()} ", full_width]:
        response = c.post("/households/", {"q": typed, "state": "active"})
        assert response.status_code == 302
        address = response["Location"]
        assert address.startswith("/households/?s=") and "state=active" in address
        assert not holds_id_number(unquote(address)) and head_id[:10] not in address, address
        page = c.get(address)
        rows = _rows(page)
        assert target.file_number in rows and other.file_number not in rows
        # The box shows what was typed; reloading the address finds the same.
        assert f'value="{typed.strip()}"' in page.content.decode()
        assert _rows(c.get(address)) == rows
    # The same search keeps its key; a search by name stays in the address as it was.
    assert c.post("/households/", {"q": head_id})["Location"] == c.post("/households/", {"q": head_id})["Location"]
    assert c.post("/households/", {"q": "zjg"})["Location"] == "/households/?q=zjg"


def test_live_search_gets_the_list_and_the_address_to_show(tree: dict, users: dict[str, Any]) -> None:
    head_id, target, other = _two_files(tree, users)
    c = client_for(users["xiangyun_staff"])
    response = c.post("/households/", {"q": head_id[:9]}, headers={"HX-Request": "true"})
    assert response.status_code == 200 and "<html" not in response.content.decode()
    assert response["HX-Push-Url"].startswith("/households/?s=") and head_id[:9] not in response["HX-Push-Url"]
    response = c.post("/households/", {"q": head_id}, headers={"HX-Request": "true"})
    assert target.file_number in _rows(response) and other.file_number not in _rows(response)
    assert head_id not in response["HX-Push-Url"]
    assert c.post("/households/", {"q": "zjg"}, headers={"HX-Request": "true"})["HX-Push-Url"] == "/households/?q=zjg"


def test_pages_of_a_kept_search_and_another_session(tree: dict, users: dict[str, Any], settings: Any) -> None:
    settings.BANGFU_PAGE_SIZE = 1
    staff = users["xiangyun_staff"]
    files = [services.household_create(actor=staff, data=household_input(tree["xiangyun_g"])) for _ in range(3)]
    c = client_for(staff)
    address = c.post("/households/", {"q": "532923"})["Location"]
    key = address.split("s=", 1)[1]
    first = c.get(address).content.decode()
    assert "Page 1 of 3" in first and f"?s={key}&amp;page=2" in first
    second = c.get("/households/", {"s": key, "page": "2"})
    assert "Page 2 of 3" in second.content.decode() and files[1].file_number in _rows(second)
    partial = c.get("/households/", {"s": key, "page": "3"}, headers={"HX-Request": "true"}).content.decode()
    assert "<html" not in partial and files[0].file_number in partial

    # The key means nothing in another sign-in: the page says so and lists the files unsearched.
    elsewhere = client_for(staff).get(address).content.decode()
    assert "This search has expired or was made in another sign-in" in elsewhere
    assert "Page 1 of 3" in elsewhere and f"s={key}&amp;page" not in elsewhere


def test_a_kept_search_expires(tree: dict, users: dict[str, Any], monkeypatch: Any) -> None:
    head_id, target, other = _two_files(tree, users)
    c = client_for(users["xiangyun_staff"])
    address = c.post("/households/", {"q": head_id})["Location"]
    later = time.time() + 13 * 3600
    monkeypatch.setattr("bangfu.web.searches.time.time", lambda: later)
    page = c.get(address)
    assert "This search has expired" in page.content.decode()
    assert target.file_number in _rows(page) and other.file_number in _rows(page)


def test_an_id_number_in_the_address_is_not_searched(tree: dict, users: dict[str, Any]) -> None:
    head_id, target, other = _two_files(tree, users)
    c = client_for(users["xiangyun_staff"])
    for typed in [head_id, head_id[:17], f"{head_id[:6]} {head_id[6:]}"]:
        refused = c.get("/households/", {"q": typed, "state": "active"})
        assert refused.status_code == 302 and refused["Location"] == "/households/?state=active"
        page = c.get(refused["Location"])
        html = page.content.decode()
        assert "An ID number is not searched from the page&#x27;s address" in html, typed
        assert target.file_number in _rows(page) and other.file_number in _rows(page)
        assert head_id[:10] not in html
    # A file number still is (links and bookmarks made before keep working).
    assert other.file_number in _rows(c.get("/households/", {"q": other.file_number}))
    assert target.file_number not in _rows(c.get("/households/", {"q": other.file_number}))


def test_the_kept_search_is_encrypted_in_the_session(tree: dict, users: dict[str, Any]) -> None:
    # Sessions are rows of the database: an ID number is kept there as every ID number is, encrypted.
    from django.contrib.sessions.models import Session

    head_id, target, _other = _two_files(tree, users)
    c = client_for(users["xiangyun_staff"])
    address = c.post("/households/", {"q": head_id.lower()})["Location"]
    stored = json.dumps([s.get_decoded() for s in Session.objects.all()])
    assert head_id[:10] not in stored and SESSION_KEY in stored
    assert target.file_number in _rows(c.get(address))


def test_the_language_menu_returns_to_the_page_without_an_id_number_in_its_address(
    tree: dict, users: dict[str, Any]
) -> None:
    """The language menu's ``next`` is the page's address (its ``?s=`` key kept), less a query
    that holds an ID number: the menu posts it and the browser is sent there."""
    import re

    head_id, _target, _other = _two_files(tree, users)
    c = client_for(users["xiangyun_staff"])
    address = c.post("/households/", {"q": head_id})["Location"]

    def nexts(url: str) -> set[str]:
        return set(re.findall(r'name="next" value="([^"]*)"', c.get(url).content.decode()))

    assert nexts(address) == {address.replace("&", "&amp;")}
    assert nexts(f"/applications/?note={head_id[:6]}+{head_id[6:14]}+{head_id[14:]}") == {"/applications/"}
    assert nexts("/applications/?page=2") == {"/applications/?page=2"}
