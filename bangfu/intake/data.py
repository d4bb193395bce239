"""The application's form data: JSON in the shape of ``registry.inputs.HouseholdInput``.

A draft may be partial; ``to_input`` reads whatever is there (reporting unreadable values under
their field path) and ``submit_errors`` gives every missing or wrong field with the registry's own
messages, so the worker sees the same message a cadre would see on the staff form.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import fields
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils.translation import gettext as _

from bangfu.common.crypto import mask_middle
from bangfu.common.errors import ErrorCollector
from bangfu.common.ids import ResidentId, mask_id
from bangfu.common.phones import mask_phone, plain_phone
from bangfu.common.text import clean_name, clean_reason, date_message, decimal_of, not_a_number, plain_amount
from bangfu.registry import codes
from bangfu.registry.inputs import AmountInput, BankAccountInput, HomeInput, HouseholdInput, MemberInput
from bangfu.registry.validation import CheckedMember, check_household, household_values, normalise_card

from .models import ApplicationKind

# Household fields the applicant fills in (the rest are set by the approval).
TOP_FIELDS = (
    "is_migrant_worker",
    "main_cause",
    "secondary_causes",
    "cause_note",
    "address",
    "housing_type",
    "housing_area",
    "medical_insurance",
    "self_reliant",
)
MEMBER_FIELDS = tuple(f.name for f in fields(MemberInput) if f.name != "member_id")
_MEMBER_TYPES = {f.name: str(f.type) for f in fields(MemberInput)}
COLLECTIONS = {"incomes": ("kind", "amount_yearly", "note"), "rigid_expenses": ("kind", "amount_yearly", "note")}
BANK_FIELDS = ("bank", "branch", "holder_name", "card_number")
# Errors on fields the approval sets, not the worker.
NOT_THE_APPLICANTS = frozenset({"unit_id", "category", "state", "tier", "filed_on"})
PLACEHOLDER_CATEGORY = codes.HardshipCategory.DEEP


def _jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def shape_errors(raw: Any) -> ErrorCollector:
    """What ``normalise`` would otherwise drop without a word: the lists of the form (members,
    incomes, …) that are not lists of objects, a bank account that is not an object."""
    errors = ErrorCollector()
    if not isinstance(raw, dict):
        errors.add("form", _("The form is an object of fields."))
        return errors
    for name in ("members", *COLLECTIONS, "homes"):
        value = raw.get(name)
        if value is None:
            continue
        if not isinstance(value, list):
            errors.add(name, _("A list is expected here."))
            continue
        if len(value) > DRAFT_LIST_MAX:
            # A draft is bounded too (a phone sends no more): not only at submit.
            errors.add(name, _("At most %(n)s rows here.") % {"n": DRAFT_LIST_MAX})
            continue
        for i, item in enumerate(value):
            if not isinstance(item, dict):
                errors.add(f"{name}.{i}", _("An object of fields is expected here."))
    bank = raw.get("bank_account")
    if bank is not None and not isinstance(bank, dict):
        errors.add("bank_account", _("An object of fields is expected here."))
    causes = raw.get("secondary_causes")
    if isinstance(causes, list) and len(causes) > DRAFT_LIST_MAX:
        errors.add("secondary_causes", _("At most %(n)s rows here.") % {"n": DRAFT_LIST_MAX})
    for path, text in _texts(raw):
        if len(text) > DRAFT_TEXT_MAX:
            errors.add(path, _("At most %(n)s characters here.") % {"n": DRAFT_TEXT_MAX})
    return errors


# What a draft holds at most, before the submit's own limits: a bound on what one phone can store.
DRAFT_LIST_MAX = 30
DRAFT_TEXT_MAX = 2000


def _texts(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """Every text of a decoded form with its dotted path."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _texts(item, f"{path}.{key}".strip("."))
    elif isinstance(value, list):
        for i, item in enumerate(value[:DRAFT_LIST_MAX]):
            yield from _texts(item, f"{path}.{i}".strip("."))


