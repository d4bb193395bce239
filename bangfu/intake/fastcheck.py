"""A fast yes for the registry's household check, for bulk imports.

``accept(data, today)`` returns the checked members that ``registry.validation.check_household``
would return for ``data`` when it can tell, cheaply, that the registry finds nothing wrong; else
None, and the caller asks ``check_household`` itself (which gives the registry's messages). It
only ever says yes: every problem, and everything it does not know, goes to the registry.

It is the registry's rules for what a legacy import fills in (the sheet's columns; no incomes,
homes, vehicles or business roles), each written as the plain case it accepts:

* ID numbers: already 17 digits and a digit or X (nothing for ``ResidentId.parse`` to normalise),
  a real birth date from 1900 to today, a region code in use in the birth year (looked up once
  per code and year), the right check digit;
* every code in its code list, amounts and dates in range, one head, each person once;
* free text within its column's length, as given (the registry measures some of it stripped:
  never longer).

Why: the registry's check costs ~50 µs a person, mostly parsing the ID number one character at a
time; this takes a few µs. The import also runs the registry's check on a sample of what this
accepts (``SAMPLE_FIRST``, then every ``SAMPLE_EVERY``-th) and stops using it for the file at the
first difference, so a rule added to the registry and missing here costs time, not correctness;
``bangfu/intake/tests/test_legacy_import.py`` compares the two on good and bad households.
"""

from __future__ import annotations

import datetime as dt
import logging
import operator
import re
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from typing import Any

from django.utils import timezone

from bangfu.common import divisions
from bangfu.common.ids import EARLIEST_BIRTH_YEAR, SHANGHAI, ResidentId
from bangfu.common.phones import plain_phone
from bangfu.registry import codes
from bangfu.registry.inputs import HouseholdInput, MemberInput
from bangfu.registry.validation import (
    BANK_TEXT,
    EARLIEST_FILED_ON,
    HOUSEHOLD_TEXT,
    MAX_AGE,
    MAX_MEMBERS,
    MAX_MONTHLY_INCOME,
    MAX_SECONDARY_CAUSES,
    MEMBER_TEXT,
    OPTIONAL_MEMBER_CODES,
    CheckedMember,
)

log = logging.getLogger(__name__)

SAMPLE_FIRST = 20
SAMPLE_EVERY = 500

_ID_RE = re.compile(r"[0-9]{17}[0-9X]")
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_DIGIT_OFFSET = ord("0") * sum(_WEIGHTS)
_CHECK_CHARS = "10X98765432"
_CENT = Decimal("0.01")


def _codes(choices: Any) -> frozenset[Any]:
    return frozenset(choices.values)


_HEAD = codes.Relationship.HEAD.value
_RELATIONSHIP = _codes(codes.Relationship)
_ETHNICITY = _codes(codes.Ethnicity)
_SEX = _codes(codes.Sex)
_CAUSE = _codes(codes.Cause)
_OTHER_CAUSE = codes.Cause.OTHER.value
# Optional member codes: "" or one of the list.
_MEMBER_CODES = tuple((name, _codes(choices) | {""}) for name, choices in OPTIONAL_MEMBER_CODES)
_CATEGORY = _codes(codes.HardshipCategory)
_TIER = _codes(codes.FileTier) | {""}
_STATE = _codes(codes.FileState)
_HOUSING = _codes(codes.HousingType)
_MEDICAL = _codes(codes.MedicalInsurance) | {""}


# Free text within the most characters its column holds (the registry's limits), as given (the
# registry measures some of it stripped: never longer). Written out field by field: a generic loop
# cost 0.1 s a file. ``test_fast_household_check_only_says_yes_when_the_registry_does`` tries each
# of the registry's limits, so a field added there and missing here fails it.
_ADDRESS, _CAUSE_NOTE, _FILED_BY, _REVIEWED_BY = (
    HOUSEHOLD_TEXT[k] for k in ("address", "cause_note", "filed_by_name", "reviewed_by_name")
)
_DISEASE, _PHONE, _SCHOOL, _INDUSTRY, _EMPLOYER = (
    MEMBER_TEXT[k] for k in ("disease_note", "phone", "school_or_employer", "industry", "employer")
)
_BANK, _BRANCH, _HOLDER = (BANK_TEXT[k] for k in ("bank", "branch", "holder_name"))


