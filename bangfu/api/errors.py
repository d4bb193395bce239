"""The API's one error body and the handlers that produce it.

Every error answers ``{"error": {"code": ..., "message": ..., "fields": {...}, "details": {...}}}``:
``fields`` maps dotted field paths (``members.1.id_number``) to messages, as the services name them;
``details`` carries the data of a broken business rule (``DomainError.details``). Messages are in the
request's language (LocaleMiddleware picks it from the session or ``Accept-Language``).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, cast

from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import Field, Schema
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError

from bangfu.common import ids
from bangfu.common.crypto import FieldKeyError
from bangfu.common.errors import DomainError, ErrorCode, field_errors
from bangfu.org.access import Perm, refusal

if TYPE_CHECKING:
    from ninja import NinjaAPI

logger = logging.getLogger(__name__)

# Business-rule codes that mean "the data changed under you / clashes with other data": 409. An
# action the record's state no longer allows (an application's step taken by another reviewer
# meanwhile, or never open at this step; a draft already sent; a yearly review already answered;
# an override already decided, or another one waiting; a legacy import cancelled once it is no
# longer at work) is such a clash, as a finding reviewed meanwhile is.
CONFLICT_CODES = frozenset(
    {
        ErrorCode.CONFLICT,
        ErrorCode.DUPLICATE_ACTIVE_FILE,
        ErrorCode.RUN_UNDER_WAY,
        ErrorCode.INVALID_TRANSITION,
        "review_done",
        "review_reported",
        "not_draft",
        "override_not_pending",
        "override_pending",
        "import_not_running",
    }
)
# Refusals of this person, not of the request or of the record's state (maker-checker: who submitted,
# first reviewed or accepted a case as an emergency does not approve it; who asked for an override
# does not approve it): 403, as a permission refused, keeping their code; another person may do it.
FORBIDDEN_CODES = frozenset({"maker_checker"})
# Refusals of a request made too often (a sign-in code asked for again too soon): 429, with the
# seconds to wait in ``Retry-After`` where the refusal knows them (``details.wait``).
THROTTLED_CODES = frozenset({"code_throttled"})
# A record named by a filter that is not there for the caller (a union outside their jurisdiction,
# or none): 404, as a row out of jurisdiction answers, with its message and field.
NOT_FOUND_CODES = frozenset({"unit_not_found"})
# Refusals about one value the client sent: named under that field too, as a form shows them.
FIELD_OF_CODE = {
    "unit_not_found": "unit_id",
    "code_invalid": "code",
    "code_expired": "code",
    "review_proof_wrong": "id_number",
    "review_proof_needed": "id_number",
}


class ErrorDetail(Schema):
    code: str
    message: str
    fields: dict[str, list[str]] = Field(default_factory=dict)
    details: dict[str, Any] = Field(default_factory=dict)


class ErrorOut(Schema):
    error: ErrorDetail


# The answers other than success that an endpoint may give, each in the error shape (OpenAPI).
ERRORS: dict[int, Any] = {
    400: ErrorOut,
    401: ErrorOut,
    403: ErrorOut,
    404: ErrorOut,
    409: ErrorOut,
    422: ErrorOut,
}


def refuse_id_in_address(q: str, search: str) -> None:
    """Refuse (422 on ``q``) a search text in a GET's address that holds an ID number (whole or
    nearly, in any form): addresses are written to servers' and proxies' access logs. ``search``
    is the POST path that takes the same fields in its body."""
    if ids.holds_id_number(q):
        raise ValidationError(
            {
                "q": _(
                    "An ID number is not taken in the address, where it would be logged: "
                    "send the search in the body of POST %(path)s."
                )
                % {"path": search}
            }
        )


def unit_filter_checked(units: QuerySet[Any], unit_id: int | None) -> None:
    """A list's ``unit_id`` filter must name a union of ``units`` (the caller's jurisdiction for the
    list's permission, as its selector reads it): one outside it, or none, is refused with 404
    ``unit_not_found`` rather than answered with an empty list, which would read as "nothing
    there". Outside and missing answer alike, as rows out of jurisdiction do."""
    if unit_id is not None and not units.filter(pk=unit_id).exists():
        raise DomainError(
            "unit_not_found",
            _("There is no union with the id %(id)s in your jurisdiction.") % {"id": unit_id},
            {"unit_id": unit_id},
        )


