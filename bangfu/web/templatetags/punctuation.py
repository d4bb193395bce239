"""The punctuation between a label and its value, and between the items of a list, in the active
language: a Chinese page reads "住址：云南省…" and "下岗失业、子女上学", an English one "Address: …"
and "Laid off, Children at school".

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
from django.utils.translation import get_language

register = template.Library()

# Marks for each language whose marks differ from the English ones, by the language's prefix.
_MARKS = {"zh": {"colon": "：", "comma": "、", "semicolon": "；"}}
_ENGLISH = {"colon": ": ", "comma": ", ", "semicolon": "; "}


def mark(name: str) -> str:
    """The mark ``name`` (colon, comma, semicolon) of the active language, spaced as it is written."""
    language = (get_language() or "").split("-")[0]
    return _MARKS.get(language, _ENGLISH)[name]


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
    return mark_safe(mark("comma").join(shown))  # noqa: S308 - every item escaped above


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