def _household_fits(d: HouseholdInput) -> bool:
    try:
        return (
            len(d.address) <= _ADDRESS
            and len(d.cause_note) <= _CAUSE_NOTE
            and len(d.filed_by_name) <= _FILED_BY
            and len(d.reviewed_by_name) <= _REVIEWED_BY
        )
    except TypeError:  # not text: the registry says what is wrong
        return False


def _member_fits(m: MemberInput) -> bool:
    try:
        return (
            len(m.phone) <= _PHONE
            and len(m.disease_note) <= _DISEASE
            and len(m.school_or_employer) <= _SCHOOL
            and len(m.industry) <= _INDUSTRY
            and len(m.employer) <= _EMPLOYER
        )
    except TypeError:
        return False


def _bank_fits(acc: Any) -> bool:
    try:
        return len(acc.bank) <= _BANK and len(acc.branch) <= _BRANCH and len(acc.holder_name) <= _HOLDER
    except TypeError:
        return False


@dataclass(frozen=True)
class Today:
    """The two "todays" of the checks: the registry's (the site's time zone) and the ID
    number's (Shanghai); a date must be fine for both."""

    local: dt.date
    shanghai: dt.date

    @classmethod
    def now(cls) -> Today:
        return cls(timezone.localdate(), dt.datetime.now(SHANGHAI).date())


@cache
def _birth(text: str) -> dt.date | None:
    try:
        born = dt.date(int(text[:4]), int(text[4:6]), int(text[6:8]))
    except ValueError:
        return None
    return born if born.year >= EARLIEST_BIRTH_YEAR else None


@cache
def _region_ok(region: str, year: int) -> bool:
    try:
        return divisions.division_exists(region) and divisions.first_year_in_use(region, year) is not None
    except (KeyError, ValueError, IndexError):
        return False


def resident_id(raw: Any, today: Today) -> ResidentId | None:
    """``ResidentId.parse(raw)`` for a number already in its normal form, when it is valid;
    None for anything else (let ``parse`` say what is wrong)."""
    if type(raw) is not str or len(raw) != 18 or not _ID_RE.fullmatch(raw):
        return None
    born = _birth(raw[6:14])
    if born is None or born > today.shanghai or not _region_ok(raw[:6], born.year):
        return None
    total = sum(map(operator.mul, raw[:17].encode("ascii"), _WEIGHTS)) - _DIGIT_OFFSET
    if _CHECK_CHARS[total % 11] != raw[17]:
        return None
    rid = object.__new__(ResidentId)  # what parse returns: everything it checks was checked above
    object.__setattr__(rid, "value", raw)
    return rid


# ``registry.validation.normalise_card`` as one translation (full-width digits to digits; spaces,
# hyphens, ideographic spaces and tabs dropped), without building its table on every call.
_CARD_TABLE = {ord("０") + i: str(i) for i in range(10)} | {ord(ch): None for ch in " -\u3000\t"}


def card(raw: str) -> str:
    """``normalise_card(raw)``."""
    if raw.isascii() and raw.isdigit():  # nothing to change (translate with a table costs ~15× this)
        return raw
    return raw.translate(_CARD_TABLE)


@cache
def _income_ok(value: Decimal) -> bool:
    return value.is_finite() and Decimal(0) <= value <= MAX_MONTHLY_INCOME and value == value.quantize(_CENT)


# A member's codes and the fields this accepts only when empty, as one tuple: the tuples seen to
# pass are kept (a file holds a few hundred of them), so most members take one set look-up.
_CODES_KEY = operator.attrgetter(
    "relationship",
    "ethnicity",
    "sex",
    *(name for name, _allowed in _MEMBER_CODES),
    "disability_grade",
    "deceased",
    "enrolment_year",
    "programme_years",
    "work_start_date",
)
_CODES_OK: set[tuple[Any, ...]] = set()


