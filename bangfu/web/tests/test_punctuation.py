"""Labels and lists take the punctuation of the page's language (``web.templatetags.punctuation``):
a Chinese page reads "住址：…" and "下岗失业、子女上学", an English one as before."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.template import Context, Template
from django.test import Client
from django.utils import translation

from bangfu.eligibility import services as eligibility
from bangfu.registry.models import Household

SAMPLE = Template(
    "{% load i18n punctuation %}{% translate 'Address' %}{% colon %}{{ a }}|{{ causes|join_list }}|"
    "x{% list_comma %}y{% list_semicolon %}z"
)


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("zh-hans", "住址：北京 &lt;1&gt;|下岗、上学 &amp; 就业|x、y；z"),
        ("en", "Address: 北京 &lt;1&gt;|下岗, 上学 &amp; 就业|x, y; z"),
    ],
)
def test_the_marks_follow_the_language_and_the_items_are_escaped(language: str, expected: str) -> None:
    with translation.override(language):
        shown = SAMPLE.render(Context({"a": "北京 <1>", "causes": ["下岗", "上学 & 就业"]}))
    assert shown == expected


def _text(c: Client, url: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", c.get(url).content.decode()))


def test_the_file_and_its_identification_read_in_chinese(
    xiangyun_household: Household, users: dict[str, Any], settings: Any
) -> None:
    settings.LANGUAGE_CODE = "zh-hans"
    eligibility.standard_set(
        actor=users["province_manager"], division_code="530000", year=2026, dibao_monthly="1001",
        minimum_wage_monthly="1900",
    )  # fmt: skip
    c = Client()
    c.force_login(users["xiangyun_staff"])
    h = xiangyun_household
    file_page = _text(c, f"/households/{h.pk}/")
    assert "主要致困原因：患重特大疾病" in file_page and "次要致困原因：下岗失业" in file_page
    assert "2,400.00" in file_page  # grouped in Chinese too, as the reasons write amounts
    c.post(f"/eligibility/households/{h.pk}/compute/")
    decision = _text(c, f"/eligibility/households/{h.pk}/")
    assert "当前认定结果：深度困难" in decision
    assert ": " not in decision.split("当前认定结果", 1)[1][:40]
