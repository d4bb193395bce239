"""Household files: list, read, create, update, and reveal a personal number (audit-logged).

Each endpoint parses its input, calls one service or selector with the caller as ``actor`` and
renders the result. Jurisdiction is the access gate's: a file outside it answers 404 exactly like
a file that does not exist.
"""

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status
from pydantic import ConfigDict

from bangfu.api.errors import ERRORS, refuse_id_in_address, unit_filter_checked
from bangfu.api.permissions import actor, requires
from bangfu.api.schemas import (
    HouseholdDetailOut,
    HouseholdIn,
    HouseholdPageOut,
    HouseholdUpdateIn,
    InSchema,
    RevealedCardOut,
    RevealedIdOut,
    RevealIn,
    choices_field,
    one_of,
)
from bangfu.common.paging import MAX_PAGE, CappedPaginator
from bangfu.eligibility.services import category_follows, decision_compute
from bangfu.org import access
from bangfu.org.access import Perm
from bangfu.registry import income_records, selectors, services
from bangfu.registry.codes import Cause, FileState, HardshipCategory
from bangfu.registry.models import Household
from bangfu.registry.selectors import HouseholdFilters

router = Router(tags=["households"])

TIMELINE_LIMIT = 50
MAX_PAGE_SIZE = 100


class _HouseholdFilters(Schema):
    """The list's filters and page, asked by query (``HouseholdQuery``) or in a body (``HouseholdSearchIn``)."""

    unit_id: int | None = Field(None, description="Only this union and the unions below it")
    category: Annotated[str, one_of(HardshipCategory.values)] = choices_field(HardshipCategory.values)
    main_cause: int | None = Field(None, description="A main cause's code (1 to 10), as the page's filter offers")
    state: Annotated[str, one_of(FileState.values)] = choices_field(FileState.values)
    page: int = Field(1, ge=1, le=MAX_PAGE)
    page_size: int = Field(min(settings.BANGFU_PAGE_SIZE, MAX_PAGE_SIZE), ge=1, le=MAX_PAGE_SIZE)


class HouseholdQuery(_HouseholdFilters):
    q: str = Field(
        "",
        description="File number, name, or pinyin (full or initials); an ID number is refused here (422): "
        "search by it with POST /households/search",
    )


class HouseholdSearchIn(_HouseholdFilters, InSchema):
    """``HouseholdQuery`` as a body (``POST /households/search``): a field it does not know is refused."""

    q: str = Field(
        "",
        max_length=100,
        description="ID number (any accepted form), file number, name, or pinyin (full or initials); "
        "at most 100 characters, as the page's box",
    )


def _unit_ref(unit: Any) -> dict[str, Any]:
    return {"id": unit.pk, "code": unit.code, "name": unit.name}


def _row(h: Household) -> dict[str, Any]:
    heads = getattr(h, "heads", [])
    head = heads[0] if heads else None
    return {
        "id": h.pk,
        "file_number": h.file_number,
        "unit": _unit_ref(h.unit),
        "state": h.state,
        "category": h.category,
        "main_cause": h.main_cause,
        "head": (
            {"name": head.name, "id_masked": head.id_masked, "sex": head.sex, "birth_date": head.birth_date}
            if head
            else None
        ),
        "net_income_per_head_monthly": h.net_income_per_head_monthly,
        "members_living_together": h.members_living_together,
    }


_ECONOMY = [
    "members_living_together",
    "head_monthly_income",
    "other_income_yearly",
    "income_yearly",
    "rigid_expense_yearly",
    "income_per_head_monthly",
    "net_income_per_head_monthly",
    "zero_employment",
]
_PLAIN = [
    "id",
    "file_number",
    "version",
    "state",
    "category",
    "tier",
    "is_migrant_worker",
    "main_cause",
    "secondary_causes",
    "cause_note",
    "address",
    "housing_type",
    "housing_area",
    "medical_insurance",
    "self_reliant",
    "accident_costs_yearly",
    "private_school_fees_yearly",
    "public_school_fees_yearly",
    "studying_abroad_self_funded",
    "filed_on",
    "filed_by_name",
    "reviewed_by_name",
    "created_at",
    "updated_at",
]


def _detail(request: HttpRequest, household_id: int) -> dict[str, Any]:
    """The full file as the caller may see it (read through the selectors, so through the gate)."""
    h = selectors.household_get(actor=actor(request), household_id=household_id)
    events = selectors.household_timeline(actor=actor(request), household=h, limit=TIMELINE_LIMIT)
    members = list(h.members.all())
    selectors.mask_phones(actor(request), h.unit, members)
    return {
        **{name: getattr(h, name) for name in _PLAIN},
        "unit": _unit_ref(h.unit),
        "entered_by": h.entered_by.get_username() if h.entered_by else None,
        "economy": {name: getattr(h, name) for name in _ECONOMY},
        "members": members,
        "incomes": list(h.incomes.all()),
        "rigid_expenses": list(h.rigid_expenses.all()),
        "homes": list(h.homes.all()),
        "vehicles": list(h.vehicles.all()),
        "business_roles": list(h.business_roles.all()),
        "bank_account": h.bank,  # type: ignore[attr-defined]
        "identification": _identification(request, h),
        "timeline": list(events),
    }


