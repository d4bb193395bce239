"""Writes of the application capability: create, save a draft, move along the declared workflow.

Every transition goes through ``application_transition``: the row is locked (``select_for_update``),
the version checked, the table consulted (``workflow.py``), the step's preconditions and
maker-checker enforced; then the state moves, an event joins the application's timeline, the audit
log records it as the transaction's last statement (``audit_deferred``: the audit chain's lock is
held for the commit only), and the worker is told after commit. The actor is a staff user or an
``Applicant`` (the worker signed in on the phone), who only ever reaches their own applications.
"""

from __future__ import annotations

from dataclasses import replace
from enum import StrEnum
from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Exists, Max, OuterRef, QuerySet, Value
from django.db.models.lookups import Exact
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from bangfu.common import crypto
from bangfu.common.audit import audit_deferred, audit_record
from bangfu.common.errors import DomainError, Refused
from bangfu.common.ids import ResidentId
from bangfu.common.phones import plain_phone
from bangfu.common.punctuation import join_list
from bangfu.common.text import clean_name, clean_reason
from bangfu.org import access
from bangfu.org.access import Perm
from bangfu.org.models import OrgLevel, OrgUnit, Role
from bangfu.registry import services as registry
from bangfu.registry.codes import FileState, HardshipCategory
from bangfu.registry.models import Member
from bangfu.registry.timeline import timeline_add
from bangfu.registry.validation import CheckedMember

from . import conf, data, workflow
from .messaging import Message, notify
from .models import (
    AUDIT_KEY,
    NEVER_SENT_BY_THE_WORKER,
    Applicant,
    Application,
    ApplicationEvent,
    ApplicationKind,
    ApplicationPerson,
    ApplicationState,
    Attachment,
    CheckResult,
)

S = ApplicationState


class IntakeError(StrEnum):
    CONFLICT = "conflict"
    INVALID_TRANSITION = "invalid_transition"
    MAKER_CHECKER = "maker_checker"
    PRECONDITION = "step_incomplete"
    CHECK_NOT_PASSED = "check_not_passed"  # an approval where a passed economic check is required
    NOT_DRAFT = "not_draft"
    TOO_MANY_ON_FILE = "too_many_on_file"
    TOO_MANY_DRAFTS = "too_many_drafts"


def is_applicant(actor: Any) -> bool:
    return isinstance(actor, Applicant)


def _user(actor: Any) -> Any:
    return actor if getattr(actor, "is_authenticated", False) and not is_applicant(actor) else None


# --- loading and who may act ----------------------------------------------------------------------


def staff_visible(qs: QuerySet[Application]) -> QuerySet[Application]:
    """``qs`` without the cases only the worker sees (``NEVER_SENT_BY_THE_WORKER``): for every
    staff read, one case or a list, so that such a case answers as one outside the jurisdiction."""
    return qs.exclude(NEVER_SENT_BY_THE_WORKER)


def drafts_in_audit_log() -> Exists:
    """The audit entries about the cases only the worker sees (``NEVER_SENT_BY_THE_WORKER``: their
    start, their proofs added or taken off, their authorisation, a withdrawal): left out of every
    reading of the audit log (``org.audit_log.NOT_YET_SHOWN``) until the worker submits the case,
    as the case itself is left out of every staff read. They are written as any other, in the
    union the draft was started at, and read from the submission on.

    Left out as ``NOT EXISTS`` one such case with the entry's id, the entry's type inside it: the
    database reads it as an anti-join, which looks up only the entries it reads (a page of the log:
    fifty look-ups) in the index of the cases never sent (``intake_app_unsent_audit_key``), or
    hashes those cases once for a whole count; never a pass over every application."""
    unsent = Application.objects.filter(
        NEVER_SENT_BY_THE_WORKER,
        Exact(OuterRef("target_type"), Value("intake.application")),
        Exact(AUDIT_KEY, OuterRef("target_id")),
    )
    return Exists(unsent.order_by())


def load(
    actor: Any, application_id: int, *, lock: bool = False, queryset: QuerySet[Application] | None = None
) -> Application:
    """The application if the actor may see it (the worker: their own; staff: one in their
    jurisdiction that the worker has sent, ``staff_visible``), else ``Http404``."""
    qs = Application.objects.all() if queryset is None else queryset
    if lock:  # the writers all need the unit (jurisdiction, the audit entry): in the same query
        qs = qs.select_related("unit").select_for_update(of=("self",))
    if is_applicant(actor):
        found = list(qs.filter(pk=application_id, applicant_id=actor.pk).order_by()[:1])
        if not found:
            raise Http404
        return found[0]
    return access.get_for(actor, staff_visible(qs), application_id)


def unit_levels(actor: Any) -> dict[int, int]:
    cached: dict[int, int] | None = getattr(actor, "_bangfu_intake_levels", None)
    if cached is None:
        ids = {g.unit_id for g in access.grants(actor)}
        cached = dict(OrgUnit.objects.filter(pk__in=ids).values_list("pk", "level"))
        actor._bangfu_intake_levels = cached
    return cached


def acting_level(actor: Any, app: Application, roles: frozenset[str], levels: frozenset[int]) -> int | None:
    """The union level at which the actor may act on ``app`` with one of ``roles``; None if none."""
    if is_applicant(actor):
        return OrgLevel.GRASSROOTS if workflow.APPLICANT in roles and app.applicant_id == actor.pk else None
    found = [level for level, _unit in acting_grants(actor, app, roles, levels)]
    return max(found) if found else None  # the nearest unit above the case


def acting_grants(actor: Any, app: Application, roles: frozenset[str], levels: frozenset[int]) -> list[tuple[int, int]]:
    """The staff actor's grants through which they may act on ``app`` with one of ``roles``: the
    level and the id of each one's union."""
    unit_path = app.unit.path
    found: list[tuple[int, int]] = []
    for g in access.grants(actor):
        if not unit_path.startswith(g.unit_path):
            continue
        level = unit_levels(actor).get(g.unit_id)
        if level is None:
            continue
        if (g.role == Role.ADMIN and roles - {workflow.APPLICANT}) or (g.role in roles and level in levels):
            found.append((level, g.unit_id))
    return found


def may(actor: Any, app: Application, action: str) -> bool:
    if workflow.target(app.kind, app.state, action) is None:
        return False
    if action == "approve" and _made_or_reviewed(actor, app):
        return False  # maker-checker: not offered (``_guard`` refuses it with the reason)
    if action == "approve" and check_bars_approval(app):
        return False  # a passed check required here: not offered (``_guard`` refuses it with the reason)
    if action == "submit" and not is_applicant(actor) and workers_draft(app):
        return False  # the worker's own draft: theirs to submit
    roles, levels = workflow.who(app.kind, app.state, action)
    if acting_level(actor, app, roles, levels) is None:
        return False
    return not step_waits(app, action)  # not offered while it waits (``waiting`` says for what)


def allowed_actions(actor: Any, app: Application) -> list[str]:
    return [a for a in workflow.ALL_ACTIONS if may(actor, app, a)]


