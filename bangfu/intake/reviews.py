"""The yearly review (年度复核): every open file comes back once a year as a review task.

``yearly_review_create`` (a daily task and ``bangfu intake yearly-review``) makes the tasks and can
run any number of times: one task per file and year. The worker, signed in on the phone with the
phone number of the file's head, confirms that nothing changed or reports what did (incomes, work,
health, address, phone); staff confirm a file themselves or check the worker's report and apply it
through the registry's ``household_update``.

A phone number is not a person: numbers are recycled. Before a review shows the file or takes an
answer, the worker proves in that sign-in to be one of the household (``review_proof``): they type
the ID number of a living member, compared by its keyed hash with the members' hashes. Five wrong
numbers a day per file lock the review on the phone for the rest of that day; every try is an
audit entry.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, replace
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from bangfu.common import crypto
from bangfu.common.audit import audit_record
from bangfu.common.errors import DomainError, ErrorCode
from bangfu.common.ids import InvalidResidentId, ResidentId
from bangfu.common.models import AuditAction
from bangfu.common.phones import plain_phone
from bangfu.common.punctuation import mark
from bangfu.common.text import clean_name, clean_reason, decimal_of, not_a_number, plain_amount
from bangfu.org import access
from bangfu.org.access import Perm
from bangfu.registry import codes
from bangfu.registry import services as registry
from bangfu.registry.inputs import AmountInput, BankAccountInput, HouseholdInput, MemberInput
from bangfu.registry.models import Household, Member
from bangfu.registry.timeline import timeline_add
from bangfu.registry.validation import HOUSEHOLD_TEXT, MAX_MONTHLY_INCOME, MEMBER_TEXT

from . import conf
from .messaging import Message, notify, notify_many
from .models import Applicant, HouseholdProof, ReviewDecline, ReviewState, ReviewTask
from .services import reason_checked

REVIEWED_STATES = (codes.FileState.ACTIVE, codes.FileState.RELIEVED)
MEMBER_CHANGEABLE = ("monthly_income", "work_status", "health")
CHUNK = 2000
PROOF_TRIES = 5  # wrong ID numbers a file's review takes on the phone in PROOF_WINDOW
PROOF_WINDOW = dt.timedelta(hours=24)


class ReviewError:
    DONE = "review_done"
    REPORTED = "review_reported"  # the worker's report waits for staff: nothing more from the worker
    PROOF_NEEDED = "review_proof_needed"
    PROOF_WRONG = "review_proof_wrong"
    PROOF_LOCKED = "review_proof_locked"


# A review not yet closed: waiting for the worker, or the worker's report waiting for staff.
UNFINISHED = (ReviewState.OPEN, ReviewState.REPORTED)


def yearly_review_create(*, today: dt.date | None = None) -> int:
    """Review tasks for the open files filed (or last reviewed) more than a year ago; returns how
    many were made. Running it again the same year makes none, and a file whose review of an
    earlier year is still open (waiting for the worker, or a report waiting for staff) gets no
    second one: that review is still the one to finish."""
    today = today or timezone.localdate()
    cutoff = today - dt.timedelta(days=conf.review_after_days())
    cutoff_at = dt.datetime.combine(cutoff, dt.time.max, tzinfo=dt.UTC)
    due = (
        Household.objects.filter(state__in=REVIEWED_STATES)
        .filter(Q(filed_on__lte=cutoff) | Q(filed_on__isnull=True, created_at__lte=cutoff_at))
        .exclude(review_tasks__year=today.year)
        .exclude(review_tasks__done_at__gt=cutoff_at)
        .exclude(Exists(ReviewTask.objects.filter(household=OuterRef("pk"), state__in=UNFINISHED)))
        .values_list("pk", flat=True)
        .distinct()
    )
    # The worker and staff have the configured days to answer: a review is not overdue the day after it appears.
    due_on = today + dt.timedelta(days=conf.review_due_days())
    made = 0
    ids = list(due.iterator(chunk_size=CHUNK))
    for i in range(0, len(ids), CHUNK):
        part = ids[i : i + CHUNK]
        # A chunk's tasks and the telling of their workers are one unit: the messages go once the
        # tasks are committed, and only for the tasks this run made (a second run makes none of
        # them again, so nobody is told twice).
        with transaction.atomic():
            before = set(ReviewTask.objects.filter(household_id__in=part, year=today.year).values_list("pk", flat=True))
            ReviewTask.objects.bulk_create(
                [ReviewTask(household_id=pk, year=today.year, due_on=due_on) for pk in part], ignore_conflicts=True
            )
            new = list(
                ReviewTask.objects.filter(household_id__in=part, year=today.year)
                .exclude(pk__in=before)
                .only("pk", "household_id", "year", "due_on", "done_by_applicant_id")
            )
            made += len(new)
            _tell_workers(new, NOTICE_OPENED)
    return made


# --- what the worker is told ------------------------------------------------------------------------------

# The worker's notices of the yearly review (``Notice.shown`` renders them in the reader's language).
NOTICE_OPENED = gettext_noop(
    "Your household's yearly review for %(year)s is open: sign in and confirm that nothing changed, "
    "or tell us what did, by %(due)s."
)
NOTICE_REPORTED = gettext_noop(
    "Your report for your household's yearly review for %(year)s was received; the union will check it."
)
NOTICE_REOPENED = gettext_noop(
    "Your household's yearly review for %(year)s had already been confirmed unchanged when your report came: "
    "your report was kept, and the union will check it."
)
NOTICE_CONFIRMED = gettext_noop("Your household's yearly review for %(year)s was confirmed: your file stays as it is.")
NOTICE_APPLIED = gettext_noop(
    "Your household's yearly review for %(year)s was checked: the changes you reported are now on your file."
)
NOTICE_DECLINED = gettext_noop(
    "The union did not take your report for your household's yearly review for %(year)s; your file stays as it "
    "is. Sign in and report again, or confirm, by %(due)s. The reason: %(reason)s"
)


def _tell_workers(tasks: Iterable[ReviewTask], msgid: str) -> None:
    """Tell the workers of ``tasks`` (every signed-up worker with the number of the file's head, and
    the one who answered the review) through the message backends, after the transaction commits.
    The text names the year and the due day only: nothing of the file before the proof."""
    from .services import notice_text

    tasks = list(tasks)
    if not tasks:
        return
    heads = dict(
        Member.objects.filter(
            household_id__in={t.household_id for t in tasks}, relationship=codes.Relationship.HEAD
        ).values_list("household_id", "phone")
    )
    phones = {p for p in heads.values() if p}
    applicants: dict[str, list[int]] = {}
    for pk, phone in Applicant.objects.filter(phone__in=phones).values_list("pk", "phone"):
        applicants.setdefault(phone, []).append(pk)
    messages: list[Message] = []
    for t in tasks:
        phone = heads.get(t.household_id) or ""
        params = {"year": t.year, "due": t.due_on.isoformat()}
        to = set(applicants.get(phone, []))
        if t.done_by_applicant_id:
            to.add(t.done_by_applicant_id)
        text = notice_text(msgid, params)
        # Without a signed-up worker, the backends that reach a phone (SMS) still get it.
        recipients: list[int | None] = [*sorted(to)] or [None]
        messages.extend(
            Message(text=text, applicant_id=applicant_id, phone=phone, msgid=msgid, params=params)
            for applicant_id in recipients
        )
    # One batch for the backends: the yearly job's thousands of notices are written in a few INSERTs.
    notify_many(messages)


# --- who may see a task ---------------------------------------------------------------------------------


def _applicant_households(applicant: Applicant) -> QuerySet[Member]:
    return Member.objects.filter(relationship=codes.Relationship.HEAD, phone=applicant.phone)


def _proofs(applicant: Applicant) -> QuerySet[HouseholdProof]:
    """The households this sign-in has proved to be one of (none without a sign-in)."""
    login = applicant.current_login
    if login is None:
        return HouseholdProof.objects.none()
    return HouseholdProof.objects.filter(login_id=login.pk, ok=True)


def _workers_tasks(actor: Applicant) -> Q:
    """The tasks a worker may open: those of the files they head, and those they answered (a report
    that changed the head's phone number still shows the worker its outcome)."""
    return Q(household_id__in=_applicant_households(actor).values("household_id")) | Q(done_by_applicant=actor)


def review_tasks_for(*, actor: Any, state: str = "") -> QuerySet[ReviewTask]:
    """Staff: the tasks in their jurisdiction; a worker: the tasks of the files they head still to
    do or being checked, and those confirmed or updated in the last ``conf.review_shown_days()``
    (the outcome, for a while), each with ``proven`` (whether this sign-in has proved to be one of
    the household: only then may the file's number or data be shown)."""
    qs = ReviewTask.objects.select_related("household", "household__unit")
    if isinstance(actor, Applicant):
        qs = qs.filter(_workers_tasks(actor)).annotate(
            proven=Exists(_proofs(actor).filter(household_id=OuterRef("household_id")))
        )
        if state:
            return qs.filter(state=state)
        since = timezone.now() - dt.timedelta(days=conf.review_shown_days())
        # An outcome gives way to the file's next review.
        later = ReviewTask.objects.filter(household_id=OuterRef("household_id"), year__gt=OuterRef("year"))
        recent = Q(state__in=(ReviewState.CONFIRMED, ReviewState.UPDATED), done_at__gte=since) & ~Exists(later)
        return qs.filter(Q(state__in=UNFINISHED) | recent).order_by("-year", "-id")
    qs = review_tasks_in_jurisdiction(actor=actor)
    return qs.filter(state=state) if state else qs.filter(state__in=UNFINISHED)


def review_tasks_in_jurisdiction(*, actor: Any, perm: Perm = Perm.HOUSEHOLD_EDIT) -> QuerySet[ReviewTask]:
    """Staff: every task of every year, in any state, of the files in their jurisdiction for
    ``perm`` (by default the permission to act on them), with the file and its union."""
    qs = ReviewTask.objects.select_related("household", "household__unit")
    return access.scope(actor, qs, perm)


def review_task_get(*, actor: Any, task_id: int, lock: bool = False, proven: bool = True) -> ReviewTask:
    """A task the actor may act on. A worker gets only the tasks of files they head (404 otherwise)
    and, unless ``proven`` is False (the page asking for the proof), only after proving in this
    sign-in to be one of the household."""
    qs = ReviewTask.objects.select_related("household", "household__unit")
    if lock:
        qs = qs.select_for_update(of=("self",))
    if isinstance(actor, Applicant):
        task = qs.filter(_workers_tasks(actor), pk=task_id).first()
        if task is None:
            raise Http404
        if proven and not review_proven(actor=actor, task=task):
            raise DomainError(
                ReviewError.PROOF_NEEDED,
                _("First type the ID number of a member of this household, to show it is yours."),
            )
        return task
    # One who sees the review (a manager, an evaluator) but may not act on it is told so, naming
    # the permission (403), as the applications answer them; one who does not see it gets 404.
    task = access.get_for(actor, qs, task_id, Perm.HOUSEHOLD_VIEW)
    access.require(actor, Perm.HOUSEHOLD_EDIT, task.household.unit)
    return task


def review_proof(*, actor: Applicant, task_id: int, id_number: str) -> ReviewTask:
    """The worker shows that the file reached by their phone number is their household's: the ID
    number of a living member. At most ``PROOF_TRIES`` wrong numbers per file in ``PROOF_WINDOW``;
    every try (right, wrong or refused) is an audit entry without the number."""
    login = actor.current_login
    if login is None:  # only a signed-in worker proves anything
        raise Http404
    review_task_get(actor=actor, task_id=task_id, proven=False)  # not theirs: 404 whatever was typed
    raw = (id_number or "").strip()
    if not raw:
        raise ValidationError({"id_number": _("Enter the ID number of a member of this household.")})
    try:
        rid = ResidentId.parse(raw)
    except InvalidResidentId as exc:  # a typing slip, not a guess: not a try
        raise ValidationError({"id_number": exc.message}) from None
    now = timezone.now()
    with transaction.atomic():
        task = review_task_get(actor=actor, task_id=task_id, lock=True, proven=False)
        household = task.household
        if review_proven(actor=actor, task=task):
            return task
        wrong = HouseholdProof.objects.filter(household=household, ok=False, at__gte=now - PROOF_WINDOW).count()
        member = None
        if wrong >= PROOF_TRIES:
            outcome: dict[str, Any] = {"proof": "refused"}
        else:
            member = (
                household.members.filter(deceased=False, id_hash=crypto.keyed_hash(rid.value))
                .values_list("pk", flat=True)
                .first()
            )
            HouseholdProof.objects.create(login=login, household=household, ok=member is not None, at=now)
            outcome = (
                {"proof": "ok", "member": member}
                if member is not None
                else {"proof": "wrong", "tries_left": PROOF_TRIES - wrong - 1}
            )
        audit_record(
            actor=str(actor),
            action=AuditAction.LOGIN,
            target_type="intake.review_task",
            target_id=task.pk,
            unit_path=household.unit.path,
            after={"household": household.pk, **outcome},
            note=_("Yearly review: proof of membership"),
        )
    # Raised after the block commits, so the wrong try stays counted and logged.
    if outcome["proof"] == "refused" or outcome.get("tries_left") == 0:
        raise DomainError(
            ReviewError.PROOF_LOCKED,
            _("Too many wrong ID numbers for this file: try again tomorrow, or ask your union."),
            {"tries_left": 0},
        )
    if member is None:
        left = outcome["tries_left"]
        raise DomainError(
            ReviewError.PROOF_WRONG,
            _("This is not the ID number of a member of this household; tries left: %(n)s.") % {"n": left},
            {"tries_left": left},
        )
    return task


def review_proven(*, actor: Applicant, task: ReviewTask) -> bool:
    """Whether the worker's sign-in has proved to be one of the task's household."""
    return _proofs(actor).filter(household_id=task.household_id).exists()


def review_proof_locked_until(*, task: ReviewTask, now: dt.datetime | None = None) -> dt.datetime | None:
    """When the file's review opens again on the phone after too many wrong ID numbers (the oldest
    of the last ``PROOF_TRIES`` wrong ones a day old); None while it is not locked."""
    now = now or timezone.now()
    recent = HouseholdProof.objects.filter(household_id=task.household_id, ok=False, at__gte=now - PROOF_WINDOW)
    wrong = list(recent.order_by("-at").values_list("at", flat=True)[:PROOF_TRIES])
    return wrong[-1] + PROOF_WINDOW if len(wrong) >= PROOF_TRIES else None


def review_household(*, actor: Any, task_id: int) -> tuple[ReviewTask, list[Member]]:
    """A task and the living members of its file, as the worker reviews them (after the proof)."""
    task = review_task_get(actor=actor, task_id=task_id)
    return task, list(task.household.members.filter(deceased=False).order_by("position", "id"))


# --- confirm, report, apply -----------------------------------------------------------------------------


def _close(task: ReviewTask, actor: Any, state: str, note: str) -> None:
    task.state = state
    task.done_at = timezone.now()
    task.note = note.strip()[:500]
    if isinstance(actor, Applicant):
        task.done_by_applicant = actor
    else:
        task.done_by = actor
    task.save()


def _record(task: ReviewTask, actor: Any, summary: str, declined: dict[str, Any] | None = None) -> None:
    """The step on the household's timeline and in the audit log (``declined``: the report staff
    did not take, with the reason)."""
    user = None if isinstance(actor, Applicant) else actor
    data: dict[str, Any] = {"review_task": task.pk, "year": task.year, "state": task.state}
    after: dict[str, Any] = {"state": task.state, "household": task.household_id, "changes": task.changes}
    if declined is not None:
        data["reason"] = declined["reason"]
        after["declined"] = declined
    timeline_add(household=task.household, actor=user, kind="yearly_review", summary=summary, data=data)
    audit_record(
        actor=user or str(actor),
        action=AuditAction.UPDATE,
        target_type="intake.review_task",
        target_id=task.pk,
        unit_path=task.household.unit.path,
        after=after,
    )


def file_closed(actor: Any, household: Any, from_state: str, to_state: str) -> None:
    """The registry's state hook (``registry.services.STATE_HOOKS``): a file that leaves the open
    states (exited, removed, cancelled) takes its unfinished yearly review with it — it is no
    longer to do, and nobody completes it afterwards."""
    from bangfu.registry.codes import OPEN_STATES, FileState

    if to_state in OPEN_STATES:
        return
    label = FileState(to_state).label if to_state in FileState.values else to_state
    for task in ReviewTask.objects.select_for_update().filter(household=household, state__in=UNFINISHED):
        _close(task, actor, ReviewState.CLOSED_WITH_FILE, _("The file was closed: %(state)s") % {"state": label})


def _seen_missing(task: ReviewTask, seen_state: str, **tokens: str) -> dict[str, str]:
    """What a staff client that must say what it saw (the API: ``seen_required``) left out, by the
    API's field names: ``state`` always, and for a report waiting (seen so, or not said) the
    tokens of that report — what the reviews page's form always sends. A state seen that is no
    longer the task's is answered as a conflict (409), not this: the review moved on."""
    missing: dict[str, str] = {}
    required = _("This field is required.")
    if not seen_state:
        missing["state"] = required
    if seen_state in ("", task.state) and task.state == ReviewState.REPORTED:
        missing |= {name: required for name, value in tokens.items() if not value}
    return missing


def review_confirm(
    *,
    actor: Any,
    task_id: int,
    note: str = "",
    seen_state: str = "",
    seen_file: str = "",
    seen_report: str = "",
    seen_required: bool = False,
) -> ReviewTask:
    """Nothing changed (the worker or staff). Staff confirming a worker's report apply it, and the
    household is identified again from what it now holds (its incomes, work and health).

    ``seen_state``: the task's state as staff saw it when they chose (``open``: "confirm
    unchanged"; ``reported``: "apply the changes"); a task that has moved on since — a worker's
    report sent meanwhile — is refused, so a report is never applied unseen.

    A report is applied only onto the file it was checked against: the reported fields must hold
    the values they held when the report came (``reported_from``), or those staff last saw beside
    it (``seen_file``, the ``file_token`` of the page or the API). A file changed in between (a
    staff edit of the same income) refuses it (409 ``conflict``, naming each change: "when
    reported → now"), nothing written; the list then shows the file's value now beside the report,
    and applying it from there applies it over what staff have now seen.

    ``seen_report``: the ``report_token`` of the report staff checked; once a report was declined
    the worker may send another, and one sent after staff opened the list is not applied unseen.

    ``seen_required`` (the API): staff must send the state they saw and, for a report, both
    tokens, as the page's form always does; one left out is refused (``state``, ``file_token``,
    ``report_token``), nothing written — without them no staleness would be checked at all."""
    with transaction.atomic():
        task = review_task_get(actor=actor, task_id=task_id, lock=True)
        note = _note(note)
        if task.state == ReviewState.CLOSED_WITH_FILE:
            raise DomainError(ReviewError.DONE, _("The file was closed, and its yearly review with it."))
        if task.state not in UNFINISHED:
            raise DomainError(ReviewError.DONE, _("This review is already done."))
        if seen_required and not isinstance(actor, Applicant):
            missing = _seen_missing(task, seen_state, file_token=seen_file, report_token=seen_report)
            if missing:
                raise ValidationError(missing)
        if seen_state and not isinstance(actor, Applicant) and seen_state != task.state:
            raise DomainError(
                ErrorCode.CONFLICT,
                # A report seen waiting and waiting no more was declined by someone else meanwhile.
                _("No report of the worker waits on this review now: it was answered after you opened the list.")
                if seen_state == ReviewState.REPORTED
                else _("The worker sent a report after you opened the list; check it before confirming."),
                {"state": task.state},
            )
        if isinstance(actor, Applicant):
            if task.state != ReviewState.OPEN:
                raise DomainError(ReviewError.REPORTED, _("Your report is being checked."))
            _close(task, actor, ReviewState.CONFIRMED, note)
            _record(task, actor, _("Yearly review: the worker confirmed the data."))
            _tell_workers([task], NOTICE_CONFIRMED)
            return task
        access.require(actor, Perm.HOUSEHOLD_EDIT, task.household.unit)
        if task.state == ReviewState.REPORTED and task.changes:
            from bangfu.eligibility.services import decision_compute

            Household.objects.select_for_update().filter(pk=task.household_id).first()  # no edit in between
            _same_report(task, seen_report)
            _file_unchanged(task, seen_file)
            _apply(actor, task)
            _close(task, actor, ReviewState.UPDATED, note)
            _record(task, actor, _("Yearly review: the reported changes were checked and applied."))
            # Identification follows the file: a new illness or a lost income can change the category.
            decision_compute(actor=actor, household_id=task.household_id)
            _tell_workers([task], NOTICE_APPLIED)
        else:
            _close(task, actor, ReviewState.CONFIRMED, note)
            _record(task, actor, _("Yearly review: confirmed unchanged."))
            _tell_workers([task], NOTICE_CONFIRMED)
    return task


def _reason(reason: Any) -> str:
    """The reason for declining a report, as typed (one line break as a browser counts it): required,
    at most as long as an application's decision keeps (``services.reason_checked``)."""
    text = clean_reason((reason if isinstance(reason, str) else "").replace("\r\n", "\n"))
    return reason_checked(text, required=True)


def report_token(task: ReviewTask, declined: int | None = None) -> str:
    """A fingerprint of the worker's report waiting for staff: its changes, its note, and how many
    reports of the review were declined before it (``declined``; read when not given). Sent back
    when staff apply or decline the report, so that a report sent after an earlier one was declined
    — the same fields, even the same values — is never applied or declined unseen. "" when no
    report waits."""
    if task.state != ReviewState.REPORTED:
        return ""
    if declined is None:
        declined = ReviewDecline.objects.filter(task_id=task.pk).count()
    body = {"changes": task.changes or {}, "note": task.note, "declined": declined}
    return hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=True).encode()).hexdigest()[:16]


