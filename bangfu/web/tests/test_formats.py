"""Dates and times read one way on every page and in both languages (``bangfu.formats``)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.template import Context, Template
from django.utils import translation


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_a_date_or_time_shown_without_a_format_is_iso(language: str, settings: Any) -> None:
    settings.TIME_ZONE = "Asia/Shanghai"
    at = dt.datetime(2026, 3, 5, 1, 7, tzinfo=dt.UTC)
    template = Template(
        "{{ day }}|{{ at }}|{% load i18n %}{% blocktranslate with a=at %}decided {{ a }}{% endblocktranslate %}"
    )
    with translation.override(language):
        text = template.render(Context({"day": dt.date(2026, 3, 5), "at": at}))
    # 01:07 UTC is 09:07 in Shanghai
    assert text.split("|")[:2] == ["2026-03-05", "2026-03-05 09:07"]
    assert text.endswith("2026-03-05 09:07")
