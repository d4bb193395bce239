"""Django's error pages, with the API's error body for ``/api/`` paths: a URL the API does not
have (``/api/v1/households/`` with a slash, a mistyped path) answers in JSON like the rest of the
API, not with the staff site's page."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
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
