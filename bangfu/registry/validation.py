"""Validation of a household input: every problem at once, each under the path of its field.

The same messages reach the staff UI (under each field) and the API (in the error body), because
both call the services that call this. Paths: ``main_cause``, ``members.1.id_number``,
``incomes.0.amount_yearly``, ``bank_account.card_number``.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from functools import cache
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from bangfu.common.errors import ErrorCollector
from bangfu.common.ids import InvalidResidentId, ResidentId
from bangfu.common.phones import plain_phone
from bangfu.common.text import clean_name, clean_reason

from . import codes
from .inputs import HouseholdInput, MemberInput

MAX_MEMBERS = 20
MAX_AGE = 120
MAX_MONTHLY_INCOME = Decimal("1000000")
MAX_YEARLY_AMOUNT = Decimal("100000000")
MAX_SECONDARY_CAUSES = 3

# Free text and the most characters its column holds (as the models declare), per place in the
# input. Longer text is refused under its field: PostgreSQL would refuse the row (an error page
# instead of a message) and SQLite would keep text the edit form cannot show whole.
HOUSEHOLD_TEXT = {"address": 200, "cause_note": 200, "filed_by_name": 50, "reviewed_by_name": 50}
MEMBER_TEXT = {"disease_note": 200, "phone": 20, "school_or_employer": 100, "industry": 60, "employer": 100}
NOTE_TEXT = {"note": 200}
COMPANY_TEXT = {"company": 100}
BANK_TEXT = {"bank": 60, "branch": 100, "holder_name": 60}
STORED_STRIPPED = frozenset({*HOUSEHOLD_TEXT, "company", *BANK_TEXT})


@dataclass(frozen=True)
class CheckedMember:
    data: MemberInput
    rid: ResidentId
    sex: str
    birth_date: date
    # The member's place among the input's members (-1: its place in the list it is given in). A
    # member whose own check failed is left out of the checked list, so the places of those after
    # it differ from their positions in that list.
    index: int = -1

    def place(self, position: int) -> int:
        """Where an error of this member goes (``members.<place>.…``), given its position in the checked list."""
        return self.index if self.index >= 0 else position


# No hardship file is older than the unions' assistance centres (set up from the 1990s).
EARLIEST_FILED_ON = date(1990, 1, 1)


@cache
def _allowed(choices: type) -> frozenset[object]:
    """A code list's values, built once (Django rebuilds ``choices.values`` on every access)."""
    return frozenset(choices.values)  # type: ignore[attr-defined]


def _choice(errors: ErrorCollector, path: str, value: object, choices: type, required: bool) -> None:
    if value in ("", None):
        if required:
            errors.add(path, _("This field is required."))
        return
    if value not in _allowed(choices):
        errors.add(path, _("“%(value)s” is not one of the allowed values.") % {"value": value})


def _required(errors: ErrorCollector, path: str, value: object) -> None:
    """A value that must be given (what it is worth is ``_choice``'s or ``_amount_value``'s)."""
    if value in ("", None):
        errors.add(path, _("This field is required."))


def _amount_value(errors: ErrorCollector, path: str, value: Decimal | None, maximum: Decimal) -> None:
    """An amount given (None: nothing to say): a number of yuan and fen, from 0 to ``maximum``."""
    if value is None:
        return
    if not value.is_finite():
        errors.add(path, _("Enter a number."))
    elif value < 0:
        errors.add(path, _("Amounts cannot be negative."))
    elif value > maximum:
        errors.add(path, _("%(value)s is implausibly large.") % {"value": value})
    elif value != value.quantize(Decimal("0.01")):
        errors.add(path, _("Use at most two decimal places (yuan and fen)."))


def _lengths(errors: ErrorCollector, prefix: str, item: object, limits: dict[str, int]) -> None:
    """Text longer than its column: measured as stored (names, addresses and the bank's fields
    are stored stripped and without format characters, notes and a member's other text as given)."""
    for name, limit in limits.items():
        value = getattr(item, name, "")
        if not isinstance(value, str):
            continue
        n = len(clean_reason(value)) if name in STORED_STRIPPED else len(value)
        if n > limit:
            errors.add(prefix + name, _("Enter at most %(max)s characters (%(n)s given).") % {"max": limit, "n": n})


# A member's optional coded fields: empty, or one of the code list.
OPTIONAL_MEMBER_CODES: list[tuple[str, Any]] = [
    ("health", codes.Health),
    ("disability_type", codes.DisabilityType),
    ("medical_insurance", codes.MedicalInsurance),
    ("marital", codes.Marital),
    ("hukou", codes.Hukou),
    ("identity", codes.Identity),
    ("work_status", codes.WorkStatus),
    ("school_level", codes.SchoolLevel),
    ("political_status", codes.Political),
    ("model_worker_level", codes.ModelWorkerLevel),
    ("employer_type", codes.EmployerType),
    ("enterprise_state", codes.EnterpriseState),
]


