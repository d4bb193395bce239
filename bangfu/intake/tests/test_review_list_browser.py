"""The yearly reviews page in Chromium, under the site's Content-Security-Policy: from the work
queue to the whole list, a search by file number that follows the typing (htmx), the next page,
and a confirmation that comes back to the same filtered page; an ID number searched for, with
JavaScript and without, in no address the browser asks for nor in any Referer."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import unquote_plus

import pytest

from bangfu.common import crypto
from bangfu.intake.models import ReviewState, ReviewTask
from bangfu.intake.tests.test_review_list import THIS_YEAR, county  # noqa: F401 - a fixture
from bangfu.registry import services
from bangfu.testing.browser import sign_in
from bangfu.testing.factories import household_input

pytestmark = [pytest.mark.browser]


def test_a_cadre_finds_pages_and_confirms_yearly_reviews(
    audit_log_emptied: None,
    live_server: Any,
    browser: Any,
    users: dict[str, Any],
    county: dict[str, list[int]],  # noqa: F811 - the fixture above
) -> None:
    base = live_server.url
    page = browser.new_context(locale="en-US").new_page()
    blocked: list[str] = []
    page.on("console", lambda m: blocked.append(m.text) if "Content Security Policy" in m.text else None)
    sign_in(page, base, "xiangyun_staff")
    page.goto(f"{base}/applications/")
    assert page.locator("#reviews tbody tr").count() == 10
    page.click("#reviews-all")
    page.wait_for_url(f"{base}/applications/reviews/")
    assert page.inner_text("#review-count").startswith("80 yearly reviews")
    # The search follows the typing: only the results change, and the address says what is shown
    # (the search's key: a search with a digit is kept in the session, not put in the address).
    page.locator("#review-q").press_sequentially("XY-006", delay=50)
    page.wait_for_selector("#review-count:has-text('10 yearly reviews')")
    assert "s=" in page.url and "XY-006" not in page.url
    assert page.locator("#reviews tbody tr").count() == 10
    page.fill("#review-q", "")
    page.select_option("#review-state", "open")
    page.wait_for_selector("#review-count:has-text('70 yearly reviews')")
    page.click("#review-pages >> text=Next")
    page.wait_for_selector("#review-count:has-text('51–70 shown')")
    assert "page=2" in page.url and "state=open" in page.url
    first = page.locator("#reviews tbody tr").first
    number = first.locator("a").first.inner_text()
    first.locator("button:visible").click()  # the one of the wide layout (a phone has its own)
    page.wait_for_selector("text=The yearly review was recorded.")
    assert "state=open" in page.url and "page=2" in page.url
    assert page.inner_text("#review-count").startswith("69 yearly reviews")
    assert ReviewTask.objects.get(household__file_number=number).state == ReviewState.CONFIRMED
    assert blocked == []


def test_an_id_number_typed_in_the_reviews_search_is_in_no_address(
    audit_log_emptied: None,
    live_server: Any,
    browser: Any,
    tree: dict,
    users: dict[str, Any],
    county: dict[str, list[int]],  # noqa: F811 - the fixture above
) -> None:
    staff = users["xiangyun_staff"]
    target = services.household_create(actor=staff, data=household_input(tree["xiangyun_g"]))
    due = dt.date(THIS_YEAR, 12, 1)
    ReviewTask.objects.create(household=target, year=THIS_YEAR, state=ReviewState.OPEN, due_on=due)
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
        sign_in(page, base, "xiangyun_staff")
        page.goto(f"{base}/applications/reviews/?state=open")
        page.fill("#review-q", typed)
        if not javascript:
            page.click("#review-filters button[type=submit]")
        page.wait_for_url("**/applications/reviews/?s=*")
        page.wait_for_selector("#review-count:has-text('1 yearly review')")
        assert page.locator("#reviews tbody tr").count() == 1 and "state=open" in page.url
        assert page.inner_text("#reviews tbody tr a") == target.file_number
        searched = page.url
        # The language menu comes back to the list shown (htmx put the search's address in the
        # bar), and sends no ID number.
        for language in ("zh-hans", "en"):
            with page.expect_navigation():
                page.click(f"form[data-language-menu] button[value='{language}']")
            assert page.url == searched and page.get_attribute("html", "lang") == language, (javascript, page.url)
            assert page.locator("#reviews tbody tr").count() == 1
        page.reload()  # the key finds the same search again
        page.wait_for_selector("#review-count:has-text('1 yearly review')")
        assert page.input_value("#review-q") == typed.replace(" ", "")
        page.click(f"text={target.file_number}")
        page.wait_for_url(f"{base}/households/{target.pk}/")
        page.go_back()
        page.wait_for_url(searched)
        page.wait_for_selector("#review-count:has-text('1 yearly review')")
        # Another state keeps the search; confirming comes back to the searched list.
        page.click("#review-counts a[data-state='']")
        page.wait_for_selector("#review-count:has-text('1 yearly review')")
        page.locator("#reviews tbody tr button:visible").click()
        page.wait_for_selector("text=The yearly review was recorded.")
        assert "s=" in page.url and page.locator("#reviews tbody tr").count() == 1
        ReviewTask.objects.filter(household=target).update(state=ReviewState.OPEN, done_at=None, done_by=None)
        # Pages of a longer search carry the key too.
        page.fill("#review-q", "XY-00")
        if not javascript:
            page.click("#review-filters button[type=submit]")
        page.wait_for_selector("#review-count:has-text('80 yearly reviews')")
        page.click("#review-pages >> text=Next")
        page.wait_for_selector("#review-count:has-text('51–80 shown')")
        assert "s=" in page.url and "page=2" in page.url
        page.go_back()
        page.wait_for_selector("#review-count:has-text('1–50 shown')")
        addresses = " ".join(f"{url} {referer}" for url, referer in sent) + " " + page.url
        assert "q=" not in addresses and head_id[:6] not in addresses and "XY-00" not in addresses, addresses
        sent_next = [unquote_plus(b) for b in languages]
        assert sent_next and not any(head_id[:6] in b or "q=" in b for b in sent_next), sent_next
        context.close()
