"""An ID number (or a file number) typed into the yearly reviews' search is never in an address:
the search is posted and kept in the session, as the household list's is (``web.searches``), the
address carries its key (``?s=``); the API's ``GET /reviews`` refuses one in ``q`` and
``POST /reviews/search`` takes it in the body. The search finds a person's reviews by their
whole ID number too."""

from __future__ import annotations

import re
import time
from html import unescape
from typing import Any
from urllib.parse import unquote

import pytest
from django.test import Client

from bangfu.common.ids import holds_id_number
from bangfu.intake.models import ReviewTask
from bangfu.intake.tests.test_review_list import PAGE, THIS_YEAR, _files, _listed, _staff, _tasks
from bangfu.registry import services
from bangfu.registry.models import Household
from bangfu.testing.factories import household_input
from bangfu.web.tests.test_pages import id_ending_in_x

pytestmark = pytest.mark.django_db

# Every address a page or an answer gives: links, form actions, htmx requests, the address to come
# back to after confirming, and the headers that send the browser somewhere.
_ADDRESS = re.compile(r'(?:href|action|hx-get|hx-post|hx-push-url)="([^"]*)"|name="next" value="([^"]*)"')


def _addresses(response: Any) -> list[str]:
    found = [unquote(unescape(a or b)) for a, b in _ADDRESS.findall(response.content.decode())]
    return found + [unquote(response[h]) for h in ("Location", "HX-Push-Url") if response.has_header(h)]


def _assert_no_id(response: Any, head_id: str) -> None:
    for address in _addresses(response):
        assert not holds_id_number(address) and head_id[:10] not in address, address


@pytest.fixture
def person(tree: dict, users: dict[str, Any]) -> tuple[str, Household, Household]:
    """Two files of 祥云 with a yearly review each (waiting for the worker); the first one's head
    has an ID number ending in X."""
    staff = users["xiangyun_staff"]
    data = household_input(tree["xiangyun_g"])
    head_id = id_ending_in_x()
    data.members[0].id_number = head_id
    target = services.household_create(actor=staff, data=data)
    other = services.household_create(actor=staff, data=household_input(tree["xiangyun_g"]))
    _tasks([target, other])
    return head_id, target, other


def test_a_search_by_id_number_is_posted_and_the_address_carries_a_key(users: Any, person: Any) -> None:
    head_id, target, _other = person
    c = _staff(users)
    full_width = "".join(chr(ord(ch) + 0xFEE0) for ch in head_id[:17]) + "ｘ"
    for typed in [head_id, f" {head_id[:6]} {head_id[6:14]} {head_id[14:].lower()} ", full_width]:
        response = c.post(PAGE, {"q": typed, "state": "open", "year": str(THIS_YEAR)})
        assert response.status_code == 302
        address = response["Location"]
        assert address.startswith(f"{PAGE}?s=") and "state=open" in address and f"year={THIS_YEAR}" in address
        _assert_no_id(response, head_id)
        page = c.get(address)
        assert _numbers(page) == [target.file_number]
        _assert_no_id(page, head_id)
        # The box shows the search (in the page, not its address); reloading the address finds the same.
        assert 'id="review-q" value="' in page.content.decode()
        assert _numbers(c.get(address)) == [target.file_number]
    # The same search keeps its key; a search without a digit stays in the address as it was.
    assert c.post(PAGE, {"q": head_id})["Location"] == c.post(PAGE, {"q": head_id})["Location"]
    assert c.post(PAGE, {"q": "xy-"})["Location"] == f"{PAGE}?q=xy-"
    assert c.post(PAGE, {"q": "", "state": "todo"})["Location"] == f"{PAGE}?state=todo"


def test_live_search_gets_the_list_and_the_address_to_show(users: Any, person: Any) -> None:
    head_id, target, other = person
    c = _staff(users)
    response = c.post(PAGE, {"q": head_id[:9]}, headers={"HX-Request": "true"})
    assert response.status_code == 200 and "<html" not in response.content.decode()
    assert response["HX-Push-Url"].startswith(f"{PAGE}?s=")
    _assert_no_id(response, head_id)
    response = c.post(PAGE, {"q": head_id, "state": "todo"}, headers={"HX-Request": "true"})
    assert _numbers(response) == [target.file_number]
    _assert_no_id(response, head_id)
    # The button on each row comes back to the list the address shows.
    assert f'name="next" value="{response["HX-Push-Url"].replace("&", "&amp;")}"' in response.content.decode()
    response = c.post(PAGE, {"q": other.file_number}, headers={"HX-Request": "true"})
    assert _numbers(response) == [other.file_number] and other.file_number not in response["HX-Push-Url"]


def test_pages_tabs_and_confirming_keep_the_kept_search(users: Any, tree: Any) -> None:
    _tasks(_files(tree["xiangyun_g"], "XY", 60))
    c = _staff(users)
    address = c.post(PAGE, {"q": "XY-00", "state": "open"})["Location"]
    key = address.split("s=", 1)[1].split("&", 1)[0]
    first = c.get(address)
    html = first.content.decode()
    assert len(_listed(html)) == 50 and "Page 1 of 2" in html
    assert f"?s={key}&amp;state=open&amp;page=2" in html  # the pager
    assert f'href="?s={key}&amp;state=reported"' in html  # the tabs
    assert "XY-00" not in " ".join(_addresses(first))
    second = c.get(PAGE, {"s": key, "state": "open", "page": "2"}, headers={"HX-Request": "true"})
    assert _listed(second.content.decode()) == [f"XY-{i:04d}" for i in range(51, 61)]
    task = ReviewTask.objects.get(household__file_number="XY-0055")
    back = f"{PAGE}?s={key}&state=open&page=2"
    assert f'name="next" value="{back.replace("&", "&amp;")}"' in second.content.decode()
    done = c.post(f"/applications/reviews/{task.pk}/confirm/", {"state": "open", "next": back})
    assert done["Location"] == back
    assert _listed(c.get(back).content.decode()) == [f"XY-{i:04d}" for i in range(51, 61) if i != 55]


