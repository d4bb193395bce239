"""The union box of the phone's application form: a province has hundreds of grassroots unions, so
the worker finds theirs by typing part of its name or of their county's (or city's) name — by a
plain form without JavaScript, as they type with htmx — and the API takes the same ``q``."""

from __future__ import annotations

import json
import re

import pytest
from django.test import Client

from bangfu.intake import selectors
from bangfu.intake.models import Applicant, Application
from bangfu.intake.tests.helpers import sign_in
from bangfu.org.models import OrgKind, OrgLevel, OrgUnit
from bangfu.org.services import org_unit_create

pytestmark = pytest.mark.django_db

# Grassroots unions whose names do not hold their county's: found by the county's name only.
COUNTIES = {"midu": ("弥渡县总工会", "532925"), "binchuan": ("宾川县总工会", "532924")}
PER_COUNTY = 55  # 2 × 55 + the tree's own: more than the box lists before a search


@pytest.fixture
def province(tree: dict[str, OrgUnit]) -> dict[str, OrgUnit]:
    units = dict(tree)
    for key, (name, code) in COUNTIES.items():
        county = org_unit_create(name=name, level=OrgLevel.COUNTY, division_code=code, parent=tree["dali"])
        units[key] = county
        for i in range(1, PER_COUNTY + 1):
            units[f"{key}_{i}"] = org_unit_create(
                name=f"第{i}机械厂工会" if i % 2 else f"{i}号社区工会",
                level=OrgLevel.GRASSROOTS,
                division_code=code,
                parent=county,
                kind=OrgKind.ENTERPRISE,
            )
    return units


def _worker() -> Client:
    return sign_in(Client(HTTP_ACCEPT_LANGUAGE="en"), Applicant.objects.get_or_create(phone="13812345678")[0])


def _options(html: str) -> list[int]:
    """The unions offered in the union box (not the blank choice)."""
    box = html[html.index('name="unit_id"') : html.index("</select>", html.index('name="unit_id"'))]
    return [int(v) for v in re.findall(r'<option value="(\d+)"', box)]


def test_a_province_of_unions_is_searched_not_scrolled(province: dict[str, OrgUnit]) -> None:
    c = _worker()
    page = c.get("/apply/").content.decode()
    assert 'id="union-q"' in page and 'role="search"' in page
    assert _options(page) == []  # too many to list: nothing to scroll through
    assert "Type part of the name of your union, or of your county" in page
    # The county's name finds its unions, though theirs do not hold it; grouped under the county.
    page = c.get("/apply/", {"q": "弥渡"}).content.decode()
    midu = {u.pk for k, u in province.items() if k.startswith("midu_")}
    assert set(_options(page)) == midu
    assert '<optgroup label="弥渡县总工会">' in page and f"{PER_COUNTY} unions found" in page
    assert f'value="{province["xiangyun_g"].pk}"' not in page
    # Every word counts; full-width spaces and letters as a phone's keyboard types them.
    page = c.get("/apply/", {"q": "　宾川　 第11 "}).content.decode()
    assert _options(page) == [province["binchuan_11"].pk]
    assert f'<option value="{province["binchuan_11"].pk}" selected>' in page  # one match: chosen
    assert "One union found" in page and 'value="宾川 第11"' in page
    # Part of a union's own name; the city's name.
    assert _options(c.get("/apply/", {"q": "纺织"}).content.decode()) == [province["xiangyun_g"].pk]
    factories = 2 * len(range(1, PER_COUNTY + 1, 2))  # the odd-numbered unions of both counties
    assert len(_options(c.get("/apply/", {"q": "机械厂 大理州"}).content.decode())) == factories
    page = c.get("/apply/", {"q": "昆明"}).content.decode()
    assert _options(page) == [] and "No union matches “昆明”" in page
    # In pinyin, as a phone without Chinese input types it: the county's name, or initials.
    assert set(_options(c.get("/apply/", {"q": "Midu"}).content.decode())) == midu
    assert _options(c.get("/apply/", {"q": "binchuan 第11"}).content.decode()) == [province["binchuan_11"].pk]


def test_more_matches_than_the_box_holds_says_so(province: dict[str, OrgUnit]) -> None:
    page = _worker().get("/apply/", {"q": "工会"}).content.decode()
    assert len(_options(page)) == selectors.UNIONS_SHOWN
    assert f"More than {selectors.UNIONS_SHOWN} unions match; type more of the name." in page


