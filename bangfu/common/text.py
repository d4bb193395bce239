"""Text as people type and paste it."""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal, InvalidOperation

_SPACES = re.compile(r"\s+")


def clean_name(text: str) -> str:
    """A person's name as it is kept: without format characters (zero-width spaces and joiners, a
    byte-order mark, direction marks — pasted from a chat or a web page, they show nothing and make
    the name unfindable by what is typed), white space of any kind inside as one space (an
    ideographic or no-break space between a family and a given name), none at either end."""
    if text.isprintable() and "  " not in text:  # most names: nothing to take out
        return text.strip()
    kept = "".join(ch for ch in text if unicodedata.category(ch) != "Cf")
    return _SPACES.sub(" ", kept).strip()


def clean_reason(text: str) -> str:
    """A reason or note as it is kept: without format characters (a reason of zero-width spaces
    shows nothing), without white space at either end."""
    if not text.isprintable():
        text = "".join(ch for ch in text if unicodedata.category(ch) != "Cf")
    return text.strip()


def shortened(value: str, most: int = 80) -> str:
    """A value as a message quotes it: a long one (an address, a cell of a whole page pasted) cut
    with an ellipsis, so that the message stays readable and within what is kept of it."""
    return value if len(value) <= most else value[: most - 1] + "…"


_CURRENCY = re.compile(r"^(?:¥|￥|RMB|CNY)?\s*(.*?)\s*(?:元|圆|块|元整|yuan|RMB|CNY)?$", re.IGNORECASE)


def without_currency(text: str) -> str:
    """An amount without the currency people write beside it: ``1800元``, ``¥1,800``, ``1800 yuan``
    are the number they mean (the field is in yuan)."""
    found = _CURRENCY.fullmatch(text.strip())
    return found.group(1) if found and found.group(1) else text.strip()


_AREA_UNIT = re.compile(r"\s*(?:m2|平方米|平米|平方)$", re.IGNORECASE)


# A comma between thousands only: 1,200 and 12,345.50 and 1,234,567. Any other comma (1,20, 12,00,
# 85,5, 1.200,50, 1,2,3) could be a decimal comma or a slip, and a guess either way takes another
# amount without a word: such an amount is refused (``not_a_number``), and the person writes it again.
_THOUSANDS = re.compile(r"[-+]?\d{1,3}(?:,\d{3})+(?:\.\d*)?")


def plain_amount(text: str) -> str:
    """An amount or an area as typed, made a plain number where it is one: full-width characters
    (``１，８００．５``), the currency or the unit written beside it (``1,800元``, ``¥1800``,
    ``45.5㎡``, ``45.5平方米``), commas between thousands and spaces. What is not a number — a
    comma anywhere else among them — comes back as typed (without its padding), for its error to
    show it (``not_a_number``)."""
    text = unicodedata.normalize("NFKC", text).strip()  # ㎡ and m² become m2, ，becomes ,
    text = without_currency(_AREA_UNIT.sub("", text)).replace(" ", "")
    if "," in text and _THOUSANDS.fullmatch(text):
        return text.replace(",", "")
    return text


# A number as people write an amount: digits, a sign, a decimal point. Python's Decimal also reads
# 1e9, NaN, Infinity and 1_000, which no one means by an amount typed in a box or a cell.
_PLAIN_NUMBER = re.compile(r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)")
_POWER_OF_TEN = re.compile(r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)[eE][-+]?\d+")


def decimal_of(plain: str) -> Decimal:
    """``plain`` (an amount made plain by ``plain_amount``) as a number; ``InvalidOperation`` for
    anything but digits with a sign and a decimal point (``not_a_number`` says why)."""
    if not _PLAIN_NUMBER.fullmatch(plain):
        raise InvalidOperation(plain)
    return Decimal(plain)


def not_a_number(plain: str) -> str:
    """The error of an amount that ``plain_amount`` could not make a number: a comma not between
    thousands is named as such (it is not read as a decimal comma), a power of ten (1e9, as a
    spreadsheet shows a long number) too, anything else is not a number."""
    from django.utils.translation import gettext as _

    if _POWER_OF_TEN.fullmatch(plain):
        return _("“%(value)s” is a power of ten; write the amount in full, in digits.") % {"value": shortened(plain)}
    if "," in plain:
        return _(
            "“%(value)s”: write decimals with a point, and a comma only between thousands (for example 1,200.50)."
        ) % {"value": shortened(plain)}
    return _("Enter a number.")


# A date written in one of the forms people type (2019-03-05, 2019/3/5, 2019.3.5, 20190305,
# 2019年3月5日), whether or not the day exists.
_DATE_SHAPE = re.compile(r"(\d{4})(?:[-/.](\d{1,2})[-/.](\d{1,2})|年(\d{1,2})月(\d{1,2})日?|(\d{2})(\d{2}))")


def date_message(text: str) -> str:
    """Why ``text`` is not a date: a day that does not exist (2020-02-30, 1980-13-01) said so, not
    asked for in a form it is already in; else the form asked for."""
    from django.utils.translation import gettext as _

    if _DATE_SHAPE.fullmatch(text.strip()):
        return _("There is no such day as %(value)s: check the month and the day.") % {"value": text.strip()}
    return _("Enter a date as YYYY-MM-DD.")
