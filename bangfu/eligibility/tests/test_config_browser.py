"""A province manager raises the dibao in the what-if on a phone-width screen, in a real Chromium."""

from __future__ import annotations

import os
import re
import tempfile
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from bangfu.eligibility import recompute, services
from bangfu.eligibility.models import Standard
from bangfu.registry.services import household_create
from bangfu.testing.browser import sign_in
from bangfu.testing.factories import household_input

SHOTS = Path(os.environ.get("BANGFU_SCREENSHOTS", tempfile.gettempdir()))
ON = date(2026, 6, 1)

pytestmark = [pytest.mark.browser]


def test_a_province_manager_previews_a_higher_dibao_and_saves_it(
    audit_log_emptied: None, live_server: Any, browser: Any, tree: dict[str, Any], users: dict[str, Any]
) -> None:
    services.standard_set(
        actor=users["province_manager"],
        division_code="530000",
        year=2026,
        dibao_monthly="200",
        minimum_wage_monthly="1900",
    )
    # Three-member files are relative hardship at a dibao of 200 and deep at 250; two-member ones stay.
    household_create(actor=users["xiangyun_staff"], data=household_input(tree["xiangyun_g"]))
    household_create(actor=users["xiangyun_staff"], data=household_input(tree["xiangyun_g"], members=2))
    household_create(actor=users["dalishi_staff"], data=household_input(tree["dalishi_g"]))
    recompute.recompute_start(actor=users["admin"], unit_id=tree["province"].pk, on=ON)

    base = live_server.url
    page = browser.new_context(viewport={"width": 375, "height": 812}, locale="en-US").new_page()
    sign_in(page, base, "province_manager")
    # On a phone the menu is folded: open it, then the settings menu.
    page.click(".navbar-toggler")
    page.click("#nav-config")
    page.click("#nav-whatif")
    page.wait_for_url(f"{base}/eligibility/whatif/")
    page.wait_for_selector("#current-values")
    assert "Dibao 200.00" in page.inner_text("#current-values")

    page.fill("#id_on", ON.isoformat())
    page.fill("#id_dibao_monthly", "250")
    page.click("#preview-button")
    page.wait_for_selector("#preview-summary")
    assert page.inner_text("#preview-summary") == "2 of 3 households would change category"
    counts = {
        row.get_attribute("data-unit"): row.locator("[data-changed]").inner_text()
        for row in page.locator("#preview-units tbody tr").all()
    }
    assert counts == {str(tree["xiangyun_g"].pk): "1", str(tree["dalishi_g"].pk): "1"}
    assert re.search(r"Relative hardship → Deep hardship: 2", page.inner_text("#preview-totals"))
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    page.screenshot(path=str(SHOTS / "bangfu-whatif-phone.png"), full_page=True)
    assert Standard.objects.get(is_current=True).dibao_monthly == Decimal(200)  # the preview stored nothing

    page.click("#save-button")
    page.wait_for_url(f"{base}/eligibility/standards/530000/2026/")
    assert "Saved as 530000/2026/v2." in page.inner_text("main")
    assert "530000/2026/v2" in page.inner_text("#history")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    page.screenshot(path=str(SHOTS / "bangfu-standard-phone.png"), full_page=True)
    saved = Standard.objects.get(is_current=True)
    assert (saved.version, saved.dibao_monthly, saved.effective_from) == (2, Decimal(250), ON)
