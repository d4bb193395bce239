"""Steps the browser tests share."""

from __future__ import annotations

from typing import Any

from bangfu.testing.factories import PASSWORD


def sign_in(page: Any, base: str, username: str, then: str = "/households/") -> None:
    """Sign ``username`` in on the staff sign-in page of the server at ``base``, as a person does
    (the form filled and sent), and wait for the page it leads to (``then``)."""
    page.goto(f"{base}/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit].btn-primary")
    page.wait_for_url(f"{base}{then}")