def _same_report(task: ReviewTask, seen_report: str) -> None:
    """Refuse (409 ``conflict``) when the report waiting is not the one staff saw (``seen_report``)."""
    if seen_report and seen_report != report_token(task):
        raise DomainError(
            ErrorCode.CONFLICT,
            _("The worker sent another report after you opened the list; check it before deciding."),
            {"state": task.state, "report_token": report_token(task)},
        )


def review_decline(
    *, actor: Any, task_id: int, reason: str, seen_state: str = "", seen_report: str = "", seen_required: bool = False
) -> ReviewDecline:
    """Staff do not take the worker's report (不采纳申报): nothing in the file changes; the report is
    kept with the decision (``ReviewDecline``: the reason, who, when); the review waits for the
    worker again — they may report again or confirm, and staff may still confirm it unchanged —
    with the configured days to answer from today (never less than it had); and the worker who sent
    the report is told, with the reason. The same staff who may apply a report may decline it.

    ``seen_state`` / ``seen_report``: the task's state and ``report_token`` as staff saw them; a
    review that moved on since (declined or answered by someone else, another report sent) is
    refused with 409 ``conflict`` (or ``review_done`` once closed), nothing written.

    ``seen_required`` (the API): both must be sent, as the page's form always sends them; one
    left out is refused with the reason's problems, if any (``state``, ``report_token``)."""
    if isinstance(actor, Applicant):
        raise PermissionDenied(Perm.HOUSEHOLD_EDIT.value)
    with transaction.atomic():
        task = review_task_get(actor=actor, task_id=task_id, lock=True)
        access.require(actor, Perm.HOUSEHOLD_EDIT, task.household.unit)
        missing = _seen_missing(task, seen_state, report_token=seen_report) if seen_required else {}
        try:
            reason = _reason(reason)
        except ValidationError as exc:
            if not missing:
                raise
            raise ValidationError({**exc.message_dict, **missing}) from None
        if task.state == ReviewState.CLOSED_WITH_FILE:
            raise DomainError(ReviewError.DONE, _("The file was closed, and its yearly review with it."))
        if task.state in (ReviewState.CONFIRMED, ReviewState.UPDATED):
            raise DomainError(ReviewError.DONE, _("This review is already done."))
        if missing:
            raise ValidationError(missing)
        if task.state != ReviewState.REPORTED or (seen_state and seen_state != task.state):
            raise DomainError(
                ErrorCode.CONFLICT,
                _("No report of the worker waits on this review now: it was answered after you opened the list."),
                {"state": task.state},
            )
        _same_report(task, seen_report)
        now = timezone.now()
        decline = ReviewDecline.objects.create(
            task=task,
            changes=task.changes or {},
            reported_from=task.reported_from or {},
            note=task.note,
            reported_by_applicant_id=task.done_by_applicant_id,
            reported_after_confirmation=task.reported_after_confirmation,
            reason=reason,
            declined_by=actor,
            declined_at=now,
        )
        task.state = ReviewState.OPEN
        task.changes = {}
        task.reported_from = {}
        task.note = ""
        task.reported_after_confirmation = False
        task.done_at = None
        task.done_by = None
        # The worker is asked again: they get the configured days from today to answer.
        task.due_on = max(task.due_on, timezone.localdate() + dt.timedelta(days=conf.review_due_days()))
        task.save()
        _record(
            task,
            actor,
            _("Yearly review: the worker's report was declined; the file stays as it is."),
            declined={
                "decline": decline.pk,
                "changes": decline.changes,
                "note": decline.note,
                "reason": reason,
            },
        )
        _tell_reporter(task, decline)
    return decline


