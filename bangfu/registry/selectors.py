"""Reads of the household file; every function takes the actor and goes through the access gate."""

from __future__ import annotations

import operator
import re
import unicodedata
from dataclasses import dataclass
from functools import reduce
from typing import Any

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet

from bangfu.common import crypto
from bangfu.common.ids import InvalidResidentId, ResidentId
from bangfu.common.paging import COUNT_CAP
from bangfu.common.text import clean_name
from bangfu.org import access
from bangfu.org.access import Perm
from bangfu.org.models import OrgUnit

from .models import BankAccount, Household, IncomeRecord, Member, TimelineEvent


@dataclass(frozen=True)
class HouseholdFilters:
    q: str = ""
    unit_id: int | None = None
    category: str = ""
    main_cause: int | None = None
    state: str = ""


# A name or pinyin prefix matching at most this many people is resolved to their households first.
PREFIX_PROBE = 5_000

# The middle dot of Uyghur and other names (艾合买提·阿吉) as people and department files type it:
# U+00B7, the bullet, the hyphenation point, the katakana and half-width katakana middle dots,
# the bullet and dot operators, a full stop and a full-width one. Names are kept as typed, so a
# name with a dot is looked up in each form.
NAME_DOTS = "\u00b7\u2022\u2027\u30fb\uff65\u2219\u22c5.\uff0e"


def _name_forms(text: str) -> list[str]:
    """The name as typed and, if it has a middle dot, with each other form of the dot."""
    if not any(ch in NAME_DOTS for ch in text):
        return [text]
    table = str.maketrans(dict.fromkeys(NAME_DOTS, "\u00b7"))
    plain = text.translate(table)
    return list(dict.fromkeys([text, *(plain.replace("\u00b7", dot) for dot in NAME_DOTS)]))


def _name_search_forms(text: str) -> list[str]:
    """``_name_forms`` of a name as typed and, for a name typed with a space between Han characters
    (林 绍明: an input method's habit), without it."""
    forms = _name_forms(text)
    if " " in text and not text.isascii():
        forms += [f for f in _name_forms(text.replace(" ", "")) if f not in forms]
    return forms


def _search(
    qs: QuerySet[Household], text: str, unit_ids: list[int] | None
) -> tuple[QuerySet[Household], int, list[int] | None]:
    """Search by ID number (any accepted form), file number, name or pinyin (full or initials).

    An ID is an equality on the keyed-hash index. A name or pinyin prefix is looked up on the
    members' (unit, prefix) indexes within the jurisdiction first, stopping after ``PREFIX_PROBE``
    people: a selective prefix (most searches) then becomes a primary-key list, fast whatever the
    jurisdiction; a broad one (``li`` in a province) is joined back by EXISTS, which finds a page of
    newest files quickly. The planner cannot tell the two apart from its statistics, and chose a
    full scan of the files for rare names.

    Returns the narrowed files; how many distinct files a probe that stopped early already saw (a
    lower bound of the count, so a broad search is not counted again); and the ids of the files the
    probe saw inside the jurisdiction, newest first, so that a page is a slice of them: all the
    matches for a selective prefix; for a broad one (more than the count cap), the files of the
    first ``PREFIX_PROBE`` people, and the page says "more than …, narrow the search".
    """
    # As names are kept (``common.text.clean_name``): no zero-width characters, one space at most.
    text = clean_name(text)
    if not text:
        return qs, 0, None
    rid = ResidentId.try_parse(text)
    if rid is not None:
        by_id = Exists(Member.objects.filter(household=OuterRef("pk"), id_hash=crypto.keyed_hash(rid.value)))
        return qs.filter(by_id), 0, None
    # Digits and Latin letters as an input method in full-width mode types them (５３２９, ｚｊｇ).
    plain = unicodedata.normalize("NFKC", text)
    masked = _masked_id(plain)
    if masked:
        # A masked number copied from a list or a printed notice: the people whose number shows so
        # (an unindexed look-up, within the jurisdiction; it may find more than one).
        people = Member.objects.all() if unit_ids is None else Member.objects.filter(unit_id__in=unit_ids)
        owners = people.filter(id_masked=masked).order_by().values_list("household_id", flat=True)
        return qs.filter(pk__in=list(owners[:SEARCH_COUNT_CAP])), 0, None
    if any(c.isdigit() for c in plain) and len(plain) <= 24 and " " not in plain:
        # No name has a digit: the start of a file number, ours (53292310…) or an older system's
        # (B00700000001, 祥云-2016-001, Z1: a legacy import keeps them in capitals).
        forms = {plain, plain.upper()}
        return qs.filter(reduce(operator.or_, [Q(file_number__startswith=f) for f in forms])), 0, None
    lowered = plain.lower().replace(" ", "")
    conds = (
        [Q(name_pinyin__startswith=lowered), Q(name_initials__startswith=lowered)]
        if lowered.isascii()
        else [reduce(operator.or_, [Q(name__startswith=form) for form in _name_search_forms(text)])]
    )
    found: set[int] = set()
    people = Member.objects.all() if unit_ids is None else Member.objects.filter(unit_id__in=unit_ids)
    for cond in conds:
        ids = list(people.filter(cond).order_by().values_list("household_id", flat=True)[: PREFIX_PROBE + 1])
        if len(ids) > PREFIX_PROBE:
            any_cond = conds[0] | conds[1] if len(conds) == 2 else conds[0]
            broad = Exists(Member.objects.filter(any_cond, household=OuterRef("pk")))
            # More than the count cap shows: pages come from the files the probe saw (newest first),
            # and the page asks to narrow the search for the rest.
            files = set(ids)
            seen = sorted(files, reverse=True) if unit_ids is not None and len(files) > SEARCH_COUNT_CAP else None
            return qs.filter(broad), len(files), seen
        found.update(ids)
    complete = sorted(found, reverse=True) if unit_ids is not None else None
    return qs.filter(pk__in=sorted(found)), 0, complete