def waiting(actor: Any, app: Application) -> dict[str, str]:
    """The actions the actor would take on the case but for what they wait for (``step_waits``),
    each with that sentence; with a temporary case's conversion waiting for a formal case that holds
    one of its persons (``convert_waits``). What the page says instead of the buttons, and the API
    gives beside ``allowed_actions``."""
    found: dict[str, str] = {}
    step = workflow.step_at(app.kind, app.state)
    if step is not None and step.action in _WAITING_STEPS:
        roles, levels = workflow.who(app.kind, app.state, step.action)
        if acting_level(actor, app, roles, levels) is not None and (waits := step_waits(app, step.action)):
            found[step.action] = waits
    if waits := convert_waits(actor, app):
        found["convert"] = waits
    return found


# The steps that wait for something before they can be taken (``step_waits``).
_WAITING_STEPS = frozenset({"visit_done", "notice_done", "check_done"})


# The acts that bar their maker from approving the case (maker-checker): a conversion submits the
# formal case made from a temporary one.
_MAKER_ACTIONS = ("submit", "convert", "first_review_pass", "emergency_accept")


def _made_or_reviewed(actor: Any, app: Application) -> bool:
    """Whether the actor submitted or first reviewed the case, now or at any time before (a case
    returned and reviewed again by another keeps its earlier reviewer out), and so may not
    approve it."""
    if _user(actor) is None:
        return False
    if actor.pk in {app.submitted_by_id, app.first_reviewer_id}:
        return True
    # A formal case made from a temporary one: who accepted the emergency reviewed it first too.
    cases = [pk for pk in (app.pk, app.converted_from_id) if pk is not None]
    return ApplicationEvent.objects.filter(
        application_id__in=cases, actor_id=actor.pk, action__in=_MAKER_ACTIONS
    ).exists()


def maker_checker_refusal(actor: Any, app: Application) -> str:
    """Why the actor may not approve the case, naming what they did to it — submitted it, made it
    from temporary aid (a conversion, which submits it), did its first review, accepted it as an
    emergency, or did one of these to the temporary aid it was made from; "" when they did none."""
    if not _made_or_reviewed(actor, app):
        return ""
    own: set[str] = set()
    source: set[str] = set()
    events = ApplicationEvent.objects.filter(
        application_id__in=[pk for pk in (app.pk, app.converted_from_id) if pk is not None],
        actor_id=actor.pk,
        action__in=_MAKER_ACTIONS,
    ).values_list("application_id", "action")
    for application_id, action in events:
        (own if application_id == app.pk else source).add(action)
    if "submit" in own or (actor.pk == app.submitted_by_id and "convert" not in own):
        return _("You submitted this application; someone else must approve it.")
    if "convert" in own:
        return _("You made this application from the temporary aid %(ref)s; someone else must approve it.") % {
            "ref": Application(pk=app.converted_from_id).reference
        }
    if "emergency_accept" in own or (actor.pk == app.first_reviewer_id and app.kind == ApplicationKind.TEMPORARY):
        return _("You accepted this application as an emergency; someone else must approve it.")
    if "first_review_pass" in own or actor.pk == app.first_reviewer_id:
        return _("You did this application's first review; someone else must approve it.")
    if "emergency_accept" in source:
        return _(
            "You accepted as an emergency the temporary aid this application was made from; "
            "someone else must approve it."
        )
    return _("You submitted the temporary aid this application was made from; someone else must approve it.")


def approval_barred(actor: Any, app: Application) -> str:
    """Why the actor may not approve the case now though their role could (maker-checker), as the
    page says it where the button would be; "" when nothing bars them."""
    if workflow.target(app.kind, app.state, "approve") is None:
        return ""
    refusal = maker_checker_refusal(actor, app)
    if not refusal:
        return ""
    roles, levels = workflow.who(app.kind, app.state, "approve")
    return refusal if acting_level(actor, app, roles, levels) is not None else ""


def approval_check_barred(actor: Any, app: Application) -> bool:
    """Whether the actor would approve the case now but for the passed economic check required
    here (the page says why the button is not there: ``check_required_message``)."""
    if workflow.target(app.kind, app.state, "approve") is None or not check_bars_approval(app):
        return False
    roles, levels = workflow.who(app.kind, app.state, "approve")
    return acting_level(actor, app, roles, levels) is not None


def _require_step(actor: Any, app: Application, state: str) -> None:
    """For the records a step keeps (visit, minutes, check): the case must be at that step, and the
    actor one who may complete it."""
    if app.state != state:
        raise DomainError(
            IntakeError.INVALID_TRANSITION,
            _("This can only be recorded while the application is at the step “%(step)s”.") % {"step": S(state).label},
            {"state": app.state},
        )
    step = workflow.step_at(app.kind, state)
    if step is None or acting_level(actor, app, step.roles - {workflow.APPLICANT}, step.levels) is None:
        raise PermissionDenied("intake.step")


# --- create and draft -----------------------------------------------------------------------------


def _set_typed(app: Application, form: dict[str, Any]) -> None:
    head = data.head_of(form)
    app.head_name = clean_name(str(head.get("name") or ""))[:60]
    rid = ResidentId.try_parse(str(head.get("id_number") or ""))
    app.head_id_masked = rid.masked if rid else ""
    app.head_id_hash = crypto.keyed_hash(rid.value) if rid else ""
    app.phone = plain_phone(str(head.get("phone") or ""))[:20] or (
        app.applicant.phone if app.applicant_id and app.applicant else ""
    )


def _unit_for(actor: Any, unit_id: int | None) -> OrgUnit:
    unit = OrgUnit.objects.filter(pk=unit_id, level=OrgLevel.GRASSROOTS).first() if unit_id else None
    if unit is None:
        raise ValidationError({"unit_id": _("Choose the grassroots union you apply to.")})
    if not is_applicant(actor):
        access.require_in_jurisdiction(actor, Perm.HOUSEHOLD_EDIT, unit)
    return unit


def may_take_at_counter(actor: Any, unit: OrgUnit, kind: str = ApplicationKind.FORMAL) -> bool:
    """Whether the actor may start, and so submit, a counter application for ``unit``."""
    roles, levels = workflow.who(kind, S.DRAFT, "submit")
    return acting_level(actor, Application(unit=unit, kind=kind), roles - {workflow.APPLICANT}, levels) is not None


def _event(app: Application, actor: Any, action: str, from_state: str, reason: str = "") -> ApplicationEvent:
    return ApplicationEvent.objects.create(
        application=app,
        at=timezone.now(),
        actor=_user(actor),
        actor_label=str(actor)[:150] if is_applicant(actor) else (actor.get_username() if _user(actor) else ""),
        action=action,
        from_state=from_state,
        to_state=app.state,
        reason=reason[:1000],
    )


def _audit(
    actor: Any, app: Application, action: str, before: dict[str, Any], after: dict[str, Any], note: str = ""
) -> None:
    audit_record(
        actor=actor,
        action="update" if action != "create" else "create",
        target_type="intake.application",
        target_id=app.pk,
        unit_path=app.unit.path,
        before=before,
        after={"action": action, **after},
        note=note,
    )


