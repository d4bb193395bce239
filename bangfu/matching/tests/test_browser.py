"""The cross-department checks in a real Chromium at phone width: a county centre imports a
vehicles file, rechecks its files, confirms the finding (the household is then not eligible),
records that the worker was told and removes the file."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pytest

from bangfu.matching.models import Dataset, Finding, MatchRun
from bangfu.registry.models import Household
from bangfu.testing.browser import sign_in

pytestmark = [pytest.mark.browser]


def _staff_page(browser: Any, base: str, username: str) -> Any:
    page = browser.new_context(viewport={"width": 375, "height": 812}, locale="en-US").new_page()
    sign_in(page, base, username)
    return page


def _fits_the_screen(page: Any) -> None:
    """Nothing but a scrolling table is wider than the phone."""
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, f"{page.url} is {width}px wide"


def test_import_recheck_confirm_tell_and_remove(
    audit_log_emptied: None,
    live_server: Any,
    browser: Any,
    users: dict[str, Any],
    make_household: Any,
    tmp_path: Path,
    standard: None,
) -> None:
    household, ids = make_household()
    vehicles = tmp_path / "车辆登记.csv"
    with vehicles.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(
            [["身份证号", "姓名", "号牌号码", "车辆类型"], [ids[0], "张建国", "云L7M123", "小型轿车"]]
        )
    base = live_server.url
    page = _staff_page(browser, base, "xiangyun_staff")

    # Import the department file.
    page.goto(f"{base}/matching/datasets/")
    page.click("#import-link")
    page.select_option("#id_kind", "vehicles")
    page.set_input_files("#id_file", str(vehicles))
    page.fill("#id_source", "祥云县公安局交警大队")
    _fits_the_screen(page)
    page.click("#import-form button[type=submit]")
    page.wait_for_url(f"{base}/matching/datasets/*/")
    assert page.inner_text("#rows-taken") == "1"
    assert Dataset.objects.get().unit.name == "祥云县总工会"

    # Recheck the county's files against it; the progress bar reaches done.
    page.click("text=Start a recheck with this data")
    page.wait_for_url(f"{base}/matching/runs/new/*")
    page.click("#run-form button[type=submit]")
    page.wait_for_url(f"{base}/matching/runs/*/")
    page.wait_for_selector("#run-status[data-status=done]")
    assert "100%" in page.inner_text("#run-progress .progress")
    assert "祥云县纺织厂工会" in page.inner_text("#summary-units")
    assert MatchRun.objects.get().status == "done"

    # Open the finding and confirm it: the household is no longer eligible.
    page.click("#run-findings")
    page.wait_for_url(f"{base}/matching/?run=*")
    _fits_the_screen(page)
    finding = Finding.objects.get()
    page.click(f"#finding-{finding.pk} a[href='/matching/findings/{finding.pk}/']")
    page.wait_for_url(f"{base}/matching/findings/{finding.pk}/")
    assert "云L7M123" in page.inner_text("#finding-record")
    page.fill("#id_confirm-reason", "车管所记录属实，本人名下小型轿车")
    page.click("#confirm-form button[type=submit]")
    page.wait_for_selector("text=The finding was confirmed.")
    assert page.get_attribute("#decision-category", "data-category") == "not_eligible"
    assert page.inner_text("#decision-category") == "Not eligible"
    assert "云L7M123" in page.inner_text("#what-happened")
    _fits_the_screen(page)

    # The proposal: removal waits until the worker has been told.
    page.click("#proposal-link")
    page.wait_for_url(f"{base}/matching/proposals/*")
    card = page.locator(".card", has=page.locator(".notify-form"))
    assert card.locator(".remove-form button").is_disabled()
    card.locator("textarea").fill("2026-11-28 入户当面告知本人核查结果")
    card.locator(".notify-form button").click()
    page.wait_for_selector("text=was told")
    assert Household.objects.get(pk=household.pk).state == "active"
    page.on("dialog", lambda dialog: dialog.accept())
    remove = page.locator(".remove-form button")
    assert remove.is_enabled()
    remove.click()
    page.wait_for_selector("text=was removed")
    assert Household.objects.get(pk=household.pk).state == "removed"