def test_the_box_follows_the_typing_with_htmx(province: dict[str, OrgUnit]) -> None:
    c = _worker()
    page = c.get("/apply/").content.decode()
    box = page[page.index('id="union-q"') : page.index(">", page.index('id="union-q"'))]
    assert 'hx-get="/apply/unions/"' in box and 'hx-target="#union-choice"' in box
    chosen = str(province["midu_3"].pk)
    r = c.get("/apply/unions/", {"q": "弥渡 第3", "unit_id": chosen}, headers={"HX-Request": "true"})
    html = r.content.decode()
    assert r.status_code == 200 and html.startswith('<div id="union-choice">') and "<html" not in html
    assert f'<option value="{chosen}" selected>' in html  # still listed: stays chosen
    assert 'name="q" value="弥渡 第3"' in html  # the form sends the search with it
    r = c.get("/apply/unions/", {"q": "宾川", "unit_id": chosen}, headers={"HX-Request": "true"})
    assert f'value="{chosen}"' not in r.content.decode()  # a new search: the list is its results
    # Opened without htmx (or JavaScript): the whole page with the search.
    r = c.get("/apply/unions/", {"q": "宾川"})
    assert r.status_code == 302 and r["Location"] == "/apply/?q=%E5%AE%BE%E5%B7%9D"
    assert Client().get("/apply/unions/", {"q": "宾川"})["Location"] == "/apply/login/"


def test_a_union_found_by_search_is_applied_to_and_kept_when_the_form_comes_back(
    province: dict[str, OrgUnit],
) -> None:
    c = _worker()
    chosen = province["binchuan_40"].pk
    # A form sent back (here: a kind that does not exist) keeps the union chosen, even unsearched.
    r = c.post("/apply/", {"unit_id": chosen, "kind": "lottery", "q": "", "idempotency_key": "k1"})
    assert r.status_code == 200 and not Application.objects.exists()
    assert f'<option value="{chosen}" selected>' in r.content.decode()
    r = c.post("/apply/", {"unit_id": chosen, "kind": "formal", "q": "宾川", "idempotency_key": "k1"})
    assert r.status_code == 302
    assert Application.objects.get().unit_id == chosen
    # Not a grassroots union: refused as a choice that does not exist.
    r = c.post("/apply/", {"unit_id": province["binchuan"].pk, "kind": "formal", "idempotency_key": "k2"})
    assert r.status_code == 200 and "Select a valid choice" in r.content.decode()
    assert Application.objects.count() == 1


def test_the_api_lists_unions_with_the_same_search(province: dict[str, OrgUnit]) -> None:
    from bangfu.intake import otp

    token = otp.token_for(Applicant.objects.create(phone="13812345678"))
    api = Client(headers={"Authorization": f"Bearer {token}"})
    found = api.get("/api/v1/applicant/unions", {"q": "宾川 第11"}).json()
    union = {"id": province["binchuan_11"].pk, "name": "第11机械厂工会"}
    union.update(county="宾川县总工会", city="大理州总工会")
    assert found == {"unions": [union], "more": False}
    every = api.get("/api/v1/applicant/unions").json()
    assert len(every["unions"]) == selectors.UNIONS_SHOWN and every["more"] is True  # the client is told
    some = api.get("/api/v1/applicant/unions", {"q": "弥渡"}).json()
    assert len(some["unions"]) == PER_COUNTY and some["more"] is False
    assert api.get("/api/v1/applicant/unions", {"q": "x" * 500}).json() == {"unions": [], "more": False}
    assert Client().get("/api/v1/applicant/unions").status_code == 401
    # The id is what a new application takes.
    r = api.post(
        "/api/v1/applicant/applications",
        json.dumps({"unit_id": found["unions"][0]["id"], "kind": "formal"}),
        content_type="application/json",
    )
    assert r.status_code == 201 and r.json()["unit_id"] == found["unions"][0]["id"]


def test_a_small_deployment_lists_every_union(tree: dict[str, OrgUnit]) -> None:
    page = _worker().get("/apply/").content.decode()
    assert set(_options(page)) == {tree["xiangyun_g"].pk, tree["dalishi_g"].pk}
    assert 'id="union-status"' not in page