def _member_kept(m: dict[str, Any]) -> dict[str, Any]:
    """A member's known keys; the name as names are kept (no zero-width or direction-override
    characters: the case's header, the notice list and the name check read it as it is stored)
    and the phone as a sign-in has it."""
    out = {k: _jsonable(m[k]) for k in MEMBER_FIELDS if k in m}
    if isinstance(out.get("name"), str):
        out["name"] = clean_name(out["name"])
    if isinstance(out.get("phone"), str):
        out["phone"] = plain_phone(out["phone"])
    return out


def _card_kept(raw: Any) -> str:
    """A card number as digits when that is what was typed (spaces, hyphens, full-width digits),
    else as typed, for its error to show it."""
    text = str(raw or "")
    digits = normalise_card(text)
    return digits if digits.isascii() and digits.isdigit() else text


def _amount_kept(value: Any) -> Any:
    """An amount or area as a plain number (``1800``) where what was typed is one (``１，８００元``,
    ``45.5㎡``), so that staff read it as the file will keep it; else as typed, for its error."""
    if not isinstance(value, str) or not value:
        return value
    plain = plain_amount(value)
    try:
        return plain if decimal_of(plain).is_finite() else value
    except InvalidOperation:
        return value


# The amounts and areas of the form, by where they are.
_AMOUNTS = {"top": ("housing_area",), "members": ("monthly_income",), "homes": ("floor_area",)}


def _with_amounts(item: dict[str, Any], names: tuple[str, ...]) -> dict[str, Any]:
    for name in names:
        if name in item:
            item[name] = _amount_kept(item[name])
    return item


def normalise(raw: dict[str, Any]) -> dict[str, Any]:
    """Keep only the known keys, in JSON-safe form (amounts and dates as strings), names, phone
    and card numbers as the file keeps them, amounts as plain numbers where they are numbers."""
    out: dict[str, Any] = _with_amounts({k: _jsonable(raw[k]) for k in TOP_FIELDS if k in raw}, _AMOUNTS["top"])
    out["members"] = [
        _with_amounts(_member_kept(m), _AMOUNTS["members"]) for m in raw.get("members") or [] if isinstance(m, dict)
    ]
    for coll, keys in COLLECTIONS.items():
        out[coll] = [
            _with_amounts({k: _jsonable(x[k]) for k in keys if k in x}, ("amount_yearly",))
            for x in raw.get(coll) or []
            if isinstance(x, dict)
        ]
    out["homes"] = [
        _with_amounts({k: _jsonable(x[k]) for k in ("floor_area", "acquired_on", "note") if k in x}, _AMOUNTS["homes"])
        for x in raw.get("homes") or []
        if isinstance(x, dict)
    ]
    bank = raw.get("bank_account")
    if isinstance(bank, dict):
        out["bank_account"] = {k: str(bank.get(k) or "") for k in BANK_FIELDS}
        out["bank_account"]["card_number"] = _card_kept(bank.get("card_number"))
        out["bank_account"]["holder_name"] = clean_name(out["bank_account"]["holder_name"])
    else:
        out["bank_account"] = None
    return out


def masked_id(value: Any) -> str:
    """An ID number masked as the pages show it: the number read in any form it was typed in
    (spaces, full-width digits, lower-case x) and masked; one that cannot be read, masked as typed."""
    text = str(value or "").strip()
    rid = ResidentId.try_parse(text)
    return rid.masked if rid is not None else (mask_id(text) if text else "")


def normal_ids(data: dict[str, Any]) -> dict[str, Any]:
    """A copy of the form data with each member's ID number that can be read in its normal form
    (18 half-width characters), as an application keeps them once submitted."""
    out = dict(data)
    members = []
    for m in data.get("members") or []:
        rid = ResidentId.try_parse(str(m.get("id_number") or "")) if isinstance(m, dict) else None
        members.append({**m, "id_number": rid.value} if rid is not None and isinstance(m, dict) else m)
    if "members" in data:
        out["members"] = members
    return out


