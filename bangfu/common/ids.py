"""The resident ID number (公民身份号码, GB 11643-1999) as a value type.

``ResidentId.parse`` is the one place where ID numbers are normalised and validated::

    region  birth date  seq  sex  check
    532923  19900101    12   3    X      sex: odd = male; check: ISO 7064 MOD 11-2

Department files write the same number in many ways, so parsing accepts whitespace
anywhere (including U+3000 and NBSP), hyphens, invisible format characters, full-width
digits and X, a lower-case x, and a leading apostrophe (Excel's "text" marker). A 15-digit
legacy number (YYMMDD, no check digit) is converted to 18 digits.

Pure Python at import time (no Django), so rule and matching code can use it; only the
``message`` of an error asks Django for a translation, and is Chinese without Django.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import unicodedata
from dataclasses import dataclass
from typing import Literal
from zoneinfo import ZoneInfo

from bangfu.common import divisions

__all__ = [
    "InvalidResidentId",
    "ResidentId",
    "build_resident_id",
    "compute_check_digit",
    "holds_id_number",
    "mask_id",
]

SHANGHAI = ZoneInfo("Asia/Shanghai")
EARLIEST_BIRTH_YEAR = 1900

# ISO 7064 MOD 11-2: weights of the first 17 digits (2**(17-i) mod 11), check characters.
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK_CHARS = "10X98765432"  # indexed by (sum of weighted digits) mod 11

# Full-width digits U+FF10..FF19 and Ｘ/ｘ (U+FF38/FF58), and a lower-case x.
_FULLWIDTH = str.maketrans("".join(map(chr, range(0xFF10, 0xFF1A))) + "\uff38\uff58x", "0123456789XXX")
_DASHES = frozenset("-\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d")
_SHAPE_RE = re.compile(r"[0-9]{17}[0-9X]|[0-9]{15}")
# What Excel shows for a long number stored as a number (5.32923E+17): digits are lost.
_SCIENTIFIC_RE = re.compile(r"[0-9](?:\.[0-9]*)?E\+?[0-9]+", re.IGNORECASE)


def gettext_noop(message: str) -> str:
    """Marks a msgid for ``makemessages`` (Django's keyword), without importing Django."""
    return message


# code → (English msgid, Chinese used when Django's translations are not available).
# The Chinese should match the zh_Hans catalogue. Each reason is one whole sentence, translated as
# one: shown on its own under a form's field, in an import's list of problems, in a rejected row
# and in the API's error, never pieced together from parts. The codes are stable (the params and
# the wording are not); a character's position counts the number's characters as read, without
# the spaces and hyphens ``parse`` leaves out.
_MESSAGES: dict[str, tuple[str, str]] = {
    "empty": (gettext_noop("The ID number is empty."), "身份证号为空。"),
    "bad_characters": (
        gettext_noop(
            "Character %(position)s of the ID number, “%(character)s”, is not allowed: "
            "an ID number has only digits, and an X only as its last character."
        ),
        "身份证号第%(position)s位的“%(character)s”不允许出现：身份证号只能由数字组成，只有最后一位可以是X。",
    ),
    "lost_digits": (
        gettext_noop(
            "The ID number was stored as a number (for example by Excel), so its last digits are lost: "
            "format the column as text, then export or type the number again."
        ),
        "身份证号被存成了数字（例如在Excel中），后几位已丢失：请把该列设为文本格式，再重新导出或录入。",
    ),
    "misplaced_x": (
        gettext_noop("Character %(position)s of the ID number is an X, which may only be the 18th and last character."),
        "身份证号第%(position)s位是X，而X只能是第18位（最后一位）。",
    ),
    "bad_length": (
        gettext_noop("The ID number should have 18 characters (15 in the old format), not %(length)s."),
        "身份证号应为18位（旧号码为15位），而不是%(length)s位。",
    ),
    "bad_date": (
        gettext_noop(
            "The birth date in the ID number (characters %(first)s to %(last)s), %(date)s, is not a real date."
        ),
        "身份证号中的出生日期%(date)s（第%(first)s至%(last)s位）不是有效日期。",
    ),
    "date_too_early": (
        gettext_noop("The birth date in the ID number, %(date)s, is before 1900."),
        "身份证号中的出生日期%(date)s早于1900年。",
    ),
    "future_date": (
        gettext_noop("The birth date in the ID number, %(date)s, is in the future."),
        "身份证号中的出生日期%(date)s晚于今天。",
    ),
    "bad_region": (
        gettext_noop("The region code of the ID number (its first 6 digits), %(region)s, does not exist."),
        "身份证号的地区码%(region)s（前6位）不存在。",
    ),
    "region_not_in_year": (
        gettext_noop(
            "The region code of the ID number, %(region)s (%(name)s), was withdrawn before the birth year, %(year)s."
        ),
        "身份证号的地区码%(region)s（%(name)s）在出生年份%(year)s年之前已撤销。",
    ),
    "bad_checksum": (
        gettext_noop("The check digit of the ID number (its 18th character) should be %(expected)s, not %(actual)s."),
        "身份证号的校验码（第18位）应为%(expected)s，而不是%(actual)s。",
    ),
}

# The params of a reason that say where in the number it is, not what the number holds: kept
# when reasons alike but for the values they quote are counted as one kind (``InvalidResidentId.kind``).
_WHERE = frozenset({"first", "last"})


class InvalidResidentId(ValueError):  # noqa: N818 - the project's name for it
    """An ID number that cannot be right: ``code`` is stable, ``message`` for people."""

    def __init__(self, code: str, **params: str | int) -> None:
        self.code = code
        self.params: dict[str, str | int] = params
        english = _MESSAGES[code][0] % params
        super().__init__(f"{code}: {english}")

    def __reduce__(self) -> tuple[object, ...]:  # keeps the exception picklable
        return (functools.partial(InvalidResidentId, self.code, **self.params), ())

    @property
    def kind(self) -> str:
        """``message`` without the values it quotes (…), its places kept: the same for every number
        rejected alike (an import's summary counts them as one reason)."""
        blanked = {k: (v if k in _WHERE else "…") for k, v in self.params.items()}
        return InvalidResidentId(self.code, **blanked).message

    @property
    def message(self) -> str:
        """The message in the active language; Chinese when Django is not set up."""
        msgid, chinese = _MESSAGES[self.code]
        try:
            from django.conf import settings
            from django.core.exceptions import AppRegistryNotReady, ImproperlyConfigured
        except ImportError:  # pragma: no cover - Django is a dependency of the project
            return chinese % self.params
        try:
            if not settings.configured:
                return chinese % self.params
            from django.utils.translation import gettext

            return gettext(msgid) % self.params
        except (AppRegistryNotReady, ImproperlyConfigured):
            return chinese % self.params


def compute_check_digit(first17: str) -> str:
    """The 18th character (0-9 or X) for the first 17 digits."""
    if len(first17) != 17 or not first17.isascii() or not first17.isdigit():
        raise ValueError("compute_check_digit needs exactly 17 ASCII digits")
    total = sum(int(d) * w for d, w in zip(first17, _WEIGHTS, strict=True))
    return _CHECK_CHARS[total % 11]


_ID_IN_TEXT = re.compile(r"(?<![0-9])[0-9]{17}[0-9Xx](?![0-9A-Za-z])")


def mask_ids_in(text: str) -> str:
    """``text`` with every valid 18-digit ID number in it masked (``5329**********1234``): for
    free text people write (a note, a reason), which may quote one."""

    def mask(m: re.Match[str]) -> str:
        value = m.group(0).upper()
        return mask_id(value) if compute_check_digit(value[:17]) == value[17] else m.group(0)

    return _ID_IN_TEXT.sub(mask, text) if text else text


# 15, 17 or 18 digits in a row (the last may be X): an ID number, or one with a check digit typed
# wrong or not yet typed. 16 is a file number's length, and is not one.
_ID_RUN = re.compile(r"(?<![0-9])(?:[0-9]{17}[0-9X]?|[0-9]{15})(?![0-9])")


def holds_id_number(text: str) -> bool:
    """Whether ``text`` holds a whole or nearly whole ID number, in any form ``ResidentId.parse``
    reads (spaces, hyphens, full-width digits, a lower-case x, 15 digits) or with a wrong or missing
    check digit, alone or among other text: what must not be put in an address or a log."""
    if not text:
        return False
    return ResidentId.try_parse(text) is not None or bool(_ID_RUN.search(_normalise(text).upper()))


def mask_id(value: str) -> str:
    """First 4 and last 4 characters, the rest as stars: ``5329**********1234``.

    Strings shorter than 12 characters are all stars, so a mask never shows more than 8
    characters nor most of a short string.
    """
    if len(value) < 12:
        return "*" * len(value)
    return value[:4] + "*" * (len(value) - 8) + value[-4:]


def _normalise(raw: str) -> str:
    """Removes the noise department files add; what is left is checked by the caller."""
    text = raw.strip().removeprefix("'")  # a leading ' is Excel's "this cell is text" marker
    kept = (ch for ch in text if not ch.isspace() and ch not in _DASHES and unicodedata.category(ch) != "Cf")
    return "".join(kept).translate(_FULLWIDTH)


def _shape_problem(text: str) -> InvalidResidentId | None:
    """None if ``text`` (normalised) is 15 digits, or 17 digits and a digit or X."""
    if _SHAPE_RE.fullmatch(text):
        return None
    if _SCIENTIFIC_RE.fullmatch(text):
        return InvalidResidentId("lost_digits")
    bad = next((i for i, ch in enumerate(text) if ch not in "0123456789X"), None)
    if bad is not None:
        return InvalidResidentId("bad_characters", position=bad + 1, character=text[bad])
    if len(text) not in (15, 18):
        return InvalidResidentId("bad_length", length=len(text))
    return InvalidResidentId("misplaced_x", position=text.index("X") + 1)


def _region_problem(region: str, birth_year: int) -> InvalidResidentId | None:
    """None if ``region`` can start the ID number of someone born in ``birth_year``."""
    try:
        if not divisions.division_exists(region):
            return InvalidResidentId("bad_region", region=region)
        if divisions.first_year_in_use(region, birth_year) is None:
            name = divisions.division_name(region) or ""
            return InvalidResidentId("region_not_in_year", region=region, name=name, year=birth_year)
    except (KeyError, ValueError, IndexError):  # odd data reads as "unknown region"
        return InvalidResidentId("bad_region", region=region)
    return None


@dataclass(frozen=True, slots=True)
class ResidentId:
    """A valid, normalised 18-character resident ID number.

    Make one with ``parse`` (or ``try_parse``). The constructor itself only checks the
    shape and the check digit, so that numbers already stored load fast.
    """

    value: str

    def __post_init__(self) -> None:
        if not isinstance(self.value, str) or len(self.value) != 18:
            raise InvalidResidentId("bad_length", length=len(str(self.value)))
        problem = _shape_problem(self.value)
        if problem is not None:
            raise problem
        expected = compute_check_digit(self.value[:17])
        if self.value[17] != expected:
            raise InvalidResidentId("bad_checksum", expected=expected, actual=self.value[17])

    # -- parsing -----------------------------------------------------------------

    @classmethod
    def parse(cls, raw: str, *, today: dt.date | None = None) -> ResidentId:
        """Normalise and validate ``raw``; raises InvalidResidentId (a ValueError).

        ``today`` (default: today in Shanghai) bounds the birth date; tests pass it.
        """
        text = _normalise(raw if isinstance(raw, str) else str(raw))
        if not text:
            raise InvalidResidentId("empty")
        problem = _shape_problem(text)
        if problem is not None:
            raise problem

        first17 = text[:6] + "19" + text[6:] if len(text) == 15 else text[:17]
        date_text = f"{first17[6:10]}-{first17[10:12]}-{first17[12:14]}"
        try:
            birth = dt.date(int(first17[6:10]), int(first17[10:12]), int(first17[12:14]))
        except ValueError:
            last = 12 if len(text) == 15 else 14  # the old format writes the year in two digits
            raise InvalidResidentId("bad_date", date=date_text, first=7, last=last) from None
        if birth.year < EARLIEST_BIRTH_YEAR:
            raise InvalidResidentId("date_too_early", date=date_text)
        if birth > (today or dt.datetime.now(SHANGHAI).date()):
            raise InvalidResidentId("future_date", date=date_text)
        problem = _region_problem(first17[:6], birth.year)
        if problem is not None:
            raise problem

        expected = compute_check_digit(first17)
        if len(text) == 18 and text[17] != expected:
            raise InvalidResidentId("bad_checksum", expected=expected, actual=text[17])
        checked = object.__new__(cls)  # everything __post_init__ would check was checked above
        object.__setattr__(checked, "value", first17 + expected)
        return checked

    @classmethod
    def try_parse(cls, raw: str, *, today: dt.date | None = None) -> ResidentId | None:
        """Like ``parse``, but None instead of an error."""
        try:
            return cls.parse(raw, today=today)
        except InvalidResidentId:
            return None

    @classmethod
    def from_int64(cls, key: int) -> ResidentId:
        """The inverse of ``as_int64`` (shape and check digit are re-checked)."""
        first17, check = divmod(key, 11)
        return cls(f"{first17:017d}" + ("X" if check == 10 else str(check)))

    # -- derived values ----------------------------------------------------------

    @property
    def birth_date(self) -> dt.date:
        v = self.value
        return dt.date(int(v[6:10]), int(v[10:12]), int(v[12:14]))

    @property
    def sex(self) -> Literal["M", "F"]:
        """From the parity of the 17th digit: odd is male."""
        return "M" if int(self.value[16]) % 2 else "F"

    @property
    def region_code(self) -> str:
        return self.value[:6]

    @property
    def birthplace(self) -> str | None:
        """Full name of the region, e.g. 云南省大理白族自治州祥云县.

        Strictly the household registration when the number was assigned, named as in
        the first year from the birth year on in which the code was in use.
        """
        try:
            year = divisions.first_year_in_use(self.region_code, self.birth_date.year)
            return divisions.full_name(self.region_code, year)
        except ValueError:  # a number built without parse() may have an impossible date
            return None

    @property
    def masked(self) -> str:
        return mask_id(self.value)

    def as_int64(self) -> int:
        """A compact integer key for joins: first 17 digits * 11 + check (X = 10)."""
        check = self.value[17]
        return int(self.value[:17]) * 11 + (10 if check == "X" else int(check))

    def __str__(self) -> str:
        return self.value

    def __repr__(self) -> str:
        return f"ResidentId({self.masked!r})"


def build_resident_id(region: str, birth: dt.date, seq: int, female: bool) -> str:
    """A valid 18-character ID number (for tests and the synthetic data seeder).

    ``seq`` (0-99) gives the 15th-16th digits; the 17th is 1 for a man, 2 for a woman.
    Only the format is guaranteed: whether ``region`` fits ``birth`` is not checked.
    """
    if len(region) != 6 or not region.isascii() or not region.isdigit():
        raise ValueError("region must be 6 ASCII digits")
    if not 0 <= seq <= 99:
        raise ValueError("seq must be between 0 and 99")
    first17 = f"{region}{birth:%Y%m%d}{seq:02d}{2 if female else 1}"
    return first17 + compute_check_digit(first17)
