"""The staff pages in a real Chromium: sign in, search, open a file, reveal a number, and open a
new file through the form on a phone-width screen. Screenshots go to the temp directory."""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import unquote_plus

import pytest

from bangfu.common import crypto
from bangfu.registry import services
from bangfu.registry.models import Household
from bangfu.testing.browser import sign_in
from bangfu.testing.factories import household_input, new_id

SHOTS = Path(os.environ.get("BANGFU_SCREENSHOTS", tempfile.gettempdir()))

pytestmark = [pytest.mark.browser]


def _sign_in(page: Any, base: str) -> None:
    sign_in(page, base, "xiangyun_staff")


def test_phone_user_searches_opens_and_files_a_household(
    audit_log_emptied: None, live_server: Any, browser: Any, tree: dict, users: dict[str, Any]
) -> None:
    staff = users["xiangyun_staff"]
    known = services.household_create(actor=staff, data=household_input(tree["xiangyun_g"]))
    data = household_input(tree["xiangyun_g"], members=1)
    data.members[0].name = "王丽华"
    services.household_create(actor=staff, data=data)
    base = live_server.url

    page = browser.new_page(viewport={"width": 375, "height": 812}, locale="en-US")
    _sign_in(page, base)
    page.screenshot(path=str(SHOTS / "bangfu-list-phone.png"), full_page=True)

    # Live search (htmx): typing filters the table and updates the address bar.
    page.fill("#id_q", "zjg")
    page.wait_for_url("**/households/?*q=zjg*")
    rows = page.locator("#results tbody tr")
    rows.first.wait_for()
    assert rows.count() == 1
    assert known.file_number in rows.first.inner_text()
    page.select_option("#id_state", "exited")  # a filter applies on change, keeping the search
    page.wait_for_url("**/households/?*state=exited*")
    page.locator("#results tbody").wait_for(state="detached")
    assert "q=zjg" in page.url
    # Back from a later search shows the filter that list was made with (the boxes showed "—").
    page.fill("#id_q", "zj")
    page.wait_for_url("**/households/?*q=zj&*")
    from playwright.sync_api import Error, expect

    page.go_back()
    page.wait_for_url("**/households/?*q=zjg*state=exited*")
    expect(page.locator("#id_q")).to_have_value("zjg")
    expect(page.locator("#id_state")).to_have_value("exited")
    page.wait_for_load_state("networkidle")
    page.go_forward()
    page.wait_for_url("**/households/?*q=zj&*")
    expect(page.locator("#id_q")).to_have_value("zj")
    # Back twice, the first list slow to come (each is asked of the server again: hx-history="false"
    # keeps no copy in the browser's storage): the list shown is the last one asked for, under its
    # address. The first one, arriving last, took its place under the second's address.
    held: list[Any] = []
    first = re.compile(r".*/households/\?q=zjg&state=exited$")
    page.route(first, lambda route: held.append(route))
    page.go_back()
    page.wait_for_url("**/households/?*q=zjg*state=exited*")
    page.go_back()
    page.wait_for_url("**/households/?q=zjg*")
    page.locator(f"#results >> text={known.file_number}").wait_for()
    for route in held:
        with contextlib.suppress(Error):  # the page no longer waits for it
            route.continue_()
    page.unroute(first)
    page.wait_for_timeout(500)
    expect(page.locator("#id_state")).to_have_value("")
    assert known.file_number in page.inner_text("#results")

    # The file, and a reveal swapped in place.
    page.click(f"text={known.file_number}")
    page.wait_for_url(f"{base}/households/{known.pk}/")
    head = known.members.get(relationship="head")
    page.click(f"#member-id-{head.pk} form button")
    page.locator(f"#member-id-{head.pk} .revealed").wait_for()
    assert page.inner_text(f"#member-id-{head.pk}").strip() == crypto.decrypt(head.id_cipher)
    page.screenshot(path=str(SHOTS / "bangfu-detail-phone.png"), full_page=True)

    # A new file with a wrong ID number: the error shows under the field, nothing is saved.
    page.goto(f"{base}/households/new/")
    page.select_option("#id_household-unit_id", str(tree["xiangyun_g"].pk))
    page.select_option("#id_household-category", "deep")
    page.select_option("#id_household-main_cause", "6")
    page.check("#id_household-secondary_causes_2")  # laid off
    page.fill("#id_household-address", "祥云县祥城镇文化路8号")
    page.select_option("#id_household-housing_type", "rented")
    page.fill("#id_head-name", "赵大成")
    good_id = new_id()
    page.fill("#id_head-id_number", good_id[:-1] + ("0" if good_id[-1] != "0" else "1"))
    page.fill("#id_head-monthly_income", "900")
    page.click("[data-formset=vehicles] [data-formset-add]")  # the "add row" button
    page.select_option("#id_vehicles-0-kind", "livelihood")
    before = Household.objects.count()
    page.click("form.household-form button[type=submit]")
    page.locator("#form-errors").wait_for()
    error = page.locator("#id_head-id_number ~ .invalid-feedback")
    assert "The check digit of the ID number (its 18th character) should be" in error.inner_text()
    assert page.evaluate("document.activeElement.id") == "id_head-id_number"  # the cursor is at the error
    assert Household.objects.count() == before
    page.locator("section:has(#id_head-id_number)").screenshot(path=str(SHOTS / "bangfu-form-error-phone.png"))
    page.screenshot(path=str(SHOTS / "bangfu-form-error-phone-full.png"), full_page=True)

    # Corrected, it saves and opens the new file (the added vehicle row came back and is kept);
    # a double-click sends it once.
    page.fill("#id_head-id_number", good_id)
    page.dblclick("form.household-form button[type=submit]")
    page.wait_for_url(re.compile(r"/households/\d+/$"))
    created = Household.objects.order_by("-id").first()
    assert created is not None and created.pk != known.pk
    assert [v.kind for v in created.vehicles.all()] == ["livelihood"]
    assert "赵大成" in page.inner_text("h1")
    assert Household.objects.count() == before + 1

    # The same pages at desktop width, in English.
    desk = browser.new_page(viewport={"width": 1280, "height": 900})
    _sign_in(desk, base)
    desk.click("button[name=language][value=en]")
    desk.wait_for_load_state()
    assert "Household files" in desk.inner_text("h1")
    desk.screenshot(path=str(SHOTS / "bangfu-list-desktop.png"), full_page=True)
    desk.goto(f"{base}/households/{known.pk}/")
    desk.screenshot(path=str(SHOTS / "bangfu-detail-desktop.png"), full_page=True)
    desk.goto(f"{base}/households/{known.pk}/edit/")
    desk.screenshot(path=str(SHOTS / "bangfu-edit-desktop.png"), full_page=True)
    # A form is sent once however fast its button is pressed twice (the page's own guard runs
    # first; this listener only counts what gets through and keeps the page where it is).
    sent = desk.evaluate(
        """() => { let n = 0;
        document.addEventListener("submit", e => { if (!e.defaultPrevented) n++; e.preventDefault(); });
        const form = document.querySelector("form.household-form");
        form.requestSubmit(); form.requestSubmit(); return n; }"""
    )
    assert sent == 1