# Besides letters and combining marks: the space, the middle dot in the forms people type it
# (艾合买提·阿吉), a full stop as an initial's, a hyphen, an apostrophe, and brackets.
NAME_PUNCTUATION = frozenset(" \u00b7\u2022\u2027\u30fb\uff65\u2219\u22c5.\uff0e-'\u2019()\uff08\uff09")


def _name_character(ch: str) -> bool:
    return ch.isalpha() or ch in NAME_PUNCTUATION or unicodedata.category(ch).startswith("M")


def member_values(errors: ErrorCollector, i: int, m: MemberInput, today: date) -> None:
    """A member's values given, each on its own (``household_values``)."""
    p = f"members.{i}."
    _lengths(errors, p, m, MEMBER_TEXT)
    _choice(errors, p + "relationship", m.relationship, codes.Relationship, False)
    _choice(errors, p + "ethnicity", m.ethnicity, codes.Ethnicity, False)
    _choice(errors, p + "sex", m.sex, codes.Sex, False)
    for name, choices in OPTIONAL_MEMBER_CODES:
        _choice(errors, p + name, getattr(m, name), choices, False)
    if m.disability_grade is not None and m.disability_grade not in _allowed(codes.DisabilityGrade):
        errors.add(p + "disability_grade", _("The disability grade is 1 (most severe) to 4."))
    _amount_value(errors, p + "monthly_income", m.monthly_income, MAX_MONTHLY_INCOME)
    if m.enrolment_year is not None and not (1950 <= m.enrolment_year <= today.year + 1):
        errors.add(p + "enrolment_year", _("The enrolment year is not plausible."))
    if m.programme_years is not None and not (1 <= m.programme_years <= 10):
        errors.add(p + "programme_years", _("A programme lasts 1 to 10 years."))
    if m.work_start_date and m.work_start_date > today:
        errors.add(p + "work_start_date", _("The date is in the future."))


def check_member(errors: ErrorCollector, i: int, m: MemberInput, today: date) -> CheckedMember | None:
    """One member whole: the values given (``member_values``), then what must be given and how
    they fit together; the member checked, or None when the ID number cannot be read."""
    member_values(errors, i, m, today)
    return _member_complete(errors, i, m, today)


def _member_complete(errors: ErrorCollector, i: int, m: MemberInput, today: date) -> CheckedMember | None:
    p = f"members.{i}."
    name = clean_name(m.name)
    if name != m.name:  # kept without zero-width characters and odd spaces, so that a search finds it
        m = replace(m, name=name)
    if not any(ch.isalpha() for ch in m.name):
        # Blank, or only what shows nothing or no name: a zero-width space pasted from a chat, a dot.
        errors.add(p + "name", _("Enter the name."))
    elif not m.name.isalpha() and not all(_name_character(ch) for ch in m.name):
        # An emoji, a digit or markup: it goes on to bank payments and department checks as typed.
        errors.add(p + "name", _("A name holds letters, spaces, the middle dot, hyphens and brackets only."))
    elif not m.name[0].isalpha():
        # ``-李四``, ``·李四``: a search for 李四 (a prefix) does not find it, and a spreadsheet
        # reads a leading hyphen as a formula's minus, so the exports write it as text ('-李四).
        errors.add(p + "name", _("A name starts with a letter, not “%(char)s”.") % {"char": m.name[0]})
    elif len(m.name.strip()) > 60:
        errors.add(p + "name", _("The name is longer than 60 characters."))
    _required(errors, p + "relationship", m.relationship)
    _required(errors, p + "ethnicity", m.ethnicity)
    if m.disability_grade is not None and not m.disability_type:
        errors.add(p + "disability_type", _("Give the disability type for a disability grade."))
    if m.identity == codes.Identity.WORKING and m.work_status == codes.WorkStatus.UNEMPLOYED:
        # Identification counts a working person's own income and an unemployed one's at least the
        # minimum wage: the pair says both, and would be read as working.
        errors.add(
            p + "identity",
            _(
                "“Working” does not fit the work status “Unemployed”: choose “Without a job”, or change the "
                "work status."
            ),
        )
    if m.monthly_income is None:
        errors.add(p + "monthly_income", _("This field is required."))
    phone = plain_phone(m.phone) if m.phone else ""
    if phone and not phone.isdigit():  # spaces, dashes, +86 and full-width digits: as typed
        errors.add(p + "phone", _("A phone number has digits only."))
    elif phone and not 7 <= len(phone) <= 12:  # a landline without its area code to a mobile or one with it
        errors.add(p + "phone", _("A phone number has 7 to 12 digits (a mobile number 11)."))

    try:
        rid = ResidentId.parse(m.id_number)
    except InvalidResidentId as exc:
        errors.add(p + "id_number", exc.message)
        return None
    sex = m.sex or rid.sex
    birth = m.birth_date or rid.birth_date
    if m.sex and m.sex != rid.sex:
        errors.add(p + "sex", _("The sex does not match the ID number."))
    if m.birth_date and m.birth_date != rid.birth_date:
        errors.add(
            p + "birth_date",
            _("The birth date does not match the ID number (%(date)s).") % {"date": rid.birth_date.isoformat()},
        )
    age = today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))
    if age > MAX_AGE:
        errors.add(p + "birth_date", _("An age of %(age)s years is not plausible.") % {"age": age})
    if m.work_start_date and m.work_start_date < birth:
        errors.add(p + "work_start_date", _("Work cannot start before birth."))
    return CheckedMember(m, rid, sex, birth, i)


