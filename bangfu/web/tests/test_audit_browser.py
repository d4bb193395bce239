"""The audit log's page in a real Chromium at phone width: a manager finds it in the menu, filters
it to the refused sign-ins as an auditor would, and the page does not overflow the screen."""

from __future__ import annotations

from typing import Any

import pytest

from .test_browser import SHOTS

pytestmark = [pytest.mark.browser]


def test_a_manager_filters_the_audit_log_to_refused_sign_ins_on_a_phone(
    audit_log_emptied: None, live_server: Any, browser: Any, users: dict[str, Any]
) -> None:
    base = live_server.url
    page = browser.new_page(viewport={"width": 375, "height": 812}, locale="en-US")
    # Someone tries xiangyun_staff's account with a wrong password.
    page.goto(f"{base}/login/")
    page.fill("input[name=username]", "xiangyun_staff")
    page.fill("input[name=password]", "guess-1")
    page.click("form:has(input[name=password]) button[type=submit]")
    page.locator(".alert-danger").wait_for()

    page.fill("input[name=username]", "province_manager")
    page.fill("input[name=password]", "pw-for-tests-123")
    page.click("form:has(input[name=password]) button[type=submit]")
    page.wait_for_url(f"{base}/households/")
    page.click(".navbar-toggler")
    page.click("#nav-audit")
    page.wait_for_url(f"{base}/audit/")
    assert page.locator("#audit-table tbody tr").count() == 2  # the refused try and the manager's sign-in

    page.select_option("#id_action", "login_failed")
    page.wait_for_url("**/audit/?*action=login_failed*")
    page.locator("#audit-table tbody tr >> nth=1").wait_for(state="detached")
    rows = page.locator("#audit-table tbody tr")
    assert rows.count() == 1
    text = rows.first.inner_text()
    assert "xiangyun_staff" in text and "Sign-in refused" in text
    assert "guess-1" not in page.content()
    page.screenshot(path=str(SHOTS / "bangfu-audit-phone.png"), full_page=True)
    # The page fits the phone: only the table scrolls sideways, inside its box.
    wide = page.evaluate(
        "[...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > 376)"
        ".map(e => e.tagName + '#' + e.id + '.' + e.className).slice(0, 5)"
    )
    assert page.evaluate("document.documentElement.scrollWidth") <= 375, wide