def test_a_long_union_list_is_searched_not_scrolled(
    audit_log_emptied: None, live_server: Any, browser: Any, tree: dict, users: dict[str, Any], many_unions: list
) -> None:
    """A county with more grassroots unions than a list shows: the staff member types part of a
    union's name, the one match is chosen and the list of files is filtered by it."""
    staff = users["xiangyun_staff"]
    units = many_unions
    target = services.household_create(actor=staff, data=household_input(units[42]))
    other = services.household_create(actor=staff, data=household_input(tree["xiangyun_g"]))
    base = live_server.url
    page = browser.new_page(viewport={"width": 375, "height": 812}, locale="en-US")
    _sign_in(page, base)
    assert page.locator("#id_unit option").count() == 2  # all unions, the county
    page.fill("[data-unit-search]", "第42工厂")
    page.wait_for_url(f"**/households/?*unit={units[42].pk}*")
    page.locator("#results tbody tr").first.wait_for()
    text = page.locator("#results tbody").inner_text()
    assert target.file_number in text and other.file_number not in text
    assert "The one union found is chosen." in page.locator("[data-unit-search-status]").inner_text()
    page.screenshot(path=str(SHOTS / "bangfu-union-search-phone.png"), full_page=True)
    # Several matches: the list offers them, nothing is chosen for the user.
    page.fill("[data-unit-search]", "第1")
    page.locator("#id_unit option", has_text="第19工厂").wait_for(state="attached")
    assert "found: choose a union in the list" in page.locator("[data-unit-search-status]").inner_text()
    assert page.locator("#id_unit").input_value() == str(units[42].pk)
    page.select_option("#id_unit", str(units[11].pk))
    page.wait_for_url(f"**/households/?*unit={units[11].pk}*")

    # The sign-in has ended (the session cookie gone) while a new file's form is open: a search
    # in its picker takes the page to sign in and back to the form (the sign-in page's HTML was
    # drawn into the list, emptying it, and the page stayed).
    page.goto(f"{base}/households/new/")
    page.context.clear_cookies()
    page.locator("[data-unit-search]").first.fill("第2")
    page.wait_for_url(f"{base}/login/?next=%2Fhouseholds%2Fnew%2F")


