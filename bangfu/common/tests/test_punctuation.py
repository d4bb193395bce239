"""Lists made in Python read in the active language's punctuation (``common.punctuation``): "、"
between the items of a Chinese message, ", " in an English one — the legacy import's problems and
notes, the department import's column lists, the pages' ``join_list`` filter alike."""

from __future__ import annotations

import pytest
from django.template import Context, Template
from django.utils import translation
from django.utils.translation import gettext_lazy

from bangfu.common.punctuation import join_list, mark
from bangfu.intake import legacy

COMMA = {"zh-hans": "、", "en": ", "}


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_a_list_is_joined_with_the_language_s_comma(language: str) -> None:
    with translation.override(language):
        assert join_list(["姓名", gettext_lazy("Name"), 3]) == COMMA[language].join(
            ["姓名", str(translation.gettext("Name")), "3"]
        )
        assert join_list([]) == ""
        assert mark("comma") == COMMA[language]


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_the_template_filter_joins_as_python_does(language: str) -> None:
    items = ["下岗", "上学"]
    with translation.override(language):
        shown = Template("{% load punctuation %}{{ items|join_list }}").render(Context({"items": items}))
        assert shown == join_list(items)


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("zh-hans", ["缺少列：住址、住房类型", "无法识别的列：车牌、房产"]),
        ("en", ["missing columns: 住址, 住房类型", "unknown columns: 车牌, 房产"]),
    ],
)
def test_the_legacy_import_names_the_columns_in_the_language_s_list(language: str, expected: list[str]) -> None:
    """The legacy import joined the columns with "、" in English messages too."""
    headers = [c.header for c in legacy.COLUMNS if c.header not in ("住址", "住房类型")] + ["车牌", "房产"]
    with translation.override(language):
        assert legacy._header_problems(headers) == expected


@pytest.mark.parametrize(("language", "expected"), [("zh-hans", "7、9–11"), ("en", "7, 9–11")])
def test_row_runs_follow_the_language(language: str, expected: str) -> None:
    with translation.override(language):
        assert legacy.row_runs([11, 7, 9, 10]) == expected


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_a_value_not_allowed_lists_the_allowed_in_the_language_s_list(language: str) -> None:
    with translation.override(language):
        text = legacy._not_allowed("x", next(c.key for c in legacy.COLUMNS if legacy._allowed_words(c.key)))
    other = COMMA["en" if language == "zh-hans" else "zh-hans"]
    assert COMMA[language] in text and other not in text, text
