"""Template tags for the navigation bar: whether to offer the cross-department checks pages."""

from __future__ import annotations

from django import template

from bangfu.matching.services import VIEW_PERM
from bangfu.org import access

register = template.Library()


@register.simple_tag
def may_view_checks(user: object) -> bool:
    """Whether the navigation offers the cross-department checks (``VIEW_PERM`` somewhere)."""
    return access.has_perm(user, VIEW_PERM)
