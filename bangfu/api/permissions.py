"""Each endpoint declares the permission it needs, right where it is defined::

    @router.put("/households/{household_id}")
    @requires(Perm.HOUSEHOLD_EDIT)
    def household_update(request, ...): ...

The check here is the coarse one — does the caller hold the permission anywhere at all (else 403)?
The selector or service then applies it to the row's unit through the access gate, where
out-of-jurisdiction answers 404 exactly like a row that does not exist. The permission is also
shown in the OpenAPI description (``x-permission``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from ninja.utils import contribute_operation_callback

from bangfu.org import access
from bangfu.org.access import Perm

F = TypeVar("F", bound=Callable[..., Any])

ANY_SIGNED_IN_USER: None = None  # endpoints about the caller themselves need no permission


def actor(request: HttpRequest) -> Any:
    """The authenticated user (token or session), as set by the API's auth."""
    return request.auth  # type: ignore[attr-defined]


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
        return wrapper  # type: ignore[return-value]

    return decorate
