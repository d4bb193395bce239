"""The audit log, for its readers: the entries of the caller's jurisdiction (``org.audit_log``)."""

from datetime import date, datetime
from typing import Annotated, Any

from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema

from bangfu.api.errors import ERRORS, unit_filter_checked
from bangfu.api.permissions import actor, requires
from bangfu.api.schemas import UnitRefOut, choices_field, one_of
from bangfu.common.models import AuditAction, AuditEntry
from bangfu.common.paging import MAX_PAGE, CappedPaginator
from bangfu.org import audit_log
from bangfu.org.access import Perm

router = Router(tags=["audit"])

MAX_PAGE_SIZE = 200


class AuditQuery(Schema):
    actor: str = Field("", max_length=150, description="Only what this user did (user name, any case)")
    action: Annotated[str, one_of(AuditAction.values)] = choices_field(AuditAction.values)
    target_type: str = Field("", max_length=64, description="Only entries about this kind of object")
    target_id: str = Field("", max_length=64, description="Only entries about the object with this id")
    date_from: date | None = Field(None, description="From this day (local time), included")
    date_to: date | None = Field(None, description="To this day (local time), included")
    unit_id: int | None = Field(None, description="Only this union and the unions below it")
    page: int = Field(1, ge=1, le=MAX_PAGE)
    page_size: int = Field(50, ge=1, le=MAX_PAGE_SIZE)


class AuditEntryOut(Schema):
    seq: int = Field(description="The entry's number in the chain")
    at: datetime
    actor: str = Field(description="The user name (or `system`; for a refused sign-in, the name tried)")
    action: str
    target_type: str
    target_id: str
    unit: UnitRefOut | None = Field(description="The union the entry belongs to; null: none")
    note: str
    before: Any = Field(None, description="What the object was (personal numbers masked)")
    after: Any = Field(None, description="What it became (personal numbers masked)")


class AuditPageOut(Schema):
    count: int = Field(description="Entries matching, counted up to 10,001")
    count_capped: bool = Field(description="True when more entries match than are counted: narrow the filters")
    page: int
    page_size: int
    results: list[AuditEntryOut]


def _row(e: AuditEntry, units: dict[str, Any]) -> dict[str, Any]:
    u = units.get(e.unit_path)
    return {
        "seq": e.seq,
        "at": e.at,
        "actor": e.actor_label,
        "action": e.action,
        "target_type": e.target_type,
        "target_id": audit_log.masked_text(e.target_id),
        "unit": {"id": u.pk, "code": u.code, "name": u.name} if u else None,
        "note": audit_log.shown_note(e.note),
        "before": audit_log.masked_data(e.before),
        "after": audit_log.masked_data(e.after),
    }


@router.get("/audit", response={200: AuditPageOut, **ERRORS}, summary="Read the audit log")
@requires(Perm.AUDIT_VIEW)
def audit_list(request: HttpRequest, query: Query[AuditQuery]) -> dict[str, Any]:
    """The audit entries of the unions where the caller may read the audit log, newest first, one
    page at a time. Entries of no union (sign-ins, tokens, exports of the whole registry) are read
    only at the top of the union tree. Reading is not itself logged."""
    if query.date_from and query.date_to and query.date_from > query.date_to:
        raise ValidationError({"date_to": _("This day is before the day the list starts from.")})
    unit_filter_checked(audit_log.unit_choices(actor(request)), query.unit_id)
    filters = audit_log.AuditFilters(
        actor=query.actor,
        action=query.action,
        target_type=query.target_type,
        target_id=query.target_id,
        since=query.date_from,
        until=query.date_to,
        unit_id=query.unit_id,
    )
    qs = audit_log.audit_list(actor=actor(request), filters=filters)
    paginator = CappedPaginator(qs, query.page_size)
    start = (query.page - 1) * query.page_size
    entries = list(qs[start : start + query.page_size])
    units = audit_log.units_of(entries)
    return {
        "count": paginator.count,
        "count_capped": paginator.capped,
        "page": query.page,
        "page_size": query.page_size,
        "results": [_row(e, units) for e in entries],
    }