def _tell_reporter(task: ReviewTask, decline: ReviewDecline) -> None:
    """Tell the worker who sent the declined report, with the reason: they proved to be one of the
    household when they sent it. The reason may speak of the file, so unlike the review's other
    notices it is not sent to the head's number when nobody signed in sent the report."""
    from .services import notice_text

    if decline.reported_by_applicant_id is None:
        return
    phone = Applicant.objects.filter(pk=decline.reported_by_applicant_id).values_list("phone", flat=True).first()
    params = {"year": task.year, "due": task.due_on.isoformat(), "reason": decline.reason}
    notify(
        Message(
            text=notice_text(NOTICE_DECLINED, params),
            applicant_id=decline.reported_by_applicant_id,
            phone=phone or "",
            msgid=NOTICE_DECLINED,
            params=params,
        )
    )


def file_token(values: dict[str, Any]) -> str:
    """A short fingerprint of the file's values of a report's fields (``_values_before``'s shape):
    what staff saw beside the report, sent back when they apply it."""
    return hashlib.sha256(json.dumps(values, sort_keys=True, ensure_ascii=True).encode()).hexdigest()[:16]


def _file_unchanged(task: ReviewTask, seen_file: str) -> None:
    """Refuse to apply ``task``'s report when the file's reported fields changed since the report
    came (or since staff saw them: ``seen_file``), naming each change."""
    now = _values_before(task, task.changes)
    kept = task.reported_from or {}
    if seen_file:
        if seen_file == file_token(now):
            return
    elif not kept or kept == now:
        return  # a report kept before its values were stored is compared with nothing
    rows = [c for c in _compared(task, kept, now) if c.before != c.now]
    lines = mark("semicolon").join(
        _("%(what)s: %(before)s when reported, now %(now)s")
        % {"what": f"{c.who} · {c.field}" if c.who else c.field, "before": c.before or "—", "now": c.now or "—"}
        for c in rows
    )
    raise DomainError(
        ErrorCode.CONFLICT,
        _(
            "The file was changed after the worker's report (%(changes)s); nothing was applied. "
            "Check the report against the file as it is now, then apply it again if it still holds."
        )
        % {"changes": lines or _("it was changed since you opened the list")},
        {"file_token": file_token(now), "changed": [c.__dict__ for c in rows]},
    )