def application_create(
    *,
    actor: Any,
    unit_id: int | None,
    kind: str = ApplicationKind.FORMAL,
    form: dict[str, Any] | None = None,
    idempotency_key: str = "",
) -> Application:
    """A new draft, by the worker on the phone or by a cadre at the counter. With an idempotency key
    the same request twice gives the same application. A worker who has a draft of this kind at
    this union already gets that draft back (``existing_draft`` set on it), not a second empty one;
    with a form that differs from it, the start is refused naming it, so nothing typed is lost
    unsaid."""
    if kind not in ApplicationKind.values:
        raise ValidationError({"kind": _("Choose the kind of application.")})
    key = idempotency_key.strip()[:64]
    applicant = actor if is_applicant(actor) else None
    if key and applicant is not None:
        existing = Application.objects.filter(applicant=applicant, idempotency_key=key).first()
        if existing is not None:
            return existing
    unit = _unit_for(actor, unit_id)
    if applicant is not None:
        data.shape_errors(form or {}).raise_if_any()  # before it is compared with a draft's
        kept = _draft_there(applicant, unit, kind, form)
        if kept is not None:
            return kept
        _drafts_left(applicant)
    if not is_applicant(actor) and not may_take_at_counter(actor, unit, kind):
        # A draft the actor could never submit would wait for nobody.
        raise Refused(
            _(
                "Your role does not take applications at the counter for %(unit)s: its cadres and the staff of "
                "its assistance centre do."
            )
            % {"unit": unit.name}
        )
    data.shape_errors(form or {}).raise_if_any()
    normal = data.normalise(form or {})
    _input, readable = data.to_input(normal, unit_id=unit.pk)
    readable.raise_if_any()  # a value that cannot be read at all is refused, as a draft's save does
    app = Application(
        kind=kind,
        unit=unit,
        applicant=applicant,
        data=normal,
        idempotency_key=key if applicant else "",
        created_by=_user(actor),
        state_since=timezone.now(),
        form_saved_at=timezone.now(),
        form_saved_by=_user(actor),
    )
    _set_typed(app, normal)
    try:
        with audit_deferred():
            if applicant is not None:
                # Counted again under the worker's row lock: drafts asked for at once, one after another.
                Applicant.objects.select_for_update().filter(pk=applicant.pk).first()
                kept = _draft_there(applicant, unit, kind, form)
                if kept is not None:
                    return kept
                _drafts_left(applicant)
            app.save()
            _event(app, actor, "create", "")
            _audit(actor, app, "create", {}, {"kind": kind, "unit": unit.pk})
    except IntegrityError:
        existing = Application.objects.filter(applicant=applicant, idempotency_key=key).first()
        if existing is None:
            raise
        return existing
    return app


def _draft_there(applicant: Applicant, unit: OrgUnit, kind: str, form: dict[str, Any] | None) -> Application | None:
    """The worker's draft of ``kind`` at ``unit`` (the newest), marked ``existing_draft``; a start
    with a form other than the draft's is refused naming the draft (409)."""
    draft = Application.objects.filter(applicant=applicant, unit=unit, kind=kind, state=S.DRAFT).order_by("-pk").first()
    if draft is None:
        return None
    if form and data.normalise(form) != draft.data:
        raise DomainError(
            IntakeError.CONFLICT,
            _(
                "You already have a draft %(ref)s of this kind at %(unit)s: save your form into it (or withdraw it) "
                "instead of starting another."
            )
            % {"ref": draft.reference, "unit": unit.name},
            {"application_id": draft.pk},
        )
    draft.existing_draft = True  # type: ignore[attr-defined]
    return draft


def existing_draft_note(app: Application) -> str:
    """What the worker is told when a start gave back the draft they already had there."""
    if not getattr(app, "existing_draft", False):
        return ""
    return _("You already have a draft of this kind at %(unit)s: here it is (%(ref)s).") % {
        "unit": app.unit.name,
        "ref": app.reference,
    }


def _drafts_left(applicant: Applicant) -> None:
    """A worker has a case or two under way, not hundreds: drafts beyond ``DRAFTS_PER_WORKER``
    store nothing useful."""
    if Application.objects.filter(applicant=applicant, state=S.DRAFT).count() >= DRAFTS_PER_WORKER:
        raise DomainError(
            IntakeError.TOO_MANY_DRAFTS,
            _("You have %(n)s drafts already: finish or withdraw one of them first.") % {"n": DRAFTS_PER_WORKER},
        )


def application_save_draft(
    *,
    actor: Any,
    application_id: int,
    form: dict[str, Any],
    unit_id: int | None = None,
    expected_version: int | None = None,
) -> Application:
    """Save what the worker has so far; anything may still be missing."""
    with transaction.atomic():
        app = load(actor, application_id, lock=True)
        if not is_applicant(actor):
            access.require(actor, Perm.HOUSEHOLD_EDIT, app.unit)
        _not_the_workers_draft(actor, app)
        if app.state != S.DRAFT:
            raise DomainError(
                IntakeError.NOT_DRAFT,
                _("Only a draft can be changed; this application's state is “%(state)s”.")
                % {"state": S(app.state).label},
                {"state": app.state},
            )
        data.shape_errors(form).raise_if_any()
        normalised = data.normalise(form)
        # A value that cannot be read, or is wrong in itself (a negative amount, an area out of
        # range), is refused even in a draft: the draft page identifies the household from its
        # figures. What is still missing waits for the submit.
        if wrong := data.draft_errors(normalised, unit_id or app.unit_id):
            raise ValidationError(wrong)
        if normalised == app.data and unit_id in (None, app.unit_id):
            # The draft already holds this form: the same form sent again (a double tap on Submit,
            # a resend after going back) loses nobody's change, so it is no conflict either.
            return app
        _check_version(app, expected_version, by_worker=is_applicant(actor))
        if unit_id is not None and unit_id != app.unit_id:
            app.unit = _unit_for(actor, unit_id)
        app.data = normalised
        app.form_saved_at, app.form_saved_by = timezone.now(), _user(actor)
        _set_typed(app, app.data)
        app.version += 1
        app.save()
    return app


def workers_draft(app: Application) -> bool:
    """A draft the worker started on the phone: theirs until they submit it (a cadre's counter
    draft, or one the worker withdrew, is not)."""
    return app.state == S.DRAFT and app.applicant_id is not None and app.created_by_id is None


def _not_the_workers_draft(actor: Any, app: Application) -> None:
    """Staff do not change, submit or attach to a draft the worker is still writing on the phone."""
    if not is_applicant(actor) and workers_draft(app):
        raise Refused(
            _(
                "This is the worker's own draft, made on the phone: it is theirs until they submit it. "
                "Ask the worker to submit it, or help them at the counter on their phone."
            )
        )


def _check_version(app: Application, expected_version: int | None, *, by_worker: bool = False) -> None:
    if expected_version is not None and expected_version != app.version:
        message = (
            # The worker's draft changes only by the worker: another window or tab saved it first.
            _("This draft was saved from another window since you opened it: reload it and make your change again.")
            if by_worker and app.state == S.DRAFT
            else _("This application was changed after you opened it; reload it and try again.")
        )
        raise DomainError(IntakeError.CONFLICT, message, {"version": app.version, "state": app.state})


# --- the transition -------------------------------------------------------------------------------


def _open_file_check(actor: Any, app: Application) -> tuple[Any, list[Any]]:
    """Every mandatory field, each person on no other open file (but the temporary-aid file a
    formal case makes its own, ``_temporary_file``), no other case of its kind under way."""
    errors, h, checked = data.submit_errors(app.data, app.unit_id, app.kind)
    if errors:
        raise ValidationError(errors)
    own_file = app.household_id or _temporary_file(app, checked)
    app.temporary_file_id = None if app.household_id else own_file  # type: ignore[attr-defined]
    # Both checks tell of persons others keep: one day's number between them (``registry.Telling``).
    telling = registry.Telling(actor, app.unit)
    if is_applicant(actor):
        _on_file_check_from_a_phone(actor, checked, own_file, telling)
    else:
        registry.open_file_check(actor, checked, own_file, opening=True, telling=telling)
    _one_case_per_person(actor, app, h, checked, telling)
    return h, checked


