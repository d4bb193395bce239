"""Shared builders for the application tests."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict
from typing import Any

from django.utils import timezone

from bangfu.intake import data, services, steps
from bangfu.intake.models import Applicant, Application, ApplicationState
from bangfu.org.models import OrgUnit
from bangfu.testing.factories import household_input


def form_data(unit: OrgUnit, members: int = 3) -> dict[str, Any]:
    h = household_input(unit, members=members)
    h.members[0].phone = "13800138000"
    return data.normalise(asdict(h))


def submitted(unit: OrgUnit, phone: str = "13800138000", kind: str = "formal", members: int = 3) -> Application:
    applicant, _created = Applicant.objects.get_or_create(phone=phone)
    app = services.application_create(actor=applicant, unit_id=unit.pk, kind=kind, form=form_data(unit, members))
    return services.application_submit(actor=applicant, application_id=app.pk)


def to_state(app: Application, state: str, users: dict[str, Any], approver: Any = None) -> Application:
    """Drive a formal application along the happy path until it reaches ``state``."""
    cadre, staff = users["xiangyun_cadre"], users["xiangyun_staff"]
    approver = approver or users.get("dali_staff") or staff
    t = services.application_transition
    path = [
        (ApplicationState.SUBMITTED, None),
        (ApplicationState.FIRST_REVIEW, lambda a: t(actor=cadre, application_id=a.pk, action="accept")),
        (ApplicationState.HOME_VISIT, lambda a: t(actor=cadre, application_id=a.pk, action="first_review_pass")),
        (ApplicationState.UNIT_REVIEW, lambda a: _visit(a, cadre)),
        (ApplicationState.HIGHER_REVIEW, lambda a: _review(a, cadre)),
        (ApplicationState.ECONOMIC_CHECK, lambda a: t(actor=staff, application_id=a.pk, action="higher_review_pass")),
        (ApplicationState.APPROVAL, lambda a: _check(a, staff)),
        (ApplicationState.FILE_OPENED, lambda a: t(actor=approver, application_id=a.pk, action="approve")),
        (ApplicationState.REPORTED_UP, lambda a: t(actor=approver, application_id=a.pk, action="report_up")),
    ]
    before = ""
    for st, step in path:
        if step is not None and app.state == before:
            app = step(app)
        if app.state == state:
            return app
        before = st
    raise AssertionError(state)


def _visit(app: Application, cadre: Any) -> Application:
    steps.home_visit_record(
        actor=cadre,
        application_id=app.pk,
        visit=steps.VisitInput(
            timezone.localdate(), "王干事", "老旧公房，家具简陋", "收入与病情", "帮扶政策", "情况属实"
        ),
    )
    return services.application_transition(actor=cadre, application_id=app.pk, action="visit_done")


def _review(app: Application, cadre: Any) -> Application:
    held = timezone.localdate() - dt.timedelta(days=10)
    steps.unit_review_record(actor=cadre, application_id=app.pk, held_on=held, minutes="全体委员同意")
    return services.application_transition(actor=cadre, application_id=app.pk, action="notice_done")


def _check(app: Application, staff: Any) -> Application:
    if app.authorised_at is None:
        steps.authorisation_sign(actor=staff, application_id=app.pk, agreed=True, ip=None)
    steps.check_request(actor=staff, application_id=app.pk)
    steps.check_answer(actor=staff, application_id=app.pk, passed=True)
    return services.application_transition(actor=staff, application_id=app.pk, action="check_done")
