"""Amounts and areas as people type them (``common.text.plain_amount``)."""

from __future__ import annotations

import pytest

from bangfu.common.text import plain_amount


@pytest.mark.parametrize(
    ("typed", "plain"),
    [
        ("1,800元", "1800"),
        ("１，８００．５", "1800.5"),
        ("¥1,800", "1800"),
        ("45.5㎡", "45.5"),
        ("45.5 平方米", "45.5"),
        ("12,345,678", "12345678"),
        # A decimal comma: a phone set to a language that writes one (45,5 was read as 455).
        ("45,5", "45.5"),
        ("45,50", "45.50"),
        ("１８００，５元", "1800.5"),
        ("1.800,50", "1800.50"),
        ("-3,5", "-3.5"),
        # Three digits after the comma: thousands.
        ("45,500", "45500"),
        ("abc", "abc"),
    ],
)
def test_amounts_as_typed(typed: str, plain: str) -> None:
    assert plain_amount(typed) == plain
