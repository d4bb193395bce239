"""The punctuation between a label and its value, and between the items of a list, in the active
language (the marks of ``bangfu.common.punctuation``, which text made in Python uses too): a
Chinese page reads "住址：云南省…" and "下岗失业、子女上学", an English one "Address: …" and "Laid off,
Children at school".

A label's words are translated (``{% translate "Address" %}``) and its colon comes from here,
``{% translate "Address" %}{% colon %}{{ value }}``, so that the same msgid serves with a colon and
without one. The English marks carry their space; the Chinese full-width ones need none.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django import template
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe

from bangfu.common import punctuation
from bangfu.common.punctuation import mark

register = template.Library()


@register.simple_tag
def colon() -> str:
    """Between a label and its value: ": " in English, "：" in Chinese."""
    return mark("colon")


@register.simple_tag
def list_comma() -> str:
    """Between the items of a list: ", " in English, "、" in Chinese."""
    return mark("comma")


@register.simple_tag
def list_semicolon() -> str:
    """Between items that have commas of their own: "; " in English, "；" in Chinese."""
    return mark("semicolon")


@register.filter(needs_autoescape=True)
def join_list(values: Iterable[Any], autoescape: bool = True) -> SafeString:
    """``{{ causes|join_list }}``: the items joined as ``list_comma`` does, each escaped."""
    shown = (conditional_escape(v) if autoescape else str(v) for v in values)
    return mark_safe(punctuation.join_list(shown))  # noqa: S308 - every item escaped above


@register.filter
def amount(value: Any) -> str:
    """An amount grouped by thousands with two decimals (``2,400.00``), as ``floatformat:"2g"``; a
    value that is not a number (a draft keeps what was typed) as it is, and a missing one empty. A
    filter of its own: ``floatformat:"2g"|default:value`` raised on a value missing from a worker's
    draft (a filter's argument is looked up strictly), and the error's text held the whole member."""
    from django.template.defaultfilters import floatformat

    if value is None or value == "":
        return ""
    formatted = floatformat(value, "2g")
    return formatted if formatted != "" else str(value)
