"""Template tags of the cross-department checks: whether the navigation bar offers their pages, and
a department record's key in words."""

from __future__ import annotations

import re

from django import template
from django.utils.translation import gettext as _

from bangfu.matching.services import VIEW_PERM
from bangfu.org import access

register = template.Library()


@register.simple_tag
def may_view_checks(user: object) -> bool:
    """Whether the navigation offers the cross-department checks (``VIEW_PERM`` somewhere)."""
    return access.has_perm(user, VIEW_PERM)


_ROW_KEY = re.compile(r"row (\d+)")


@register.filter
def record(key: str) -> str:
    """A record's key as people read it: a record without a key of its own (no plate or certificate
    number in the file) is named by its row in the department's file, ``row 12``, in their language."""
    found = _ROW_KEY.fullmatch(key or "")
    return _("row %(n)s of the file") % {"n": found.group(1)} if found else key