def masked(data: dict[str, Any], *, phones: bool = False) -> dict[str, Any]:
    """A copy of the form data with the members' ID numbers and the bank card number masked
    (``5329**********1234``), as every list and page shows them; the stored data is unchanged.
    ``phones``: the phone numbers too (``138****0003``), for a reader who does not do the casework."""
    out = dict(data)
    out["members"] = [
        {
            **m,
            "id_number": masked_id(m.get("id_number")),
            **({"phone": mask_phone(str(m.get("phone") or ""))} if phones and m.get("phone") else {}),
        }
        if isinstance(m, dict)
        else m
        for m in data.get("members") or []
    ]
    bank = data.get("bank_account")
    if isinstance(bank, dict):
        out["bank_account"] = {**bank, "card_number": mask_middle(str(bank.get("card_number") or "").strip())}
    return out


class _Reader:
    def __init__(self, errors: ErrorCollector) -> None:
        self.errors = errors

    def decimal(self, path: str, value: Any, default: Decimal | None = None) -> Decimal | None:
        if value in (None, ""):
            return default
        plain = plain_amount(str(value))  # as typed in full-width mode (１，２００．５), with 元 or ㎡
        try:
            d = decimal_of(plain)
        except InvalidOperation:
            self.errors.add(path, not_a_number(plain))
            return default
        if not d.is_finite():
            self.errors.add(path, _("Enter a number."))
            return default
        return d

    def date(self, path: str, value: Any) -> dt.date | None:
        if value in (None, ""):
            return None
        try:
            return dt.date.fromisoformat(str(value))
        except ValueError:
            self.errors.add(path, date_message(str(value)))
            return None

    def integer(self, path: str, value: Any) -> int | None:
        if value in (None, ""):
            return None
        try:
            return int(str(value))
        except ValueError:
            self.errors.add(path, _("Enter a whole number."))
            return None


def _bool(value: Any) -> bool:
    return value is True or str(value).lower() in {"1", "true", "on", "yes"}


def _member(r: _Reader, i: int, m: dict[str, Any]) -> MemberInput:
    p = f"members.{i}."
    values: dict[str, Any] = {}
    for name in MEMBER_FIELDS:
        kind = _MEMBER_TYPES[name]
        v = m.get(name)
        if "Decimal" in kind:
            values[name] = r.decimal(p + name, v, Decimal(0))
        elif "date" in kind:
            values[name] = r.date(p + name, v)
        elif "int" in kind:
            values[name] = r.integer(p + name, v)
        elif "bool" in kind:
            values[name] = _bool(v) if v is not None else (name == "living_together")
        elif name == "phone" and v is not None:
            values[name] = plain_phone(str(v))  # the yearly review finds the head by it
        elif v is not None:
            values[name] = str(v)
    values.setdefault("relationship", "")
    values.setdefault("name", "")
    values.setdefault("id_number", "")
    if not values.get("ethnicity"):
        values["ethnicity"] = "01"
    if not values.get("health"):
        values["health"] = "good"
    return MemberInput(**values)


