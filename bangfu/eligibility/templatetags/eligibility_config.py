"""Template tag for the navigation bar: whether to offer the identification settings pages."""

from __future__ import annotations

from django import template

from bangfu.org import access
from bangfu.org.access import Perm

register = template.Library()


@register.simple_tag
def may_configure(user: object) -> bool:
    """Whether the navigation offers standards, rule sets and the what-if (``Perm.STANDARD_MANAGE``
    somewhere: the pages are for the people who set them)."""
    return access.has_perm(user, Perm.STANDARD_MANAGE)
