"""Security review: the headers and cookies every page carries, no inline script for the
Content-Security-Policy to refuse, and no second sign-in page (the admin's) that skips the lock."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import Client

pytestmark = pytest.mark.django_db

BANGFU = Path(__file__).resolve().parents[2]


def test_pages_carry_a_content_security_policy_without_inline_script(users: dict[str, Any]) -> None:
    c = Client(headers={"Accept-Language": "en"})
    c.force_login(users["xiangyun_staff"])
    response = c.get("/households/")
    assert response.status_code == 200
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy.split("script-src")[1].split(";")[0]
    assert "frame-ancestors 'none'" in policy and "object-src 'none'" in policy
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"


def test_no_template_has_an_inline_script_or_event_handler() -> None:
    """The policy runs no inline script: a handler or a script block would silently stop working."""
    handler = re.compile(r"<[^>]*\son[a-z]+\s*=", re.IGNORECASE)
    inline_script = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>", re.IGNORECASE)
    found = [
        str(path.relative_to(BANGFU))
        for path in BANGFU.rglob("templates/**/*.html")
        if handler.search(path.read_text(encoding="utf-8")) or inline_script.search(path.read_text(encoding="utf-8"))
    ]
    assert found == []


def test_the_api_docs_come_from_this_site_not_a_cdn(users: dict[str, Any]) -> None:
    page = Client().get("/api/v1/docs").content.decode()
    assert "cdn." not in page and "/static/ninja/" in page


def test_the_admin_sign_in_is_not_served() -> None:
    """Django's admin sign-in would try passwords without the lock of ``org.signin``."""
    assert Client().get("/admin/login/").status_code == 404


def test_session_and_csrf_cookies() -> None:
    assert settings.SESSION_COOKIE_HTTPONLY and settings.CSRF_COOKIE_HTTPONLY
    assert settings.SESSION_COOKIE_SAMESITE == "Lax" and settings.CSRF_COOKIE_SAMESITE == "Lax"
    assert settings.SESSION_COOKIE_AGE == 12 * 3600