def _temporary_file(app: Application, checked: list[Any]) -> int | None:
    """The temporary-aid file (临时救助) a formal case's persons are on, when it is one file kept at
    the case's union: temporary aid is asked for beside a formal case, or before it, and the
    formal case's approval makes that file the formal one (one file per household), as a
    conversion does; it is not a second open file. None for anything else (the persons on an
    active file, or on files elsewhere: the one-open-file check refuses them as before)."""
    if app.kind != ApplicationKind.FORMAL:
        return None
    hashes = [crypto.keyed_hash(c.rid.value) for c in checked]
    files = set(
        Member.objects.filter(id_hash__in=hashes, on_open_file=True)
        .order_by()
        .values_list("household_id", "household__state", "household__unit_id")
    )
    if len(files) != 1:
        return None
    ((household_id, state, unit_id),) = files
    return household_id if state == FileState.TEMPORARY and unit_id == app.unit_id else None


# Drafts a worker may hold at once (each is the worker's until submitted or withdrawn).
DRAFTS_PER_WORKER = 5

# A case in these states holds its persons: no other case may take them.
HOLDING = [s for s in S.values if s not in {S.DRAFT, S.REFUSED, S.WITHDRAWN, S.FILE_OPENED, S.REPORTED_UP}]


def _one_case_per_person(actor: Any, app: Application, h: Any, checked: list[Any], telling: registry.Telling) -> None:
    """No person of the case, head or member, is in another case of the same kind under way (two
    formal cases, or two temporary-aid cases); each one who is is named under their ID number, all
    at once, as ``case_told`` lets the actor know of that case. Temporary aid beside a formal case
    is allowed: a sudden hardship is decided at once, while the formal case takes weeks. Then the
    case's persons are kept (``ApplicationPerson``) for the cases after it."""
    digests = [crypto.keyed_hash(c.rid.value) for c in checked]
    hashes = {d: h.members.index(c.data) for d, c in zip(digests, checked, strict=True)}
    masked = {d: c.rid.masked for d, c in zip(digests, checked, strict=True)}
    person = dict(zip(digests, checked, strict=True))
    errors: dict[str, list[str]] = {}
    outside: list[str] = []
    for digest, case in holding_cases(list(hashes), kind=app.kind, exclude=app.pk):
        path = f"members.{hashes[digest]}.id_number"
        if path in errors:
            continue
        inside = _("An application for this person is already under way (%(ref)s).") % {"ref": case.reference}
        message, told = case_told(actor, telling, case, masked[digest], inside, person[digest])
        errors[path] = [message]
        if told:
            outside.append(digest)
    if errors:
        exc = ValidationError(errors)
        if is_applicant(actor) and outside:
            # Counted by ``application_submit`` with the persons found on a file (one day's number).
            exc.on_file = outside  # type: ignore[attr-defined]
        raise exc
    kept = set(app.persons.values_list("id_hash", flat=True))
    if kept != set(hashes):
        app.persons.exclude(id_hash__in=list(hashes)).delete()
        ApplicationPerson.objects.bulk_create(
            [ApplicationPerson(application=app, id_hash=d) for d in sorted(set(hashes) - kept)]
        )


def holding_cases(
    hashes: list[str] | None, *, kind: str | None = None, exclude: int | None = None
) -> list[tuple[str, Application]]:
    """The cases under way that hold the persons of ``hashes`` (``None``: every person; of
    ``kind``, all kinds with ``None``), each with the keyed hash of the person, oldest case first.
    The cases carry only what ``case_told`` reads (their union, their worker), not their form."""
    qs = ApplicationPerson.objects.filter(application__state__in=HOLDING)
    if hashes is not None:
        qs = qs.filter(id_hash__in=hashes)
    if kind is not None:
        qs = qs.filter(application__kind=kind)
    if exclude is not None:
        qs = qs.exclude(application_id=exclude)
    rows = list(
        qs.order_by("application_id").values_list(
            "id_hash", "application_id", "application__unit_id", "application__applicant_id"
        )
    )
    units = OrgUnit.objects.in_bulk({unit_id for _d, _pk, unit_id, _a in rows})
    return [
        (digest, Application(pk=pk, unit=units[unit_id], applicant_id=applicant_id))
        for digest, pk, unit_id, applicant_id in rows
    ]


def case_told(
    actor: Any,
    telling: registry.Telling,
    case: Application,
    id_masked: str,
    inside: str,
    person: CheckedMember | None = None,
) -> tuple[str, bool]:
    """What ``actor`` is told of a person whom ``case``, under way, holds, and whether that was
    told outside the actor's jurisdiction. ``inside`` (naming the case) to whoever may see the
    case: staff of its union or above, the worker whose case it is. Anyone else learns no
    reference: staff the union that keeps the case, as the open-file check names the union of a
    file (``registry.Telling``: the same day's number, files and cases together; past it, only that
    there is one), a worker's phone only that there is one. Each such telling is a reveal in the
    keeping union's log, the union named or not, and a staff user's in the asking union's too
    (``registry.Telling.log``; ``person``: the one asked about)."""
    keeper = case.unit
    staff = isinstance(actor, AbstractBaseUser)
    if (is_applicant(actor) and case.applicant_id == actor.pk) or (
        staff and access.has_perm(actor, Perm.HOUSEHOLD_VIEW, keeper)
    ):
        return inside, False
    message, named = telling.say(
        # Another worker's case: its reference would tell anyone who knows an ID number that this
        # person asked for hardship help, and where.
        phone=_("An application for this person is already under way; ask your union."),
        named=_(
            "An application for this person is already under way at %(unit)s, outside your jurisdiction: "
            "ask that union."
        )
        % {"unit": keeper.name},
        unnamed=_(
            "An application for this person is already under way outside your jurisdiction. You were told "
            "%(n)s times today which union keeps a person's file or application, the most a day: ask your "
            "assistance centre to find the union."
        )
        % {"n": registry.TOLD_ELSEWHERE_PER_DAY},
    )
    telling.log(
        target_type="intake.application",
        target_id=case.pk,
        unit=keeper,
        id_masked=id_masked,
        told="application_elsewhere",
        named=named,
        note=(
            _("Told a user outside the jurisdiction that this person is in application %(ref)s of %(unit)s")
            if named
            else _(
                "Told a user outside the jurisdiction that this person is in application %(ref)s "
                "(the union was not named)"
            )
        )
        % {"ref": case.reference, "unit": keeper.name},
        # In the asking union's log: what its user was told (no reference; the union if named).
        asked_note=(
            _("Told that this person is in an application under way at %(unit)s, outside the jurisdiction")
            % {"unit": keeper.name}
            if named
            else _(
                "Told that this person is in an application under way outside the jurisdiction "
                "(the union was not named)"
            )
        ),
        person=person,
    )
    return message, True