def _compared(task: ReviewTask, kept: dict[str, Any], now: dict[str, Any]) -> list[ShownChange]:
    """The report's fields with their values when reported (``before``) and now on the file (``now``)."""
    names = dict(Member.objects.filter(household_id=task.household_id).values_list("pk", "name"))
    rows = []
    for field in ("address", "phone"):
        if field in (task.changes or {}):
            label = _("Address") if field == "address" else _("Phone")
            rows.append(ShownChange("", label, kept.get(field, ""), task.changes[field], now=now.get(field, "")))
    for key, values in (task.changes or {}).get("members", {}).items():
        old = (kept.get("members") or {}).get(str(key), {})
        new = (now.get("members") or {}).get(str(key), {})
        who = names.get(int(key), f"#{key}") if str(key).isdigit() else f"#{key}"
        rows.extend(
            ShownChange(
                who,
                str(_field_labels()[field]),
                _shown_value(field, old.get(field)),
                _shown_value(field, values[field]),
                now=_shown_value(field, new.get(field)),
            )
            for field in MEMBER_CHANGEABLE
            if field in values
        )
    return rows


def review_report(*, actor: Any, task_id: int, changes: dict[str, Any], note: str = "") -> ReviewTask:
    """The worker reports what changed; staff check it (``review_confirm``) before the file changes.

    ``changes``: ``{"address": str, "phone": str, "members": {member_id: {"monthly_income": "1200",
    "work_status": code, "health": code}}}`` — anything left out stays as it is. What the file could
    not take is refused here, each problem named (``changes``), not when staff apply the report."""
    with transaction.atomic():
        task = review_task_get(actor=actor, task_id=task_id, lock=True)
        reopening = _reopens(actor, task)
        if task.state != ReviewState.OPEN and not reopening:
            if isinstance(actor, Applicant) and task.state == ReviewState.REPORTED:
                raise DomainError(ReviewError.REPORTED, _("Your report is being checked."))
            raise DomainError(ReviewError.DONE, _("This review is already done."))
        # The living members, as the review shows them: a deceased member has no income or health to report.
        names = dict(task.household.members.filter(deceased=False).values_list("pk", "name"))
        clean = _clean_changes(changes, names)
        note = _note(note)
        if not clean and not note:
            raise ValidationError({"changes": _("Tell us what changed, or confirm that nothing did.")})
        task.changes = clean
        task.reported_from = _values_before(task, clean)
        task.state = ReviewState.REPORTED
        task.note = note
        if reopening:
            # Confirmed unchanged while the worker was typing: the report is not lost; it reopens
            # the review for staff, flagged, and the worker is told so.
            task.reported_after_confirmation = True
            task.done_at = None
            task.done_by = None
        if isinstance(actor, Applicant):
            task.done_by_applicant = actor
        task.save()
        _record(
            task,
            actor,
            _("Yearly review: the worker reported changes after it was confirmed unchanged; it is open again.")
            if reopening
            else _("Yearly review: the worker reported changes."),
        )
        _tell_workers([task], NOTICE_REOPENED if reopening else NOTICE_REPORTED)
    return task