def test_a_kept_search_of_another_session_or_expired_searches_nothing(
    users: Any, person: Any, monkeypatch: Any, settings: Any
) -> None:
    head_id, target, other = person
    c = _staff(users)
    address = c.post(PAGE, {"q": head_id, "state": "open"})["Location"]
    elsewhere = _staff(users).get(address)
    assert "This search has expired or was made in another sign-in" in elsewhere.content.decode()
    assert sorted(_numbers(elsewhere)) == sorted([target.file_number, other.file_number])
    results = elsewhere.content.decode().split('id="results"', 1)[1]
    assert not re.search(r"[?;]s=", results) and "state=open" in results  # the tabs, the pager and the buttons' return
    later = time.time() + 13 * 3600
    monkeypatch.setattr("bangfu.web.searches.time.time", lambda: later)
    assert "This search has expired" in c.get(address).content.decode()
    # In Chinese, the product's default.
    settings.LANGUAGE_CODE = "zh-hans"
    chinese = Client()
    chinese.force_login(users["xiangyun_staff"])
    assert "这次查询已过期" in chinese.get(address).content.decode()


def test_an_id_number_in_the_address_is_not_searched(users: Any, person: Any) -> None:
    head_id, target, other = person
    c = _staff(users)
    for typed in [head_id, head_id[:17], f"{head_id[:6]} {head_id[6:]}"]:
        refused = c.get(PAGE, {"q": typed, "state": "open"})
        assert refused.status_code == 302 and refused["Location"] == f"{PAGE}?state=open"
        page = c.get(refused["Location"])
        assert "An ID number is not searched from the page&#x27;s address" in page.content.decode(), typed
        assert sorted(_numbers(page)) == sorted([target.file_number, other.file_number])
        assert head_id[:10] not in page.content.decode()
    # A file number in the address still is (links and bookmarks made before keep working).
    assert _numbers(c.get(PAGE, {"q": other.file_number})) == [other.file_number]


def test_the_api_refuses_an_id_number_in_the_address_and_searches_it_in_the_body(users: Any, person: Any) -> None:
    head_id, target, other = person
    c = _staff(users)
    full_width = "".join(chr(ord(ch) + 0xFEE0) for ch in head_id)
    for q in [head_id, head_id.lower(), f"{head_id[:6]} {head_id[6:14]} {head_id[14:]}", full_width, head_id[:17]]:
        response = c.get("/api/v1/reviews", {"q": q})
        assert response.status_code == 422, q
        body = response.json()
        assert list(body["error"]["fields"]) == ["q"], body
        assert "POST /api/v1/reviews/search" in body["error"]["fields"]["q"][0]
    assert c.get("/api/v1/reviews", {"q": other.file_number}).json()["count"] == 1  # a file number still is

    found = c.post("/api/v1/reviews/search", {"q": f" {head_id[:6]} {head_id[6:].lower()} "}, "application/json")
    assert found.status_code == 200, found.content
    body = found.json()
    assert [r["household_id"] for r in body["results"]] == [target.pk] and body["count"] == 1
    assert head_id not in found.content.decode()
    # The same page as the GET: same shape, filters and paging.
    listed = c.get("/api/v1/reviews", {"state": "open", "page_size": "1", "page": "2"}).json()
    searched = c.post("/api/v1/reviews/search", {"state": "open", "page_size": 1, "page": 2}, "application/json")
    assert searched.json() == listed and listed["count"] == 2
    done = c.post("/api/v1/reviews/search", {"q": head_id, "state": "done"}, "application/json").json()
    assert done["count"] == 0
    # Bad input is refused by field, as on the GET.
    refused = c.post("/api/v1/reviews/search", {"q": head_id, "state": "bogus"}, "application/json").json()
    assert list(refused["error"]["fields"]) == ["state"]
    assert "quest" in c.post("/api/v1/reviews/search", {"quest": head_id}, "application/json").json()["error"]["fields"]


def test_the_search_by_id_number_keeps_to_the_jurisdiction(users: Any, person: Any) -> None:
    head_id, target, _other = person
    elsewhere = _staff(users, "dalishi_staff")  # next door: the person's file is not theirs
    assert _numbers(elsewhere.get(elsewhere.post(PAGE, {"q": head_id})["Location"])) == []
    mine = _staff(users)
    assert _numbers(mine.get(mine.post(PAGE, {"q": head_id})["Location"])) == [target.file_number]


def _numbers(response: Any) -> list[str]:
    """The file numbers of the list's rows, in order."""
    html = response.content.decode()
    if 'id="reviews"' not in html:
        return []
    body = html.split('id="reviews"', 1)[1].split("</table>", 1)[0]
    return re.findall(r'<a href="/households/\d+/">([^<]+)</a>', body)
