"""What the rows of a legacy file say differently from the files on record they belong to.

A household of a legacy file whose file number is on record in the union's subtree, with every
one of its people on that file, is skipped by the import: the import adds no one to a file and
changes no file (that is done on the file's page). A county sending its list again, with some
rows brought up to date, is told here, row by row and column by column, where its rows and the
files on record differ, so that nothing it changed goes unnoticed. Only the template's columns
the sheet has are compared; a cell left blank is not taken for a difference (its value is the
column's default, which says nothing of the record). The phone number on record is not shown.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.utils.translation import gettext as _

from bangfu.common.phones import plain_phone
from bangfu.common.punctuation import join_list
from bangfu.common.text import shortened
from bangfu.org.models import OrgUnit
from bangfu.registry.inputs import HouseholdInput, MemberInput
from bangfu.registry.models import Household, Member

from . import legacy

# The template's household and member columns compared with the file on record.
HOUSEHOLD_KEYS = (
    "category", "main_cause", "secondary_causes", "cause_note", "address", "housing_type", "housing_area",
    "filed_on", "is_migrant_worker",
)  # fmt: skip
MEMBER_KEYS = (
    "name", "relationship", "ethnicity", "sex", "birth_date", "health", "disability_type", "disability_grade",
    "work_status", "monthly_income", "marital", "hukou", "political_status", "employer", "phone",
)  # fmt: skip
_NOT_SHOWN = frozenset({"phone"})  # the number on record is not shown
_HOUSEHOLD_DEFAULTS = {k: f.default for k, f in HouseholdInput.__dataclass_fields__.items()}
_MEMBER_DEFAULTS = {k: f.default for k, f in MemberInput.__dataclass_fields__.items()}


def field_value(model: type[models.Model], name: str, value: Any) -> str:
    """A value as the file would show it: a code by its label, yes/no in words, a list of codes
    by their labels; blank for no value."""
    if value in (None, "", []):
        return ""
    try:
        field: Any = model._meta.get_field(name)
    except FieldDoesNotExist:
        return str(value)
    if isinstance(value, bool) or field.get_internal_type() == "BooleanField":
        return _("Yes") if value in (True, "true", "True", "1", 1, "on") else _("No")
    if name == "secondary_causes":
        labels = {str(k): v for k, v in Household._meta.get_field("main_cause").flatchoices}
        return join_list([str(labels.get(str(v), v)) for v in value])
    if field.choices:
        labels = {str(k): v for k, v in field.flatchoices}
        return str(labels.get(str(value), value))
    if isinstance(value, Decimal):
        return f"{value.normalize():f}"
    return str(value)


def _same(key: str, given: Any, recorded: Any) -> bool:
    if key in {"housing_area", "monthly_income"}:
        try:
            return given is not None and recorded is not None and Decimal(given) == Decimal(recorded)
        except (InvalidOperation, TypeError, ValueError):
            return False
    if key == "secondary_causes":
        return sorted(given or []) == sorted(recorded or [])
    if key == "phone":
        return plain_phone(given or "") == plain_phone(recorded or "")
    if key == "address":
        return (given or "").strip()[:200] == (recorded or "").strip()
    if isinstance(given, str) and isinstance(recorded, str):
        return given.strip() == recorded.strip()
    return bool(given == recorded)


def _blank(key: str, given: Any, defaults: dict[str, Any]) -> bool:
    """Whether the row's value is what a blank cell gives (the column's default)."""
    default = defaults.get(key)
    if given in (None, "", []):
        return True
    return not callable(default) and given == default


def _difference(model: type[models.Model], key: str, file_number: str, given: Any, recorded: Any) -> str | None:
    """The reason a row's ``key`` differs from the file on record; None when it does not."""
    defaults = _HOUSEHOLD_DEFAULTS if model is Household else _MEMBER_DEFAULTS
    if _same(key, given, recorded) or (_blank(key, given, defaults) and not _blank(key, recorded, defaults)):
        return None
    if key in _NOT_SHOWN:
        return _(
            "File %(file)s on record has another phone number. Nothing on the file was changed: if this row is "
            "right, change the file on its page."
        ) % {"file": file_number}
    if _blank(key, recorded, defaults) and field_value(model, key, recorded) == "":
        return _(
            "File %(file)s on record has nothing here, this row “%(given)s”. Nothing on the file was changed: if "
            "this row is right, change the file on its page."
        ) % {"file": file_number, "given": _short(field_value(model, key, given))}
    return _(
        "File %(file)s on record has “%(recorded)s” here, this row “%(given)s”. Nothing on the file was changed: "
        "if this row is right, change the file on its page."
    ) % {
        "file": file_number,
        "recorded": _short(field_value(model, key, recorded)),
        "given": _short(field_value(model, key, given)) or _("nothing"),
    }


def _short(value: str) -> str:
    """A value as a problem quotes it: a long one (an address) cut with an ellipsis, so that the
    reason, both values in it, fits the problem's 500 characters."""
    return shortened(value)


def row_differences(
    unit: OrgUnit,
    households: list[tuple[legacy.ParsedHousehold, list[str]]],
    columns: Iterable[str] | None = None,
) -> list[legacy.Issue]:
    """A problem for each cell of the rows of ``households`` (each with its people's keyed
    hashes, all on the file on record with its number in ``unit``'s subtree) that says
    otherwise than that file; ``columns``: the template's columns (keys) the sheet has (all when
    None)."""
    if not households:
        return []
    keys = set(columns) if columns is not None else set(HOUSEHOLD_KEYS) | set(MEMBER_KEYS)
    h_keys = [k for k in HOUSEHOLD_KEYS if k in keys]
    m_keys = [k for k in MEMBER_KEYS if k in keys]
    numbers = list(dict.fromkeys(h.file_number for h, _hashes in households))
    files: dict[str, list[dict[str, Any]]] = {}
    for row in Household.objects.filter(file_number__in=numbers, unit__path__startswith=unit.path).values(
        "pk", "file_number", *h_keys
    ):
        files.setdefault(row["file_number"], []).append(row)
    people: dict[int, dict[str, dict[str, Any]]] = {}
    for row in Member.objects.filter(household_id__in=[f["pk"] for rows in files.values() for f in rows]).values(
        "household_id", "id_hash", *m_keys
    ):
        people.setdefault(row["household_id"], {})[row["id_hash"]] = row
    issues: list[legacy.Issue] = []
    by_header = legacy.BY_KEY
    for h, hashes in households:
        # The file on record that holds the most of its people (a number given to one file only, as a rule).
        candidates = files.get(h.file_number, [])
        if not candidates:
            continue
        on_record = max(candidates, key=lambda f: (len(set(hashes) & people.get(f["pk"], {}).keys()), f["pk"]))
        head_row = h.head_row
        for key in h_keys:
            why = _difference(Household, key, h.file_number, getattr(h.data, key), on_record[key])
            if why:
                issues.append(legacy.Issue(head_row, by_header[key].header, why, h.file_number, on_record=True))
        members = people.get(on_record["pk"], {})
        for row, m, digest in zip(h.rows, h.data.members, hashes, strict=True):
            recorded = members.get(digest)
            if recorded is None:
                continue
            for key in m_keys:
                why = _difference(Member, key, h.file_number, getattr(m, key), recorded[key])
                if why:
                    issues.append(legacy.Issue(row, by_header[key].header, why, h.file_number, on_record=True))
    return issues
