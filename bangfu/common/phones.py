"""Phone numbers in one written form.

A worker signs in with a mobile number, and the yearly review finds the file whose head has that
number: so a number is written into a file in the form a sign-in has, whatever way it was typed
(a Chinese keyboard's full-width digits, spaces or dashes between groups, the country code).
"""

from __future__ import annotations

import re
import unicodedata

MOBILE_WITH_CODE_RE = re.compile(r"(\+86|0086|86)1[3-9][0-9]{9}")


def plain_phone(raw: str) -> str:
    """A phone number as a sign-in has it: full-width digits made plain, spaces and dashes
    dropped, and the country code of a mobile number."""
    if not raw or (raw.isascii() and raw.isdigit()):
        return raw or ""
    phone = re.sub(r"[\s-]", "", unicodedata.normalize("NFKC", raw))
    return phone[-11:] if MOBILE_WITH_CODE_RE.fullmatch(phone) else phone


def mask_phone(phone: str) -> str:
    """A phone number as a reader who does not do the casework sees it: ``138****0003``."""
    from .crypto import mask_middle

    phone = (phone or "").strip()
    if not phone:
        return ""
    return mask_middle(phone, 3, 4) if len(phone) >= 8 else mask_middle(phone, 0, 2)
