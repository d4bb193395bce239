from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import date
from typing import Any

import pytest
from django.db import connection
from django.forms.models import model_to_dict
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils.html import escape

from bangfu.common import crypto
from bangfu.common.ids import build_resident_id
from bangfu.common.models import AuditEntry
from bangfu.registry import services
from bangfu.registry.models import Household
from bangfu.testing.factories import household_input, new_id

from .formdata import form_data


def client_for(user: Any) -> Client:
    """A signed-in client reading English pages (the assertions use the English source strings)."""
    c = Client(headers={"Accept-Language": "en"})
    c.force_login(user)
    return c


def id_ending_in_x(region: str = "532923") -> str:
    """A valid ID number whose check character is X (to search for it with a lower-case x)."""
    for seq in range(200):
        value = build_resident_id(region, date(1968, 4, 11), seq, False)
        if value.endswith("X"):
            return value
    raise AssertionError("no X check digit in 200 sequence numbers")


# --- sign-in ------------------------------------------------------------------------------------


def test_pages_need_sign_in_and_login_leads_to_the_list(users: dict[str, Any]) -> None:
    c = Client()
    response = c.get("/households/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=/households/")

    response = c.post("/login/", {"username": "xiangyun_staff", "password": "wrong"})
    assert response.status_code == 200
    assert b"alert-danger" in response.content

    response = c.post("/login/", {"username": "xiangyun_staff", "password": "pw-for-tests-123"}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("web:household_list")
    assert "祥云县总工会" in response.content.decode()  # the user's unit in the navbar

    assert c.get("/")["Location"] == reverse("web:household_list")
    response = c.post("/logout/")
    assert response.status_code == 302
    assert c.get("/households/").status_code == 302


# --- the list -----------------------------------------------------------------------------------


def _rows(response: Any) -> str:
    html: str = response.content.decode()
    return html.split("<tbody>", 1)[1].split("</tbody>", 1)[0] if "<tbody>" in html else ""


def test_search_by_id_number_in_dirty_forms(tree: dict, users: dict[str, Any]) -> None:
    data = household_input(tree["xiangyun_g"])
    head_id = id_ending_in_x()
    data.members[0].id_number = head_id
    target = services.household_create(actor=users["xiangyun_staff"], data=data)
    other = services.household_create(actor=users["xiangyun_staff"], data=household_input(tree["xiangyun_g"]))
    c = client_for(users["xiangyun_staff"])

    dirty = f" {head_id[:6]} {head_id[6:14]} {head_id[14:].lower()} "
    for q in [head_id, dirty, head_id.lower()]:
        rows = _rows(c.post("/households/", {"q": q}, follow=True))
        assert target.file_number in rows, q
        assert other.file_number not in rows, q
    # The results show the masked number only (the typed query stays in the search box).
    rows = _rows(c.post("/households/", {"q": head_id}, follow=True))
    assert head_id not in rows
    assert target.members.get(relationship="head").id_masked in rows


def test_search_by_name_pinyin_initials_and_file_number(tree: dict, users: dict[str, Any]) -> None:
    zhang = services.household_create(actor=users["xiangyun_staff"], data=household_input(tree["xiangyun_g"]))
    data = household_input(tree["xiangyun_g"], members=1)
    data.members[0].name = "王丽华"
    wang = services.household_create(actor=users["xiangyun_staff"], data=data)
    c = client_for(users["xiangyun_staff"])
    for q, found, missing in [
        ("张建国", zhang, wang),
        ("zhangjianguo", zhang, wang),
        ("ZhangJianguo", zhang, wang),
        ("wlh", wang, zhang),
        ("王", wang, zhang),
        (wang.file_number, wang, zhang),
    ]:
        rows = _rows(c.get("/households/", {"q": q}))
        assert found.file_number in rows, q
        assert missing.file_number not in rows, q


def test_a_search_longer_than_the_box_finds_nothing_rather_than_everything(tree: dict, users: dict[str, Any]) -> None:
    # A pasted address of more than 100 characters was dropped as invalid and every file listed
    # under it; it is searched as cut.
    h = services.household_create(actor=users["xiangyun_staff"], data=household_input(tree["xiangyun_g"]))
    c = client_for(users["xiangyun_staff"])
    assert h.file_number in _rows(c.get("/households/"))
    response = c.get("/households/", {"q": "张" + "云南省大理白族自治州祥云县祥城镇文化路12号" * 6})
    assert h.file_number not in _rows(response)
    assert 'maxlength="100"' in response.content.decode()  # and the box takes no more


def test_filters_by_unit_category_cause_and_state(tree: dict, users: dict[str, Any]) -> None:
    staff = users["xiangyun_staff"]
    deep = services.household_create(actor=staff, data=household_input(tree["xiangyun_g"]))
    relative = services.household_create(
        actor=staff, data=household_input(tree["xiangyun"], category="relative", main_cause=3, secondary_causes=[])
    )
    temporary = services.household_create(actor=staff, data=household_input(tree["xiangyun"], state="temporary"))
    c = client_for(staff)

    def shown(params: dict[str, Any]) -> set[str]:
        rows = _rows(c.get("/households/", params))
        return {h.file_number for h in (deep, relative, temporary) if h.file_number in rows}

    assert shown({}) == {deep.file_number, relative.file_number, temporary.file_number}
    assert shown({"category": "relative"}) == {relative.file_number}
    assert shown({"main_cause": "3"}) == {relative.file_number}
    assert shown({"state": "temporary"}) == {temporary.file_number}
    assert shown({"unit": tree["xiangyun_g"].pk}) == {deep.file_number}
    assert shown({"unit": tree["xiangyun"].pk}) == {deep.file_number, relative.file_number, temporary.file_number}
    # A unit outside the jurisdiction is not offered and filters to nothing.
    assert shown({"unit": tree["dalishi"].pk}) == set()
    assert "大理市总工会" not in c.get("/households/").content.decode()
    # The filter form keeps what was chosen.
    assert 'value="relative" selected' in c.get("/households/", {"category": "relative"}).content.decode()


def test_a_filter_value_the_list_does_not_know_is_said_so(tree: dict, users: dict[str, Any]) -> None:
    """``?category=bogus`` and ``?state=bogus`` listed every file without a word (the API answers
    422 naming the field): the page names the filter and the value it does not know."""
    staff = users["xiangyun_staff"]
    services.household_create(actor=staff, data=household_input(tree["xiangyun_g"]))
    c = client_for(staff)
    for name, label in (("category", "Category"), ("state", "State"), ("main_cause", "Main cause")):
        page = c.get("/households/", {name: "bogus"}).content.decode()
        assert escape(f"The filter “{label}” does not know the value “bogus”") in page, name
        partial = c.get("/households/", {name: "bogus"}, headers={"HX-Request": "true"}).content.decode()
        assert "does not know the value" in partial
    assert "does not know" not in c.get("/households/", {"category": "deep", "state": "active"}).content.decode()


def test_htmx_request_gets_only_the_results(xiangyun_household: Household, users: dict[str, Any]) -> None:
    c = client_for(users["xiangyun_staff"])
    full = c.get("/households/", {"q": "zjg"})
    partial = c.get("/households/", {"q": "zjg"}, headers={"HX-Request": "true"})
    assert b"<nav" in full.content and b'<nav class="navbar' not in partial.content
    assert xiangyun_household.file_number in partial.content.decode()
    assert "HX-Request" in partial["Vary"]


def test_list_queries_do_not_grow_with_page_size(
    tree: dict, users: dict[str, Any], settings: Any, django_assert_max_num_queries: Any
) -> None:
    staff = users["xiangyun_staff"]
    for _ in range(12):
        services.household_create(actor=staff, data=household_input(tree["xiangyun_g"], members=2))
    c = client_for(staff)
    counts = {}
    for size in (10, 50):
        settings.BANGFU_PAGE_SIZE = size
        c.get("/households/")  # warm the session
        with CaptureQueriesContext(connection) as ctx:
            response = c.get("/households/")
        counts[size] = len(ctx.captured_queries)
        assert _rows(response).count("<tr>") == min(size, 12)
    assert counts[10] == counts[50]
    searched = {}
    for size in (10, 50):
        settings.BANGFU_PAGE_SIZE = size
        with CaptureQueriesContext(connection) as ctx:
            c.get("/households/", {"q": "zhang"})
        searched[size] = len(ctx.captured_queries)
    # A pinyin search adds its two prefix look-ups (full pinyin, initials) and the unit list.
    assert searched[10] == searched[50] <= counts[10] + 3


def test_pagination_keeps_the_filters(tree: dict, users: dict[str, Any], settings: Any) -> None:
    settings.BANGFU_PAGE_SIZE = 2
    staff = users["xiangyun_staff"]
    made = [
        services.household_create(actor=staff, data=household_input(tree["xiangyun_g"], members=1)) for _ in range(3)
    ]
    c = client_for(staff)
    page1 = c.get("/households/", {"state": "active"}).content.decode()
    assert "state=active&amp;page=2" in page1
    page2 = _rows(c.get("/households/", {"state": "active", "page": "2"}))
    assert made[0].file_number in page2  # newest first: the oldest is on page 2


# --- jurisdiction -------------------------------------------------------------------------------


PAGES = [
    ("get", "web:household_detail"),
    ("get", "web:household_edit"),
    ("post", "web:household_edit"),
    ("post", "web:bank_card_reveal"),
    ("post", "web:member_id_reveal"),
]


@pytest.mark.parametrize(("method", "name"), PAGES)
def test_other_county_households_are_not_found(
    method: str, name: str, dalishi_household: Household, users: dict[str, Any]
) -> None:
    head = dalishi_household.members.get(relationship="head")
    pk = head.pk if name == "web:member_id_reveal" else dalishi_household.pk
    url = reverse(name, args=[pk])
    response = getattr(client_for(users["xiangyun_staff"]), method)(url)
    assert response.status_code == 404
    assert "outside your jurisdiction" in response.content.decode()  # the same page as "no such file"
    assert dalishi_household.file_number not in response.content.decode()
    assert not AuditEntry.objects.filter(action="reveal").exists()


def test_other_county_households_are_not_listed(
    dalishi_household: Household, xiangyun_household: Household, users: dict[str, Any]
) -> None:
    c = client_for(users["xiangyun_staff"])
    rows = _rows(c.get("/households/"))
    assert xiangyun_household.file_number in rows
    assert dalishi_household.file_number not in rows
    assert dalishi_household.file_number not in _rows(c.get("/households/", {"q": dalishi_household.file_number}))
    assert dalishi_household.file_number not in _rows(c.get("/households/", {"q": "duanzhigang"}))


def test_province_manager_sees_every_county(
    dalishi_household: Household, xiangyun_household: Household, users: dict[str, Any]
) -> None:
    c = client_for(users["province_manager"])
    rows = _rows(c.get("/households/"))
    assert dalishi_household.file_number in rows and xiangyun_household.file_number in rows
    for h in (dalishi_household, xiangyun_household):
        page = c.get(reverse("web:household_detail", args=[h.pk]))
        assert page.status_code == 200
        assert h.file_number in page.content.decode()
        # A manager reads but neither edits nor reveals.
        assert reverse("web:household_edit", args=[h.pk]) not in page.content.decode()
        assert c.get(reverse("web:household_edit", args=[h.pk])).status_code == 403
        assert c.post(reverse("web:bank_card_reveal", args=[h.pk])).status_code == 403


# --- the detail page and reveal -----------------------------------------------------------------


def test_detail_shows_members_economy_causes_and_timeline(xiangyun_household: Household, users: dict[str, Any]) -> None:
    page = client_for(users["xiangyun_staff"]).get(reverse("web:household_detail", args=[xiangyun_household.pk]))
    html = page.content.decode()
    for m in xiangyun_household.members.all():
        assert m.name in html and m.id_masked in html
        assert crypto.decrypt(m.id_cipher) not in html
    assert "233.33" in html  # net income per head per month
    assert "18,000.00" in html  # the rigid expense
    assert "Major illness" in html and "Laid off or unemployed" in html and "Children&#x27;s schooling" in html
    assert "File opened" in html  # the timeline event's label
    assert "6222" in html and "6222021234567890123" not in html  # the card, masked


def test_every_capabilitys_timeline_events_have_a_label(xiangyun_household: Household, users: dict[str, Any]) -> None:
    """Identification, applications and the cross-department checks write on the one timeline:
    the household page names each of their events in words, never by its code."""
    from bangfu.eligibility.models import TIMELINE_KINDS as ELIGIBILITY
    from bangfu.intake.models import TIMELINE_KINDS as INTAKE
    from bangfu.matching.models import TIMELINE_KINDS as MATCHING
    from bangfu.registry.timeline import timeline_add

    kinds = {**ELIGIBILITY, **INTAKE, **MATCHING}
    for kind in kinds:
        timeline_add(household=xiangyun_household, actor=users["xiangyun_staff"], kind=kind)
    page = client_for(users["xiangyun_staff"]).get(reverse("web:household_detail", args=[xiangyun_household.pk]))
    headings = re.findall(r"<strong>([^<]*)</strong>", page.content.decode())
    for kind, label in kinds.items():
        assert kind not in headings
        assert escape(str(label)) in headings


def test_reveal_is_refused_without_the_permission(xiangyun_household: Household, users: dict[str, Any]) -> None:
    cadre = client_for(users["xiangyun_cadre"])
    page = cadre.get(reverse("web:household_detail", args=[xiangyun_household.pk])).content.decode()
    head = xiangyun_household.members.get(relationship="head")
    assert reverse("web:member_id_reveal", args=[head.pk]) not in page
    assert cadre.post(reverse("web:member_id_reveal", args=[head.pk])).status_code == 403
    assert cadre.post(reverse("web:bank_card_reveal", args=[xiangyun_household.pk])).status_code == 403
    assert cadre.get(reverse("web:member_id_reveal", args=[head.pk])).status_code == 405
    assert not AuditEntry.objects.filter(action="reveal").exists()


def test_reveal_shows_the_number_and_is_audited(xiangyun_household: Household, users: dict[str, Any]) -> None:
    staff = client_for(users["xiangyun_staff"])
    head = xiangyun_household.members.get(relationship="head")
    page = staff.get(reverse("web:household_detail", args=[xiangyun_household.pk])).content.decode()
    url = reverse("web:member_id_reveal", args=[head.pk])
    assert f'hx-post="{url}"' in page

    response = staff.post(url, headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert crypto.decrypt(head.id_cipher) in response.content.decode()
    assert b"<nav" not in response.content  # a fragment for htmx to swap in
    entry = AuditEntry.objects.get(action="reveal", target_type="member.id_number")
    assert entry.target_id == str(head.pk) and entry.actor_id == users["xiangyun_staff"].pk

    response = staff.post(reverse("web:bank_card_reveal", args=[xiangyun_household.pk]))
    assert "6222021234567890123" in response.content.decode()
    assert AuditEntry.objects.filter(action="reveal", target_type="bank_account.card_number").count() == 1
    page = staff.get(reverse("web:household_detail", args=[xiangyun_household.pk])).content.decode()
    assert "Personal number revealed" in page


# --- create and edit ----------------------------------------------------------------------------


def _new_form(c: Client) -> dict[str, list[str]]:
    response = c.get(reverse("web:household_create"))
    assert response.status_code == 200
    return form_data(response.content.decode())


def _fill_new(data: dict[str, list[str]], unit: Any, head_id: str, spouse_id: str) -> None:
    data.update(
        {
            "household-unit_id": [str(unit.pk)],
            "household-category": ["deep"],
            "household-main_cause": ["6"],
            "household-secondary_causes": ["3", "9"],
            "household-address": ["祥云县祥城镇文化路12号"],
            "household-housing_type": ["rented"],
            "head-name": ["赵大成"],
            "head-id_number": [head_id],
            "head-monthly_income": ["900"],
            "head-work_status": ["laid_off"],
            "members-0-relationship": ["spouse"],
            "members-0-name": ["钱美丽"],
            "members-0-id_number": [spouse_id],
            "members-0-monthly_income": ["1500.50"],
            "incomes-0-kind": ["pension"],
            "incomes-0-amount_yearly": ["2400"],
            "rigid_expenses-0-kind": ["medical"],
            "rigid_expenses-0-amount_yearly": ["12000"],
            "bank-bank": ["中国农业银行"],
            "bank-holder_name": ["赵大成"],
            "bank-card_number": ["6228 4801 2345 6789"],
        }
    )


def test_create_with_errors_shows_each_under_its_field_and_saves_nothing(tree: dict, users: dict[str, Any]) -> None:
    c = client_for(users["xiangyun_staff"])
    data = _new_form(c)
    _fill_new(data, tree["xiangyun_g"], new_id(), "53292319740802002X")  # bad check digit
    data["household-secondary_causes"] = ["1", "2", "3", "4"]
    response = c.post(reverse("web:household_create"), data)
    assert response.status_code == 400
    html = response.content.decode()
    assert Household.objects.count() == 0

    def block_of(field_id: str) -> str:
        start = html.index(f'id="{field_id}"')
        return html[start : html.index("</div>\n</div>", start)]

    assert "The check digit of the ID number (its 18th character) should be " in block_of("id_members-0-id_number")
    assert "is-invalid" in html.split('id="id_members-0-id_number"')[0].rsplit("<input", 1)[1]
    assert "Choose at most three secondary causes (4 chosen)." in html.split('id="id_household-secondary_causes')[-1]
    assert "check digit" not in block_of("id_head-id_number")
    assert "The file was not saved" in html


def test_create_with_no_head_data_puts_errors_on_the_head_card(tree: dict, users: dict[str, Any]) -> None:
    c = client_for(users["xiangyun_staff"])
    data = _new_form(c)
    data["household-unit_id"] = [str(tree["xiangyun"].pk)]
    response = c.post(reverse("web:household_create"), data)
    html = response.content.decode()
    assert response.status_code == 400
    assert "Enter the name." in html and "The ID number is empty." in html
    assert "Choose the main cause of hardship." in html and "Enter the address." in html
    assert Household.objects.count() == 0


def test_create_then_edit_keeps_ids_without_sending_them(tree: dict, users: dict[str, Any]) -> None:
    c = client_for(users["xiangyun_staff"])
    head_id, spouse_id = new_id(), new_id(female=True)
    data = _new_form(c)
    _fill_new(data, tree["xiangyun_g"], head_id.lower()[:-1] + head_id[-1].lower(), spouse_id)
    response = c.post(reverse("web:household_create"), data)
    assert response.status_code == 302, response.content.decode()[:3000]
    h = Household.objects.get()
    assert response["Location"] == reverse("web:household_detail", args=[h.pk])
    assert [m.name for m in h.members.all()] == ["赵大成", "钱美丽"]
    assert h.incomes.get().amount_yearly == 2400
    assert h.bank_account.card_masked.startswith("6228")
    assert h.entered_by == users["xiangyun_staff"]

    edit = c.get(reverse("web:household_edit", args=[h.pk]))
    html = edit.content.decode()
    assert head_id not in html and spouse_id not in html and "6228480123456789" not in html
    assert h.members.get(relationship="head").id_masked in html
    data = form_data(html)
    assert data["head-name"] == ["赵大成"] and data["head-id_number"] == [""]
    assert data["household-version"] == ["1"]
    data["household-address"] = ["祥云县祥城镇新街5号"]
    data["members-0-monthly_income"] = ["1600"]
    data["members-1-relationship"] = ["son"]
    data["members-1-name"] = ["赵小虎"]
    data["members-1-id_number"] = [new_id(born=date(2010, 6, 1))]
    response = c.post(reverse("web:household_edit", args=[h.pk]), data)
    assert response.status_code == 302, response.content.decode()[:3000]
    h.refresh_from_db()
    assert h.address == "祥云县祥城镇新街5号" and h.version == 2
    members = list(h.members.all())
    assert [m.name for m in members] == ["赵大成", "钱美丽", "赵小虎"]
    assert crypto.decrypt(members[0].id_cipher) == head_id
    assert crypto.decrypt(members[1].id_cipher) == spouse_id
    assert crypto.decrypt(h.bank_account.card_cipher) == "6228480123456789"

    # Removing a member and the bank account.
    data = form_data(c.get(reverse("web:household_edit", args=[h.pk])).content.decode())
    data["members-1-DELETE"] = ["on"]
    for key in ("bank-bank", "bank-holder_name", "bank-branch"):
        data[key] = [""]
    assert c.post(reverse("web:household_edit", args=[h.pk]), data).status_code == 302
    assert [m.name for m in h.members.all()] == ["赵大成", "钱美丽"]
    assert not Household.objects.get().__class__.objects.filter(bank_account__isnull=False).exists()


def test_edit_with_a_stale_version_shows_a_page_alert(xiangyun_household: Household, users: dict[str, Any]) -> None:
    c = client_for(users["xiangyun_staff"])
    url = reverse("web:household_edit", args=[xiangyun_household.pk])
    data = form_data(c.get(url).content.decode())
    assert client_for(users["xiangyun_cadre"]).post(url, data).status_code == 302  # someone saves first
    response = c.post(url, data)
    assert response.status_code == 400
    assert "Someone else changed this file" in response.content.decode()
    # The same user's own save in another window is named as such.
    data = form_data(c.get(url).content.decode())
    assert c.post(url, data).status_code == 302
    response = c.post(url, data)
    assert response.status_code == 400
    assert "You changed this file elsewhere" in response.content.decode()


def test_forged_member_id_cannot_pull_another_households_number(
    xiangyun_household: Household, dalishi_household: Household, users: dict[str, Any]
) -> None:
    c = client_for(users["admin"])
    url = reverse("web:household_edit", args=[xiangyun_household.pk])
    data = form_data(c.get(url).content.decode())
    other = dalishi_household.members.get(relationship="head")
    data["members-0-member_id"] = [str(other.pk)]  # blank ID + another file's member
    response = c.post(url, data)
    assert response.status_code == 400
    html = response.content.decode()
    assert "This person is not a member of this file." in html
    assert crypto.decrypt(other.id_cipher) not in html
    assert xiangyun_household.members.filter(id_hash=other.id_hash).count() == 0


# --- language -----------------------------------------------------------------------------------


def test_language_switch_to_english(users: dict[str, Any], settings: Any) -> None:
    settings.LANGUAGE_CODE = "zh-hans"  # the product's default (tests otherwise run in English)
    c = Client()
    page = c.get("/login/").content.decode()
    assert '<html lang="zh-hans">' in page
    assert "登录" in page and "Sign in" not in page
    response = c.post("/i18n/setlang/", {"language": "en", "next": "/login/"})
    assert response.status_code == 302 and response["Location"] == "/login/"
    page = c.get("/login/").content.decode()
    assert '<html lang="en">' in page
    assert "Sign in" in page
    # Django's own messages follow the switch too.
    failed = c.post("/login/", {"username": "nobody", "password": "x"}).content.decode()
    assert "Please enter a correct username and password" in failed
    c.post("/i18n/setlang/", {"language": "zh-hans", "next": "/login/"})
    failed = c.post("/login/", {"username": "nobody", "password": "x"}).content.decode()
    assert "Please enter a correct username and password" not in failed


def close_the_browser(c: Client) -> None:
    """Drop the cookies of the browser session (neither Max-Age nor Expires), as closing it does."""
    for name in [name for name, morsel in c.cookies.items() if not (morsel["max-age"] or morsel["expires"])]:
        del c.cookies[name]


@pytest.mark.parametrize("page", ["/households/", "/apply/login/"])
def test_the_chosen_language_outlives_a_closed_browser_like_the_sign_in(
    page: str, users: dict[str, Any], settings: Any
) -> None:
    settings.LANGUAGE_CODE = "zh-hans"
    c = Client()
    c.post("/login/", {"username": "xiangyun_staff", "password": "pw-for-tests-123"})
    response = c.post("/i18n/setlang/", {"language": "en", "next": page})
    cookie = response.cookies[settings.LANGUAGE_COOKIE_NAME]
    assert cookie["max-age"] == 365 * 24 * 3600 >= settings.SESSION_COOKIE_AGE
    assert cookie["samesite"] == settings.SESSION_COOKIE_SAMESITE and cookie["httponly"]
    assert bool(cookie["secure"]) == settings.SESSION_COOKIE_SECURE
    close_the_browser(c)
    assert settings.SESSION_COOKIE_NAME in c.cookies  # still signed in
    shown = c.get(page)
    assert shown.status_code == 200
    html = shown.content.decode()
    assert '<html lang="en">' in html and "工会帮扶" not in html


def test_the_language_cookie_is_secure_when_the_sign_in_is() -> None:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings_test", "BANGFU_SECURE_COOKIES": "1"}
    code = "from django.conf import settings as s; print(s.SESSION_COOKIE_SECURE, s.LANGUAGE_COOKIE_SECURE)"
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)  # noqa: S603
    assert done.stdout.split() == ["True", "True"], done.stderr


def test_the_pager_reaches_the_first_and_the_last_page(tree: dict, users: dict[str, Any], settings: Any) -> None:
    settings.BANGFU_PAGE_SIZE = 1
    for _ in range(5):
        services.household_create(actor=users["xiangyun_cadre"], data=household_input(tree["xiangyun_g"]))
    c = client_for(users["xiangyun_cadre"])
    first = c.get("/households/").content.decode()
    assert "Page 1 of 5" in first and "page=5" in first and ">First<" not in first
    middle = c.get("/households/", {"page": "3"}).content.decode()
    assert ">First<" in middle and ">Last<" in middle and "page=1" in middle
    last = c.get("/households/", {"page": "5"}).content.decode()
    assert ">Last<" not in last and "page=1" in last


def test_a_search_of_a_few_digits_says_how_many_are_needed(users: dict[str, Any]) -> None:
    page = client_for(users["xiangyun_cadre"]).get("/households/", {"q": "5329"}).content.decode()
    assert "No household matches." in page and "type at least its first 6 digits" in page


def test_the_timeline_says_from_which_state_to_which(tree: dict, users: dict[str, Any]) -> None:
    staff = users["xiangyun_staff"]
    h = services.household_create(actor=staff, data=household_input(tree["xiangyun_g"]))
    services.household_state_change(actor=staff, household_id=h.pk, to_state="cancelled", reason="户主退休")
    page = client_for(staff).get(reverse("web:household_detail", args=[h.pk])).content.decode()
    assert "State changed: Active → Cancelled" in page


def test_the_list_marks_a_file_whose_identification_now_decides_otherwise(tree: dict, users: dict[str, Any]) -> None:
    from bangfu.eligibility import services as eligibility
    from bangfu.registry.codes import HardshipCategory

    staff = users["xiangyun_staff"]
    agrees, differs = (
        services.household_create(actor=staff, data=household_input(tree["xiangyun_g"], members=2)) for _ in range(2)
    )
    decided = {
        h.pk: eligibility.decision_compute(actor=staff, household_id=h.pk).effective_category for h in (agrees, differs)
    }
    if decided[agrees.pk] in HardshipCategory.values:
        Household.objects.filter(pk=agrees.pk).update(category=decided[agrees.pk])
    other = next(c for c in HardshipCategory.values if c != decided[differs.pk])
    Household.objects.filter(pk=differs.pk).update(category=other)
    c = client_for(staff)
    for language, phrase in (("en", "Identification now:"), ("zh-hans", "当前识别：")):
        rows = {
            row.split("</a>")[0].rsplit(">", 1)[-1]: row
            for row in _rows(c.get("/households/", HTTP_ACCEPT_LANGUAGE=language)).split("<tr>")[1:]
        }
        assert phrase in rows[differs.file_number]
        assert (phrase in rows[agrees.file_number]) is (decided[agrees.pk] not in HardshipCategory.values)


def test_the_audit_log_of_a_household_lists_the_reveals_of_its_numbers(
    xiangyun_household: Household, users: dict[str, Any]
) -> None:
    """Filtering the audit log on a household showed its changes but not who revealed its
    members' ID numbers or its card: those entries named the member and the account only."""
    staff = client_for(users["xiangyun_staff"])
    head = xiangyun_household.members.get(relationship="head")
    staff.post(reverse("web:member_id_reveal", args=[head.pk]))
    staff.post(reverse("web:bank_card_reveal", args=[xiangyun_household.pk]))
    manager = client_for(users["province_manager"])
    page = manager.get(
        reverse("web:audit_list"), {"target_type": "household", "target_id": str(xiangyun_household.pk)}
    ).content.decode()
    assert "Member&#x27;s ID number" in page and "Bank card number" in page and "Household file" in page
    entry = AuditEntry.objects.get(action="reveal", target_type="member.id_number")
    assert (entry.after or {}).get("file") == xiangyun_household.file_number


def test_an_edit_saved_unchanged_keeps_every_member_field(tree: dict, users: dict[str, Any]) -> None:
    """Saving the edit form without a change blanked the members' political status (the file
    lost what the form had shown) and logged a change."""
    from dataclasses import replace

    from bangfu.registry import services as registry
    from bangfu.testing.factories import household_input

    data = household_input(tree["xiangyun_g"])
    data.members = [
        replace(m, political_status=p, model_worker_level="none", industry="纺织", phone="13912345678")
        for m, p in zip(data.members, ("cpc", "masses", "cyl"), strict=True)
    ]
    h = registry.household_create(actor=users["xiangyun_staff"], data=data)
    before = {m.pk: model_to_dict(m) for m in h.members.all()}
    c = client_for(users["xiangyun_staff"])
    form = form_data(c.get(reverse("web:household_edit", args=[h.pk])).content.decode())
    response = c.post(reverse("web:household_edit", args=[h.pk]), form)
    assert response.status_code == 302, response.content.decode()[:3000]
    after = {m.pk: model_to_dict(m) for m in h.members.all()}
    lost = {(pk, k, v, after[pk][k]) for pk, row in before.items() for k, v in row.items() if after[pk][k] != v}
    assert lost == set()
    # Nothing changed: nothing logged, nothing on the timeline.
    assert not AuditEntry.objects.filter(action="update", target_type="household", target_id=str(h.pk)).exists()
    assert not h.timeline.filter(kind="file_updated").exists()


def test_who_does_not_do_the_casework_reads_phone_numbers_masked(
    xiangyun_household: Household, users: dict[str, Any]
) -> None:
    """An evaluator, an outside party, read every member's phone number in full (page and API)."""
    from bangfu.org.services import token_create

    head = xiangyun_household.members.get(relationship="head")
    head.phone = "13912345678"
    head.save(update_fields=["phone"])
    url = reverse("web:household_detail", args=[xiangyun_household.pk])
    assert "13912345678" in client_for(users["xiangyun_staff"]).get(url).content.decode()
    page = client_for(users["evaluator"]).get(url).content.decode()
    assert "13912345678" not in page and "139****5678" in page
    token = token_create(actor=users["evaluator"], user=users["evaluator"], name="tests")
    api = Client(headers={"Authorization": f"Bearer {token}"})
    body = api.get(f"/api/v1/households/{xiangyun_household.pk}").json()
    assert {m["phone"] for m in body["members"]} >= {"139****5678"}
    head.refresh_from_db()
    assert head.phone == "13912345678"  # masked for the reader, not in the file


def test_pages_and_api_answers_with_peoples_data_are_not_stored(
    xiangyun_household: Household, users: dict[str, Any]
) -> None:
    """A file's page, and the API's reveal of a full number, came without Cache-Control."""
    from bangfu.org.services import token_create

    staff = client_for(users["xiangyun_staff"])
    assert staff.get(reverse("web:household_detail", args=[xiangyun_household.pk]))["Cache-Control"] == "no-store"
    assert staff.get("/audit/")["Cache-Control"] == "no-store"
    token = token_create(actor=users["xiangyun_staff"], user=users["xiangyun_staff"], name="tests")
    api = Client(headers={"Authorization": f"Bearer {token}"})
    r = api.post(f"/api/v1/households/{xiangyun_household.pk}/reveal-bank-card", "{}", content_type="application/json")
    assert r.status_code == 200 and r["Cache-Control"] == "no-store"
    # The public self-test keeps its own header; static files are not touched.
    assert Client().get("/self-test/")["Cache-Control"] == "no-store"
