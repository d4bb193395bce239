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


@register.simple_tag
def may_read_standards(user: object) -> bool:
    """Whether the navigation offers the standards and rule sets to read: every member of staff
    may open them (a centre's staff and an evaluator read the rules a decision applied); changing
    them and the what-if are for ``Perm.STANDARD_MANAGE``."""
    return access.has_perm(user, Perm.STANDARD_MANAGE) or access.has_perm(user, Perm.HOUSEHOLD_VIEW)