def test_an_htmx_control_that_was_refused_or_signed_out_says_so(
    audit_log_emptied: None, live_server: Any, browser: Any, tree: dict, users: dict[str, Any]
) -> None:
    """A page left open while the role was taken away, or while the user signed out in another
    tab: "show" beside an ID number said nothing (a 404 htmx does not put in the page), or drew
    the sign-in page inside the table cell."""
    from bangfu.org.models import RoleAssignment

    staff = users["xiangyun_staff"]
    household = services.household_create(actor=staff, data=household_input(tree["xiangyun_g"]))
    head = household.members.get(relationship="head")
    base = live_server.url
    context = browser.new_context(locale="en-US")
    page = context.new_page()
    _sign_in(page, base)
    page.goto(f"{base}/households/{household.pk}/")
    alert = page.locator("#htmx-alert [role=alert]")
    assert alert.inner_text().strip() == ""

    roles = list(RoleAssignment.objects.filter(user=staff).values_list("unit_id", "role"))
    RoleAssignment.objects.filter(user=staff).delete()
    page.click(f"#member-id-{head.pk} form button")
    alert.get_by_text("you may no longer see it, or it no longer exists. Reload the page.").wait_for()
    assert "revealed" not in page.inner_html(f"#member-id-{head.pk}")
    page.click("#htmx-alert [data-htmx-alert-close]")
    assert alert.inner_text().strip() == ""

    # The server cannot be reached: said as well.
    page.route("**/id-number/reveal/", lambda route: route.abort())
    page.click(f"#member-id-{head.pk} form button")
    alert.get_by_text("the server could not be reached or had a problem. Try again shortly.").wait_for()
    page.unroute("**/id-number/reveal/")

    # Signed out in another tab: the whole page goes to sign in, and comes back after it.
    for unit_id, role in roles:
        RoleAssignment.objects.create(user=staff, unit_id=unit_id, role=role)
    page.reload()
    other = context.new_page()
    other.goto(f"{base}/households/")
    other.click("form[action='/logout/'] button")
    other.wait_for_url(f"{base}/login/")
    page.click(f"#member-id-{head.pk} form button")
    page.wait_for_url(f"{base}/login/?next=%2Fhouseholds%2F{household.pk}%2F")
    assert page.locator(f"#member-id-{head.pk}").count() == 0
    page.fill("input[name=username]", "xiangyun_staff")
    page.fill("input[name=password]", "pw-for-tests-123")
    page.click("button[type=submit].btn-primary")
    page.wait_for_url(f"{base}/households/{household.pk}/")
    context.close()


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_a_cadre_reads_the_households_list_on_a_360_px_phone_without_scrolling_sideways(
    audit_log_emptied: None, live_server: Any, browser: Any, tree: dict, users: dict[str, Any], language: str
) -> None:
    """The file number, the head's name, the category and the state of every row were not all on
    the screen at 360 px: the table was 569 px wide in its scrolling box, the head's masked ID
    number cut in the middle."""
    from django.utils import translation

    from bangfu.testing.phone import unreadable_cells

    staff = users["xiangyun_staff"]
    for members in (1, 2, 3):
        services.household_create(actor=staff, data=household_input(tree["xiangyun_g"], members=members))
    base = live_server.url
    page = browser.new_page(
        viewport={"width": 360, "height": 740}, locale="zh-CN" if language == "zh-hans" else "en-US"
    )
    sign_in(page, base, "xiangyun_cadre")
    assert page.locator("#results tbody tr").count() == 3
    with translation.override(language):
        number, head, id_number, category, state, active = (
            translation.gettext(h) for h in ("File number", "Head", "ID number", "Category", "State", "Active")
        )
    page.screenshot(path=str(SHOTS / f"bangfu-list-360-{language}.png"), full_page=True)
    # The state is read under the category, in the column headed with both.
    assert unreadable_cells(page, "#results table", [number, head, f"{category} / {state}"]) == []
    cells = page.locator("#results tbody tr td:nth-child(5)").all_inner_texts()
    assert len(cells) == 3 and all(active in c for c in cells), cells
    # The wider screens keep their columns: the state has its own from 576 px on.
    page.set_viewport_size({"width": 1280, "height": 900})
    assert unreadable_cells(page, "#results table", [number, head, id_number, category, state]) == []


