"""Values as fields of PostgreSQL's COPY text format, for the bulk writers (imports, recompute)."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

# COPY's text format: a tab between fields, a newline after each row, \N for NULL, and a
# backslash before a backslash, tab, newline or carriage return inside a value.
SPECIAL = ("\\", "\t", "\n", "\r")


def escape(text: str) -> str:
    # str.replace, not str.translate: translate takes a slow path for text that is not ASCII.
    if "\\" in text or "\t" in text or "\n" in text or "\r" in text:
        return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    return text


def field(value: Any) -> str:
    """One value as a field of COPY text, as psycopg writes it (a JSON field's value is its JSON; a
    time in UTC, so that equal times have one text)."""
    if value is None:
        return "\\N"
    if value is True:
        return "t"
    if value is False:
        return "f"
    if isinstance(value, str):
        return escape(str(value))
    if isinstance(value, int | Decimal | float):
        return str(value)
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat() if value.tzinfo else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, list | dict):
        return escape(json.dumps(value))
    return escape(str(value))
