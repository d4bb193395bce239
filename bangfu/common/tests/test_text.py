"""Amounts and areas as people type them (``common.text.plain_amount``)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

import pytest

from bangfu.common.text import decimal_of, not_a_number, plain_amount


@pytest.mark.parametrize(
    ("typed", "plain"),
    [
        ("1,800元", "1800"),
        ("１，８００．５", "1800.5"),
        ("¥1,800", "1800"),
        ("45.5㎡", "45.5"),
        ("45.5 平方米", "45.5"),
        ("12,345,678", "12345678"),
        ("12,345.50", "12345.50"),
        ("1,234,567", "1234567"),
        ("1,200", "1200"),
        ("-1,200.5", "-1200.5"),
        ("45,500", "45500"),
        # Any other comma is left for the error to show (neither a decimal comma nor a thousands
        # separator is guessed: 45,5 was once read as 455, then as 45.5).
        ("1,20", "1,20"),
        ("12,00", "12,00"),
        ("85,5", "85,5"),
        ("1.200,50", "1.200,50"),
        ("1,2,3", "1,2,3"),
        ("１８００，５元", "1800,5"),
        ("12,3456", "12,3456"),
        ("abc", "abc"),
    ],
)
def test_amounts_as_typed(typed: str, plain: str) -> None:
    assert plain_amount(typed) == plain


# The same examples as the department import's SQL (matching): one rule for every amount.
@pytest.mark.parametrize("typed", ["1,20", "12,00", "85,5", "1.200,50", "1,2,3", "45,5"])
def test_a_comma_not_between_thousands_is_refused_saying_so(typed: str) -> None:
    plain = plain_amount(typed)
    with pytest.raises(InvalidOperation):
        Decimal(plain)
    message = not_a_number(plain)
    assert "1,200.50" in message and typed in message


def test_not_a_number_without_a_comma() -> None:
    assert not_a_number("abc") == "Enter a number."


@pytest.mark.parametrize("typed", ["1e9", "1E+9", "2.5e3", "NaN", "Infinity", "-inf", "1_000", "0x10", ""])
def test_only_digits_a_sign_and_a_point_make_an_amount(typed: str) -> None:
    """Python's Decimal read 1e9 as a billion: the phone form took it and said "1E+9 is implausibly
    large", and 2.5e3 would have been taken as 2,500."""
    with pytest.raises(InvalidOperation):
        decimal_of(plain_amount(typed))


def test_a_power_of_ten_is_named() -> None:
    from django.utils import translation

    with translation.override("en"):
        assert not_a_number("2.5e3") == "“2.5e3” is a power of ten; write the amount in full, in digits."
        assert not_a_number("abc") == "Enter a number."
