"""The language menu's ``next``: the page to come back to after choosing a language."""

from __future__ import annotations

from urllib.parse import unquote_plus

from django import template
from django.http import HttpRequest

from bangfu.common.ids import holds_id_number

register = template.Library()


@register.simple_tag
def language_next(request: HttpRequest) -> str:
    """The page's address, less its query when that holds an ID number (a hand-made address the
    page did not take out): the menu's ``next`` is posted and becomes the address of the page the
    menu goes back to. app.js replaces it with the address shown when the menu is sent (a search
    or a filter sent by htmx shows another), on the same condition."""
    full = request.get_full_path()
    return request.path if holds_id_number(unquote_plus(full)) else full
