"""Requests no page or endpoint can take, answered with a specific 400 before they reach a view.

* **The NUL character** (``\\0``) in a query parameter, a form field or a JSON string: PostgreSQL's
  text cannot hold it, so a search for ``a%00`` or a name with ``\\u0000`` failed deep in a query
  as a server error. The forms' own validator names such a field on a page; this catches the
  query strings and the API's JSON, naming the parameter or the field's dotted path.
* **A number too large for the database** (an id or a page of 10^20: SQLite cannot take it as an
  integer) answers 400 instead of 500; the API has the same rule in its error handlers.

And one the API cannot answer itself: a method an API path does not take (``DELETE`` on a
household) gets django-ninja's plain-text 405; it is given the API's error body, with the methods
the path takes.

``HtmxSignInMiddleware`` sends a page whose sign-in ended (signed out in another tab, the session
expired) to the sign-in page as a whole, rather than letting htmx draw the sign-in page inside it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.core.exceptions import BadRequest
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.shortcuts import render, resolve_url
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django_htmx.http import HttpResponseClientRedirect

from bangfu.common.punctuation import join_list

NUL = "\x00"
# NUL, or half of a UTF-16 surrogate pair on its own (JSON's "\ud800"): neither can be stored as text.
_NOT_TEXT = re.compile("[\x00\ud800-\udfff]")
_JSON_SURROGATE = re.compile(rb"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


def _nul_path(value: Any, path: str = "") -> str | None:
    """The dotted path of the first string holding NUL or a lone surrogate in a decoded JSON value."""
    if isinstance(value, str):
        return path or "__all__" if _NOT_TEXT.search(value) else None
    if isinstance(value, dict):
        items: Any = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return None
    for key, item in items:
        if _NOT_TEXT.search(str(key)):
            return f"{path}.{key}".strip(".")
        found = _nul_path(item, f"{path}.{key}".strip("."))
        if found:
            return found
    return None


def nul_field(request: HttpRequest) -> str | None:
    """The name of a query parameter, form field or JSON field holding NUL, if any."""
    for key, values in request.GET.lists():
        if NUL in key or any(NUL in v for v in values):
            return key
    if request.method in ("POST", "PUT", "PATCH"):
        if request.content_type == "application/json":
            body = request.body
            if b"\\u0000" in body.lower() or b"\x00" in body or _JSON_SURROGATE.search(body):
                try:
                    return _nul_path(json.loads(body))
                except ValueError:
                    return None  # not JSON: the endpoint says so itself
        elif request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
            for key, values in request.POST.lists():
                if NUL in key or any(NUL in v for v in values):
                    return key
    return None


def nul_message(field: str) -> str:
    return _(
        "“%(field)s” holds the NUL character (\\0) or half of a character pair (a lone surrogate), which "
        "text may not contain; remove it."
    ) % {"field": field}


class BadInputMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            field = nul_field(request)
        except MultiPartParserError as exc:
            if "header size" in str(exc):
                # A part's headers are at most 1 KB (Django): in practice, a file's very long name.
                return self._bad(
                    request,
                    _("A file's name is too long to be read (at most some 200 characters): rename it, send it again."),
                )
            return self._bad(
                request, _("The request's form data cannot be read: send it as a form again (multipart/form-data).")
            )
        except BadRequest:  # e.g. multipart/form-data without its boundary
            return self._bad(
                request, _("The request's form data cannot be read: send it as a form again (multipart/form-data).")
            )
        if field is not None:
            return self._bad(request, nul_message(field), field)
        response = self.get_response(request)
        if (
            response.status_code == 405
            and request.path.startswith("/api/")
            and not response.get("Content-Type", "").startswith("application/json")
        ):
            return self._not_allowed(response)
        return response

    @staticmethod
    def _not_allowed(response: HttpResponse) -> HttpResponse:
        from bangfu.api.errors import error_body

        allowed = sorted(m.strip() for m in response.get("Allow", "").split(",") if m.strip())
        body = error_body(
            "method_not_allowed",
            _("This method is not allowed here; allowed: %(methods)s.") % {"methods": join_list(allowed)},
            details={"allowed": allowed},
        )
        answer = JsonResponse(body, status=405)
        answer["Allow"] = ", ".join(allowed)
        return answer

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, OverflowError):
            from bangfu.api.errors import too_large_message

            return self._bad(request, too_large_message())
        return None

    def _bad(self, request: HttpRequest, message: str, field: str | None = None) -> HttpResponse:
        if request.path.startswith("/api/"):
            from bangfu.api.errors import error_body

            return JsonResponse(error_body("bad_request", message, {field: [message]} if field else {}), status=400)
        phone = request.path.startswith("/apply/")
        base = "intake/phone/base.html" if phone else "web/base.html"
        return render(request, "400.html", {"message": message, "phone": phone, "base": base}, status=400)


class NoStoreMiddleware:
    """Pages and API answers with people's data are not kept by the browser or a shared cache:
    every response to a signed-in user and every API answer gets ``Cache-Control: no-store``
    unless its view set its own (static files and the public pages keep theirs)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if response.has_header("Cache-Control") or request.path.startswith("/static/"):
            return response
        user = getattr(request, "user", None)
        if request.path.startswith("/api/") or (user is not None and user.is_authenticated):
            response["Cache-Control"] = "no-store"
        return response


def page_shown(request: HttpRequest) -> str | None:
    """The path (and query) of the page an htmx request was sent from (``HX-Current-URL``), when
    it is a page of this site; None otherwise."""
    current = request.headers.get("HX-Current-URL", "")
    if not current or not url_has_allowed_host_and_scheme(
        current, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return None
    parts = urlsplit(current)
    if not parts.path.startswith("/"):
        return None
    return parts.path + (f"?{parts.query}" if parts.query else "")


class HtmxSignInMiddleware:
    """An htmx request whose sign-in has ended (signed out in another tab, the session expired)
    is answered with ``HX-Redirect`` to the sign-in page, ``next`` being the page the person is
    on. Without it the browser followed the redirect to the sign-in page and htmx drew that whole
    page inside a table cell or the search results, and a search put the sign-in address in the
    address bar. After signing in, the person is back on their page, not on the htmx endpoint
    (a fragment, or a POST that only a button sends). The worker's phone pages do the same for
    their own sign-in (``intake.views.applicant_required``)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if request.headers.get("HX-Request") != "true" or response.status_code not in (301, 302, 303, 307, 308):
            return response
        login = resolve_url(settings.LOGIN_URL)
        if urlsplit(response.get("Location", "")).path != login:
            return response
        shown = page_shown(request)
        return HttpResponseClientRedirect(f"{login}?{urlencode({'next': shown})}" if shown else login)
