"""The REST API, mounted at ``/api/v1/``: OpenAPI schema at ``openapi.json``, docs at ``docs``.

Callers authenticate with an API token (``Authorization: Bearer …``) or the staff UI's session.
Every error has one shape (see ``errors.py``).
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any, cast

from django.http import HttpRequest
from ninja import NinjaAPI
from ninja.operation import Operation
from ninja.parser import Parser

from bangfu.eligibility.api import router as eligibility_router
from bangfu.intake.api import router as intake_router
from bangfu.matching.api import router as matching_router

from . import errors
from .auth import bearer, session
from .routers import account, audit, households


class ExactJsonParser(Parser):
    """JSON numbers with a fraction are read as Decimal, so money never passes through float."""

    def parse_body(self, request: HttpRequest) -> dict[str, Any]:
        return cast(dict[str, Any], json.loads(request.body, parse_float=Decimal))


class BangfuApi(NinjaAPI):
    def get_openapi_operation_id(self, operation: Operation) -> str:
        """Operation ids are the endpoint functions' names (``household_list``), unique in the API."""
        return str(operation.view_func.__name__)


api = BangfuApi(
    title="bangfu API",
    version="1",
    description=(
        "Household files of the trade-union assistance centres. Authenticate with "
        "`Authorization: Bearer <token>` (or the staff UI's session plus its CSRF token). "
        'Errors: `{"error": {"code", "message", "fields", "details"}}`; a file outside your '
        "jurisdiction answers 404 like one that does not exist."
    ),
    urls_namespace="api",
    auth=[bearer, session],
    parser=ExactJsonParser(),
)
errors.install(api)


@api.get("/health", auth=None, tags=["health"], summary="Liveness")
def health(request: HttpRequest) -> dict[str, str]:
    """For a load balancer's liveness probe: answers without touching the database."""
    return {"status": "ok"}


api.add_router("", account.router)
api.add_router("", households.router)
api.add_router("", audit.router)
api.add_router("", matching_router)
api.add_router("", intake_router)
api.add_router("/eligibility", eligibility_router)