def _reopens(actor: Any, task: ReviewTask) -> bool:
    """Whether the worker's report reopens ``task``: it was confirmed unchanged (by staff, or in the
    worker's other tab) while the worker was typing, in the last ``conf.review_shown_days()``, and
    no later review of the file was made since. A report on an updated or closed review does not."""
    if not isinstance(actor, Applicant) or task.state != ReviewState.CONFIRMED or task.done_at is None:
        return False
    if task.done_at < timezone.now() - dt.timedelta(days=conf.review_shown_days()):
        return False
    return not ReviewTask.objects.filter(household_id=task.household_id, year__gt=task.year).exists()


def _values_before(task: ReviewTask, changes: dict[str, Any]) -> dict[str, Any]:
    """The file's values of the fields ``changes`` reports (``ReviewTask.reported_from``)."""
    before: dict[str, Any] = {}
    if "address" in changes:
        before["address"] = task.household.address
    if "phone" in changes:
        head = task.household.members.filter(relationship=codes.Relationship.HEAD).first()
        before["phone"] = head.phone if head else ""
    reported = changes.get("members") or {}
    members = Member.objects.filter(household_id=task.household_id, pk__in=[int(k) for k in reported])
    for m in members:
        before.setdefault("members", {})[str(m.pk)] = {
            field: str(getattr(m, field)) for field in MEMBER_CHANGEABLE if field in reported[str(m.pk)]
        }
    return before


