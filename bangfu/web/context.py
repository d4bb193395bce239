"""What every staff page shows in its navigation bar: the signed-in user's units and roles."""

from __future__ import annotations

from functools import cached_property
from typing import Any

from django.http import HttpRequest

from bangfu.org import access
from bangfu.org.access import Perm
from bangfu.org.models import Role


class _Navigation:
    """Read lazily, so pages that do not show the bar (or anonymous users) cost no query."""

    def __init__(self, user: Any) -> None:
        self.user = user

    @cached_property
    def roles(self) -> list[dict[str, str]]:
        if not getattr(self.user, "is_authenticated", False):
            return []
        labels = dict(Role.choices)
        return [
            {"unit": ra.unit.name, "role": str(labels.get(ra.role, ra.role))}
            for ra in self.user.role_assignments.select_related("unit").order_by("unit__path", "role")
        ]

    @cached_property
    def can_read_audit(self) -> bool:
        """Whether the navigation offers the audit log (the permission to read it somewhere)."""
        return access.has_perm(self.user, Perm.AUDIT_VIEW)

    @cached_property
    def unit_names(self) -> str:
        return " · ".join(dict.fromkeys(r["unit"] for r in self.roles))


def navigation(request: HttpRequest) -> dict[str, Any]:
    return {"nav": _Navigation(getattr(request, "user", None))}