def household_values(data: HouseholdInput, today: date | None = None) -> ErrorCollector:
    """The values given, each on its own: what no application or file could hold whatever else
    is filled in — an amount below zero or past its bound, an area out of range, a code not in its
    list, a year or a grade out of range, a date in the future, text longer than its column.

    Nothing here asks for a value, nor how values fit together (one head, an ID number's check
    digit, the sex against the ID number), nor numbers typed a digit at a time (ID, phone and card
    numbers: half typed is not yet wrong): that is ``check_household``'s, which runs this too. A
    draft is saved with these checks alone (``intake.data.draft_errors``)."""
    errors = ErrorCollector()
    today = today or timezone.localdate()
    _choice(errors, "tier", data.tier, codes.FileTier, False)
    _choice(errors, "housing_type", data.housing_type, codes.HousingType, False)
    _choice(errors, "medical_insurance", data.medical_insurance, codes.MedicalInsurance, False)
    _lengths(errors, "", data, HOUSEHOLD_TEXT)
    if data.housing_area is not None and not (Decimal(0) <= data.housing_area <= Decimal(5000)):
        errors.add("housing_area", _("The floor area must be between 0 and 5,000 m²."))
    if data.filed_on and data.filed_on > today:
        errors.add("filed_on", _("The date is in the future."))
    elif data.filed_on and data.filed_on < EARLIEST_FILED_ON:
        # A year typed in the wrong place ("2024/3/5" read as 0435-02-02) or cut short (0011).
        errors.add(
            "filed_on",
            _("Hardship files were first kept in %(year)s: check the year.") % {"year": EARLIEST_FILED_ON.year},
        )
    if data.main_cause is not None and data.main_cause not in _allowed(codes.Cause):
        errors.add("main_cause", _("“%(value)s” is not one of the allowed values.") % {"value": data.main_cause})
    if len(data.secondary_causes) > MAX_SECONDARY_CAUSES:
        errors.add(
            "secondary_causes",
            _("Choose at most three secondary causes (%(n)s chosen).") % {"n": len(data.secondary_causes)},
        )
    if any(c not in _allowed(codes.Cause) for c in data.secondary_causes):
        errors.add("secondary_causes", _("A secondary cause is not one of the allowed values."))
    if len(set(data.secondary_causes)) != len(data.secondary_causes):
        errors.add("secondary_causes", _("A secondary cause is listed twice."))
    for i, m in enumerate(data.members[:MAX_MEMBERS]):
        member_values(errors, i, m, today)
    for name in ("accident_costs_yearly", "private_school_fees_yearly", "public_school_fees_yearly"):
        _amount_value(errors, name, getattr(data, name), MAX_YEARLY_AMOUNT)
    for coll, kinds in [("incomes", codes.IncomeKind), ("rigid_expenses", codes.RigidExpenseKind)]:
        for i, item in enumerate(getattr(data, coll)):
            _choice(errors, f"{coll}.{i}.kind", item.kind, kinds, False)
            _amount_value(errors, f"{coll}.{i}.amount_yearly", item.amount_yearly, MAX_YEARLY_AMOUNT)
            _lengths(errors, f"{coll}.{i}.", item, NOTE_TEXT)
    for i, home in enumerate(data.homes):
        if home.floor_area is not None and not (Decimal(0) < home.floor_area <= Decimal(5000)):
            errors.add(f"homes.{i}.floor_area", _("The floor area must be between 0 and 5,000 m²."))
        if home.acquired_on and home.acquired_on > today:
            errors.add(f"homes.{i}.acquired_on", _("The date is in the future."))
        _lengths(errors, f"homes.{i}.", home, NOTE_TEXT)
    if data.bank_account is not None:
        _lengths(errors, "bank_account.", data.bank_account, BANK_TEXT)
    return errors