@dataclass(frozen=True)
class ShownChange:
    """One change of a worker's report as staff read it before applying it."""

    who: str  # the member's name; "" for the household's address or phone
    field: str  # the field's label
    before: str
    after: str
    # The file's value now, when it is no longer ``before`` (the file was changed since the report).
    now: str = ""

    @property
    def unchanged(self) -> bool:
        """The worker reported the value the file already held."""
        return self.before == self.after


def review_changes_shown(tasks: Iterable[ReviewTask]) -> None:
    """Give each task ``shown_changes``: its report with the members' names, the fields' labels
    and each value before and after (codes as their labels), the members of all the tasks read in
    one query. Staff check a report from this, not from its stored codes and member ids."""
    tasks = list(tasks)
    ids = {int(k) for t in tasks for k in (t.changes or {}).get("members", {}) if str(k).isdigit()}
    households = {t.household_id for t in tasks if (t.changes or {}).get("phone")}
    people = {
        m.pk: m
        for m in Member.objects.filter(
            Q(pk__in=ids) | Q(household_id__in=households, relationship=codes.Relationship.HEAD)
        )
    }
    heads = {m.household_id: m for m in people.values() if m.relationship == codes.Relationship.HEAD}
    labels = _field_labels()
    # The reports staff declined, each task's in the order they were declined (one query).
    declines: dict[int, list[ReviewDecline]] = {}
    for d in ReviewDecline.objects.filter(task_id__in=[t.pk for t in tasks]).select_related("declined_by"):
        declines.setdefault(d.task_id, []).append(d)
    shown = _shown_value

    for t in tasks:
        changes = t.changes or {}
        # The file's values when the report came; a report kept before they were stored is
        # compared with the file as it is now.
        kept = t.reported_from or {}
        # The file's values of the reported fields now, as ``_values_before`` reads them: shown
        # beside a report whose file was changed since, and sent back when staff apply it.
        now: dict[str, Any] = {}
        open_report = t.state == ReviewState.REPORTED
        rows: list[ShownChange] = []
        if changes.get("address"):
            before = kept.get("address", t.household.address)
            now["address"] = t.household.address
            after_now = now["address"] if open_report and now["address"] != before else ""
            rows.append(ShownChange("", _("Address"), before, changes["address"], now=after_now))
        if changes.get("phone"):
            head = heads.get(t.household_id)
            before = kept.get("phone", head.phone if head else "")
            now["phone"] = head.phone if head else ""
            after_now = now["phone"] if open_report and now["phone"] != before else ""
            rows.append(ShownChange("", _("Phone"), before, changes["phone"], now=after_now))
        for key, values in changes.get("members", {}).items():
            member = people.get(int(key)) if str(key).isdigit() else None
            old = (kept.get("members") or {}).get(str(key), {})
            for field in MEMBER_CHANGEABLE:
                if field in values:
                    current = shown(field, getattr(member, field)) if member is not None else ""
                    if member is not None and member.household_id == t.household_id:
                        now.setdefault("members", {}).setdefault(str(member.pk), {})[field] = str(
                            getattr(member, field)
                        )
                    before = shown(field, old[field]) if field in old else current
                    who = member.name if member is not None else f"#{key}"
                    after_now = current if open_report and current != before else ""
                    rows.append(
                        ShownChange(who, str(labels[field]), before, shown(field, values[field]), now=after_now)
                    )
        t.shown_changes = rows  # type: ignore[attr-defined]
        t.file_token = file_token(now)  # type: ignore[attr-defined]
        t.declined = declines.get(t.pk, [])  # type: ignore[attr-defined]
        t.report_token = report_token(t, declined=len(t.declined))  # type: ignore[attr-defined]