def _identification(request: HttpRequest, h: Household) -> dict[str, Any] | None:
    from bangfu.eligibility.selectors import decision_current, file_not_eligible

    d = decision_current(actor=actor(request), household_id=h.pk)
    if d is None:
        return None
    return {
        "category": d.category,
        "effective_category": d.effective_category,
        "override_status": d.override_status,
        "override_category": d.overridden_category if d.override_status else "",
        "decided_at": d.decided_at,
        "standard_version": d.standard_version,
        "ruleset_version": d.ruleset_version,
        "agrees_with_file": d.effective_category == h.category,
        "file_not_eligible": file_not_eligible(h, d),
    }


@router.get("/households", response={200: HouseholdPageOut, **ERRORS}, summary="List household files")
@requires(Perm.HOUSEHOLD_VIEW)
def household_list(request: HttpRequest, filters: Query[HouseholdQuery]) -> dict[str, Any]:
    """Files in the caller's jurisdiction, newest first, filtered and searched; one page at a time.

    A ``q`` that holds an ID number (whole or nearly, in any form: spaces, full-width digits, a
    lower-case x, 15 digits) is refused (422 on ``q``): an address is written to servers' and
    proxies' access logs. Search by ID number with ``POST /households/search``, which takes the same
    fields in its body and answers the same page."""
    refuse_id_in_address(filters.q, "/api/v1/households/search")
    return _household_page(request, filters)


@router.post("/households/search", response={200: HouseholdPageOut, **ERRORS}, summary="Search household files")
@requires(Perm.HOUSEHOLD_VIEW)
def household_search(request: HttpRequest, payload: HouseholdSearchIn) -> dict[str, Any]:
    """``GET /households`` with its fields in the body, so that an ID number searched for is in no
    address (nor in the access logs that keep them): the same filters, the same page."""
    return _household_page(request, payload)


def _household_page(request: HttpRequest, filters: HouseholdQuery | HouseholdSearchIn) -> dict[str, Any]:
    if filters.main_cause is not None and filters.main_cause not in Cause.values:
        # As the other filters with a fixed set of values (and the page): refused, not matching nothing.
        raise ValidationError(
            {"main_cause": _("“%(value)s” is not one of the allowed values.") % {"value": filters.main_cause}}
        )
    unit_filter_checked(access.units(actor(request), Perm.HOUSEHOLD_VIEW), filters.unit_id)
    wanted = HouseholdFilters(
        q=filters.q,
        unit_id=filters.unit_id,
        category=filters.category,
        main_cause=filters.main_cause,
        state=filters.state,
    )
    qs = selectors.household_list(actor=actor(request), filters=wanted)
    start = (filters.page - 1) * filters.page_size
    paginator = CappedPaginator(qs, filters.page_size, cap=selectors.household_count_cap(wanted))
    return {
        "count": paginator.count,
        "count_capped": paginator.capped,
        "page": filters.page,
        "page_size": filters.page_size,
        "results": [_row(h) for h in qs[start : start + filters.page_size]],
        "search_hint": selectors.search_hint(filters.q),
    }


@router.get("/households/{household_id}", response={200: HouseholdDetailOut, **ERRORS}, summary="Read a file")
@requires(Perm.HOUSEHOLD_VIEW)
def household_get(request: HttpRequest, household_id: int) -> dict[str, Any]:
    """The whole file: members (ID numbers masked), incomes, expenses, assets, the economy figures,
    ``version`` (send it back to update) and the last 50 timeline events."""
    return _detail(request, household_id)


@router.post("/households", response={201: HouseholdDetailOut, **ERRORS}, summary="Open a file")
@requires(Perm.HOUSEHOLD_EDIT)
def household_create(request: HttpRequest, payload: HouseholdIn) -> Status[dict[str, Any]]:
    """Create a file in the union ``unit_id``. Every problem is reported at once under its field path
    (``members.1.id_number``) and nothing is saved. The new file is identified at once
    (``identification``)."""
    with transaction.atomic():
        h = services.household_create(actor=actor(request), data=payload.to_input())
        decision = decision_compute(actor=actor(request), household_id=h.pk)
        category_follows(before=None, after=h.category, decision=decision)
    return Status(201, _detail(request, h.pk))