def _codes_ok(m: MemberInput) -> bool:
    if m.relationship not in _RELATIONSHIP or m.ethnicity not in _ETHNICITY:
        return False
    if m.sex and m.sex not in _SEX:
        return False
    for attr, allowed in _MEMBER_CODES:
        if getattr(m, attr) not in allowed:
            return False
    if m.disability_grade is not None or m.deceased:
        return False
    if m.identity == "working" and m.work_status == "unemployed":  # refused by the registry's check
        return False
    return m.enrolment_year is None and m.programme_years is None and m.work_start_date is None


def _member(m: MemberInput, today: Today) -> CheckedMember | None:
    name = m.name.strip()
    if not name or len(name) > 60 or not name.isalpha() or not _member_fits(m):
        return None  # (a name with more than letters — spaces, dots, zero-width characters: the full check)
    key = _CODES_KEY(m)
    if key not in _CODES_OK:
        if not _codes_ok(m):
            return None
        if len(_CODES_OK) < 10_000:
            _CODES_OK.add(key)
    income = m.monthly_income
    if type(income) is not Decimal or not income.is_finite() or not _income_ok(income):
        return None
    phone = plain_phone(m.phone) if m.phone else ""
    if phone and not (phone.isdigit() and 7 <= len(phone) <= 12):
        return None
    rid = resident_id(m.id_number, today)
    if rid is None:
        return None
    v = rid.value
    sex = "M" if int(v[16]) % 2 else "F"
    birth = _birth(v[6:14])
    if birth is None or (m.sex and m.sex != sex) or (m.birth_date and m.birth_date != birth):
        return None
    t = today.local
    if t.year - birth.year - ((t.month, t.day) < (birth.month, birth.day)) > MAX_AGE:
        return None
    return CheckedMember(m, rid, m.sex or sex, m.birth_date or birth)


def accept(data: HouseholdInput, today: Today) -> list[CheckedMember] | None:
    """The checked members, if ``check_household(data)`` surely finds nothing wrong; else None."""
    if data.unit_id is None or data.category not in _CATEGORY or data.tier not in _TIER:
        return None
    if data.state not in _STATE or data.housing_type not in _HOUSING or data.medical_insurance not in _MEDICAL:
        return None
    if not data.address.strip() or not _household_fits(data):
        return None
    area = data.housing_area
    if area is not None and (type(area) is not Decimal or not (Decimal(0) <= area <= Decimal(5000))):
        return None
    if data.filed_on is not None and not (EARLIEST_FILED_ON <= data.filed_on <= today.local):
        return None
    main, secondary = data.main_cause, data.secondary_causes
    if main is None or main not in _CAUSE:
        return None
    if len(secondary) > MAX_SECONDARY_CAUSES or len(set(secondary)) != len(secondary) or main in secondary:
        return None
    if any(c not in _CAUSE for c in secondary):
        return None
    if (main == _OTHER_CAUSE or _OTHER_CAUSE in secondary) and not data.cause_note.strip():
        return None
    if data.incomes or data.rigid_expenses or data.homes or data.vehicles or data.business_roles:
        return None
    members = data.members
    if not members or len(members) > MAX_MEMBERS:
        return None
    if sum(1 for m in members if m.relationship == _HEAD) != 1:
        return None
    acc = data.bank_account
    if acc is not None:
        if not acc.bank.strip() or not acc.holder_name.strip() or not _bank_fits(acc):
            return None
        number = card(acc.card_number)
        if not number.isdigit() or not (12 <= len(number) <= 19):
            return None
    checked = []
    for m in members:
        c = _member(m, today)
        if c is None:
            return None
        checked.append(c)
    if len({c.rid.value for c in checked}) != len(checked):
        return None
    return checked


def same(fast: list[CheckedMember], slow: list[CheckedMember]) -> bool:
    """Whether two checks of a household gave the same members."""
    return [(c.data, c.rid.value, c.sex, c.birth_date) for c in fast] == [
        (c.data, c.rid.value, c.sex, c.birth_date) for c in slow
    ]


def disagreed(file_number: str, errors: dict[str, Any]) -> None:
    log.warning(
        "legacy import: the fast household check accepted file %s but the registry's check found %s; "
        "checking this file with the registry's check only",
        file_number,
        sorted(errors) or "other members",
    )


__all__ = ["SAMPLE_EVERY", "SAMPLE_FIRST", "Today", "accept", "card", "disagreed", "resident_id", "same"]