def _field_labels() -> dict[str, str]:
    return {
        "monthly_income": _("Monthly income (yuan)"),
        "work_status": _("Work status"),
        "health": _("Health"),
    }


def _shown_value(field: str, value: Any) -> str:
    """A reported or stored value as staff read it (codes as their labels, amounts grouped)."""
    choices: dict[str, Any] = {"work_status": codes.WorkStatus, "health": codes.Health}
    if field in choices and value in choices[field].values:
        return str(choices[field](value).label)
    if field == "monthly_income" and value not in (None, ""):
        try:
            return f"{Decimal(str(value)):,.2f}"  # 1800 and 1800.00 read alike, grouped as on the file
        except InvalidOperation:
            pass
    return "" if value is None else str(value)


NOTE_MAX = 500


def _named(field: str, problem: str) -> str:
    """A problem with the field (or the member) it is about, for a message at the top of the page."""
    return _("%(field)s: %(problem)s") % {"field": field, "problem": problem}


class ReportError(ValidationError):
    """A report refused, each problem named for the top of the page (the ``ValidationError``'s
    messages: "Luo Xiaohong's monthly income: Enter a number.", as the API sends them) and, in
    ``fields``, said bare by the box it is about — ``address``, ``phone``, ``note``, or
    ``members.<member id>.<field>`` — so that a form shows each beside its box."""

    def __init__(self, message: Any, fields: dict[str, list[str]]) -> None:
        super().__init__(message)
        self.fields = fields


class _Problems:
    """A report's problems as they are found: each named (``summary``) and by its box (``fields``)."""

    def __init__(self) -> None:
        self.summary: list[str] = []
        self.fields: dict[str, list[str]] = {}

    def add(self, key: str, name: str, problem: str) -> None:
        self.summary.append(_named(name, problem))
        self.fields.setdefault(key, []).append(problem)


def _members_field(name: str, field: str) -> str:
    """A member's field named for the top of the page ("Luo Xiaohong's monthly income")."""
    labels = {"monthly_income": _("monthly income"), "work_status": _("work status"), "health": _("health")}
    return _("%(name)s's %(field)s") % {"name": name, "field": labels[field]}


def _note(note: Any) -> str:
    text = clean_reason(note) if isinstance(note, str) else ""
    if len(text) > NOTE_MAX:
        problem = _("Enter at most %(max)s characters (%(n)s given).") % {"max": NOTE_MAX, "n": len(text)}
        raise ReportError({"note": _named(_("Note"), problem)}, {"note": [problem]})
    return text


def _text_change(value: Any, key: str, field: str, longest: int, problems: _Problems) -> str:
    """A changed address or phone as typed (full-width characters made plain); "" when left empty."""
    if value is None:
        return ""
    if not isinstance(value, str):
        problems.add(key, field, _("Enter text."))
        return ""
    # As a name is kept: no format characters (a zero-width space or a direction mark alone would
    # replace the address with nothing visible), white space as one space.
    text = clean_name(unicodedata.normalize("NFKC", value))
    if len(text) > longest:
        problem = _("Enter at most %(max)s characters (%(n)s given).") % {"max": longest, "n": len(text)}
        problems.add(key, field, problem)
        return ""
    return text


def _income_change(value: Any) -> tuple[str | None, str | None]:
    """A changed monthly income: (the amount, None) or (None, what is wrong); (None, None) when empty."""
    if value is None or value == "":
        return None, None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return None, _("Enter a number.")
    text = plain_amount(str(value))
    if not text:
        return None, None
    try:
        amount = decimal_of(text)
    except InvalidOperation:
        return None, not_a_number(text)
    if not amount.is_finite():
        return None, _("Enter a number.")
    if amount < 0:
        return None, _("Amounts cannot be negative.")
    if amount > MAX_MONTHLY_INCOME:
        return None, _("%(value)s is implausibly large.") % {"value": text if len(text) <= 20 else text[:20] + "…"}
    if amount != amount.quantize(Decimal("0.01")):
        return None, _("Use at most two decimal places (yuan and fen).")
    # Written plainly, as staff read it in the report: 1e3 is 1000, -0 is 0.
    return format(amount + 0, "f"), None


# What a report may hold: the household's address and phone, and the members' changes keyed by id.
REPORT_FIELDS = ("address", "phone", "members")


def members_shape_message() -> str:
    """A report's ``members`` that is not an object keyed by member id (a list of members, say)."""
    return _(
        "Enter an object keyed by member id, each holding the fields that changed: "
        '{"<member id>": {"monthly_income": "1200"}}.'
    )


def _known_shape(raw: dict[str, Any]) -> None:
    """Refuse a report whose keys are not a report's (each named, as the API names a field it does
    not know) or whose members are not keyed by id: said as such, not as a member not on the file."""
    errors: dict[str, str] = {}
    unknown = _("This field is not part of the request; check its spelling.")
    for key in raw:
        if key not in REPORT_FIELDS:
            errors[f"changes.{key}"] = unknown
    listed = raw.get("members") or {}
    if not isinstance(listed, dict):
        errors["changes.members"] = members_shape_message()
    else:
        for mid, values in listed.items():
            if not isinstance(values, dict):
                errors[f"changes.members.{mid}"] = _("Enter an object with named fields.")
                continue
            for field in values:
                if field not in MEMBER_CHANGEABLE:
                    errors[f"changes.members.{mid}.{field}"] = unknown
    if errors:
        raise ValidationError(errors)