@router.put("/households/{household_id}", response={200: HouseholdDetailOut, **ERRORS}, summary="Replace a file")
@requires(Perm.HOUSEHOLD_EDIT)
def household_update(request: HttpRequest, household_id: int, payload: HouseholdUpdateIn) -> dict[str, Any]:
    """Replace the whole file. ``version`` is the one you read: if someone changed the file since,
    the answer is 409 ``conflict`` and nothing is saved. A member named by ``member_id`` keeps its
    stored ID number when ``id_number`` is blank or masked, and the bank account its stored card
    number when ``card_number`` is; ``bank_account`` left out keeps the stored account, ``null``
    removes it. The household is decided again from the file as saved (``identification``)."""
    with transaction.atomic():
        before = selectors.household_get(actor=actor(request), household_id=household_id).category
        saved = services.household_update(
            actor=actor(request),
            household_id=household_id,
            data=payload.to_input(),
            expected_version=payload.version,
            keep_bank_account="bank_account" not in payload.model_fields_set,
        )
        decision = decision_compute(actor=actor(request), household_id=household_id)
        category_follows(before=before, after=saved.category, decision=decision)
    return _detail(request, household_id)


@router.post(
    "/households/{household_id}/members/{member_id}/reveal-id",
    response={200: RevealedIdOut, **ERRORS},
    summary="Reveal a member's full ID number",
)
@requires(Perm.PERSONAL_REVEAL)
def member_id_reveal(
    request: HttpRequest, household_id: int, member_id: int, payload: RevealIn | None = None
) -> dict[str, str]:
    """The full ID number; every reveal is recorded in the audit log and on the file's timeline."""
    value = services.member_id_reveal(
        actor=actor(request), member_id=member_id, household_id=household_id, reason=payload.reason if payload else ""
    )
    return {"id_number": value}


@router.post(
    "/households/{household_id}/reveal-bank-card",
    response={200: RevealedCardOut, **ERRORS},
    summary="Reveal the full bank card number",
)
@requires(Perm.PERSONAL_REVEAL)
def bank_card_reveal(request: HttpRequest, household_id: int, payload: RevealIn | None = None) -> dict[str, str]:
    """The full card number for payments; recorded in the audit log and on the file's timeline."""
    value = services.bank_card_reveal(
        actor=actor(request), household_id=household_id, reason=payload.reason if payload else ""
    )
    return {"card_number": value}


# --- Monthly income follow-up (收入跟踪): the months the exit test reads ------------------------------


class IncomeRecordIn(InSchema):
    model_config = ConfigDict(extra="forbid")

    month: str = Field(..., description="The month, as YYYY-MM (any day of it is accepted)", examples=["2026-10"])
    net_income: Decimal = Field(
        ..., description="The household's net income that month in yuan: counted income less rigid expenses"
    )
    members: int | None = Field(None, description="Members sharing it; default: the members living together now")
    source: str = Field(..., description="home_visit, phone_call, self_report or department_data")
    note: str = ""
    replace: bool = Field(
        False, description="Correct the month's existing record (otherwise a recorded month answers 409 conflict)"
    )


class IncomeRecordOut(Schema):
    id: int
    month: str = Field(..., description="YYYY-MM")
    net_income: Decimal
    members: int
    per_head: Decimal = Field(..., description="Net income per head, rounded to the fen")
    source: str
    note: str
    recorded_by: str | None
    recorded_at: datetime

    @staticmethod
    def resolve_month(obj: Any) -> str:
        return f"{obj.month:%Y-%m}"

    @staticmethod
    def resolve_recorded_by(obj: Any) -> str | None:
        return obj.recorded_by.get_username() if obj.recorded_by_id else None


class IncomeRecordSavedOut(IncomeRecordOut):
    replaced: dict[str, str] | None = Field(None, description="The figures a correction replaced")


class IncomeRecordQuery(Schema):
    limit: int = Field(24, ge=1, le=120, description="At most this many months, newest first")


@router.get(
    "/households/{household_id}/income-records",
    response={200: list[IncomeRecordOut], **ERRORS},
    summary="List a file's monthly income records",
)
@requires(Perm.HOUSEHOLD_VIEW)
def income_record_list(request: HttpRequest, household_id: int, query: Query[IncomeRecordQuery]) -> list[Any]:
    """The household's monthly income follow-up, newest month first."""
    return list(selectors.income_record_list(actor=actor(request), household_id=household_id, limit=query.limit))


@router.post(
    "/households/{household_id}/income-records",
    response={200: IncomeRecordSavedOut, 201: IncomeRecordSavedOut, **ERRORS},
    summary="Record a month's income",
)
@requires(Perm.HOUSEHOLD_EDIT)
def income_record_add(request: HttpRequest, household_id: int, payload: IncomeRecordIn) -> Status[Any]:
    """Record one month's net income of the household (201). A month that has a record already
    answers 409 ``conflict`` with the record in ``details.existing``; send ``replace: true`` to
    correct it (200, with the replaced figures). Each record makes a new version of the file."""
    done = income_records.income_record_add(
        actor=actor(request),
        household_id=household_id,
        data=income_records.IncomeRecordInput(
            month=income_records.parse_month(payload.month),
            net_income=payload.net_income,
            members=payload.members,
            source=payload.source,
            note=payload.note,
            replace=payload.replace,
        ),
    )
    done.record.replaced = done.replaced  # type: ignore[attr-defined]
    return Status(200 if done.replaced else 201, done.record)