def too_large_message() -> str:
    """An id or a page beyond any integer the database takes (the pages say the same)."""
    return _("A number in the request is too large.")


class SignInEnded(AuthenticationError):  # noqa: N818 - the state of a sign-in, said in a 401
    """A token that was good and no longer is: the 401 says why (``code``, ``text``), so that an
    app can tell its user instead of "sign in"."""

    def __init__(self, code: str, text: str) -> None:
        super().__init__()
        self.code = code
        self.text = text


def error_body(
    code: str, message: str, fields: dict[str, list[str]] | None = None, details: dict[str, Any] | None = None
) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "fields": fields or {}, "details": details or {}}}


def _respond(api: NinjaAPI, request: HttpRequest, status: int, body: dict[str, Any]) -> HttpResponse:
    return api.create_response(request, body, status=status)


# --- request validation (pydantic) ----------------------------------------------------------------

# Where a parameter came from; the first parts of a pydantic location that are not a field path.
_SOURCES = {"body", "query", "path", "header", "cookie", "form", "file"}


def _field_path(loc: tuple[Any, ...] | list[Any], body_params: set[str]) -> str:
    parts = list(loc)
    if parts and parts[0] in _SOURCES:
        source = parts.pop(0)
        # A body read into one named parameter (``payload``) nests its fields under that name.
        if source == "body" and parts and parts[0] in body_params:
            parts.pop(0)
    return ".".join(str(p) for p in parts) or "__all__"


def _message(err: dict[str, Any]) -> str:
    kind = str(err.get("type", ""))
    ctx = err.get("ctx") or {}
    if kind == "missing":
        return _("This field is required.")
    if kind == "extra_forbidden":
        return _("This field is not part of the request; check its spelling.")
    if kind == "one_of":
        return _("“%(value)s” is not one of the allowed values.") % {"value": ctx.get("value", "")}
    if kind.startswith(("decimal_", "float_", "finite_number")):
        if kind == "decimal_max_places":
            return _("Use at most two decimal places (yuan and fen).")
        return _("Enter a number.")
    if kind.startswith("int_"):
        return _("Enter a whole number.")
    if kind.startswith("bool_"):
        return _("Enter true or false.")
    if kind.startswith(("date_", "datetime_")):
        return _("Enter a date as YYYY-MM-DD.")
    if kind.startswith("string_") and kind != "string_too_long":
        return _("Enter text.")
    if kind == "string_too_long":
        return _("Enter at most %(n)s characters.") % {"n": ctx.get("max_length", "")}
    if kind in {"list_type", "tuple_type", "set_type"}:
        return _("Enter a list.")
    if kind == "said":  # a validator of the API's schemas that says its own message, translated
        return str(ctx.get("said", ""))
    if kind in {"model_type", "model_attributes_type", "dict_type", "dataclass_type"}:
        return _("Enter an object with named fields.")
    if kind == "greater_than_equal":
        return _("Enter a value of at least %(n)s.") % {"n": ctx.get("ge", "")}
    if kind == "greater_than":
        return _("Enter a value greater than %(n)s.") % {"n": ctx.get("gt", "")}
    if kind == "less_than_equal":
        return _("Enter a value of at most %(n)s.") % {"n": ctx.get("le", "")}
    if kind == "less_than":
        return _("Enter a value less than %(n)s.") % {"n": ctx.get("lt", "")}
    return _("This value is not valid.")


def request_field_errors(errors: list[dict[str, Any]], body_params: set[str]) -> dict[str, list[str]]:
    """Ninja's (pydantic's) errors as ``{dotted.path: [readable messages]}``."""
    out: dict[str, list[str]] = {}
    for err in errors:
        path = _field_path(err.get("loc", ()), body_params)
        msg = _message(err)
        if msg not in out.setdefault(path, []):
            out[path].append(msg)
    return out


# --- handlers -------------------------------------------------------------------------------------

BODY_PARAMS = {"payload"}  # the name every endpoint gives its JSON body parameter