def persons_in_cases(
    actor: Any, hashes: dict[str, int], checked: list[Any], telling: registry.Telling
) -> dict[int, str]:
    """The registry's claim (``registry.PERSON_CLAIMS``): persons of ``hashes`` in an application
    under way, each named with the case (as ``case_told`` lets the actor know of it), so a file is
    not opened for them by hand beside it."""
    found: dict[int, str] = {}
    for digest, case in holding_cases(list(hashes)):
        i = hashes[digest]
        if i in found:
            continue
        inside = _(
            "An application for this person is under way (%(ref)s): the file is opened when it is "
            "approved; refuse or withdraw the application first to open one by hand."
        ) % {"ref": case.reference}
        found[i], _told = case_told(actor, telling, case, checked[i].rid.masked, inside, checked[i])
    return found


# A phone may be told "this person is already on a file" for this many different persons a day:
# more is someone trying ID numbers to learn who is in hardship, not a worker applying.
ON_FILE_ANSWERS_PER_DAY = 5


def _on_file_check_from_a_phone(
    applicant: Any, checked: list[Any], household_id: int | None, telling: registry.Telling
) -> None:
    """``registry.open_file_check`` for a worker's phone, counting the persons it finds on a file
    (and those it finds in another worker's case under way, ``_one_case_per_person``): past
    ``ON_FILE_ANSWERS_PER_DAY`` different ones a day, the phone is told nothing more about anyone:
    the submission is refused with a request to ask the union."""
    seen: list[str] = cache.get(_on_file_key(applicant)) or []
    if len(seen) >= ON_FILE_ANSWERS_PER_DAY:
        raise DomainError(
            IntakeError.TOO_MANY_ON_FILE,
            _("Too many of the persons entered today are on a file already: ask your union to help you apply."),
        )
    try:
        registry.open_file_check(applicant, checked, household_id, opening=True, telling=telling)
    except ValidationError as exc:
        # Counted by ``application_submit`` once this transaction has been rolled back (the count
        # is kept in the database: written here, it would be rolled back with the rest).
        at = {c.place(i): c for i, c in enumerate(checked)}  # the paths name the members' places in the input
        exc.on_file = [crypto.keyed_hash(at[int(path.split(".")[1])].rid.value) for path in exc.message_dict]  # type: ignore[attr-defined]
        raise


def _on_file_key(applicant: Any) -> str:
    """The cache entry of the persons a phone was told are on a file (their keyed hashes)."""
    return f"intake:on-file:{applicant.pk}"


def _count_on_file(applicant: Any, found: list[str]) -> None:
    key = _on_file_key(applicant)
    cache.set(key, sorted({*(cache.get(key) or []), *found}), timeout=24 * 3600)


def _precondition(message: str) -> DomainError:
    return DomainError(IntakeError.PRECONDITION, message)


def records_to_make_again(app: Application) -> set[str]:
    """The steps (of ``workflow.RECORDS``) whose record was made before the case was last
    returned to that step or below it: the visit, the unit review with its notice, the
    checking centre's answer are made again for the case as it now stands, not passed on the old."""
    returns = list(app.events.filter(action=workflow.RETURN).values_list("pk", "to_state"))
    if not returns:
        return set()
    made = dict(
        app.events.filter(action__in=list(workflow.RECORDS.values()))
        .order_by()
        .values("action")
        .annotate(last=Max("pk"))
        .values_list("action", "last")
    )
    again: set[str] = set()
    for state, record in workflow.RECORDS.items():
        back = [pk for pk, to in returns if to in workflow.at_or_below(state)]
        # A record never made is the step's own precondition ("Record the home visit first").
        last = made.get(record)
        if back and last is not None and last < max(back):
            again.add(state)
    return again


def step_waits(app: Application, action: str) -> str:
    """What ``action`` waits for on this case before it can be taken (a record to make, or make again
    after a return; the public notice's end; an objection to answer; the checking centre's answer),
    in a sentence; "" when nothing. The one place that decides it: ``may`` does not offer the action
    meanwhile (the page says this instead of the button, the API in ``waiting``), and ``_guard``
    refuses it with it (``step_incomplete``)."""
    if action == "visit_done":
        if not app.visits.exists():
            return _("Record the home visit first.")
        if S.HOME_VISIT in records_to_make_again(app):
            return _("The case came back to the home visit: record the new visit first.")
    elif action == "notice_done":
        if not app.unit_review_minutes.strip():
            return _("Record the unit review minutes first.")
        if S.UNIT_REVIEW in records_to_make_again(app):
            return _("The case came back after its unit review: record the new review, which starts a new notice.")
        if app.notice_to is None or app.notice_to >= timezone.localdate():
            return _(
                "The public notice has not ended yet: it runs to %(day)s, and the step is taken the day after."
            ) % {"day": app.notice_to.isoformat() if app.notice_to else "—"}
        if app.objections.filter(answered_at__isnull=True).exists():
            return _("Answer every objection first.")
    elif action == "check_done":
        if app.authorised_at is None:
            return _("The worker has not signed the authorisation for the economic check.")
        if app.check_result == CheckResult.NONE:
            return _("Request the economic check first.")
        if app.check_result == CheckResult.PENDING:
            return _("The checking centre has not answered yet: record its answer first.")
        if S.ECONOMIC_CHECK in records_to_make_again(app):
            return _("The case came back after its economic check: request the check again or record the answer again.")
        if conf.check_required(app.unit.division_code) and app.check_result != CheckResult.PASSED:
            return _("Here a passed economic check is required before approval.")
    return ""


def _guard(actor: Any, app: Application, action: str) -> None:
    if action == "submit":
        _open_file_check(actor, app)
    elif waits := step_waits(app, action):
        raise _precondition(waits)
    elif action == "approve":
        _open_file_check(actor, app)
        if refusal := maker_checker_refusal(actor, app):
            raise DomainError(IntakeError.MAKER_CHECKER, refusal)
        if check_bars_approval(app):
            raise DomainError(
                IntakeError.CHECK_NOT_PASSED, check_required_message(app), {"check_result": app.check_result}
            )


def check_failed(app: Application) -> bool:
    """Whether the formal case's economic check was not passed: approving it all the same is a
    person overriding a disqualifier (domain §2), with a reason (``check_reason_checked``)."""
    return app.kind == ApplicationKind.FORMAL and app.check_result == CheckResult.FAILED


def check_bars_approval(app: Application) -> bool:
    """Whether the formal case may not be approved for want of a passed economic check, where the
    configuration requires one (``conf.check_required``; read again at the approval: a case
    checked before the rule came in, or returned, is held to it too)."""
    return (
        app.kind == ApplicationKind.FORMAL
        and app.check_result != CheckResult.PASSED
        and conf.check_required(app.unit.division_code)
    )


def check_required_message(app: Application) -> str:
    return _(
        "Here a passed economic check is required before approval, and this case's check is “%(result)s”: "
        "it cannot be approved. Refuse it, or return it to the economic check if the checking centre answers again."
    ) % {"result": CheckResult(app.check_result).label}


def check_reason_checked(app: Application, reason: str) -> None:
    """An approval after a failed economic check says why (kept in the case's history and the audit log)."""
    if check_failed(app) and not reason:
        raise ValidationError(
            {
                "reason": _(
                    "The economic check was not passed: give the reason for approving all the same; "
                    "it is kept in the case's history and the audit log."
                )
            }
        )


# The event of an approval over a failed economic check (``models.EVENT_LABELS``).
CHECK_OVERRIDDEN = "check_overridden"

