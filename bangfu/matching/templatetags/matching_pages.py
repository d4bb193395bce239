"""Template tags of the cross-department checks: whether the navigation bar offers their pages, and
a department record's key in words."""

from __future__ import annotations

from django import template

from bangfu.matching.services import VIEW_PERM, record_in_words
from bangfu.org import access

register = template.Library()


@register.simple_tag
def may_view_checks(user: object) -> bool:
    """Whether the navigation offers the cross-department checks (``VIEW_PERM`` somewhere)."""
    return access.has_perm(user, VIEW_PERM)


@register.filter
def record(key: str) -> str:
    """A record's key as people read it (``services.record_in_words``): ``row 12`` in their language."""
    return record_in_words(key)
