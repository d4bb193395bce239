"""Each endpoint declares the permission it needs, right where it is defined::

    @router.put("/households/{household_id}")
    @requires(Perm.HOUSEHOLD_EDIT)
    def household_update(request, ...): ...

The check here is the coarse one — does the caller hold the permission anywhere at all (else 403)?
The selector or service then applies it to the row's unit through the access gate, where
out-of-jurisdiction answers 404 exactly like a row that does not exist. The permission is also
shown in the OpenAPI description (``x-permission``), and it is decided before what the request
sends is judged: a caller without it gets 403, whatever the fields it sent (not 422 first).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from ninja.decorators import decorate_view
from ninja.utils import contribute_operation_callback

from bangfu.org import access
from bangfu.org.access import Perm

F = TypeVar("F", bound=Callable[..., Any])

ANY_SIGNED_IN_USER: None = None  # endpoints about the caller themselves need no permission


def actor(request: HttpRequest) -> Any:
    """The authenticated user (token or session), as set by the API's auth."""
    return request.auth  # type: ignore[attr-defined]


def _permission_first(perm: Perm) -> Callable[[Any], Any]:
    """Around the operation's run (``ninja.decorators.decorate_view``, kept by the operation's
    clones): a request refused as unreadable (422: a misspelt field, a value of the wrong kind) by
    a caller who does not hold the permission at all is answered 403, as a readable one is. The
    request is read before the view, where ``requires`` checks; nothing was done on a 422."""

    def decorate(run: Any) -> Any:
        operation = run.__self__

        @functools.wraps(run)
        def checked(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            response = run(request, *args, **kwargs)
            signed_in = getattr(request, "auth", None) is not None
            if response.status_code == 422 and signed_in and not access.has_perm(actor(request), perm):
                return operation.api.on_exception(request, PermissionDenied(perm.value))
            return response

        return checked

    return decorate


def requires(perm: Perm | None) -> Callable[[F], F]:
    def decorate(view: F) -> F:
        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            if perm is not None and not access.has_perm(actor(request), perm):
                raise PermissionDenied(perm.value)
            return view(request, *args, **kwargs)

        wrapper.permission = perm  # type: ignore[attr-defined]

        def document(operation: Any) -> None:
            extra = dict(operation.openapi_extra or {})
            extra["x-permission"] = perm.value if perm else None
            operation.openapi_extra = extra

        contribute_operation_callback(wrapper, document)
        if perm is not None:
            decorate_view(_permission_first(perm))(wrapper)
        return wrapper  # type: ignore[return-value]

    return decorate
