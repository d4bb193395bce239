"""Django's error pages, with the API's error body for ``/api/`` paths: a URL the API does not
have (``/api/v1/households/`` with a slash, a mistyped path) answers in JSON like the rest of the
API, not with the staff site's page. And the page of a form whose CSRF token no longer holds
(``csrf_failure``, ``CSRF_FAILURE_VIEW``)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views import defaults

from bangfu.api.errors import error_body
from bangfu.common.crypto import FieldKeyError
from bangfu.org import access

logger = logging.getLogger(__name__)


def _api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def page_not_found(request: HttpRequest, exception: Exception | None = None, **kwargs: Any) -> HttpResponse:
    if _api(request):
        return JsonResponse(error_body("not_found", _("Not found.")), status=404)
    return defaults.page_not_found(request, exception or Exception())


def permission_denied(request: HttpRequest, exception: Exception | None = None, **kwargs: Any) -> HttpResponse:
    """A step the user's role does not allow: the page says which (the gate raises
    ``PermissionDenied`` with the permission's code), "Your role may not send personal data out
    here." rather than only "not allowed"."""
    message = access.refusal(exception)
    if _api(request):
        return JsonResponse(error_body("forbidden", message), status=403)
    return render(request, "403.html", {"refusal": message}, status=403)


def server_error(request: HttpRequest, **kwargs: Any) -> HttpResponse:
    if _api(request):
        return JsonResponse(
            error_body("server_error", _("Something went wrong on the server; it has been logged.")), status=500
        )
    return defaults.server_error(request)


def bad_request(request: HttpRequest, exception: Exception | None = None, **kwargs: Any) -> HttpResponse:
    """A request Django refuses before any view (too many files or fields, too large, a file name
    it does not accept): the API says so in its own body, naming the cause where Django does."""
    if _api(request):
        if isinstance(exception, TooManyFilesSent):
            message = _("The request sends too many files.")
        elif isinstance(exception, TooManyFieldsSent):
            message = _("The request sends too many fields.")
        elif isinstance(exception, RequestDataTooBig):
            message = _("The request is too large.")
        else:
            message = _("The request could not be read.")
        return JsonResponse(error_body("bad_request", message), status=400)
    return defaults.bad_request(request, exception or Exception())


def csrf_failure(request: HttpRequest, reason: str = "", **kwargs: Any) -> HttpResponse:
    """A form sent from a page whose CSRF token no longer holds: the person signed in or out in
    another tab since the page was opened (each changes the token), or the page was left open too
    long. Django's own page told caseworkers to "set DEBUG=True"; this one says what happened and
    what to do. A sign-in form starts again on a fresh sign-in page (nothing typed there is worth
    keeping but the name); an htmx request gets the sentence alone, for the page's alert."""
    message = _(
        "This page had expired: you signed in or out in another tab since it was opened, or it was "
        "left open too long. Nothing was saved. Go back to it, copy anything you typed, reload the "
        "page and try again."
    )
    if _api(request):
        return JsonResponse(error_body("csrf_failed", message), status=403)
    login_pages = {reverse("login"): "next", reverse("intake:phone_login"): ""}
    if request.path in login_pages:
        messages.info(request, _("The sign-in page had expired; sign in again."))
        following = request.POST.get("next", "") if login_pages[request.path] else ""
        if following and url_has_allowed_host_and_scheme(following, allowed_hosts={request.get_host()}):
            return redirect(f"{request.path}?{urlencode({'next': following})}")
        return redirect(request.path)
    if request.headers.get("HX-Request") == "true":
        return render(request, "_htmx_message.html", {"message": message}, status=403)
    back = request.headers.get("Referer", "")
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        back = ""
    phone = request.path.startswith("/apply/")
    context = {
        "message": message,
        "back": back,
        "phone": phone,
        "base": "intake/phone/base.html" if phone else "web/base.html",
    }
    return render(request, "403_csrf.html", context, status=403)


class KeyErrorMiddleware:
    """A stored number the field key in use does not open (``crypto.FieldKeyError``: the server
    started with another BANGFU_FIELD_KEY than the database's) answers with the error page saying
    so, naming the variable, instead of an unexplained server error."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, FieldKeyError):
            return None
        logger.error("%s %s: %s", request.method, request.path, exception)
        if _api(request):
            return JsonResponse(error_body("field_key_mismatch", str(exception)), status=500)
        return render(request, "500.html", {"problem": str(exception)}, status=500)
