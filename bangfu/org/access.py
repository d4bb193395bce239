"""The one gate for who may see and change what.

* ``scope(actor, queryset)`` narrows any scoped queryset to the actor's jurisdiction.
* ``get_for(actor, queryset_or_model, pk)`` returns one row inside it, or raises ``Http404`` —
  a row out of jurisdiction answers exactly like a row that does not exist.
* ``require(actor, permission, unit=None)`` raises ``PermissionDenied`` unless one of the actor's
  roles grants the permission at a unit whose subtree contains ``unit``.

It fails closed: an anonymous or inactive user, a role name this module does not know, a model
that does not declare how it reaches its unit, and rows without a unit are all denied.
A model opts in by declaring ``scope_path`` — the lookup path to an ``OrgUnit.path`` value,
e.g. ``"unit__path"`` on Household or ``"household__unit__path"`` on Member.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from django.core.exceptions import ObjectDoesNotExist, PermissionDenied
from django.db import models
from django.http import Http404
from django.utils.translation import gettext, gettext_lazy

from .models import OrgUnit, Role, RoleAssignment


class Perm(StrEnum):
    """Permissions, named where endpoints declare them; granted to roles below."""

    HOUSEHOLD_VIEW = "household.view"
    HOUSEHOLD_EDIT = "household.edit"
    PERSONAL_REVEAL = "personal.reveal"
    REGISTRY_EXPORT = "registry.export"
    AUDIT_VIEW = "audit.view"
    USER_MANAGE = "user.manage"
    STANDARD_MANAGE = "standard.manage"  # identification standards and rule sets of the unit's divisions
    DECISION_OVERRIDE = "decision.override"  # set a household's category by hand, or approve that
    RECHECK_RUN = "recheck.run"  # start a recheck of the files against department data


# What each permission allows, in words for the people refused it (the codes are for the API).
PERM_LABELS: dict[Perm, Any] = {
    Perm.HOUSEHOLD_VIEW: gettext_lazy("read household files"),
    Perm.HOUSEHOLD_EDIT: gettext_lazy("change household files"),
    Perm.PERSONAL_REVEAL: gettext_lazy("see full ID and bank card numbers"),
    Perm.REGISTRY_EXPORT: gettext_lazy("bring personal data in or send it out (imports and exports)"),
    Perm.AUDIT_VIEW: gettext_lazy("read the audit log"),
    Perm.USER_MANAGE: gettext_lazy("manage users"),
    Perm.STANDARD_MANAGE: gettext_lazy("set standards and rules"),
    Perm.DECISION_OVERRIDE: gettext_lazy("set or approve a household's category by hand"),
    Perm.RECHECK_RUN: gettext_lazy("start a recheck"),
}


def perm_label(code: object) -> str:
    """A permission (or its code) in words; an unknown code as it is."""
    try:
        return str(PERM_LABELS[Perm(str(code))])
    except ValueError:
        return str(code)


def refusal(exc: object) -> str:
    """What a ``PermissionDenied`` raised by the gate (its message a permission's code) refuses, as
    a sentence for the person refused; one that says its own reason (``errors.Refused``) says it;
    another refusal in general words."""
    said = getattr(exc, "said", None)
    if said:
        return str(said)
    try:
        perm = Perm(str(exc))
    except ValueError:
        return gettext("Your role does not allow this.")
    return gettext("Your role may not %(what)s here.") % {"what": PERM_LABELS[perm]}


ROLE_PERMISSIONS: dict[str, frozenset[Perm]] = {
    Role.GRASSROOTS_CADRE: frozenset({Perm.HOUSEHOLD_VIEW, Perm.HOUSEHOLD_EDIT, Perm.RECHECK_RUN}),
    Role.CENTRE_STAFF: frozenset(
        {
            Perm.HOUSEHOLD_VIEW,
            Perm.HOUSEHOLD_EDIT,
            Perm.PERSONAL_REVEAL,
            Perm.REGISTRY_EXPORT,
            Perm.DECISION_OVERRIDE,
            Perm.RECHECK_RUN,
        }
    ),
    # The manager runs campaigns and rechecks (domain.md §1), without changing the files.
    Role.MANAGER: frozenset(
        {Perm.HOUSEHOLD_VIEW, Perm.REGISTRY_EXPORT, Perm.AUDIT_VIEW, Perm.STANDARD_MANAGE, Perm.RECHECK_RUN}
    ),
    Role.EVALUATOR: frozenset({Perm.HOUSEHOLD_VIEW}),
    Role.ADMIN: frozenset(set(Perm)),
}


@dataclass(frozen=True)
class Grant:
    role: str
    unit_id: int
    unit_path: str
    perms: frozenset[Perm]


def grants(actor: Any) -> list[Grant]:
    """The actor's known roles with their units; cached on the user object for the request."""
    if actor is None or not getattr(actor, "is_authenticated", False) or not getattr(actor, "is_active", False):
        return []
    cached: list[Grant] | None = getattr(actor, "_bangfu_grants", None)
    if cached is None:
        cached = [
            Grant(role, unit_id, path, ROLE_PERMISSIONS[role])
            for role, unit_id, path in actor.role_assignments.values_list("role", "unit_id", "unit__path")
            if role in ROLE_PERMISSIONS  # unknown roles grant nothing
        ]
        actor._bangfu_grants = cached
    return cached


def grants_loaded(users: Iterable[Any]) -> None:
    """Reads the roles of many users in one query, kept on each user object as ``grants`` keeps
    them: a page that weighs the roles of each row's user (the uploader of each of a case's files)
    asked once per row."""
    waiting = [
        u
        for u in users
        if u is not None
        and getattr(u, "is_authenticated", False)
        and getattr(u, "is_active", False)
        and getattr(u, "_bangfu_grants", None) is None
    ]
    if not waiting:
        return
    found: dict[int, list[Grant]] = {u.pk: [] for u in waiting}
    assignments = RoleAssignment._default_manager.filter(user_id__in=list(found))
    for user_id, role, unit_id, path in assignments.values_list("user_id", "role", "unit_id", "unit__path"):
        if role in ROLE_PERMISSIONS:  # unknown roles grant nothing
            found[user_id].append(Grant(role, unit_id, path, ROLE_PERMISSIONS[role]))
    for u in waiting:
        u._bangfu_grants = list(found[u.pk])


def _paths(actor: Any, perm: Perm) -> list[str]:
    paths = sorted({g.unit_path for g in grants(actor) if perm in g.perms})
    # Drop paths inside another granted path: fewer OR terms, same rows.
    return [p for i, p in enumerate(paths) if not any(p.startswith(q) for q in paths[:i])]


def _scope_path(model: type[models.Model]) -> str:
    path = getattr(model, "scope_path", None)
    if not path:
        raise PermissionDenied(f"{model.__name__} is not a jurisdiction-scoped model")
    return str(path)


def scope[M: models.Model](
    actor: Any, queryset: models.QuerySet[M], perm: Perm = Perm.HOUSEHOLD_VIEW
) -> models.QuerySet[M]:
    """Only the rows of ``queryset`` inside the actor's jurisdiction for ``perm``.

    A jurisdiction of up to ``UNIT_LIST_LIMIT`` units is filtered as ``unit_id IN (…ids)``: the
    planner then knows how many rows a county holds (from the column's statistics) and can start a
    search from the county's files instead of from every matching person in the country. Larger
    jurisdictions filter on the units' materialised path.
    """
    scope_path = _scope_path(queryset.model)
    paths = _paths(actor, perm)
    if not paths:
        return queryset.none()
    unit_ids = _unit_ids(actor, perm, paths)
    if unit_ids is not None and scope_path.endswith("__path"):
        return queryset.filter(**{scope_path.removesuffix("__path") + "__in": unit_ids})
    q = models.Q()
    for p in paths:
        q |= models.Q(**{scope_path + "__startswith": p})
    return queryset.filter(q)


UNIT_LIST_LIMIT = 2000


def unit_ids(actor: Any, perm: Perm = Perm.HOUSEHOLD_VIEW) -> list[int] | None:
    """The ids of the units in the actor's jurisdiction ([] for none), or None when there are more
    than ``UNIT_LIST_LIMIT`` (then filter on the path instead)."""
    paths = _paths(actor, perm)
    return _unit_ids(actor, perm, paths) if paths else []


def _unit_ids(actor: Any, perm: Perm, paths: list[str]) -> list[int] | None:
    """The ids of the units in the jurisdiction, or None when there are too many; per request."""
    cache: dict[Perm, list[int] | None] = actor.__dict__.setdefault("_bangfu_unit_ids", {})
    if perm not in cache:
        q = models.Q()
        for p in paths:
            q |= models.Q(path__startswith=p)
        ids = list(OrgUnit.objects.filter(q).values_list("id", flat=True)[: UNIT_LIST_LIMIT + 1])
        cache[perm] = ids if len(ids) <= UNIT_LIST_LIMIT else None
    return cache[perm]


def get_for[M: models.Model](
    actor: Any, queryset: models.QuerySet[M] | type[M], pk: Any, perm: Perm = Perm.HOUSEHOLD_VIEW
) -> M:
    qs = queryset._default_manager.all() if isinstance(queryset, type) else queryset
    try:
        return scope(actor, qs, perm).get(pk=pk)
    except (ObjectDoesNotExist, ValueError, TypeError) as exc:
        raise Http404 from exc


def units(actor: Any, perm: Perm = Perm.HOUSEHOLD_VIEW) -> models.QuerySet[OrgUnit]:
    """The union units inside the actor's jurisdiction (for pickers and filters)."""
    paths = _paths(actor, perm)
    if not paths:
        return OrgUnit.objects.none()
    q = models.Q()
    for p in paths:
        q |= models.Q(path__startswith=p)
    return OrgUnit.objects.filter(q)


def has_perm(actor: Any, perm: Perm, unit: OrgUnit | None = None) -> bool:
    return any(perm in g.perms and (unit is None or unit.path.startswith(g.unit_path)) for g in grants(actor))


def require(actor: Any, perm: Perm, unit: OrgUnit | None = None) -> None:
    if not has_perm(actor, perm, unit):
        raise PermissionDenied(perm.value)


def require_in_jurisdiction(actor: Any, perm: Perm, unit: OrgUnit) -> None:
    """For writes that name a unit: out of jurisdiction answers like a unit that does not exist."""
    if not has_perm(actor, perm, unit):
        if has_perm(actor, Perm.HOUSEHOLD_VIEW, unit):
            raise PermissionDenied(perm.value)
        raise Http404