def check_household(data: HouseholdInput) -> tuple[ErrorCollector, list[CheckedMember]]:
    """Validate everything that needs no database; the services add what does. The values given,
    each on its own (``household_values``), then what must be given and how the values fit
    together."""
    today = timezone.localdate()
    errors = household_values(data, today)
    if data.unit_id is None:
        errors.add("unit_id", _("Choose the union that keeps this file."))
    _choice(errors, "category", data.category, codes.HardshipCategory, True)
    _choice(errors, "state", data.state, codes.FileState, True)
    _required(errors, "housing_type", data.housing_type)
    if not clean_reason(data.address):  # a zero-width space or a direction mark alone is no address
        errors.add("address", _("Enter the address."))

    # Causes: exactly one main cause and up to three different secondary causes.
    if data.main_cause is None:
        errors.add("main_cause", _("Choose the main cause of hardship."))
    if data.main_cause is not None and data.main_cause in data.secondary_causes:
        errors.add("secondary_causes", _("The main cause cannot also be a secondary cause."))
    if codes.Cause.OTHER in [data.main_cause, *data.secondary_causes] and not clean_reason(data.cause_note):
        errors.add("cause_note", _("Describe the “other” cause."))

    # Members: one head, a plausible number, each person once.
    checked: list[CheckedMember] = []
    if not data.members:
        errors.add("members", _("A household needs at least its head."))
    elif len(data.members) > MAX_MEMBERS:
        errors.add(
            "members",
            _("%(n)s members is more than the %(max)s a household file can hold.")
            % {"n": len(data.members), "max": MAX_MEMBERS},
        )
    else:
        heads = [i for i, m in enumerate(data.members) if m.relationship == codes.Relationship.HEAD]
        if len(heads) != 1:
            errors.add(
                "members", _("Exactly one member must be the head of household (%(n)s given).") % {"n": len(heads)}
            )
        seen: dict[str, int] = {}
        for i, m in enumerate(data.members):
            cm = _member_complete(errors, i, m, today)
            if cm is None:
                continue
            if cm.rid.value in seen:
                first = seen[cm.rid.value]
                # The page shows the head apart from the other members: "member 1" read as this row.
                message = (
                    _("The same ID number is already given for the head of household.")
                    if data.members[first].relationship == codes.Relationship.HEAD
                    else _("The same ID number is already given for member %(n)s.") % {"n": first + 1}
                )
                errors.add(f"members.{i}.id_number", message)
            else:
                seen[cm.rid.value] = i
            checked.append(cm)
        head = next((m for m in data.members if m.relationship == codes.Relationship.HEAD), None)
        if head is not None and head.deceased:
            errors.add("members", _("The head of household cannot be marked deceased; choose another head."))

    for name in ("accident_costs_yearly", "private_school_fees_yearly", "public_school_fees_yearly"):
        _required(errors, name, getattr(data, name))
    for coll in ("incomes", "rigid_expenses"):
        for i, item in enumerate(getattr(data, coll)):
            _required(errors, f"{coll}.{i}.kind", item.kind)
            _required(errors, f"{coll}.{i}.amount_yearly", item.amount_yearly)
    for i, home in enumerate(data.homes):
        _required(errors, f"homes.{i}.floor_area", home.floor_area)
    for i, v in enumerate(data.vehicles):
        _choice(errors, f"vehicles.{i}.kind", v.kind, codes.VehicleKind, True)
        _lengths(errors, f"vehicles.{i}.", v, NOTE_TEXT)
    for i, b in enumerate(data.business_roles):
        _choice(errors, f"business_roles.{i}.role", b.role, codes.BusinessRoleKind, True)
        if not clean_reason(b.company):
            errors.add(f"business_roles.{i}.company", _("Enter the company name."))
        _lengths(errors, f"business_roles.{i}.", b, COMPANY_TEXT)
    if data.bank_account is not None:
        acc = data.bank_account
        if not clean_reason(acc.bank):
            errors.add("bank_account.bank", _("Enter the bank."))
        if not clean_name(acc.holder_name):
            errors.add("bank_account.holder_name", _("Enter the account holder's name."))
        card = normalise_card(acc.card_number)
        if not card.isdigit() or not (12 <= len(card) <= 19):
            errors.add("bank_account.card_number", _("A bank card number has 12 to 19 digits."))
    return errors, checked


_CARD_TABLE = {**{ord("０") + i: str(i) for i in range(10)}, **dict.fromkeys(map(ord, " -\u3000\t"))}


def normalise_card(raw: str) -> str:
    """Digits of a card number as people type it (spaces, hyphens, full-width digits)."""
    return raw.translate(_CARD_TABLE)
