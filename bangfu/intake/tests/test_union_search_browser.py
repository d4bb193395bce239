"""The union search on a phone-width Chromium, under the site's Content-Security-Policy: typing
narrows the union box as the worker types (htmx, a static script), and the union is applied to."""

from __future__ import annotations

from typing import Any

import pytest

from bangfu.intake.messaging import outbox
from bangfu.intake.models import Application
from bangfu.intake.tests.test_union_search import PER_COUNTY, province  # noqa: F401 - a fixture

pytestmark = [pytest.mark.browser]


def test_a_worker_finds_the_union_by_typing_its_countys_name(
    audit_log_emptied: None,
    live_server: Any,
    browser: Any,
    province: dict[str, Any],  # noqa: F811 - the fixture above
) -> None:
    base = live_server.url
    page = browser.new_context(viewport={"width": 375, "height": 812}, locale="en-US").new_page()
    blocked: list[str] = []
    page.on("console", lambda m: blocked.append(m.text) if "Content Security Policy" in m.text else None)
    page.goto(f"{base}/apply/login/")
    page.fill("#phone", "13812345678")
    page.click("button[value=send]")
    page.fill("#code", next(code for to, code in reversed(outbox) if to == "13812345678"))
    page.click("button[value=verify]")
    page.wait_for_url(f"{base}/apply/")
    assert page.locator("#id_unit_id option[value]:not([value=''])").count() == 0
    page.locator("#union-q").press_sequentially("弥渡", delay=50)
    page.wait_for_selector("#union-status:has-text('unions found')")
    assert page.url == f"{base}/apply/"  # no reload: the box followed the typing
    assert page.locator("#id_unit_id option[value]:not([value=''])").count() == PER_COUNTY
    page.locator("#union-q").press_sequentially(" 第7", delay=50)
    page.wait_for_selector("#union-status:has-text('One union found')")
    assert page.input_value("#id_unit_id") == str(province["midu_7"].pk)
    page.click("text=Start")
    page.wait_for_url(f"{base}/apply/*/")
    assert Application.objects.get().unit_id == province["midu_7"].pk
    assert blocked == []
