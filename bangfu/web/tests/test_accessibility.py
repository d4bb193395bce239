"""The staff pages as a keyboard and screen-reader user meets them (WCAG 2.2 AA): every error and
hint a field points at exists, repeated rows of a form can be told apart, the menu says which
page is the current one, a number revealed is named, and the sign-in's error is announced."""

from __future__ import annotations

from collections import Counter
from typing import Any

from django.test import Client
from django.urls import reverse

from bangfu.registry.models import Household
from bangfu.testing.a11y import Page

from .formdata import form_data


def client_for(user: Any) -> Client:
    c = Client(headers={"Accept-Language": "en"})
    c.force_login(user)
    return c


def assert_fields_described(page: Page, where: str) -> None:
    """Every id an ARIA attribute or a label names exists, and a field marked invalid is described
    by its error's text."""
    assert page.broken_references() == [], where
    invalid = [f for f in page.fields() if f.get("aria-invalid") == "true"]
    for f in invalid:
        assert page.description_of(f), f"{where}: {f.get('name')} is invalid with no error read out"


def test_every_error_and_hint_a_field_points_at_is_on_the_page(
    xiangyun_household: Household, users: dict[str, Any], tree: dict
) -> None:
    c = client_for(users["xiangyun_staff"])
    # The new file: hints on a blank form, then the errors of a form sent empty.
    new = reverse("web:household_create")
    assert_fields_described(Page(c.get(new).content.decode()), "new file")
    data = form_data(c.get(new).content.decode())
    response = c.post(new, data)
    assert response.status_code == 400
    page = Page(response.content.decode())
    assert [f for f in page.fields() if f.get("aria-invalid") == "true"], "the empty form has errors"
    assert_fields_described(page, "new file sent empty")
    # The edit form (the ID number's "leave blank to keep" hint), then an error in a member row.
    edit = reverse("web:household_edit", args=[xiangyun_household.pk])
    html = c.get(edit).content.decode()
    assert_fields_described(Page(html), "edit")
    data = form_data(html)
    data["members-0-id_number"] = ["123"]
    page = Page(c.post(edit, data).content.decode())
    field = page.by_id["id_members-0-id_number"]
    assert field.get("aria-invalid") == "true"
    assert "18 characters" in page.description_of(field)
    assert_fields_described(page, "edit with errors")
    # The monthly income on the file's page, and its errors shown on a page of their own.
    detail = reverse("web:household_detail", args=[xiangyun_household.pk])
    page = Page(c.get(detail).content.decode())
    assert page.description_of(page.by_id["id_net_income"]) == "All counted income that month less rigid expenses."
    assert_fields_described(page, "file page")
    response = c.post(reverse("web:income_record_add", args=[xiangyun_household.pk]), {"month": "1899-01"})
    assert response.status_code == 400
    page = Page(response.content.decode())
    assert page.by_id["id_month"].get("aria-invalid") == "true"
    assert_fields_described(page, "income record refused")
    # The same section as htmx swaps it in.
    response = c.post(
        reverse("web:income_record_add", args=[xiangyun_household.pk]),
        {"month": "1899-01"},
        headers={"HX-Request": "true"},
    )
    assert_fields_described(Page(response.content.decode()), "income record refused (htmx)")


def test_the_rows_of_the_file_form_are_told_apart(xiangyun_household: Household, users: dict[str, Any]) -> None:
    """Each row of a repeated part is a group named by what it is, its number and (a member) the
    person's name; its remove box says which row it removes. No two fields are read alike."""
    c = client_for(users["xiangyun_staff"])
    page = Page(c.get(reverse("web:household_edit", args=[xiangyun_household.pk])).content.decode())
    read = Counter(page.read_as(f) for f in page.fields())
    assert [r for r, n in read.items() if n > 1] == []
    member = page.by_id["id_members-0-name"]
    assert page.groups_of(member)[0] == f"Member 1: {member.get('value')}"
    remove = page.by_id["id_members-0-DELETE"]
    assert page.name_of(remove) == f"Remove this row (Member 1: {member.get('value')})"
    assert page.groups_of(page.by_id["id_incomes-0-kind"])[0] == "Other income 1"
    # The empty row a script copies in is numbered by the script (its index plus one).
    template = next(n for n in page.all("template") if n.parent and n.parent.get("data-formset") == "members")
    legend = next(n for n in template.iter() if n.tag == "legend")
    assert legend.text() == "Member __number__"


def _menu_current(page: Page) -> list[str]:
    menu = next(n for n in page.all("ul") if "navbar-nav" in n.classes())
    return [a.text() for a in menu.iter() if a.tag == "a" and a.get("aria-current") == "page"]