SEARCH_COUNT_CAP = 1_000

_MASKED_ID = re.compile(r"(\d{4})\*+(\d{3}[\dX])")


def masked_id_typed(text: str) -> str:
    """``_masked_id`` of a search as typed (full-width digits and stars read as plain ones)."""
    return _masked_id(unicodedata.normalize("NFKC", text))


def _masked_id(text: str) -> str:
    """The masked form ``ids.mask_id`` gives an ID number (``5329**********1234``) of ``text``, if
    ``text`` is one: its first and last four characters with stars between (any number of them:
    people miscount them)."""
    found = _MASKED_ID.fullmatch(text.replace(" ", "").upper())
    return f"{found[1]}{'*' * 10}{found[2]}" if found else ""


def search_hint(q: str) -> str:
    """What a search says under its box when what was typed cannot be found as meant: an ID number
    Excel showed as a number (``5.32923E+17``) has lost its last digits, and is said so in the
    words the department import uses (``ids`` ``lost_digits``), not answered "no household
    matches" alone; "" otherwise. The page and the API's search say the same."""
    if not q.strip():
        return ""
    try:
        ResidentId.parse(q)
    except InvalidResidentId as exc:
        return exc.message if exc.code == "lost_digits" else ""
    return ""


def household_count_cap(filters: HouseholdFilters) -> int:
    """How far a list counts: a text search counts to 1,000 (a broad prefix such as "li" matches a
    sixth of a province, and counting it all is what makes such a search slow), a plain list to
    10,000. Beyond that the page says "more than …" and asks to narrow the search."""
    return SEARCH_COUNT_CAP if filters.q.strip() else COUNT_CAP


def household_list(*, actor: Any, filters: HouseholdFilters) -> QuerySet[Household]:
    qs = access.scope(actor, Household.objects.all(), Perm.HOUSEHOLD_VIEW)
    if filters.unit_id is not None:
        unit = access.units(actor).filter(pk=filters.unit_id).first()
        qs = qs.filter(unit__path__startswith=unit.path) if unit else qs.none()
    if filters.category:
        qs = qs.filter(category=filters.category)
    if filters.main_cause is not None:
        qs = qs.filter(main_cause=filters.main_cause)
    if filters.state:
        qs = qs.filter(state=filters.state)
    qs, seen, known = _search(qs, filters.q, access.unit_ids(actor, Perm.HOUSEHOLD_VIEW))
    head = Member.objects.filter(relationship="head").only(
        "id", "household_id", "name", "id_masked", "sex", "birth_date"
    )
    result = (
        qs.select_related("unit").prefetch_related(Prefetch("members", queryset=head, to_attr="heads")).order_by("-id")
    )
    if filters.unit_id is None and not (filters.category or filters.main_cause or filters.state):
        # What the name probe already knows spares CappedPaginator a count (and a large IN list).
        if seen:
            result.count_at_least = seen  # type: ignore[attr-defined]
        if known is not None:
            result.known_ids = known  # type: ignore[attr-defined]
    return result


def phones_shown(actor: Any, unit: Any) -> bool:
    """Whether ``actor`` reads the members' phone numbers in full: who does the union's casework
    (may change its files) calls the workers; a manager or an evaluator reads them masked."""
    return access.has_perm(actor, Perm.HOUSEHOLD_EDIT, unit)


def mask_phones(actor: Any, unit: Any, members: Any) -> None:
    """Mask the phone numbers of ``members`` (instances, not saved) for a reader who does not do
    the casework (``phones_shown``)."""
    if phones_shown(actor, unit):
        return
    from bangfu.common.phones import mask_phone

    for m in members:
        m.phone = mask_phone(m.phone)


def household_get(*, actor: Any, household_id: Any) -> Household:
    qs = Household.objects.select_related("unit", "entered_by").prefetch_related(
        "members", "incomes", "rigid_expenses", "homes", "vehicles", "business_roles"
    )
    h = access.get_for(actor, qs, household_id)
    h.bank = BankAccount.objects.filter(household=h).first()  # type: ignore[attr-defined]
    return h


def household_timeline(*, actor: Any, household: Household, limit: int = 200) -> QuerySet[TimelineEvent]:
    return access.scope(actor, TimelineEvent.objects.filter(household=household)).select_related("actor")[:limit]


def unit_choices(*, actor: Any, perm: Perm = Perm.HOUSEHOLD_VIEW) -> QuerySet[OrgUnit]:
    return access.units(actor, perm).order_by("path")


def income_record_list(*, actor: Any, household_id: Any, limit: int | None = None) -> QuerySet[IncomeRecord]:
    """A household's monthly income records, newest month first; a household outside the actor's
    jurisdiction answers 404 like a missing one."""
    h = access.get_for(actor, Household.objects.only("id", "unit_id"), household_id)
    qs = (
        access.scope(actor, IncomeRecord.objects.filter(household_id=h.pk))
        .select_related("recorded_by")
        .order_by("-month")
    )
    return qs[:limit] if limit is not None else qs
