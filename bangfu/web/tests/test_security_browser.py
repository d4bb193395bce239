"""The Content-Security-Policy in a real Chromium: the pages, htmx, Bootstrap and the API docs
work under it, and it refuses nothing they need."""

from __future__ import annotations

from typing import Any

import pytest

from .test_browser import _sign_in

pytestmark = [pytest.mark.browser]


def test_the_pages_and_the_api_docs_run_under_the_policy(
    audit_log_emptied: None, live_server: Any, browser: Any, users: dict[str, Any]
) -> None:
    base = live_server.url
    page = browser.new_page(locale="en-US")
    refused: list[str] = []
    page.on("console", lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None)
    _sign_in(page, base)
    page.fill("#id_q", "zjg")  # htmx: the live search
    page.wait_for_url("**/households/?*q=zjg*")
    page.goto(f"{base}/applications/notice/")
    page.evaluate("window.print = () => { window.printed = true; }")
    page.click("[data-print]")
    assert page.evaluate("window.printed") is True
    page.goto(f"{base}/api/v1/docs")
    page.locator(".swagger-ui .opblock").first.wait_for()
    assert refused == []