def test_an_id_number_typed_in_the_search_is_in_no_address(
    audit_log_emptied: None, live_server: Any, browser: Any, tree: dict, users: dict[str, Any], settings: Any
) -> None:
    settings.BANGFU_PAGE_SIZE = 1
    staff = users["xiangyun_staff"]
    target = services.household_create(actor=staff, data=household_input(tree["xiangyun_g"]))
    for _ in range(2):
        services.household_create(actor=staff, data=household_input(tree["xiangyun_g"]))
    head_id = crypto.decrypt(target.members.get(relationship="head").id_cipher)
    typed = f"{head_id[:6]} {head_id[6:14]} {head_id[14:].lower()}"
    base = live_server.url

    for javascript in (True, False):
        context = browser.new_context(java_script_enabled=javascript, locale="en-US")
        page = context.new_page()
        sent: list[tuple[str, str]] = []  # every address the browser asked for, and its Referer
        page.on("request", lambda r, sent=sent: sent.append((r.url, r.headers.get("referer", ""))))
        languages: list[str] = []  # what the language menu sent
        page.on("request", lambda r, languages=languages: "/i18n/" in r.url and languages.append(r.post_data or ""))
        _sign_in(page, base)
        page.fill("#id_q", typed)
        if not javascript:
            page.click("form[role=search] button[type=submit]")
        page.wait_for_url("**/households/?s=*")
        page.locator(f"#results tbody tr:has-text('{target.file_number}')").wait_for()
        assert page.locator("#results tbody tr").count() == 1
        searched = page.url
        # The language menu comes back to the list shown, not to the one the page was drawn
        # with (htmx put the search's address in the bar), and sends no ID number.
        for language, lang in (("zh-hans", "zh-hans"), ("en", "en")):
            with page.expect_navigation():
                page.click(f"form[data-language-menu] button[value='{language}']")
            assert page.url == searched and page.get_attribute("html", "lang") == lang, (javascript, page.url)
            page.locator(f"#results tbody tr:has-text('{target.file_number}')").wait_for()
            assert page.locator("#results tbody tr").count() == 1
        page.reload()  # the key finds the same search again
        page.locator(f"#results tbody tr:has-text('{target.file_number}')").wait_for()
        page.click(f"text={target.file_number}")
        page.wait_for_url(f"{base}/households/{target.pk}/")
        page.go_back()
        page.wait_for_url(searched)
        page.locator(f"#results tbody tr:has-text('{target.file_number}')").wait_for()
        assert page.input_value("#id_q") == typed
        # Pages of a longer search carry the key too.
        page.fill("#id_q", head_id[:6])
        if not javascript:
            page.click("form[role=search] button[type=submit]")
        page.locator("text=Page 1 of 3").wait_for()
        page.click("a.page-link:has-text('Next')")
        page.locator("text=Page 2 of 3").wait_for()
        assert "s=" in page.url and "page=2" in page.url
        page.go_back()
        page.locator("text=Page 1 of 3").wait_for()
        addresses = " ".join(f"{url} {referer}" for url, referer in sent) + " " + page.url
        assert "q=" not in addresses and head_id[:6] not in addresses, (javascript, addresses)
        sent_next = [unquote_plus(b) for b in languages]
        assert sent_next and not any(head_id[:6] in b or "q=" in b for b in sent_next), sent_next
        context.close()
