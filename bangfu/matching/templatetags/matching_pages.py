"""Template tags of the cross-department checks: whether the navigation bar offers their pages, a
department record's key and a severity in words."""

from __future__ import annotations

from django import template

from bangfu.matching.models import SeverityChoice
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


@register.filter
def severity_label(code: str) -> str:
    """A finding's severity (its code) in the reader's language; an unknown code as it is."""
    try:
        return str(SeverityChoice(code).label)
    except ValueError:
        return code
