"""Text as people type and paste it."""

from __future__ import annotations

import re
import unicodedata

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


_CURRENCY = re.compile(r"^(?:¥|￥|RMB|CNY)?\s*(.*?)\s*(?:元|圆|块|元整|yuan|RMB|CNY)?$", re.IGNORECASE)


def without_currency(text: str) -> str:
    """An amount without the currency people write beside it: ``1800元``, ``¥1,800``, ``1800 yuan``
    are the number they mean (the field is in yuan)."""
    found = _CURRENCY.fullmatch(text.strip())
    return found.group(1) if found and found.group(1) else text.strip()


_AREA_UNIT = re.compile(r"\s*(?:m2|平方米|平米|平方)$", re.IGNORECASE)


_DECIMAL_COMMA = re.compile(r"-?(?:\d+|\d{1,3}(?:\.\d{3})+),\d{1,2}")


def plain_amount(text: str) -> str:
    """An amount or an area as typed, made a plain number where it is one: full-width characters
    (``１，８００．５``), the currency or the unit written beside it (``1,800元``, ``¥1800``,
    ``45.5㎡``, ``45.5平方米``), thousands separators and spaces. What is not a number comes back
    as typed (without its padding), for its error to show it."""
    text = unicodedata.normalize("NFKC", text).strip()  # ㎡ and m² become m2, ，becomes ,
    text = without_currency(_AREA_UNIT.sub("", text)).replace(" ", "")
    if _DECIMAL_COMMA.fullmatch(text):
        # ``45,5`` or ``1.800,50``: a comma before one or two last digits is a decimal comma (a
        # thousands separator has three after it), as a phone set to many a language writes it.
        return text.replace(".", "").replace(",", ".")
    return text.replace(",", "")