def test_the_menu_says_which_page_is_shown(xiangyun_household: Household, users: dict[str, Any]) -> None:
    """The menu's current page was told by its colour alone."""
    c = client_for(users["xiangyun_staff"])
    assert _menu_current(Page(c.get(reverse("web:household_list")).content.decode())) == ["Household files"]
    assert _menu_current(Page(c.get("/applications/").content.decode())) == ["Applications"]
    assert _menu_current(Page(c.get("/matching/").content.decode())) == ["Cross-department checks"]
    assert (
        _menu_current(Page(c.get(reverse("web:household_detail", args=[xiangyun_household.pk])).content.decode())) == []
    )


def test_each_reveal_button_names_the_number_it_shows(xiangyun_household: Household, users: dict[str, Any]) -> None:
    c = client_for(users["xiangyun_staff"])
    page = Page(c.get(reverse("web:household_detail", args=[xiangyun_household.pk])).content.decode())
    names = [page.name_of(b) for b in page.all("button") if "data-reveal" in b.attrs]
    members = [m.name for m in xiangyun_household.members.order_by("pk")]
    assert sorted(names) == sorted(
        [f"Reveal the ID number of {name}" for name in members] + ["Reveal the bank card number"]
    )
    assert len(set(names)) == len(names)
    # The number swapped in can take the focus (the button that had it is gone).
    head = xiangyun_household.members.get(relationship="head")
    html = c.post(reverse("web:member_id_reveal", args=[head.pk]), headers={"HX-Request": "true"}).content.decode()
    shown = Page(html).all("span")[0]
    assert shown.get("tabindex") == "-1" and "revealed" in shown.classes()


def test_a_refused_sign_in_is_announced_and_marks_its_fields(users: dict[str, Any]) -> None:
    c = Client(headers={"Accept-Language": "en"})
    response = c.post("/login/", {"username": "xiangyun_staff", "password": "wrong"})
    page = Page(response.content.decode())
    alert = page.by_id["login-error"]
    assert alert.get("role") == "alert" and "correct" in alert.text()
    for name in ("id_username", "id_password"):
        assert page.by_id[name].get("aria-invalid") == "true", name
        assert "login-error" in page.by_id[name].get("aria-describedby").split(), name
    assert "autofocus" not in page.by_id["id_username"].attrs  # the script puts the cursor on the first marked field
    assert_fields_described(page, "sign-in refused")
    # A blank sign-in page keeps the cursor in the name box.
    assert "autofocus" in Page(Client().get("/login/").content.decode()).by_id["id_username"].attrs


def test_no_page_points_at_an_element_it_does_not_have(xiangyun_household: Household, users: dict[str, Any]) -> None:
    """Every staff page without an id, and the household's own pages, as the administrator sees
    them (every form and button offered): no ARIA attribute or label names a missing id."""
    c = client_for(users["admin"])
    urls = [
        "/households/",
        "/households/new/",
        f"/households/{xiangyun_household.pk}/",
        f"/households/{xiangyun_household.pk}/edit/",
        f"/eligibility/households/{xiangyun_household.pk}/",
        "/audit/",
        "/applications/",
        "/applications/?scope=all",
        "/applications/new/",
        "/applications/reviews/",
        "/applications/import/",
        "/applications/notice/",
        "/matching/",
        "/matching/datasets/",
        "/matching/datasets/import/",
        "/matching/datasets/request/",
        "/matching/runs/",
        "/matching/runs/new/",
        "/matching/proposals/",
        "/matching/coverage/",
        "/eligibility/recompute/",
        "/eligibility/standards/",
        "/eligibility/rulesets/",
        "/eligibility/whatif/",
        "/self-test/",
    ]
    for url in urls:
        response = c.get(url)
        assert response.status_code == 200, url
        assert Page(response.content.decode()).broken_references() == [], url


def test_a_message_of_success_is_a_status_and_of_trouble_an_alert(rf: Any) -> None:
    """Every message was an alert, so a screen reader broke off to read "Saved." as loudly as an
    error; a success or an information is a status (read when the reader is free)."""
    from django.contrib import messages as levels
    from django.contrib.auth.models import AnonymousUser
    from django.contrib.messages.storage.base import Message
    from django.template.loader import render_to_string

    request = rf.get("/")
    request.user = AnonymousUser()
    shown = [
        Message(levels.SUCCESS, "done-1"),
        Message(levels.INFO, "info-1"),
        Message(levels.WARNING, "warn-1"),
        Message(levels.ERROR, "error-1"),
    ]
    for template in ("web/base.html", "intake/phone/base.html"):
        page = Page(render_to_string(template, {"messages": shown}, request=request))
        roles = {
            d.text().strip(): d.get("role") for d in page.all("div") if d.text().strip() in {m.message for m in shown}
        }
        assert roles == {"done-1": "status", "info-1": "status", "warn-1": "alert", "error-1": "alert"}, template
