"""The punctuation of the active language between a label and its value and between the items of a
list, for text made in Python as for the pages (``web.templatetags.punctuation`` uses the same
marks): a Chinese message reads "缺少列：姓名、身份证号", an English one "missing columns: Name, ID
number". The English marks carry their space; the Chinese full-width ones need none."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.utils.translation import get_language

# Marks for each language whose marks differ from the English ones, by the language's prefix.
_MARKS = {"zh": {"colon": "：", "comma": "、", "semicolon": "；"}}
_ENGLISH = {"colon": ": ", "comma": ", ", "semicolon": "; "}


def mark(name: str) -> str:
    """The mark ``name`` (colon, comma, semicolon) of the active language, spaced as it is written."""
    language = (get_language() or "").split("-")[0]
    return _MARKS.get(language, _ENGLISH)[name]


def join_list(values: Iterable[Any]) -> str:
    """The items of a list a person reads, joined in the active language: "姓名、身份证号" in
    Chinese, "Name, ID number" in English. Each item is made text (a lazy translation in the
    language active now)."""
    return mark("comma").join(str(v) for v in values)
