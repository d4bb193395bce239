"""About the caller: who they are, their roles and permissions, and the unions they may work in."""

from typing import Any

from django.http import HttpRequest
from ninja import Router

from bangfu.api.errors import ErrorOut
from bangfu.api.permissions import ANY_SIGNED_IN_USER, actor, requires
from bangfu.api.schemas import MeOut, UnitOut
from bangfu.org import access
from bangfu.org.access import ROLE_PERMISSIONS, Perm
from bangfu.registry import selectors

router = Router()

ERRORS: dict[int, Any] = {401: ErrorOut, 403: ErrorOut}


@router.get("/me", response={200: MeOut, **ERRORS}, tags=["me"], summary="Who am I")
@requires(ANY_SIGNED_IN_USER)
def me(request: HttpRequest) -> dict[str, Any]:
    """The caller's user name, role assignments (with their unions) and the permissions they grant.
    A role this version does not know is listed with ``known: false`` and grants nothing."""
    user = actor(request)
    roles = [
        {"role": ra.role, "known": ra.role in ROLE_PERMISSIONS, "unit": ra.unit}
        for ra in user.role_assignments.select_related("unit").order_by("unit__path", "role")
    ]
    perms = sorted({p.value for g in access.grants(user) for p in g.perms})
    return {"username": user.get_username(), "roles": roles, "permissions": perms}


@router.get("/units", response={200: list[UnitOut], **ERRORS}, tags=["units"], summary="Unions I may see")
@requires(Perm.HOUSEHOLD_VIEW)
def unit_list(request: HttpRequest) -> Any:
    """The unions of the caller's jurisdiction, in tree order (a parent before its children)."""
    return selectors.unit_choices(actor=actor(request))
