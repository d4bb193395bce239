"""Monthly income follow-up (收入跟踪): what a household lived on each month after its file was
opened, learnt on a home visit, by phone, from the worker or from department data.

The exit test (脱困, domain.md §4) reads these records: income per head above the dibao line for
the rule set's ``exit_months`` consecutive months (``eligibility.adapters.income_history``).

One record per household and month. Recording a month that already has one is refused with a
conflict naming the record, unless the caller asks to ``replace`` it (a correction): the record is
then updated in place, and the figures it replaces stay in the audit log and on the timeline.
Every record makes a new version of the file, so a stored decision read from the file before it is
known to be out of date.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from bangfu.common.audit import audit_record
from bangfu.common.errors import DomainError, ErrorCode, ErrorCollector
from bangfu.common.models import AuditAction
from bangfu.common.text import decimal_of, plain_amount
from bangfu.org import access
from bangfu.org.access import Perm

from .models import Household, IncomeRecord, IncomeRecordSource
from .timeline import timeline_add
from .validation import MAX_MEMBERS

TIMELINE_INCOME_RECORDED = "income_recorded"
# A record may reach back this many months before the file was opened (the months the application
# was judged on), no further.
MONTHS_BEFORE_FILING = 12
MAX_NET_INCOME = Decimal("10000000")
FEN = Decimal("0.01")


@dataclass(frozen=True)
class IncomeRecordInput:
    """A month's figures as a cadre gives them. ``members`` None: the members living together now."""

    month: date | None
    net_income: Decimal | None
    source: str
    members: int | None = None
    note: str = ""
    replace: bool = False


@dataclass(frozen=True)
class Recorded:
    record: IncomeRecord
    # The figures replaced, when the month had a record already.
    replaced: dict[str, str] | None = None


def month_start(d: date) -> date:
    return d.replace(day=1)


def add_months(d: date, months: int) -> date:
    """The first day of the month ``months`` after (or before, if negative) ``d``'s month."""
    index = d.year * 12 + d.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def months_between(earlier: date, later: date) -> int:
    return (later.year - earlier.year) * 12 + later.month - earlier.month


def parse_month(text: str) -> date | None:
    """``2026-10`` or any day of it (``2026-10-01``); None for anything else."""
    text = text.strip()
    try:
        if len(text) == 7:
            return date.fromisoformat(text + "-01")
        return month_start(date.fromisoformat(text))
    except ValueError:
        return None


def per_head(net_income: Decimal, members: int) -> Decimal:
    return (net_income / members).quantize(FEN, ROUND_HALF_UP)


def file_opened_on(h: Household) -> date:
    """The day the file was opened: the date filed, or the day it was entered if earlier or unknown."""
    entered = timezone.localdate(h.created_at) if h.created_at else timezone.localdate()
    return min(h.filed_on, entered) if h.filed_on else entered


def check_income_record(data: IncomeRecordInput, household: Household, today: date) -> ErrorCollector:
    """Every problem of the input at once, under its field name."""
    errors = ErrorCollector()
    if data.month is None:
        errors.add("month", _("Enter the month as YYYY-MM."))
    else:
        month = month_start(data.month)
        if month > month_start(today):
            errors.add("month", _("%(month)s is in the future.") % {"month": f"{month:%Y-%m}"})
        opened = month_start(file_opened_on(household))
        earliest = add_months(opened, -MONTHS_BEFORE_FILING)
        if month < earliest:
            errors.add(
                "month",
                _(
                    "%(month)s is more than %(n)s months before the file was opened (%(opened)s); "
                    "the earliest month is %(earliest)s."
                )
                % {
                    "month": f"{month:%Y-%m}",
                    "n": MONTHS_BEFORE_FILING,
                    "opened": f"{opened:%Y-%m}",
                    "earliest": f"{earliest:%Y-%m}",
                },
            )
    value = data.net_income
    if value is None:
        errors.add("net_income", _("Enter the household's net income that month."))
    elif not value.is_finite():
        errors.add("net_income", _("Enter a number."))
    elif value < 0:
        errors.add("net_income", _("Amounts cannot be negative."))
    elif value > MAX_NET_INCOME:
        errors.add("net_income", _("%(value)s is implausibly large.") % {"value": value})
    elif value != value.quantize(FEN):
        errors.add("net_income", _("Use at most two decimal places (yuan and fen)."))
    if data.members is not None and not (1 <= data.members <= MAX_MEMBERS):
        errors.add("members", _("A household has 1 to %(max)s members.") % {"max": MAX_MEMBERS})
    if not data.source:
        errors.add("source", _("Choose how the income was learnt."))
    elif data.source not in IncomeRecordSource.values:
        errors.add("source", _("“%(value)s” is not one of the allowed values.") % {"value": data.source})
    if len(data.note.strip()) > 200:
        errors.add("note", _("Enter at most %(n)s characters.") % {"n": 200})
    return errors


