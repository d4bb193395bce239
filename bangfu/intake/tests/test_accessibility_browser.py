"""Where the cursor goes after an error or a step, in a real Chromium: the phone's sign-in and the
staff's decision refused for want of a reason (the focus was left on the page's body)."""

from __future__ import annotations

from typing import Any

import pytest

from bangfu.intake.tests.helpers import submitted

pytestmark = [pytest.mark.browser]


def _focused(page: Any) -> str:
    return page.evaluate("document.activeElement.id")


def test_the_cursor_goes_to_the_box_in_error_and_to_the_code_once_sent(
    audit_log_emptied: None, live_server: Any, browser: Any, tree: dict, users: dict[str, Any]
) -> None:
    base = live_server.url
    phone = browser.new_context(viewport={"width": 375, "height": 812}, locale="en-US").new_page()
    phone.goto(f"{base}/apply/login/")
    phone.fill("#phone", "12345")
    phone.click("button[value=send]")
    phone.locator("#phone-error").wait_for()
    assert _focused(phone) == "phone"
    phone.fill("#phone", "13812345678")
    phone.click("button[value=send]")
    phone.locator("#code").wait_for()
    assert _focused(phone) == "code"
    phone.fill("#code", "12")
    phone.click("button[value=verify]")
    phone.locator("#code-error").wait_for()
    assert _focused(phone) == "code"

    # The staff refuse a case without saying why: the cursor is in that reason's box.
    app = submitted(tree["xiangyun_g"], phone="13900000001")
    page = browser.new_context(locale="en-US").new_page()
    page.goto(f"{base}/login/")
    page.fill("input[name=username]", "xiangyun_cadre")
    page.fill("input[name=password]", "wrong")
    page.click("button[type=submit].btn-primary")
    page.locator("#login-error").wait_for()
    assert _focused(page) == "id_username"  # marked, described by the error
    page.fill("input[name=password]", "pw-for-tests-123")
    page.click("button[type=submit].btn-primary")
    page.wait_for_url(f"{base}/households/")
    page.goto(f"{base}/applications/{app.pk}/")
    page.click("button[value=refuse]")
    page.locator("#reason-refuse-error").wait_for()
    assert _focused(page) == "reason-refuse"
