"""``{{ text|reader_language }}``: text stored in the language it was written in (an import's
problems, a timeline's summaries) shown in the reader's language (``common.retranslate``)."""

from __future__ import annotations

from django import template

from bangfu.common.retranslate import in_reader_language

register = template.Library()


@register.filter
def reader_language(text: str) -> str:
    return in_reader_language(str(text)) if text else text