def income_record_problems(*, actor: Any, household_id: int, data: IncomeRecordInput) -> dict[str, list[str]]:
    """What ``income_record_add`` would say of ``data`` (nothing is written), for a form some of
    whose values could not be read: the month and the source were hidden behind "Enter a whole
    number" for the members. The caller leaves out the fields it could not read."""
    h = access.get_for(actor, Household.objects.select_related("unit"), household_id)
    access.require(actor, Perm.HOUSEHOLD_EDIT, h.unit)
    return dict(check_income_record(data, h, timezone.localdate()).errors)


def _figures(r: IncomeRecord) -> dict[str, str]:
    return {
        "month": f"{r.month:%Y-%m}",
        "net_income": str(r.net_income),
        "members": str(r.members),
        "per_head": str(r.per_head),
        "source": r.source,
        "note": r.note,
    }


def _summary(figures: dict[str, str], replaced: dict[str, str] | None) -> str:
    """A language-neutral line for the timeline: ``2026-10 · 3000.00 / 3 = 1000.00``."""
    text = f"{figures['month']} · {figures['net_income']} / {figures['members']} = {figures['per_head']}"
    if replaced is not None:
        text += f" (← {replaced['net_income']} / {replaced['members']})"
    return text


def income_record_add(*, actor: Any, household_id: int, data: IncomeRecordInput) -> Recorded:
    """Record (or, with ``replace``, correct) one month's income of a household.

    A household outside the actor's jurisdiction answers ``Http404`` like a missing one; without
    ``Perm.HOUSEHOLD_EDIT`` at its union, ``PermissionDenied``; bad input, ``ValidationError`` naming
    each field; a month already recorded (without ``replace``), ``DomainError`` CONFLICT."""
    with transaction.atomic():
        h = access.get_for(actor, Household.objects.select_for_update().select_related("unit"), household_id)
        access.require(actor, Perm.HOUSEHOLD_EDIT, h.unit)
        check_income_record(data, h, timezone.localdate()).raise_if_any()
        assert data.month is not None and data.net_income is not None  # noqa: S101 - checked above
        month = month_start(data.month)
        members = data.members or max(h.members_living_together, 1)
        existing = IncomeRecord.objects.filter(household=h, month=month).first()
        if existing is not None and not data.replace:
            old = _figures(existing)
            raise DomainError(
                ErrorCode.CONFLICT,
                _(
                    "%(month)s already has a record: %(income)s yuan for %(members)s member(s), recorded "
                    "%(at)s. To correct it, record the month again and choose to replace it."
                )
                % {
                    "month": old["month"],
                    "income": old["net_income"],
                    "members": old["members"],
                    "at": f"{timezone.localtime(existing.recorded_at):%Y-%m-%d}",
                },
                {"field": "month", "existing": old},
            )
        replaced = _figures(existing) if existing is not None else None
        record = existing or IncomeRecord(household=h, month=month)
        record.net_income = data.net_income.quantize(FEN)
        record.members = members
        record.per_head = per_head(data.net_income, members)
        record.source = data.source
        record.note = data.note.strip()
        record.recorded_by = actor if getattr(actor, "is_authenticated", False) else None
        record.recorded_at = timezone.now()
        try:
            with transaction.atomic():
                record.save()
        except IntegrityError as exc:  # another writer recorded the month at the same moment
            raise DomainError(
                ErrorCode.CONFLICT, _("The month was recorded at the same time; reload and try again.")
            ) from exc
        # A new version of the file: decisions read from the file before this are out of date.
        h.version += 1
        h.save(update_fields=["version", "updated_at"])
        figures = _figures(record)
        audit_record(
            actor=actor,
            action=AuditAction.CREATE if replaced is None else AuditAction.UPDATE,
            target_type="income_record",
            target_id=record.pk,
            unit_path=h.unit.path,
            before=replaced,
            after={"household": h.pk, **figures},
        )
        timeline_add(
            household=h,
            actor=actor,
            kind=TIMELINE_INCOME_RECORDED,
            summary=_summary(figures, replaced),
            data={"record": record.pk, **figures, **({"replaced": replaced} if replaced else {})},
        )
    return Recorded(record, replaced)


def parse_amount(text: str) -> Decimal | None:
    """An amount as people type it (``3,000.5``, full-width digits, ``1800元``); None when blank, NaN (which
    the check refuses as "Enter a number.") when it is not a number."""
    clean = plain_amount(text)
    if not clean:
        return None
    try:
        return decimal_of(clean)
    except InvalidOperation:
        return Decimal("NaN")


@dataclass(frozen=True)
class FollowUpMonth:
    """One row of the follow-up table: a calendar month and its record, if any."""

    month: date
    record: IncomeRecord | None


def follow_up_months(records: list[IncomeRecord], today: date, months: int = 12) -> list[FollowUpMonth]:
    """The last ``months`` calendar months, newest first, each with its record (or none: a gap)."""
    by_month = {r.month: r for r in records}
    this = month_start(today)
    return [FollowUpMonth(m, by_month.get(m)) for m in (add_months(this, -i) for i in range(months))]
