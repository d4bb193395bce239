"""The public self-test in a real Chromium on a phone-width screen, without signing in."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import pytest
from django.core.cache import cache

from bangfu.eligibility import services

SHOTS = Path(os.environ.get("BANGFU_SCREENSHOTS", tempfile.gettempdir()))

pytestmark = [pytest.mark.browser]


def test_a_worker_checks_the_household_on_a_phone(
    audit_log_emptied: None, live_server: Any, browser: Any, tree: dict
) -> None:
    cache.clear()
    services.standard_set(
        actor=services.SYSTEM, division_code="530000", year=2026, dibao_monthly="1001", minimum_wage_monthly="1900"
    )
    page = browser.new_page(viewport={"width": 375, "height": 812}, locale="zh-CN")
    page.goto(f"{live_server.url}/self-test/")
    assert page.locator("html").get_attribute("lang") == "zh-hans"
    # Switch to English with the language buttons, then fill the form.
    page.click("button[name=language][value=en]")
    page.wait_for_selector("html[lang=en]")
    page.select_option("#id_region", "532923")
    page.fill("#id_household_size", "3")
    page.fill("#id_m0_age", "46")
    page.select_option("#id_m0_situation", "working")
    page.fill("#id_m0_income", "1500")
    page.fill("#id_m1_age", "44")
    page.select_option("#id_m1_situation", "ill")
    page.fill("#id_medical_yearly", "6000")
    page.click("#self-test-form button[type=submit]")
    result = page.locator("#self-test-answer")
    result.wait_for()
    assert result.locator("[data-category]").inner_text() == "Deep hardship"
    assert "with illness" in result.inner_text()
    # The page fits a phone: nothing wider than the screen.
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    page.screenshot(path=str(SHOTS / "bangfu-self-test-phone.png"), full_page=True)
    # A car changes the answer.
    page.check("#id_owns_car")
    page.click("#self-test-form button[type=submit]")
    page.wait_for_selector("#self-test-answer [data-category=not_eligible]")
    assert "Owns a vehicle" in page.locator("#self-test-answer").inner_text()
