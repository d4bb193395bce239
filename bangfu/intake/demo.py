"""Applications for the demo, and the path that takes an application through the workflow's steps
(used by the demo and by the tests)."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict
from typing import Any

from django.core.exceptions import ValidationError
from django.utils import timezone

from bangfu.common.errors import DomainError
from bangfu.org.models import OrgUnit
from bangfu.testing.factories import household_input

from . import conf, data, services, steps
from .models import Applicant, Application, ApplicationKind, ApplicationState

# The happy path of a formal application, step by step: the state reached and who takes the step.
_PATH = (
    ApplicationState.SUBMITTED,
    ApplicationState.FIRST_REVIEW,
    ApplicationState.HOME_VISIT,
    ApplicationState.UNIT_REVIEW,
    ApplicationState.HIGHER_REVIEW,
    ApplicationState.ECONOMIC_CHECK,
    ApplicationState.APPROVAL,
    ApplicationState.FILE_OPENED,
    ApplicationState.REPORTED_UP,
)


def form_data(unit: OrgUnit, members: int = 3, names: tuple[str, ...] = ()) -> dict[str, Any]:
    """A complete application form for a household at ``unit`` (IDs built for its region)."""
    h = household_input(unit, members=members)
    h.members[0].phone = "13800138000"
    # What happened (a temporary-aid case must say it; a formal case's note on its causes).
    h.cause_note = h.cause_note or "户主突发重病住院，家中无其他收入，需要医疗和生活救助。"
    for member, name in zip(h.members, names, strict=False):
        member.name = name
    if h.bank_account is not None:
        h.bank_account.holder_name = h.members[0].name  # the head's own card, as the aid is paid
    return data.normalise(asdict(h))


def advance(app: Application, state: str, *, cadre: Any, staff: Any, approver: Any = None) -> Application:
    """Take a submitted formal application along the happy path until it reaches ``state``: the
    grassroots ``cadre`` accepts, visits and reviews it, the county ``staff`` reviews and checks
    it, the ``approver`` (by default ``staff``; never the first reviewer) approves it."""
    approver = approver or staff
    t = services.application_transition
    moves = {
        ApplicationState.SUBMITTED: lambda a: t(actor=cadre, application_id=a.pk, action="accept"),
        ApplicationState.FIRST_REVIEW: lambda a: t(actor=cadre, application_id=a.pk, action="first_review_pass"),
        ApplicationState.HOME_VISIT: lambda a: _visit(a, cadre),
        ApplicationState.UNIT_REVIEW: lambda a: _review(a, cadre),
        ApplicationState.HIGHER_REVIEW: lambda a: t(actor=staff, application_id=a.pk, action="higher_review_pass"),
        ApplicationState.ECONOMIC_CHECK: lambda a: _check(a, staff),
        ApplicationState.APPROVAL: lambda a: t(actor=approver, application_id=a.pk, action="approve"),
        ApplicationState.FILE_OPENED: lambda a: t(actor=approver, application_id=a.pk, action="report_up"),
    }
    if state not in _PATH or app.state not in _PATH or _PATH.index(state) < _PATH.index(app.state):
        raise ValueError(f"cannot take an application from {app.state} to {state}")
    while app.state != state:
        app = moves[ApplicationState(app.state)](app)
    return app


def as_if_submitted(app: Application, days_ago: int) -> Application:
    """The application as if submitted ``days_ago`` days ago (for the demo and tests: the steps
    after it may not be dated before it)."""
    when = timezone.now() - dt.timedelta(days=days_ago)
    if app.submitted_at is None or app.submitted_at > when:
        Application.objects.filter(pk=app.pk).update(submitted_at=when)
        app.refresh_from_db()
    return app


def as_if_noticed(app: Application) -> Application:
    """The public notice as if posted the day after the unit review was held (for the demo and
    tests: a notice runs from the day after the review is recorded, so walking a case through it
    at once needs the days to have passed)."""
    assert app.unit_review_on is not None  # noqa: S101 - recorded just before
    start = app.unit_review_on + dt.timedelta(days=1)
    Application.objects.filter(pk=app.pk).update(
        notice_from=start, notice_to=start + dt.timedelta(days=conf.notice_days() - 1)
    )
    app.refresh_from_db()
    return app


def _visit(app: Application, cadre: Any) -> Application:
    as_if_submitted(app, 20)
    steps.home_visit_record(
        actor=cadre,
        application_id=app.pk,
        visit=steps.VisitInput(
            timezone.localdate() - dt.timedelta(days=14),
            "王干事",
            "老旧公房，家具简陋",
            "收入与病情",
            "帮扶政策",
            "情况属实",
        ),
    )
    return services.application_transition(actor=cadre, application_id=app.pk, action="visit_done")


def _review(app: Application, cadre: Any) -> Application:
    held = timezone.localdate() - dt.timedelta(days=10)
    app = steps.unit_review_record(actor=cadre, application_id=app.pk, held_on=held, minutes="全体委员同意")
    as_if_noticed(app)
    return services.application_transition(actor=cadre, application_id=app.pk, action="notice_done")


def _check(app: Application, staff: Any) -> Application:
    if app.authorised_at is None:
        steps.authorisation_sign(actor=staff, application_id=app.pk, agreed=True, ip=None)
    steps.check_request(actor=staff, application_id=app.pk)
    steps.check_answer(actor=staff, application_id=app.pk, passed=True)
    return services.application_transition(actor=staff, application_id=app.pk, action="check_done")


# The demo's applications: (the worker's phone, names of the household, kind, the step it waits at).
DEMO_APPLICATIONS = (
    ("13800000001", ("王建华", "刘秀兰", "王磊"), ApplicationKind.FORMAL, ApplicationState.SUBMITTED),
    ("13800000002", ("李国强", "陈美玲", "李想"), ApplicationKind.FORMAL, ApplicationState.HOME_VISIT),
    ("13800000003", ("赵志明", "孙丽"), ApplicationKind.FORMAL, ApplicationState.UNIT_REVIEW),
    ("13800000004", ("周海涛", "吴芳", "周雨"), ApplicationKind.FORMAL, ApplicationState.ECONOMIC_CHECK),
    ("13800000005", ("杨春生", "马桂英", "杨帆"), ApplicationKind.FORMAL, ApplicationState.APPROVAL),
    ("13800000006", ("段文斌",), ApplicationKind.TEMPORARY, ApplicationState.SUBMITTED),
    ("13800000007", ("普红梅", "罗成"), ApplicationKind.FORMAL, ApplicationState.DRAFT),
)


def seed_demo_applications(*, unit: OrgUnit, cadre: Any, staff: Any) -> int:
    """Applications at ``unit`` waiting at each step, from the workers of ``DEMO_APPLICATIONS`` (who
    can sign in on the phone pages with their number): what the demo's cadre and county staff find
    in their queues. Once only; returns how many were made."""
    if Application.objects.filter(unit=unit).exists():
        return 0
    made = 0
    for phone, names, kind, state in DEMO_APPLICATIONS:
        applicant, _created = Applicant.objects.get_or_create(phone=phone)
        form = form_data(unit, members=len(names), names=names)
        form["members"][0]["phone"] = phone
        try:
            app = services.application_create(actor=applicant, unit_id=unit.pk, kind=kind, form=form)
            if state != ApplicationState.DRAFT:
                app = services.application_submit(actor=applicant, application_id=app.pk)
            if kind == ApplicationKind.FORMAL and state not in (ApplicationState.DRAFT, ApplicationState.SUBMITTED):
                app = advance(app, state, cadre=cadre, staff=staff)
            if state == ApplicationState.UNIT_REVIEW:  # reviewed two days ago: on the public notice list
                held = timezone.localdate() - dt.timedelta(days=2)
                app = steps.unit_review_record(actor=cadre, application_id=app.pk, held_on=held, minutes="全体委员同意")
                as_if_noticed(app)
        except (DomainError, ValidationError):  # e.g. a generated ID already on a seeded file
            continue
        made += 1
    return made