def _clean_changes(raw: Any, names: dict[int, str]) -> dict[str, Any]:
    """The report as the file can take it, ``names`` being the file's members by id; every problem
    is named (the field, and the member it is of) in one ``ReportError`` under ``changes``."""
    if not isinstance(raw, dict):
        raise ValidationError({"changes": _("Tell us what changed, or confirm that nothing did.")})
    _known_shape(raw)
    problems = _Problems()
    out: dict[str, Any] = {}
    address = _text_change(raw.get("address"), "address", _("Address"), HOUSEHOLD_TEXT["address"], problems)
    # As a sign-in has it (no spaces, dashes or +86): the next review finds the file by this number.
    phone = plain_phone(_text_change(raw.get("phone"), "phone", _("Phone"), MEMBER_TEXT["phone"], problems))
    if phone and not (phone.isascii() and phone.isdigit()):
        problems.add("phone", _("Phone"), _("A phone number has digits only."))
    elif phone and not 7 <= len(phone) <= 12:  # as the file's own check has it: applying it would fail
        problems.add("phone", _("Phone"), _("A phone number has 7 to 12 digits (a mobile number 11)."))
    elif phone:
        out["phone"] = phone
    if address:
        out["address"] = address
    listed = raw.get("members") or {}
    members: dict[str, dict[str, str]] = {}
    for mid, values in listed.items():
        key = str(mid)
        pk = int(key) if key.isascii() and key.isdigit() and len(key) <= 18 else None
        if pk is None or pk not in names:
            raise ValidationError({"changes": _("This person is not a member of this file.")})
        m: dict[str, str] = {}
        amount, problem = _income_change(values.get("monthly_income"))
        if problem:
            problems.add(f"members.{pk}.monthly_income", _members_field(names[pk], "monthly_income"), problem)
        elif amount is not None:
            m["monthly_income"] = amount
        for field, choices in (("work_status", codes.WorkStatus), ("health", codes.Health)):
            value = values.get(field)
            if value in (None, ""):
                continue
            if not isinstance(value, str) or value not in choices.values:
                problem = _("“%(value)s” is not one of the allowed values.") % {"value": str(value)[:40]}
                problems.add(f"members.{pk}.{field}", _members_field(names[pk], field), problem)
                continue
            m[field] = value
        if m:
            members[str(pk)] = m
    if problems.summary:
        raise ReportError({"changes": problems.summary}, problems.fields)
    if members:
        out["members"] = members
    return out


def household_as_input(h: Household) -> HouseholdInput:
    """The stored file as a registry input (members named by id; their ID numbers are kept)."""
    members = [
        MemberInput(
            **{
                f: getattr(m, f)
                for f in MemberInput.__dataclass_fields__
                if f not in {"id_number", "member_id"} and hasattr(m, f)
            },
            id_number="",
            member_id=m.pk,
        )
        for m in h.members.all()
    ]
    acc = getattr(h, "bank_account", None)
    return HouseholdInput(
        unit_id=h.unit_id,
        category=h.category,
        main_cause=h.main_cause,
        address=h.address,
        housing_type=h.housing_type,
        members=members,
        tier=h.tier,
        state=h.state,
        is_migrant_worker=h.is_migrant_worker,
        secondary_causes=list(h.secondary_causes),
        cause_note=h.cause_note,
        housing_area=h.housing_area,
        medical_insurance=h.medical_insurance,
        self_reliant=h.self_reliant,
        accident_costs_yearly=h.accident_costs_yearly,
        private_school_fees_yearly=h.private_school_fees_yearly,
        public_school_fees_yearly=h.public_school_fees_yearly,
        studying_abroad_self_funded=h.studying_abroad_self_funded,
        filed_on=h.filed_on,
        filed_by_name=h.filed_by_name,
        reviewed_by_name=h.reviewed_by_name,
        incomes=[AmountInput(i.kind, i.amount_yearly, i.note) for i in h.incomes.all()],
        rigid_expenses=[AmountInput(e.kind, e.amount_yearly, e.note) for e in h.rigid_expenses.all()],
        homes=[],
        vehicles=[],
        business_roles=[],
        bank_account=BankAccountInput(
            bank=acc.bank, holder_name=acc.holder_name, card_number=crypto.decrypt(acc.card_cipher), branch=acc.branch
        )
        if acc is not None
        else None,
    )


def _apply(actor: Any, task: ReviewTask) -> None:
    from bangfu.registry.inputs import BusinessRoleInput, HomeInput, VehicleInput

    h = Household.objects.get(pk=task.household_id)
    data = household_as_input(h)
    data.homes = [HomeInput(x.floor_area, x.acquired_on, x.note) for x in h.homes.all()]
    data.vehicles = [VehicleInput(v.kind, v.note) for v in h.vehicles.all()]
    data.business_roles = [BusinessRoleInput(b.company, b.role, b.company_active) for b in h.business_roles.all()]
    changes = task.changes
    if changes.get("address"):
        data.address = changes["address"]
    members = []
    for m in data.members:
        new = changes.get("members", {}).get(str(m.member_id), {})
        if "monthly_income" in new:
            m = replace(m, monthly_income=Decimal(new["monthly_income"]))
        for key in ("work_status", "health"):
            if key in new:
                m = replace(m, **{key: new[key]})
        if "work_status" in new:
            # A job lost (or found) changes what the person is: identification reads the identity
            # ("working" is imputed no wage), and the form refuses "working" beside "unemployed".
            m = replace(m, identity=codes.identity_following(m.work_status, m.identity))
        if changes.get("phone") and m.relationship == codes.Relationship.HEAD:
            m = replace(m, phone=changes["phone"])
        members.append(m)
    data.members = members
    if not access.has_perm(actor, Perm.HOUSEHOLD_EDIT, h.unit):
        raise PermissionDenied(Perm.HOUSEHOLD_EDIT.value)
    registry.household_update(actor=actor, household_id=h.pk, data=data)