# The categories a new file is opened in (the pre-2018 ones are kept for imported files only).
APPROVAL_CATEGORIES = (HardshipCategory.DEEP, HardshipCategory.RELATIVE, HardshipCategory.ACCIDENT)


def _category(app: Application, chosen: str, reason: str) -> tuple[str, str]:
    """The approved category: the identification's, or one chosen with a reason when it differs;
    and the identification's category from the application's data ("" when it finds none)."""
    from .selectors import application_decision

    decision = application_decision(app)
    identified = str(decision.category) if decision is not None else ""
    if not chosen:
        if identified in HardshipCategory.values:
            return identified, identified
        raise ValidationError({"category": _("The identification found no category: choose one with a reason.")})
    if chosen not in APPROVAL_CATEGORIES:
        if chosen in HardshipCategory.values:
            message = _("A new file takes a current category; the pre-2018 ones are kept for imported files.")
        else:
            message = _("“%(value)s” is not one of the allowed values.") % {"value": chosen}
        raise ValidationError({"category": message})
    if chosen != identified and not reason:
        raise ValidationError(
            {"reason": _("The category differs from the identification: give the reason for the file's history.")}
        )
    return chosen, identified


def _open_file(actor: Any, app: Application, category: str, identified: str, level: int, reason: str) -> str:
    """Approval: the file is opened from the application's data (or a temporary one made formal)
    and the household is identified. The file carries the category in force on its identification
    (``_file_follows``): when the approved category is another, an override to it is asked for on
    the household's decision, by the approver with the approval's reason, and the file takes it
    only when a second person approves it (maker-checker, as every override); the category asked
    for is returned ("" when none was needed)."""
    from bangfu.eligibility.services import decision_compute

    if app.household_id is not None:  # a temporary-aid file made formal: same data, new state
        household = registry.household_state_change(
            actor=actor,
            household_id=app.household_id,
            to_state=FileState.ACTIVE,
            reason=reason or app.reference,
            check_claims=False,
        )
        decision = _settle(actor, app, decision_compute(actor=actor, household_id=household.pk), category)
        _file_follows(actor, app, household, decision, category)
        return _override_if_needed(actor, decision, category, reason)
    h, _errors = data.to_input(app.data, unit_id=app.unit_id)
    state = FileState.TEMPORARY if app.kind == ApplicationKind.TEMPORARY else FileState.ACTIVE
    taken = getattr(app, "temporary_file_id", None)  # found by ``_open_file_check`` just before
    h = replace(
        h,
        # What the identification finds, which the file carries until a second person approves
        # another; the approved category where it finds none a file can hold (not eligible).
        category=identified if identified in HardshipCategory.values else category,
        state=state,
        tier=registry.TIER_FOR_LEVEL[OrgLevel(level)],
        # The temporary-aid file made formal keeps the day it was filed, as a conversion does.
        filed_on=None if taken else timezone.localdate(),
        filed_by_name=(app.submitted_by.get_full_name() or app.submitted_by.username)
        if app.submitted_by
        else app.head_name,
        reviewed_by_name=(app.first_reviewer.get_full_name() or app.first_reviewer.username)
        if app.first_reviewer
        else "",
    )
    if taken:
        # The persons' temporary-aid file becomes the formal one, written from this case (what the
        # visit, the review and the check looked at), rather than a second open file beside it.
        household = registry.household_update(actor=actor, household_id=taken, data=h, check_claims=False)
    else:
        household = registry.household_create(actor=actor, data=h, check_claims=False)
    app.household = household
    timeline_add(
        household=household,
        actor=actor,
        kind="application_approved",
        summary=app.reference,
        data={"application_id": app.pk},
    )
    decision = _settle(actor, app, decision_compute(actor=actor, household_id=household.pk), category)
    _file_follows(actor, app, household, decision, category)
    return _override_if_needed(actor, decision, category, reason)


def _settle(actor: Any, app: Application, decision: Any, category: str) -> Any:
    """The approval settles the file's category: an override asked on the household before it and
    still waiting (at a temporary-aid approval, say) is closed as superseded — by the approval's
    filing in the category in force, or by the override to ``category`` it asks for next
    (``_override_if_needed``) — said on the household's timeline and in the audit log, rather than
    left to undo the approval when a second person approves it later. Returns the decision as it
    is then."""
    from bangfu.eligibility.services import decision_override_supersede

    if decision_override_supersede(actor=actor, decision_id=decision.pk, ref=app.reference, category=category):
        decision.refresh_from_db()
    return decision


def _file_follows(actor: Any, app: Application, household: Any, decision: Any, category: str) -> None:
    """The opened file carries the category in force on its identification (the rules' one, or an
    approved override's), one source of truth: a category chosen otherwise waits, as an override,
    for a second person, and the file takes it when that person approves it. Where the
    identification finds no category a file can hold (not eligible, cannot decide), the file
    carries the approved one, marked by the override waiting. The change is audited and on the
    timeline (``eligibility.services.file_category_set``); the same category again changes nothing."""
    in_force = str(decision.effective_category)
    target = in_force if in_force in HardshipCategory.values else category
    app.opened_as = target  # type: ignore[attr-defined]
    if household.category != target:
        from bangfu.eligibility.services import file_category_set

        household.category = file_category_set(
            actor=actor,
            household_id=household.pk,
            category=target,
            note=_("The approval of %(ref)s: the file takes the category in force on its identification")
            % {"ref": app.reference},
        ).category


def pending_override(app: Application) -> Any:
    """At the approval step: the override waiting for a second person on the household the
    approval files (a temporary-aid file made formal), which the approval will close as
    superseded (``_settle``); the approver sees it before deciding. None otherwise."""
    from bangfu.eligibility.models import EligibilityDecision, OverrideStatus

    if app.state != S.APPROVAL:
        return None
    household_id = app.household_id
    if household_id is None:
        errors, _h, checked = data.submit_errors(app.data, app.unit_id, app.kind)
        household_id = None if errors else _temporary_file(app, checked)
    if household_id is None:
        return None
    decision = (
        EligibilityDecision.objects.filter(household_id=household_id)
        .select_related("override_by")
        .order_by("-pk")
        .first()
    )
    return decision if decision is not None and decision.override_status == OverrideStatus.PENDING else None


def _override_if_needed(actor: Any, decision: Any, category: str, reason: str) -> str:
    """An override request to the approved category on the new decision, when it differs from the
    category in force (an approved override carried onto it counts: asking for it again is refused)."""
    if str(decision.effective_category) == category:
        return ""
    from bangfu.eligibility.services import decision_override_request

    decision_override_request(actor=actor, decision_id=decision.pk, category=category, reason=reason)
    return category


# What a transition may change; the form data is not written back.
_TRANSITION_FIELDS = [
    "state",
    "state_since",
    "version",
    "submitted_at",
    "submitted_by",
    "first_reviewer",
    "approver",
    "category",
    "household",
    "closed_at",
    "updated_at",
]


