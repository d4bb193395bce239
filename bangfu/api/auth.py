"""Who is calling: an API token (``Authorization: Bearer …``) or the staff UI's signed-in session.

The session is accepted so that the UI's htmx can call the API; for unsafe methods it must then
carry the CSRF token like any form post. A token request needs no CSRF token (no cookie is used).
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja.errors import HttpError
from ninja.security import APIKeyCookie, HttpBearer
from ninja.utils import check_csrf

from bangfu.org.services import token_authenticate


class CsrfError(HttpError):
    code = "csrf_failed"

    def __init__(self) -> None:
        super().__init__(403, "CSRF check failed")


class BearerToken(HttpBearer):
    """``Authorization: Bearer bf_…`` — a token issued by ``token_create``; revoked tokens fail."""

    def authenticate(self, request: HttpRequest, token: str) -> Any | None:
        token = token.strip()
        if not token:
            return None
        return token_authenticate(token)


class StaffSession(APIKeyCookie):
    """The Django session of a signed-in user, with the CSRF check for unsafe methods."""

    def __init__(self) -> None:
        from django.conf import settings

        self.param_name = settings.SESSION_COOKIE_NAME
        super().__init__(csrf=False)  # checked below, only once the session is known to be signed in

    def authenticate(self, request: HttpRequest, key: str | None) -> Any | None:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or not user.is_active:
            return None
        if check_csrf(request) is not None:
            raise CsrfError()
        return user


bearer = BearerToken()
session = StaffSession()