def install(api: NinjaAPI) -> None:
    """Register the handlers on ``api`` (they replace ninja's defaults)."""

    def on_django_validation(request: HttpRequest, exc: ValidationError) -> HttpResponse:
        return _respond(
            api, request, 422, error_body(ErrorCode.INVALID, _("Some fields are not valid."), field_errors(exc))
        )

    def on_request_validation(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
        fields = request_field_errors(list(exc.errors), BODY_PARAMS)
        return _respond(api, request, 422, error_body(ErrorCode.INVALID, _("Some fields are not valid."), fields))

    def on_not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
        return _respond(api, request, 404, error_body(ErrorCode.NOT_FOUND, _("Not found.")))

    def on_permission_denied(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
        # The gate names the permission refused: the message says what the role may not do, and
        # ``details.permission`` gives its code.
        said = getattr(exc, "said", None)
        if said:  # a refusal with its own reason (``errors.Refused``)
            return _respond(api, request, 403, error_body(ErrorCode.FORBIDDEN, str(said)))
        code = str(exc)
        if code not in {p.value for p in Perm}:
            return _respond(
                api, request, 403, error_body(ErrorCode.FORBIDDEN, _("You do not have permission to do this."))
            )
        return _respond(api, request, 403, error_body(ErrorCode.FORBIDDEN, refusal(exc), details={"permission": code}))

    def on_domain_error(request: HttpRequest, exc: DomainError) -> HttpResponse:
        status = (
            409
            if exc.code in CONFLICT_CODES
            else 403
            if exc.code in FORBIDDEN_CODES
            else 404
            if exc.code in NOT_FOUND_CODES
            else 429
            if exc.code in THROTTLED_CODES
            else 400
        )
        field = FIELD_OF_CODE.get(str(exc.code))
        fields = {field: [str(exc.message)]} if field else None
        response = _respond(api, request, status, error_body(exc.code, str(exc.message), fields, details=exc.details))
        wait = (exc.details or {}).get("wait")
        if status == 429 and isinstance(wait, int):
            response["Retry-After"] = str(wait)
        return response

    def on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
        if isinstance(exc, AuthenticationError) or exc.status_code == 401:
            body = (
                error_body(exc.code, exc.text)
                if isinstance(exc, SignInEnded)
                else error_body("unauthorized", _("Sign in or send a valid API token (Authorization: Bearer …)."))
            )
            response = _respond(api, request, 401, body)
            response["WWW-Authenticate"] = 'Bearer realm="api"'
            return response
        if getattr(exc, "code", None) == "csrf_failed":
            return _respond(
                api,
                request,
                403,
                error_body("csrf_failed", _("The page's security token is missing or out of date; reload the page.")),
            )
        code, message = {
            400: ("bad_request", _("The request could not be read; send a JSON body.")),
            403: (ErrorCode.FORBIDDEN, _("You do not have permission to do this.")),
            404: (ErrorCode.NOT_FOUND, _("Not found.")),
            405: ("method_not_allowed", _("This method is not allowed here.")),
            429: ("throttled", _("Too many requests; try again later.")),
        }.get(exc.status_code, ("error", _("The request failed.")))
        return _respond(api, request, exc.status_code, error_body(code, message))

    def on_overflow(request: HttpRequest, exc: OverflowError) -> HttpResponse:
        # An id or a page beyond any integer the database takes (SQLite raises this).
        return _respond(api, request, 400, error_body("bad_request", too_large_message()))

    def on_key_error(request: HttpRequest, exc: FieldKeyError) -> HttpResponse:
        # The field key in use does not open the stored numbers: the server's configuration, said in
        # words (which variable, what to do) rather than as an unknown server error.
        logger.error("%s %s: %s", request.method, request.path, exc)
        return _respond(api, request, 500, error_body("field_key_mismatch", str(exc)))

    def on_unexpected(request: HttpRequest, exc: Exception) -> HttpResponse:
        logger.exception("Unhandled error in %s %s", request.method, request.path, exc_info=exc)
        return _respond(
            api, request, 500, error_body("server_error", _("Something went wrong on the server; it has been logged."))
        )

    handlers: list[tuple[type[Exception], Any]] = [
        (ValidationError, on_django_validation),
        (NinjaValidationError, on_request_validation),
        (Http404, on_not_found),
        (PermissionDenied, on_permission_denied),
        (DomainError, on_domain_error),
        (HttpError, on_http_error),
        (OverflowError, on_overflow),
        (FieldKeyError, on_key_error),
        (Exception, on_unexpected),  # anything else: logged, and still the one error shape
    ]
    for exc_class, handler in handlers:
        api.add_exception_handler(exc_class, cast(Any, handler))