def application_transition(
    *,
    actor: Any,
    application_id: int,
    action: str,
    reason: str = "",
    expected_version: int | None = None,
    category: str = "",
) -> Application:
    """Take ``action`` on the application, as the declared table allows; of two people acting on
    the same case at once, exactly one succeeds (the other gets a conflict or an invalid step)."""
    # One line break, as a browser counts it against the box's maxlength: the text kept is the text sent.
    reason = clean_reason((reason or "").replace("\r\n", "\n"))
    with audit_deferred():
        app = load(actor, application_id, lock=True)
        if action not in workflow.ALL_ACTIONS:
            # Not an action at all (a typo, nothing): the request is wrong in itself (422), not
            # a step out of order (409), which would send the client to reload the case.
            raise ValidationError(
                {
                    "action": _("“%(value)s” is not an action; the actions are: %(actions)s.")
                    % {"value": action[:32], "actions": join_list(workflow.ALL_ACTIONS)}
                }
            )
        if action == "submit" and app.state == S.SUBMITTED:
            return app  # a double tap: already submitted, nothing more to do
        if action == "submit":
            _not_the_workers_draft(actor, app)
        _check_version(app, expected_version)
        to_state = workflow.target(app.kind, app.state, action)
        if to_state is None:
            raise DomainError(
                IntakeError.INVALID_TRANSITION,
                _("“%(action)s” is not possible while the application is at “%(state)s”.")
                % {"action": workflow.ACTION_LABELS.get(action, action), "state": S(app.state).label},
                {"state": app.state, "action": action},
            )
        roles, levels = workflow.who(app.kind, app.state, action)
        level = acting_level(actor, app, roles, levels)
        if level is None:
            raise PermissionDenied("intake." + action)
        # Only to who may act: a user who may not is told no more than that (the permission first).
        _reason_check(action, reason)
        _guard(actor, app, action)
        from_state = app.state
        now = timezone.now()
        fields = _TRANSITION_FIELDS
        if action == "submit":
            app.submitted_at = now
            app.submitted_by = _user(actor)
            # Kept as read from now on (spaces, full-width digits typed on the phone): one number,
            # one form, wherever it is shown, matched or copied.
            app.data = data.normal_ids(app.data)
            fields = [*_TRANSITION_FIELDS, "data"]
        elif action in {"first_review_pass", "emergency_accept"}:
            # Accepting an emergency is the temporary case's first review: its approver is someone else.
            app.first_reviewer = _user(actor)
        elif action == "approve":
            check_reason_checked(app, reason)
            app.approver = _user(actor)
            app.category, identified = _category(app, category, reason)
            app.override_asked = _open_file(  # type: ignore[attr-defined]
                actor, app, app.category, identified, level, reason
            )
        elif action == "report_up" and app.household is not None:
            timeline_add(household=app.household, actor=actor, kind="reported_up", summary=app.reference)
        if to_state in workflow.CLOSED and from_state not in workflow.CLOSED:
            app.closed_at = now  # the decision that closes it (``workflow.CLOSING``), not a report up
        app.state = to_state
        app.state_since = now
        app.version += 1
        app.save(update_fields=fields)
        after: dict[str, Any] = {"state": to_state}
        if action == "approve" and check_failed(app):
            # The failed check the approval overrides, said just before the decision and its reason.
            _event(app, actor, CHECK_OVERRIDDEN, app.state, app.check_note)
            after.update(check_result=app.check_result, check_note=app.check_note)
        _event(app, actor, action, from_state, reason)
        if action in CONVERSION_ENDED and app.converted_from_id is not None:
            # The temporary case it was made from says so: its history said it was being converted.
            source = Application.objects.get(pk=app.converted_from_id)
            _event(source, actor, CONVERSION_ENDED[action], source.state, app.reference)
        _audit(actor, app, action, {"state": from_state}, after, reason)
        _tell_worker(app, action, reason)
    return app


# The event a temporary case gets when the formal case made from it is withdrawn or refused
# (``models.EVENT_LABELS``); it may then be converted again (after a refusal) or applied for anew.
CONVERSION_ENDED = {workflow.WITHDRAW: "conversion_withdrawn", workflow.REFUSE: "conversion_refused"}


# The longest reason a decision keeps (``ApplicationEvent.reason``): the worker is sent what is kept.
REASON_MAX = 1000


def _reason_check(action: str, reason: str) -> None:
    """A return or refusal says why; no reason is longer than the history keeps (refused whole,
    never cut: the history and the worker's message say the same)."""
    reason_checked(reason, required=action in {workflow.RETURN, workflow.REFUSE})


def reason_checked(reason: str, *, required: bool) -> str:
    """``reason`` as a decision keeps it: given when ``required`` (the worker reads why), at most
    ``REASON_MAX`` characters, refused whole otherwise."""
    if required and not reason:
        raise ValidationError({"reason": _("Give the reason; the worker will see it.")})
    if len(reason) > REASON_MAX:
        raise ValidationError(
            {
                "reason": _("The reason is %(length)s characters long: shorten it to at most %(max)s.")
                % {"length": len(reason), "max": REASON_MAX}
            }
        )
    return reason


def approval_note(app: Application) -> str:
    """What the approver is told beside "approved" when the approved category is not the one in
    force on the identification: the file carries that one, and the override asked for awaits a
    second person."""
    asked = getattr(app, "override_asked", "")
    if not asked:
        return ""
    opened = getattr(app, "opened_as", "") or (app.household.category if app.household else asked)
    if opened == asked:  # the identification found no category a file holds (not eligible)
        return _(
            "The identification finds no hardship category for this household: the file is open as %(category)s, "
            "the category you chose, and the override to it asked for there awaits another person's approval."
        ) % {"category": HardshipCategory(asked).label}
    return _(
        "The file is open as %(opened)s, the category in force on its identification: the category you chose, "
        "%(category)s, was asked for as an override there, and the file takes it when another person approves it."
    ) % {"opened": HardshipCategory(opened).label, "category": HardshipCategory(asked).label}


def _tell_worker(app: Application, action: str, reason: str) -> None:
    """The worker is told of each step: the text in the site's language for the message backends,
    and its English source with its values, so that the in-app notice is shown in the language the
    worker reads it in (``Notice.shown``)."""
    if app.applicant_id is None:
        return
    if action == "convert":
        msgid = gettext_noop(
            "Your temporary aid became the application %(ref)s for a hardship file; you need not apply again."
        )
    elif action == workflow.RETURN and app.state == S.DRAFT:
        msgid = gettext_noop("Your application %(ref)s was returned to you for correction: %(reason)s")
    elif action == workflow.RETURN:
        msgid = gettext_noop("Your application %(ref)s was returned to “%(step)s”: %(reason)s")
    elif action == workflow.REFUSE:
        # What the worker can do next, not only that it is over.
        msgid = gettext_noop(
            "Your application %(ref)s was refused (%(reason)s). If you think this is wrong, ask %(union)s to look "
            "at it again; you may apply again when your situation changes."
        )
    elif action == "approve":
        msgid = gettext_noop("Your application %(ref)s was approved; your file is open.")
    elif action == workflow.WITHDRAW:
        # Only the worker withdraws: the case is not "at" a step, it was withdrawn as they asked.
        msgid = gettext_noop("Your application %(ref)s was withdrawn, as you asked.")
    else:
        msgid = gettext_noop("Your application %(ref)s is now at “%(step)s”.")
    params = {"ref": app.reference, "state": str(app.state), "reason": reason, "union": app.unit.name}
    notify(
        Message(
            text=notice_text(msgid, params),
            applicant_id=app.applicant_id,
            application_id=app.pk,
            phone=app.phone,
            msgid=msgid,
            params=params,
        )
    )


