"""The union picker: a plain list for a small jurisdiction; a search box and a short list for a
large one, the search scoped to the user's jurisdiction."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.urls import reverse

from bangfu.org.models import OrgUnit
from bangfu.registry import services
from bangfu.testing.factories import household_input

from .test_pages import client_for

pytestmark = pytest.mark.django_db


def _options(html: str, select_id: str) -> list[str]:
    select = re.search(rf'<select[^>]*id="{select_id}"[^>]*>(.*?)</select>', html, re.S)
    assert select, f"no select {select_id}"
    return re.findall(r"<option[^>]*>([^<]*)</option>", select.group(1))


def test_a_small_jurisdiction_gets_a_plain_list(users: dict[str, Any]) -> None:
    html = client_for(users["xiangyun_staff"]).get(reverse("web:household_list")).content.decode()
    assert "data-unit-search" not in html
    assert _options(html, "id_unit") == ["All unions", "祥云县总工会", "\u2003祥云县纺织厂工会"]


def test_a_large_jurisdiction_gets_a_search_box_and_the_top_of_the_tree(
    users: dict[str, Any], tree: dict[str, OrgUnit], many_unions: list[OrgUnit]
) -> None:
    c = client_for(users["province_manager"])
    html = c.get(reverse("web:household_list")).content.decode()
    assert "data-unit-search" in html
    assert 'placeholder="Find a union by name or code"' in html
    # The province and the unions directly under it; no grassroots union of the long list.
    assert _options(html, "id_unit") == ["All unions", "云南省总工会", "\u2003大理州总工会", "\u2003昆明市总工会"]
    # A union chosen deeper down stays shown (a filtered list's URL, a reloaded page).
    html = c.get(reverse("web:household_list"), {"unit": many_unions[7].pk}).content.decode()
    assert "\u2003\u2003\u2003祥云县第7工厂工会" in _options(html, "id_unit")


def test_the_search_finds_by_name_and_code_within_the_jurisdiction(
    users: dict[str, Any], tree: dict[str, OrgUnit], many_unions: list[OrgUnit]
) -> None:
    url = reverse("web:unit_options")
    html = client_for(users["province_manager"]).get(url, {"q": "第12工厂", "blank": "All unions"}).content.decode()
    assert '<option value="">All unions</option>' in html
    assert f'<option value="{many_unions[12].pk}">祥云县第12工厂工会 · 祥云县总工会</option>' in html
    assert html.count("<option") == 2
    by_code = client_for(users["province_manager"]).get(url, {"q": "530102"}).content.decode()
    assert "五华区总工会 · 昆明市总工会" in by_code
    # Outside the jurisdiction: nothing, as if it did not exist.
    other = client_for(users["dalishi_staff"]).get(url, {"q": "第12工厂"}).content.decode()
    assert "第12工厂" not in other.replace("No union matches “第12工厂”", "")
    assert "No union matches “第12工厂”" in other


def test_the_search_keeps_the_chosen_union_and_scopes_to_the_permission(
    users: dict[str, Any], tree: dict[str, OrgUnit], many_unions: list[OrgUnit]
) -> None:
    url = reverse("web:unit_options")
    c = client_for(users["province_manager"])
    html = c.get(url, {"q": "五华", "selected": str(many_unions[3].pk)}).content.decode()
    assert f'<option value="{many_unions[3].pk}" selected>祥云县第3工厂工会</option>' in html
    assert "五华区总工会" in html
    # A manager views but does not edit files: the edit picker's search offers nothing.
    assert "五华区总工会" not in c.get(url, {"q": "五华", "perm": "household.edit"}).content.decode()
    # An unknown permission is the view permission; a chosen union outside the jurisdiction is not shown.
    own = (
        client_for(users["dalishi_staff"])
        .get(url, {"perm": "nonsense", "selected": str(many_unions[3].pk)})
        .content.decode()
    )
    assert "第3工厂" not in own and "大理市总工会" in own
    assert c.get(url).status_code == 200


def test_the_search_needs_a_login(client: Any) -> None:
    assert client.get(reverse("web:unit_options"), {"q": "云南"}).status_code == 302


def test_the_file_form_offers_a_union_found_by_search(
    users: dict[str, Any], tree: dict[str, OrgUnit], many_unions: list[OrgUnit]
) -> None:
    """The edit form lists only the top of the tree but accepts any union the user may edit."""
    staff = users["xiangyun_staff"]
    c = client_for(staff)
    html = c.get(reverse("web:household_create")).content.decode()
    assert "data-unit-search" in html
    assert "祥云县第30工厂工会" not in html
    h = services.household_create(actor=staff, data=household_input(tree["xiangyun"]))
    page = c.get(reverse("web:household_edit", args=[h.pk])).content.decode()
    assert "祥云县总工会" in _options(page, "id_household-unit_id")[1]
