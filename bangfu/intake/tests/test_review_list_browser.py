"""The yearly reviews page in Chromium, under the site's Content-Security-Policy: from the work
queue to the whole list, a search by file number that follows the typing (htmx), the next page,
and a confirmation that comes back to the same filtered page."""

from __future__ import annotations

from typing import Any

import pytest

from bangfu.intake.models import ReviewState, ReviewTask
from bangfu.intake.tests.test_review_list import county  # noqa: F401 - a fixture

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
    page.goto(f"{base}/login/")
    page.fill("input[name=username]", "xiangyun_staff")
    page.fill("input[name=password]", "pw-for-tests-123")
    page.click("button[type=submit].btn-primary")
    page.wait_for_url(f"{base}/households/")
    page.goto(f"{base}/applications/")
    assert page.locator("#reviews tbody tr").count() == 10
    page.click("#reviews-all")
    page.wait_for_url(f"{base}/applications/reviews/")
    assert page.inner_text("#review-count").startswith("80 yearly reviews")
    # The search follows the typing: only the results change, and the address says what is shown.
    page.locator("#review-q").press_sequentially("XY-006", delay=50)
    page.wait_for_selector("#review-count:has-text('10 yearly reviews')")
    assert "q=XY-006" in page.url
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
