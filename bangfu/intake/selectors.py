"""Reads of the application capability: work queues, one application, its decision and timeline,
the yearly reviews as staff list them."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from django.core.paginator import Page
from django.db.models import Case, CharField, Count, Exists, Max, OuterRef, Q, QuerySet, Subquery, Value, When
from django.utils import timezone
from django.utils.translation import gettext as _

from bangfu.common import crypto
from bangfu.common.errors import ErrorCollector
from bangfu.common.ids import ResidentId
from bangfu.common.paging import CappedPaginator
from bangfu.eligibility import rules
from bangfu.eligibility.adapters import RuleBook, StandardBook, member_facts_of
from bangfu.org import access
from bangfu.org.access import Perm
from bangfu.org.models import OrgLevel, OrgUnit, Role, RoleAssignment
from bangfu.registry.models import Member
from bangfu.registry.selectors import masked_id_typed
from bangfu.registry.validation import check_member

from . import conf, data, workflow
from .models import (
    RETURNED_LABEL,
    REVIEW_FIRST,
    STAFF_ONLY_EVENTS,
    UNSENT_LABEL,
    Applicant,
    Application,
    ApplicationEvent,
    ApplicationPerson,
    ApplicationState,
    Attachment,
    Notice,
    Objection,
    ReviewState,
    ReviewTask,
)
from .reviews import review_tasks_in_jurisdiction
from .services import acting_level, is_applicant, load, staff_visible, unit_levels, workers_draft

S = ApplicationState
# The cases under way: past their draft and not closed. A closed case (its file opened or reported
# up, refused, withdrawn: ``workflow.CLOSED``) is in no work queue, is not counted as under way and
# is never overdue; it is listed with the closed cases. Reporting an approved case up is taken from
# there (or its page), as it is no longer an open case.
QUEUE_STATES = [s for s in S.values if s in workflow.UNDER_WAY]
# A case returned from its first step to whoever submitted it, to put right: a draft again, but
# sent, so under way. One the union made at the counter (no worker edits it) is the union's to put
# right and submit again, in the queue of who may submit it; one the worker sent from the phone
# waits for the worker (``services.workers_draft``), listed among the cases under way only.
RETURNED = Q(state=S.DRAFT, submitted_at__isnull=False)
RETURNED_TO_THE_UNION = RETURNED & Q(created_by__isnull=False)
# The union's own drafts: made at the counter (by staff, whom no worker's phone edits), returned or
# never sent. Each is held by the side that made it: one a grassroots union's cadre made is in the
# queue of that union's cadres (not of the centre's staff above, who may submit it too by the
# table, and follow it among all the cases under way once it was sent); one the centre's staff
# made for a worker who came to the centre, in the queue of the centre's staff.
COUNTER_DRAFT = Q(state=S.DRAFT, created_by__isnull=False)
MADE_BY_CADRE = Exists(RoleAssignment.objects.filter(user=OuterRef("created_by"), role=Role.GRASSROOTS_CADRE))


def _limits() -> dict[str, int]:
    """The configured days per step, for the steps of an open case only (none for a closed one)."""
    return {st: days for st, days in conf.limit_days().items() if st not in workflow.CLOSED}


def application_get(*, actor: Any, application_id: int) -> Application:
    related = ("unit", "applicant", "household", "submitted_by", "first_reviewer", "approver")
    return load(actor, application_id, queryset=Application.objects.select_related(*related))


def application_read(*, actor: Any, application_id: int) -> Application:
    """One application for the API's answer: the row, and its unit only for staff, whose possible
    steps depend on where the case is (the worker's do not)."""
    qs = Application.objects.all() if is_applicant(actor) else Application.objects.select_related("unit")
    return load(actor, application_id, queryset=qs)


def application_events(*, actor: Any, application_id: int) -> QuerySet[ApplicationEvent]:
    """The case's history as the actor reads it: the worker without the events only staff read
    (``STAFF_ONLY_EVENTS``: the cross-check of the members against department data)."""
    app = load(actor, application_id)
    return shown_events(actor, app.events.select_related("actor").order_by("at", "id"))


def shown_events(actor: Any, events: QuerySet[ApplicationEvent]) -> QuerySet[ApplicationEvent]:
    """``events`` as ``actor`` reads them: all to staff, to the worker not ``STAFF_ONLY_EVENTS``."""
    return events.exclude(action__in=STAFF_ONLY_EVENTS) if is_applicant(actor) else events


def event_shown(actor: Any, event: ApplicationEvent) -> bool:
    """Whether ``actor`` reads ``event`` in the case's history (``shown_events``, for a list read already)."""
    return not (is_applicant(actor) and event.action in STAFF_ONLY_EVENTS)


def attachments_of(app: Application) -> QuerySet[Attachment]:
    """The case's files (not those staff removed, which are kept apart: ``attachments_removed``)."""
    return app.attachments.filter(removed_at__isnull=True).select_related("uploaded_by")


def attachments_removed(app: Application) -> QuerySet[Attachment]:
    """The files staff removed from the case, kept with who removed them, when and why."""
    return app.attachments.filter(removed_at__isnull=False).select_related("removed_by").order_by("removed_at", "id")


def my_applications(*, applicant: Applicant) -> QuerySet[Application]:
    return Application.objects.filter(applicant=applicant).select_related("unit").order_by("-id")


def my_notices(*, applicant: Applicant) -> QuerySet[Notice]:
    return Notice.objects.filter(applicant=applicant).order_by("-id")


@dataclass(frozen=True)
class QueueRow:
    application: Application
    days_waiting: int
    limit: int | None
    overdue: bool
    # The last day of the public notice still running or posted to start (``notice_waits``), else None.
    notice_until: dt.date | None = None
    # The first day of a notice posted but not started yet (it runs from the day after the unit
    # review is recorded), else None: "starts tomorrow", not "on notice".
    notice_starts: dt.date | None = None
    # On notice with nothing to do before it ends (no objection to answer): not the actor's work yet.
    waiting_for_notice: bool = False
    # Returned for correction (``RETURNED``): the reason it was returned with, else "".
    returned_reason: str = ""

    @property
    def state_label(self) -> str:
        """The step in words: a counter draft not sent yet is "Draft (not sent)", a returned one
        "Returned for correction"."""
        app = self.application
        if app.state == S.DRAFT and app.submitted_at is None and app.created_by_id is not None:
            return str(UNSENT_LABEL)
        return app.state_label


# The reason of a case's last return to its draft (read for a returned case only).
_RETURN_REASON = (
    ApplicationEvent.objects.filter(application=OuterRef("pk"), action=workflow.RETURN, to_state=S.DRAFT)
    .order_by("-at", "-id")
    .values("reason")[:1]
)


# The step of the unit review and public notice (民主评议和公示) is the grassroots union's, but
# nothing moves it on while its public notice runs ("report to the higher union" is taken the day
# after the notice ends, ``services._guard``). So a case whose notice runs, with no objection to
# answer, is no one's work yet: it is listed with the day its notice ends but not counted, and the
# step's clock (days waiting, overdue) runs from the day after the notice ends, not from the day
# the case came to the step. Before its unit review is recorded the clock runs from that day, as
# every step's does. A review recorded before the case last came to the step (it was returned
# below it) is not this passage's: the step waits for a new review.
def _with_notice(qs: QuerySet[Application]) -> QuerySet[Application]:
    """``qs`` with ``reviewed_here`` (the unit review was recorded since the case came to its
    step), ``open_objection`` (an objection to the notice is not answered yet) and
    ``returned_reason`` (why a returned case was returned)."""
    return qs.annotate(
        reviewed_here=Exists(
            ApplicationEvent.objects.filter(
                application=OuterRef("pk"), action=workflow.RECORDS[S.UNIT_REVIEW], at__gte=OuterRef("state_since")
            )
        ),
        open_objection=Exists(Objection.objects.filter(application=OuterRef("pk"), answered_at__isnull=True)),
        returned_reason=Case(
            When(RETURNED, then=Subquery(_RETURN_REASON)), default=Value(""), output_field=CharField()
        ),
    )


def _notice_waits(today: dt.date) -> Q:
    """Cases of an annotated (``_with_notice``) query on public notice with nothing to do yet."""
    return Q(state=S.UNIT_REVIEW, reviewed_here=True, open_objection=False, notice_to__gte=today)


def _clock(app: Any, now: dt.datetime, today: dt.date, limits: dict[str, int]) -> QueueRow:
    """A case's row: its days at its step (for the notice's step, from the day after the notice
    ends once its review is recorded) and whether that is past the step's limit."""
    limit = limits.get(app.state) if app.state not in workflow.CLOSED else None
    noticed = app.state == S.UNIT_REVIEW and getattr(app, "reviewed_here", False) and app.notice_to is not None
    if noticed:
        days = max(0, (today - app.notice_to).days - 1)
        running = app.notice_to >= today
        return QueueRow(
            app,
            days,
            limit,
            limit is not None and days > limit,
            notice_until=app.notice_to if running else None,
            notice_starts=app.notice_from if running and app.notice_from and app.notice_from > today else None,
            waiting_for_notice=running and not getattr(app, "open_objection", False),
        )
    days = (now - app.state_since).days
    reason = getattr(app, "returned_reason", "") or ""
    return QueueRow(app, days, limit, limit is not None and days > limit, returned_reason=reason)


def _actionable(actor: Any) -> Q:
    """The cases whose forward step the actor may take, as ``services.acting_level`` judges one
    case: a (kind, state) pair under a union where the actor holds one of the step's roles at one
    of its levels (an administrator: any). In SQL, so that a page of the queue is a full page and
    its counts are the cases the actor acts on."""
    q = Q(pk__in=[])
    levels = unit_levels(actor)
    grants = list(access.grants(actor))
    for step in workflow.STEPS:
        if step.source in workflow.CLOSED:
            continue
        paths = {
            (g.unit_path, g.role)
            for g in grants
            if (g.role == Role.ADMIN and step.roles - {workflow.APPLICANT})
            or (g.role in step.roles and levels.get(g.unit_id) in step.levels)
        }
        for path, role in sorted(paths):
            at = _drafts_held(role) if step.source == S.DRAFT else Q(state=step.source)
            q |= at & Q(kind__in=list(step.kinds), unit__path__startswith=path)
    return q


def _drafts_held(role: str) -> Q:
    """The drafts in the work queue of one who submits with ``role`` (of a query annotated with
    ``made_by_cadre``): the counter drafts made on their side (``COUNTER_DRAFT``); an administrator
    any of them. A worker's draft, sent back to them or never sent, is the worker's."""
    if role == Role.ADMIN:
        return COUNTER_DRAFT
    return COUNTER_DRAFT & Q(made_by_cadre=role == Role.GRASSROOTS_CADRE)


def holds_draft(actor: Any, app: Any) -> bool:
    """Whether the counter draft ``app`` (annotated with ``made_by_cadre``) is in the actor's work
    queue, as ``_drafts_held`` judges it in SQL."""
    if app.created_by_id is None or workers_draft(app):
        return False
    step = workflow.step_at(app.kind, app.state)
    if step is None:
        return False
    side = frozenset({Role.GRASSROOTS_CADRE if getattr(app, "made_by_cadre", False) else Role.CENTRE_STAFF})
    return acting_level(actor, app, step.roles & side, step.levels) is not None


def _queue_qs(actor: Any) -> QuerySet[Application]:
    visible = access.scope(actor, staff_visible(Application.objects.select_related("unit")), Perm.HOUSEHOLD_EDIT)
    return _with_notice(visible.annotate(made_by_cadre=MADE_BY_CADRE).filter(_actionable(actor)))


def queue(*, actor: Any, state: str = "", page: int = 1, per_page: int = 50) -> tuple[list[QueueRow], Page[Any]]:
    """A page of the actor's work queue (待办): cases in their jurisdiction waiting at a step they
    may take, oldest first, with the days waiting and an overdue flag against the configured
    limits; after them the cases on public notice that wait for it to end (``_notice_waits``).
    Counting stops at ``COUNT_CAP`` rows, so a page costs the same whatever is waiting.
    A page number past the last gives the last page (the pages' links)."""
    paginator = CappedPaginator(queue_cases(actor=actor, state=state), per_page)
    current = paginator.get_page(page)
    return queue_rows(actor, current.object_list), current


def queue_cases(*, actor: Any, state: str = "") -> QuerySet[Application]:
    """The actor's work queue as a query, oldest first, the cases waiting for their public notice
    to end last (the API cuts its pages from it)."""
    qs = _queue_qs(actor)
    if state:
        qs = qs.filter(state=state)
    waits = Case(When(_notice_waits(timezone.localdate()), then=Value(True)), default=Value(False))
    return qs.annotate(waits=waits).order_by("waits", "state_since", "id")


def queue_rows(actor: Any, cases: Any) -> list[QueueRow]:
    """The queue's rows of ``cases``, with the days waiting and the overdue flag."""
    limits = _limits()
    now = timezone.now()
    today = timezone.localdate()
    rows = []
    for app in cases:
        step = workflow.step_at(app.kind, app.state)
        if step is None or app.state in workflow.CLOSED or acting_level(actor, app, step.roles, step.levels) is None:
            continue  # ``_actionable`` let through no such case; this is the one-case judgement
        if app.state == S.DRAFT and not holds_draft(actor, app):
            continue  # nor a draft the union does not hold on the actor's side (``_drafts_held``)
        rows.append(_clock(app, now, today, limits))
    return rows


def queue_counts(*, actor: Any) -> list[dict[str, Any]]:
    """Cases waiting per step and how many of them are overdue, counted by the database; a case
    waiting for its public notice to end is not counted (it is no one's work yet)."""
    return _step_counts(_queue_qs(actor).exclude(_notice_waits(timezone.localdate())))


def _step_counts(qs: QuerySet[Application]) -> list[dict[str, Any]]:
    """Of an annotated (``_with_notice``) query: the cases per step, and how many are overdue (as
    ``_clock`` judges one case)."""
    limits = _limits()
    now = timezone.now()
    today = timezone.localdate()
    overdue = Q(pk__in=[])
    for st, days in limits.items():
        late = Q(state=st, state_since__lte=now - dt.timedelta(days=days + 1))
        if st == S.UNIT_REVIEW:
            # Once its review is recorded, from the day after its notice ends.
            late = (late & Q(reviewed_here=False)) | Q(
                state=st, reviewed_here=True, notice_to__lte=today - dt.timedelta(days=days + 2)
            )
        overdue |= late
    unsent = Count("id", filter=Q(submitted_at__isnull=True))
    rows = qs.order_by().values("state").annotate(count=Count("id"), overdue=Count("id", filter=overdue), unsent=unsent)
    by_state = {r["state"]: r for r in rows}

    def drafts(r: Any) -> Any:
        # Returned for correction (``RETURNED``), or made at the counter and not sent yet, named so;
        # "Draft" when both are there.
        return S.DRAFT.label if 0 < r["unsent"] < r["count"] else UNSENT_LABEL if r["unsent"] else RETURNED_LABEL

    return [
        {
            "state": st,
            "label": drafts(by_state[st]) if st == S.DRAFT else S(st).label,
            "count": by_state[st]["count"],
            "overdue": by_state[st]["overdue"],
        }
        for st in S.values
        if st in by_state
    ]


def _under_way_qs(actor: Any) -> QuerySet[Application]:
    """Every case under way (past its draft, not closed: ``QUEUE_STATES``) in the actor's
    jurisdiction, whoever's step it is at, and the cases returned for correction (``RETURNED``,
    to the union or to the worker): what a manager or an evaluator follows. A case waiting for me
    is always among all the cases under way; an approved case (已建档) is closed, in neither."""
    under_way = Application.objects.filter(Q(state__in=QUEUE_STATES) | RETURNED).select_related("unit")
    return _with_notice(access.scope(actor, staff_visible(under_way)))


def under_way(*, actor: Any, state: str = "", page: int = 1, per_page: int = 50) -> tuple[list[QueueRow], Page[Any]]:
    """A page of the cases under way in the actor's jurisdiction, oldest at its step first, with
    the days waiting and the overdue flag as the work queue has them."""
    qs = _under_way_qs(actor)
    if state:
        qs = qs.filter(state=state)
    current = CappedPaginator(qs.order_by("state_since", "id"), per_page).get_page(page)
    limits = _limits()
    now, today = timezone.now(), timezone.localdate()
    return [_clock(app, now, today, limits) for app in current.object_list], current


def under_way_counts(*, actor: Any) -> list[dict[str, Any]]:
    """The cases under way in the jurisdiction per step, and how many are overdue."""
    return _step_counts(_under_way_qs(actor))


# --- the closed cases ------------------------------------------------------------------------------

# Closed: the file opened (and reported up), refused, withdrawn. Listed newest closed first.
CLOSED_STATES = [s for s in S.values if s in workflow.CLOSED]
_SEARCH_MAX = 50
# An application's reference as the pages show it (SQ00000123), or its number alone.
_REFERENCE = re.compile(r"(?:SQ)?0*(\d{1,12})", re.IGNORECASE)


@dataclass(frozen=True)
class ClosedRow:
    application: Application
    closed_on: dt.datetime  # when the decision that closed it was taken (``Application.closed_at``)
    reason: str  # the reason given with that decision (an approval's, a refusal's, a withdrawal's), else ""


def closed_query(raw: str | None) -> str:
    """A search as typed: full-width characters made plain, spaces collapsed."""
    return re.sub(r"\s+", " ", unicodedata.normalize("NFKC", raw or "")).strip()[:_SEARCH_MAX]


def _closed_searched(actor: Any, q: str) -> QuerySet[Application]:
    """The closed cases in the actor's jurisdiction, those the worker never sent left out, that
    ``q`` finds: a person's whole ID number (the head or a member, by the keyed-hash index), the
    head's masked number as the lists show it, the application's reference or number, else the
    start of the applicant's name."""
    qs = access.scope(actor, staff_visible(Application.objects.filter(state__in=CLOSED_STATES)))
    text = closed_query(q)
    if not text:
        return qs
    rid = ResidentId.try_parse(text)
    if rid is not None:
        digest = crypto.keyed_hash(rid.value)
        person = ApplicationPerson.objects.filter(application=OuterRef("pk"), id_hash=digest)
        return qs.filter(Q(head_id_hash=digest) | Exists(person))
    if masked := masked_id_typed(text):
        # The head's number as the list shows it (5329**********101X), copied from it: an unindexed
        # look-up within the jurisdiction (a member's masked number is not kept with the case).
        return qs.filter(head_id_masked=masked)
    if reference := _REFERENCE.fullmatch(text.replace(" ", "")):
        return qs.filter(pk=int(reference.group(1)))
    return qs.filter(head_name__istartswith=text)


def closed_cases(*, actor: Any, state: str = "", q: str = "") -> QuerySet[Application]:
    """The closed cases (``CLOSED_STATES``, or one of them) in the actor's jurisdiction that ``q``
    finds (``_closed_searched``), the most recently closed first, with ``closed_reason``: the
    reason of the decision that closed it (``workflow.CLOSING``), which neither a report up nor a
    conversion to a formal case (whose event names the new case) replaces."""
    qs = _closed_searched(actor, q).select_related("unit")
    if state:
        qs = qs.filter(state=state)
    said = ApplicationEvent.objects.filter(application=OuterRef("pk"), action__in=sorted(workflow.CLOSING))
    return qs.annotate(closed_reason=Subquery(said.order_by("-at", "-id").values("reason")[:1])).order_by(
        "-closed_at", "-id"
    )


def closed_rows(cases: Any) -> list[ClosedRow]:
    return [ClosedRow(app, app.closed_at or app.state_since, getattr(app, "closed_reason", "") or "") for app in cases]


def closed_counts(*, actor: Any, q: str = "") -> list[dict[str, Any]]:
    """The closed cases ``q`` finds per closed state, counted by the database (the states with none
    left out)."""
    rows = _closed_searched(actor, q).order_by().values("state").annotate(count=Count("id"))
    by_state = {r["state"]: r["count"] for r in rows}
    return [{"state": st, "label": S(st).label, "count": by_state[st]} for st in CLOSED_STATES if st in by_state]


def state_counts(*, actor: Any) -> dict[str, int]:
    qs = access.scope(actor, staff_visible(Application.objects.all())).values("state").annotate(n=Count("id"))
    return {r["state"]: r["n"] for r in qs}


def application_decision(app: Application, on: dt.date | None = None) -> rules.Decision | None:
    """The identification decision from the application's data, as the engine would decide the
    file; None while no member can be read yet, or while a value cannot be read or is wrong in
    itself (``data.draft_errors``: a negative expense would be added to the income)."""
    on = on or timezone.localdate()
    if data.draft_errors(app.data, app.unit_id):
        return None
    h, _errors = data.to_input(app.data, unit_id=app.unit_id)
    members = []
    collector = ErrorCollector()
    for i, m in enumerate(h.members):
        checked = check_member(collector, i, m, on)
        if checked is None:
            continue
        members.append(member_facts_of(m, birth_date=checked.birth_date, on=on))
    if not members:
        return None
    code = app.unit.division_code
    facts = rules.HouseholdFacts(
        members=tuple(members),
        region_code=code,
        decision_date=on,
        incomes=tuple((i.kind, i.amount_yearly) for i in h.incomes if i.amount_yearly is not None),
        rigid_expenses=tuple((e.kind, e.amount_yearly) for e in h.rigid_expenses if e.amount_yearly is not None),
        homes=tuple(rules.HomeFacts(x.floor_area, x.acquired_on) for x in h.homes if x.floor_area is not None),
        main_cause=h.main_cause,
        secondary_causes=tuple(h.secondary_causes),
    )
    return rules.decide(facts, StandardBook.load(on.year).get(code, on), RuleBook.load().get(code))


def notice_union(*, actor: Any, unit_id: int | None) -> OrgUnit | None:
    """The union whose notice list is asked for (``unit_id``), if it is in the actor's
    jurisdiction; None for none asked or one outside it (which the page and the API refuse, 404)."""
    return access.units(actor).filter(pk=unit_id).first() if unit_id is not None else None


def public_notice_list(*, actor: Any, unit_id: int | None = None, on: dt.date | None = None) -> QuerySet[Application]:
    """Cases on public notice on ``on`` (today by default), or to be from the next day (a notice
    runs from the day after the review is recorded: the list is printed and posted first), for
    the printable list with masked IDs: of the actor's jurisdiction, or of one union in it and the
    unions under it (a county's list holds its grassroots unions' cases); none for a union outside."""
    on = on or timezone.localdate()
    qs = access.scope(actor, staff_visible(Application.objects.select_related("unit"))).filter(
        state=S.UNIT_REVIEW, notice_from__lte=on + dt.timedelta(days=1), notice_to__gte=on
    )
    if unit_id is not None:
        unit = notice_union(actor=actor, unit_id=unit_id)
        qs = qs.filter(unit__path__startswith=unit.path) if unit is not None else qs.none()
    return qs.order_by("unit__path", "id")


def public_notice_printed(
    *, actor: Any, unit_id: int | None = None, start: int = 0, stop: int | None = None
) -> list[Application]:
    """``public_notice_list`` as it is printed or fetched for posting (all of it, or the rows from
    ``start`` to ``stop``, a page of the API): names and masked ID numbers leave the system, so
    each time is an export in the audit log (the jurisdiction it covers, and how many cases)."""
    from bangfu.common.audit import audit_record
    from bangfu.common.models import AuditAction

    rows = list(public_notice_list(actor=actor, unit_id=unit_id)[start:stop])
    paths = sorted(g.unit_path for g in access.grants(actor))
    unit = notice_union(actor=actor, unit_id=unit_id)
    audit_record(
        actor=actor,
        action=AuditAction.EXPORT,
        target_type="intake.public_notice",
        target_id=unit_id or "",
        unit_path=unit.path if unit is not None else (paths[0] if paths else ""),
        note=_("Cases on the notice list: %(n)s") % {"n": len(rows)},
    )
    return rows


# --- the unions a worker applies to ---------------------------------------------------------------

UNIONS_SHOWN = 100  # unions a list or a search shows at most
_QUERY_MAX = 50
_TERMS_MAX = 5


@dataclass(frozen=True)
class UnionSearch:
    """Grassroots unions in tree order (with their county's and city's unions loaded), whether
    more matched than are shown, and the union asked to be kept (``keep``), matched or not."""

    query: str
    units: list[OrgUnit]
    more: bool
    kept: OrgUnit | None = None


def union_query(raw: str | None) -> str:
    """A search as typed on a phone: full-width letters and spaces made plain, spaces collapsed."""
    text = unicodedata.normalize("NFKC", raw or "")
    return re.sub(r"\s+", " ", text).strip()[:_QUERY_MAX]


_LATIN = re.compile(r"[A-Za-z]{2,}")
_PINYIN_TTL = 300.0  # seconds a process keeps the unions' pinyin before reading the tree again
_pinyin_cache: dict[str, Any] = {"at": -_PINYIN_TTL, "rows": []}


def _pinyin_matches(term: str) -> list[int]:
    """The grassroots unions whose own, county's or city's union name reads ``term`` in pinyin
    (full syllables anywhere, or the start of the initials)."""
    import time

    from bangfu.registry.pinyin import name_pinyin

    now = time.monotonic()
    units = OrgUnit.objects.filter(level=OrgLevel.GRASSROOTS)
    # Unions added or removed since: read again at once (a rename waits for the time to pass).
    shape = units.aggregate(n=Count("pk"), last=Max("pk"))
    if now - _pinyin_cache["at"] > _PINYIN_TTL or _pinyin_cache.get("shape") != shape:
        rows = []
        named = units.values_list("pk", "name", "parent__name", "parent__parent__name")
        for pk, *names in named.iterator(chunk_size=2000):
            readings = [name_pinyin(n) for n in names if n]
            rows.append((pk, tuple(full for full, _initials in readings), tuple(i for _full, i in readings)))
        _pinyin_cache.update(at=now, rows=rows, shape=shape)
    return [
        pk
        for pk, fulls, initials in _pinyin_cache["rows"]
        if any(term in f for f in fulls) or any(i.startswith(term) for i in initials)
    ]


def union_search(*, q: str = "", limit: int = UNIONS_SHOWN, keep: int | None = None) -> UnionSearch:
    """The grassroots unions a worker may apply to whose name, county's or city's union name holds
    every word of ``q`` (all of them without ``q``), at most ``limit``. Any worker may apply to any
    grassroots union, so this is not scoped: union names are public."""
    query = union_query(q)
    grassroots = OrgUnit.objects.filter(level=OrgLevel.GRASSROOTS).select_related("parent", "parent__parent")
    qs = grassroots
    for term in query.split(" ")[:_TERMS_MAX] if query else []:
        names = Q(name__icontains=term) | Q(parent__name__icontains=term)
        if _LATIN.fullmatch(term):
            # Pinyin, as on a phone without Chinese input: "xiangyun", or initials "xyx".
            names |= Q(pk__in=_pinyin_matches(term.lower()))
        qs = qs.filter(names | Q(parent__parent__name__icontains=term))
    found = list(qs.order_by("path")[: limit + 1])
    units = found[:limit]
    kept = next((u for u in units if u.pk == keep), None) or (
        grassroots.filter(pk=keep).first() if keep is not None else None
    )
    return UnionSearch(query=query, units=units, more=len(found) > limit, kept=kept)


# --- the yearly reviews, as staff work through them -----------------------------------------------

# The states as staff sort the work, each task in one group: reports to check (theirs to act on),
# tasks the worker has not answered yet, and closed ones (confirmed unchanged, or the report applied).
REVIEW_GROUPS: dict[str, tuple[str, ...]] = {
    "reported": (ReviewState.REPORTED,),
    "open": (ReviewState.OPEN,),
    "done": (ReviewState.CONFIRMED, ReviewState.UPDATED, ReviewState.CLOSED_WITH_FILE),
}
# What a list may be filtered by: the tasks still to do (the first two groups), a group, or one state.
REVIEW_FILTERS: dict[str, tuple[str, ...]] = {
    "todo": (ReviewState.REPORTED, ReviewState.OPEN),
    **REVIEW_GROUPS,
    **{s: (s,) for s in ReviewState.values},
}
_FILE_NUMBER_MAX = 24  # the longest file number (``Household.file_number``)


@dataclass(frozen=True)
class ReviewFilters:
    """``state``: a key of ``REVIEW_FILTERS`` ("" for all); ``q``: part of a file number, or a
    member's whole ID number; ``year``: the review year (None for all)."""

    state: str = ""
    q: str = ""
    year: int | None = None
    unit_id: int | None = None  # this union's subtree; one outside the jurisdiction finds nothing


@dataclass(frozen=True)
class ReviewCounts:
    """The tasks matching the search and year, per group of ``REVIEW_GROUPS`` and in all; the
    years that have tasks (newest first)."""

    groups: dict[str, int]
    total: int
    years: list[int]

    @property
    def todo(self) -> int:
        return self.groups["reported"] + self.groups["open"]


def review_query(raw: str | None) -> str:
    """A file number as typed: full-width characters made plain, spaces taken out."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", raw or ""))[:_FILE_NUMBER_MAX]


def _reviews_searched(actor: Any, filters: ReviewFilters) -> QuerySet[ReviewTask]:
    # Read with the permission to see the files (managers and evaluators follow the reviews);
    # acting on a task needs the permission to edit its file (``reviews.review_task_get``).
    qs = review_tasks_in_jurisdiction(actor=actor, perm=Perm.HOUSEHOLD_VIEW)
    q = review_query(filters.q)
    rid = ResidentId.try_parse(q) if q else None
    if rid is not None:
        # The files the person is on (any member), by the keyed-hash index, as the household search.
        person = Member.objects.filter(household=OuterRef("household"), id_hash=crypto.keyed_hash(rid.value))
        qs = qs.filter(Exists(person))
    elif q:
        qs = qs.filter(household__file_number__icontains=q)
    if filters.unit_id is not None:
        unit = access.units(actor, Perm.HOUSEHOLD_VIEW).filter(pk=filters.unit_id).first()
        qs = qs.filter(household__unit__path__startswith=unit.path) if unit else qs.none()
    return qs


@dataclass(frozen=True)
class UnionReviewCounts:
    unit: OrgUnit
    reported: int  # the worker's report waits for staff
    open: int  # waiting for the worker
    done: int
    overdue: int  # not closed, past the day it was due
    own: bool = False  # the chosen union's own files (those of no union below it)


def review_counts_by_union(*, actor: Any, filters: ReviewFilters) -> list[UnionReviewCounts]:
    """The filtered tasks counted per union one level below the chosen union (or below the top of
    the actor's jurisdiction): how far each city or county has come, and how many are overdue."""
    units = access.units(actor, Perm.HOUSEHOLD_VIEW)
    top = units.filter(pk=filters.unit_id).first() if filters.unit_id is not None else None
    if top is None:
        top = units.order_by("level", "path").first()
    if top is None:
        return []
    children = list(units.filter(parent=top).order_by("path"))
    if not children:
        return []
    qs = _reviews_searched(actor, filters)
    if filters.year is not None:
        qs = qs.filter(year=filters.year)
    today = timezone.localdate()
    late = Q(state__in=(ReviewState.REPORTED, ReviewState.OPEN), due_on__lt=today)
    counts = {
        "reported": Count("id", filter=Q(state=ReviewState.REPORTED)),
        "open": Count("id", filter=Q(state=ReviewState.OPEN)),
        "done": Count("id", filter=Q(state__in=REVIEW_GROUPS["done"])),
        "overdue": Count("id", filter=late),
    }
    # One query: the counts per union that holds tasks, each added to the child of ``top`` its
    # path runs through (the id after ``top``'s own path), or to ``top``'s own files (a legacy import
    # puts a file there when its union column is blank), so that the rows add up to the totals.
    summed: dict[int | None, list[int]] = {}
    per_union = qs.filter(household__unit__path__startswith=top.path).values("household__unit__path")
    for path, *got in per_union.annotate(**counts).values_list("household__unit__path", *counts).order_by():
        below = path[len(top.path) :].split("/", 1)[0]
        into = summed.setdefault(int(below) if below else None, [0] * len(counts))
        for i, n in enumerate(got):
            into[i] += n

    def counted(unit: OrgUnit, sums: list[int] | None, *, own: bool = False) -> UnionReviewCounts:
        reported, open_, done, overdue = sums or [0] * len(counts)
        return UnionReviewCounts(unit, reported, open_, done, overdue, own=own)

    own = summed.get(None)
    out = [counted(top, own, own=True)] if own and any(own) else []
    out.extend(counted(child, summed.get(child.pk)) for child in children)
    return out


def review_list(*, actor: Any, filters: ReviewFilters) -> QuerySet[ReviewTask]:
    """The yearly review tasks in the actor's jurisdiction (as ``reviews.review_tasks_for`` scopes
    them), filtered: reports waiting for staff first, then the tasks waiting for the worker, then
    the closed ones; oldest first within each."""
    qs = _reviews_searched(actor, filters)
    if filters.year is not None:
        qs = qs.filter(year=filters.year)
    if filters.state:
        qs = qs.filter(state__in=REVIEW_FILTERS.get(filters.state, ()))
    return qs.select_related("done_by").order_by(REVIEW_FIRST, "due_on", "id")


def review_counts(*, actor: Any, filters: ReviewFilters) -> ReviewCounts:
    """How many tasks match the search and the year, per group and in all, whatever the state
    filter; counted by the database in one query."""
    rows = _reviews_searched(actor, filters).order_by().values("year", "state").annotate(n=Count("id"))
    groups = dict.fromkeys(REVIEW_GROUPS, 0)
    years: set[int] = set()
    for r in rows:
        years.add(r["year"])
        if filters.year is not None and r["year"] != filters.year:
            continue
        for group, states in REVIEW_GROUPS.items():
            if r["state"] in states:
                groups[group] += r["n"]
    return ReviewCounts(groups=groups, total=sum(groups.values()), years=sorted(years, reverse=True))


@dataclass(frozen=True)
class FileCategory:
    """What the worker is told of the file their approved case opened: the category the file is in,
    and the category a second person is still deciding on when an override waits ("" when none),
    each in words, with the sentence the phone shows (``said``)."""

    category: str
    category_label: str
    waiting: str
    waiting_label: str
    said: str


def file_category(app: Application) -> FileCategory | None:
    """The category of the file ``app``'s approval opened, as it is now (a second person's decision
    on an override moves it), for the worker's phone and their API; None before the file is opened.
    The worker read only the approval's reason and "file opened", never the category the file is in
    (one chosen at the approval waits for a second person, who may reject it)."""
    from bangfu.eligibility.models import DecisionCategory, EligibilityDecision, OverrideStatus
    from bangfu.registry.codes import HardshipCategory
    from bangfu.registry.models import Household

    if app.household_id is None or app.state not in {S.FILE_OPENED, S.REPORTED_UP}:
        return None
    category = Household.objects.filter(pk=app.household_id).values_list("category", flat=True).first()
    if not category:
        return None
    decision = (
        EligibilityDecision._base_manager.filter(household_id=app.household_id)
        .order_by("-pk")
        .only("override_status", "overridden_category")
        .first()
    )
    waiting = ""
    if decision is not None and decision.override_status == OverrideStatus.PENDING:
        waiting = decision.overridden_category
    label = str(HardshipCategory(category).label) if category in HardshipCategory.values else category
    waiting_label = str(DecisionCategory(waiting).label) if waiting in DecisionCategory.values else waiting
    said = _("Your file is in the category %(category)s.") % {"category": label}
    if waiting == category:
        said += " " + _("Another person at the union is still to confirm this category; it may change until then.")
    elif waiting:
        said += " " + _(
            "Another person at the union is deciding whether it becomes %(category)s; it may change until then."
        ) % {"category": waiting_label}
    return FileCategory(category, label, waiting, waiting_label, said)