# Notices sent before their wording changed: kept in the catalogue, so that a notice already sent is
# still read in the worker's language (``Notice.shown`` translates its msgid when shown).
SENT_BEFORE = (gettext_noop("Your application %(ref)s was refused: %(reason)s"),)


def notice_text(msgid: str, params: dict[str, Any]) -> str:
    """A notice's text in the active language (the step named by its state's label)."""
    values = {**params, "step": S(params["state"]).label if params.get("state") in S.values else ""}
    return _(msgid) % values


def application_submit(*, actor: Any, application_id: int, expected_version: int | None = None) -> Application:
    try:
        return application_transition(
            actor=actor, application_id=application_id, action="submit", expected_version=expected_version
        )
    except ValidationError as exc:
        if is_applicant(actor) and getattr(exc, "on_file", None):
            _count_on_file(actor, exc.on_file)  # type: ignore[attr-defined]
        raise


def _conversion_over(source: Application) -> DomainError | None:
    """Why a temporary-aid case is not converted at all: it is no approved temporary case, it was
    converted already (or the worker withdrew the formal case made from it), or its file is no
    longer temporary aid; None when none of these holds."""
    file = source.household
    if source.kind != ApplicationKind.TEMPORARY or file is None:
        return DomainError(IntakeError.INVALID_TRANSITION, _("Only an approved temporary-aid case can be converted."))
    last = source.conversions.order_by("-pk").first()
    if last is not None and last.state != S.REFUSED:
        if last.state == S.WITHDRAWN:
            # Only the worker withdraws: staff do not make the case again in their name.
            return DomainError(
                IntakeError.CONFLICT,
                _(
                    "The worker withdrew the formal application made from this case (%(ref)s): it is not "
                    "converted again in their name. The worker may apply again."
                )
                % {"ref": last.reference},
                {"application_id": last.pk},
            )
        return DomainError(
            IntakeError.CONFLICT,
            _("This case was already converted to %(ref)s.") % {"ref": last.reference},
            {"application_id": last.pk},
        )
    if file.state != FileState.TEMPORARY:
        opened = (
            Application.objects.filter(household=file, kind=ApplicationKind.FORMAL, state__in=workflow.CLOSED)
            .exclude(state__in=[S.REFUSED, S.WITHDRAWN])
            .order_by("-pk")
            .first()
        )
        if opened is not None:
            message = _("The file %(file)s is already a formal file, approved in %(ref)s: there is nothing to convert.")
        else:
            message = _(
                "The file %(file)s is no longer temporary aid (it is “%(state)s”): there is nothing to convert."
            )
        return DomainError(
            IntakeError.CONFLICT,
            message
            % {
                "file": file.file_number,
                "ref": opened.reference if opened else "",
                "state": FileState(file.state).label,
            },
            {"application_id": opened.pk if opened else None, "household_state": file.state},
        )
    return None


def _conversion_waits(source: Application) -> DomainError | None:
    """A temporary-aid case whose file is still temporary aid waits to be converted while a formal
    case holds one of its persons: a person is in one formal case at a time, and that case takes
    the temporary file over at its approval (the refusal names the case). None when none does."""
    formal = (
        ApplicationPerson.objects.filter(
            id_hash__in=list(source.persons.values_list("id_hash", flat=True)),
            application__state__in=HOLDING,
            application__kind=ApplicationKind.FORMAL,
        )
        .order_by("application_id")
        .values_list("application_id", flat=True)
        .first()
    )
    if formal is None:
        return None
    ref = Application(pk=formal).reference
    return DomainError(
        IntakeError.CONFLICT,
        _(
            "A formal application for a person of this case is already under way (%(ref)s): a person is in one "
            "formal case at a time. Go on with that case, or refuse it (or have it withdrawn) to convert this one."
        )
        % {"ref": ref},
        {"application_id": formal},
    )


def _may_convert_here(actor: Any, app: Application) -> bool:
    """Whether the actor is one who converts the union's temporary cases (staff who may change its files)."""
    return (
        not is_applicant(actor)
        and app.kind == ApplicationKind.TEMPORARY
        and access.has_perm(actor, Perm.HOUSEHOLD_EDIT, app.unit)
    )


def may_convert(actor: Any, app: Application) -> bool:
    """Whether the actor would convert the temporary-aid case now (``application_convert`` would take
    it): the page's button and the API's ``convert`` in ``allowed_actions``."""
    return _may_convert_here(actor, app) and _conversion_over(app) is None and _conversion_waits(app) is None


def convert_waits(actor: Any, app: Application) -> str:
    """What the conversion of the temporary-aid case waits for, to one who would convert it (a formal
    case holding one of its persons); "" when it does not wait (taken now, or over)."""
    if not _may_convert_here(actor, app) or _conversion_over(app) is not None:
        return ""
    waits = _conversion_waits(app)
    return waits.message if waits is not None else ""


def application_convert(*, actor: Any, application_id: int, reason: str = "") -> Application:
    """Make a temporary-aid case a formal one without re-entering data: a formal application with
    the same data and the same file goes through the formal steps from first review; its approval
    turns the temporary file active."""
    with audit_deferred():
        source = load(actor, application_id, lock=True)
        access.require(actor, Perm.HOUSEHOLD_EDIT, source.unit)
        refused = _conversion_over(source) or _conversion_waits(source)
        if refused is not None:
            raise refused
        household = source.household
        assert household is not None  # noqa: S101 - ``_conversion_over`` refuses a case without its file
        now = timezone.now()
        app = Application.objects.create(
            kind=ApplicationKind.FORMAL,
            state=S.SUBMITTED,
            unit=source.unit,
            applicant=source.applicant,
            data=source.data,
            head_name=source.head_name,
            head_id_masked=source.head_id_masked,
            head_id_hash=source.head_id_hash,
            phone=source.phone,
            created_by=_user(actor),
            submitted_by=_user(actor),
            submitted_at=now,
            state_since=now,
            authorised_at=source.authorised_at,
            authorised_ip=source.authorised_ip,
            household=source.household,
            converted_from=source,
        )
        ApplicationPerson.objects.bulk_create(
            [ApplicationPerson(application=app, id_hash=d) for d in source.persons.values_list("id_hash", flat=True)]
        )
        # The proofs, photos and answers come with the case: the formal one points at the same
        # stored (encrypted) files, which are never removed while a case refers to them. A file
        # removed from the temporary case by staff stays there, kept for audit.
        Attachment.objects.bulk_create(
            [
                Attachment(
                    application=app,
                    kind=a.kind,
                    name=a.name,
                    file=a.file.name,
                    content_type=a.content_type,
                    size=a.size,
                    sha256=a.sha256,
                    by_worker=a.by_worker,
                    uploaded_by_id=a.uploaded_by_id,
                )
                for a in source.attachments.filter(removed_at__isnull=True)
            ]
        )
        _event(app, actor, "convert", "", reason)  # its label names the temporary aid (``ApplicationEvent.label``)
        _event(source, actor, "converted", source.state, app.reference)  # the temporary case says where it went
        _audit(actor, app, "convert", {}, {"from": source.pk, "household": source.household_id})
        # The file's own history says where it went: its temporary case now goes on as a formal one.
        timeline_add(
            household=household,
            actor=actor,
            kind="application_converted",
            summary=f"{source.reference} → {app.reference}",
            data={"application_id": app.pk, "from": source.pk},
        )
        _tell_worker(app, "convert", "")
    return app
