"""Shared builders for the application tests (the workflow path itself is ``intake.demo``'s)."""

from __future__ import annotations

import datetime as dt
import hashlib
from decimal import Decimal
from typing import Any

from django.core.files.base import ContentFile
from django.test import Client
from django.utils import timezone

from bangfu.common.storage import private_storage
from bangfu.eligibility.models import EligibilityDecision
from bangfu.eligibility.services import decision_compute
from bangfu.intake import demo, otp, reviews, services
from bangfu.intake.models import Applicant, Application, Attachment, LoginChannel, ReviewTask
from bangfu.org.models import OrgUnit
from bangfu.org.services import token_create
from bangfu.registry.services import household_create
from bangfu.testing.factories import household_input


def form_data(unit: OrgUnit, members: int = 3) -> dict[str, Any]:
    return demo.form_data(unit, members)


def submitted(unit: OrgUnit, phone: str = "13800138000", kind: str = "formal", members: int = 3) -> Application:
    applicant, _created = Applicant.objects.get_or_create(phone=phone)
    app = services.application_create(actor=applicant, unit_id=unit.pk, kind=kind, form=form_data(unit, members))
    return services.application_submit(actor=applicant, application_id=app.pk)


def to_state(app: Application, state: str, users: dict[str, Any], approver: Any = None) -> Application:
    """Drive a formal application along the happy path until it reaches ``state``."""
    staff = users["xiangyun_staff"]
    return demo.advance(
        app, state, cadre=users["xiangyun_cadre"], staff=staff, approver=approver or users.get("dali_staff") or staff
    )


def sign_in(client: Client, applicant: Applicant) -> Client:
    """``client`` signed in on the phone pages as ``applicant`` (as a right code would do)."""
    session = client.session
    session[otp.SESSION_KEY] = otp.login_start(applicant=applicant, channel=LoginChannel.PAGE)
    session.save()
    return client


def old_attachment(app: Application, content: bytes, name: str) -> Attachment:
    """An attachment stored before files were encrypted: the file as it came."""
    stored = private_storage().inner.save(f"intake/2025/01/{name}", ContentFile(content))  # type: ignore[attr-defined]
    return Attachment.objects.create(
        application=app,
        name=name,
        file=stored,
        content_type="application/pdf",
        size=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
    )


def staff_api(user: Any) -> Client:
    """A client of the staff API with a token of ``user``'s, answering in English."""
    token = token_create(actor=user, user=user, name="api")
    return Client(headers={"Authorization": f"Bearer {token}", "Accept-Language": "en"})


def staff_page(user: Any) -> Client:
    """A client of the staff pages signed in as ``user``, in English."""
    c = Client(HTTP_ACCEPT_LANGUAGE="en")
    c.force_login(user)
    return c


def current_decision(household_id: int) -> EligibilityDecision:
    """The household's newest identification decision (one there must be)."""
    decision = EligibilityDecision.objects.filter(household_id=household_id).order_by("-pk").first()
    assert decision is not None
    return decision


def yearly_review_task(unit: OrgUnit, staff: Any, phone: str) -> ReviewTask:
    """A household of two filed 400 days ago (the head's phone ``phone``, incomes 1,196 and
    3,000), identified, and the yearly review the job then opens for it."""
    data = household_input(unit, members=2)
    data.members[0].phone = phone
    data.members[0].monthly_income = Decimal("1196")
    data.members[1].monthly_income = Decimal(3000)
    data.filed_on = timezone.localdate() - dt.timedelta(days=400)
    h = household_create(actor=staff, data=data)
    decision_compute(actor=staff, household_id=h.pk)
    reviews.yearly_review_create()
    return ReviewTask.objects.select_related("household").get(household=h)


def converted_temporary(
    tree: dict[str, Any], users: dict[str, Any], converter: Any, phone: str
) -> tuple[Application, Application]:
    """A worker's temporary aid at Xiangyun's grassroots union, accepted as an emergency by its
    cadre, approved by Dali's staff, then made a formal case by ``converter``: (temporary, formal)."""
    from bangfu.intake.models import ApplicationKind

    unit = tree["xiangyun_g"]
    worker = Applicant.objects.create(phone=phone)
    temp = services.application_create(
        actor=worker, unit_id=unit.pk, kind=ApplicationKind.TEMPORARY, form=form_data(unit)
    )
    temp = services.application_submit(actor=worker, application_id=temp.pk)
    services.application_transition(actor=users["xiangyun_cadre"], application_id=temp.pk, action="emergency_accept")
    temp = services.application_transition(actor=users["dali_staff"], application_id=temp.pk, action="approve")
    return temp, services.application_convert(actor=converter, application_id=temp.pk)