def to_input(
    data: dict[str, Any], *, unit_id: int | None, category: str = "", state: str = "active"
) -> tuple[HouseholdInput, ErrorCollector]:
    """The stored data as a service input; unreadable values are reported, not guessed."""
    errors = ErrorCollector()
    r = _Reader(errors)
    members = [_member(r, i, m) for i, m in enumerate(data.get("members") or [])]
    amounts: dict[str, list[AmountInput]] = {}
    for coll in COLLECTIONS:
        amounts[coll] = [
            AmountInput(
                kind=str(x.get("kind") or ""),
                amount_yearly=r.decimal(f"{coll}.{i}.amount_yearly", x.get("amount_yearly")),
                note=str(x.get("note") or ""),
            )
            for i, x in enumerate(data.get(coll) or [])
        ]
    homes = [
        HomeInput(
            floor_area=r.decimal(f"homes.{i}.floor_area", x.get("floor_area"), Decimal(0)) or Decimal(0),
            acquired_on=r.date(f"homes.{i}.acquired_on", x.get("acquired_on")),
            note=str(x.get("note") or ""),
        )
        for i, x in enumerate(data.get("homes") or [])
    ]
    bank = data.get("bank_account")
    bank_input = (
        BankAccountInput(**{k: str(bank.get(k) or "") for k in BANK_FIELDS})
        if isinstance(bank, dict) and any(bank.get(k) for k in BANK_FIELDS)
        else None
    )
    secondary = []
    for i, c in enumerate(data.get("secondary_causes") or []):
        n = r.integer(f"secondary_causes.{i}", c)
        if n is not None:
            secondary.append(n)
    h = HouseholdInput(
        unit_id=unit_id,
        category=category or PLACEHOLDER_CATEGORY,
        main_cause=r.integer("main_cause", data.get("main_cause")),
        address=str(data.get("address") or ""),
        housing_type=str(data.get("housing_type") or ""),
        members=members,
        state=state,
        is_migrant_worker=_bool(data.get("is_migrant_worker")),
        secondary_causes=secondary,
        cause_note=str(data.get("cause_note") or ""),
        housing_area=r.decimal("housing_area", data.get("housing_area")),
        medical_insurance=str(data.get("medical_insurance") or ""),
        self_reliant=_bool(data.get("self_reliant")),
        incomes=amounts["incomes"],
        rigid_expenses=amounts["rigid_expenses"],
        homes=homes,
        bank_account=bank_input,
    )
    return h, errors


def _applicants(read: ErrorCollector, checked: ErrorCollector) -> dict[str, list[str]]:
    """The errors of reading the form and of the registry's check, but those of the fields the
    approval sets (``NOT_THE_APPLICANTS``), each message once a field."""
    merged = dict(read.errors)
    for path, messages in checked.errors.items():
        if path.partition(".")[0] in NOT_THE_APPLICANTS:
            continue
        merged.setdefault(path, []).extend(m for m in messages if m not in merged.get(path, []))
    return merged


def draft_errors(data: dict[str, Any], unit_id: int | None) -> dict[str, list[str]]:
    """What keeps a draft from being saved: a value that cannot be read, or that is wrong in itself
    (``registry.validation.household_values``: a negative amount, an area out of range, a code not
    in its list …). What is missing, and how the values fit together, waits for the submit
    (``submit_errors``, which runs the same checks and the rest)."""
    h, errors = to_input(data, unit_id=unit_id)
    return _applicants(errors, household_values(h))


def submit_errors(
    data: dict[str, Any], unit_id: int, kind: str = ApplicationKind.FORMAL
) -> tuple[dict[str, list[str]], HouseholdInput, list[CheckedMember]]:
    """Every problem that keeps the application from being submitted, by field path (``kind``'s
    own: temporary aid says what happened, which the centre decides on at once)."""
    h, errors = to_input(data, unit_id=unit_id)
    # A missing amount is reported by the registry's own check ("This field is required.").
    checked_errors, checked = check_household(h)
    merged = _applicants(errors, checked_errors)
    if h.bank_account is None:
        merged.setdefault("bank_account.card_number", []).append(_("Give the bank account for the aid payments."))
    head = next((m for m in h.members if m.relationship == codes.Relationship.HEAD), None)
    if head is not None and not head.phone.strip():
        i = h.members.index(head)
        merged.setdefault(f"members.{i}.phone", []).append(_("Give a phone number so that we can reach you."))
    if kind == ApplicationKind.TEMPORARY and not clean_reason(h.cause_note):
        merged.setdefault("cause_note", []).append(
            _("Say what happened and what help is needed: the centre decides on temporary aid from it.")
        )
    return merged, h, checked


def head_of(data: dict[str, Any]) -> dict[str, Any]:
    return next((m for m in data.get("members") or [] if m.get("relationship") == codes.Relationship.HEAD), {})
