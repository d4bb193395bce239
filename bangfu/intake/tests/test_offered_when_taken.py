"""An action is offered (the page's buttons, the API's ``allowed_actions``) only when it would be
taken now: one that waits for something (the public notice's end, a record to make again after a
return, a formal case holding a person of a temporary one) is said instead of its button, and in
the API's ``waiting``, in the words the service refuses it with (``services.step_waits``)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from bangfu.common.errors import DomainError
from bangfu.intake import demo, services, steps
from bangfu.intake.models import Applicant, Application, ApplicationKind, ApplicationState
from bangfu.intake.tests.helpers import form_data, staff_api, staff_page, submitted, to_state

pytestmark = pytest.mark.django_db
S = ApplicationState
K = ApplicationKind


def _offered(page: str, action: str) -> bool:
    return f'name="action" value="{action}"' in page


def test_the_report_to_the_higher_union_waits_for_the_notice_to_end(
    tree: dict, users: dict[str, Any], standard: Any
) -> None:
    cadre = users["xiangyun_cadre"]
    app = to_state(submitted(tree["xiangyun_g"]), S.UNIT_REVIEW, users)
    held = timezone.localdate() - dt.timedelta(days=10)  # the notice runs from tomorrow all the same
    app = steps.unit_review_record(actor=cadre, application_id=app.pk, held_on=held, minutes="全体委员同意")
    assert app.notice_to is not None and app.notice_to > timezone.localdate()
    # Not offered, and said why, with the day the notice ends; the service refuses it in those words.
    assert "notice_done" not in services.allowed_actions(cadre, app)
    waits = services.waiting(cadre, app)["notice_done"]
    assert app.notice_to.isoformat() in waits and "has not ended" in waits
    with pytest.raises(DomainError) as caught:
        services.application_transition(actor=cadre, application_id=app.pk, action="notice_done")
    assert caught.value.message == waits
    page = staff_page(cadre).get(f"/applications/{app.pk}/").content.decode()
    assert not _offered(page, "notice_done") and 'id="waiting-notice_done"' in page
    assert app.notice_to.isoformat() in page.split('id="waiting-notice_done"')[1].split("</p>")[0]
    assert _offered(page, "return") and _offered(page, "refuse")  # the rest is offered as before
    body = staff_api(cadre).get(f"/api/v1/applications/{app.pk}").json()
    assert "notice_done" not in body["allowed_actions"] and body["waiting"] == {"notice_done": waits}
    # Whoever takes no step here is told of no wait.
    assert services.waiting(users["xiangyun_staff"], app) == {}
    # Once the notice has ended: offered, no wait said.
    app = demo.as_if_noticed(Application.objects.get(pk=app.pk))
    assert "notice_done" in services.allowed_actions(cadre, app) and services.waiting(cadre, app) == {}
    page = staff_page(cadre).get(f"/applications/{app.pk}/").content.decode()
    assert _offered(page, "notice_done") and 'id="waiting-notice_done"' not in page
    assert staff_api(cadre).get(f"/api/v1/applications/{app.pk}").json()["waiting"] == {}


def test_after_a_return_from_the_approval_the_check_waits_for_its_answer_again(
    tree: dict, users: dict[str, Any], standard: Any
) -> None:
    county = users["xiangyun_staff"]
    app = to_state(submitted(tree["xiangyun_g"]), S.APPROVAL, users)
    app = services.application_transition(actor=county, application_id=app.pk, action="return", reason="核对有误")
    assert app.state == S.ECONOMIC_CHECK
    assert "check_done" not in services.allowed_actions(county, app)
    waits = services.waiting(county, app)["check_done"]
    assert "came back after its economic check" in waits
    body = staff_api(county).get(f"/api/v1/applications/{app.pk}").json()
    assert "check_done" not in body["allowed_actions"] and body["waiting"] == {"check_done": waits}
    page = staff_page(county).get(f"/applications/{app.pk}/").content.decode()
    assert not _offered(page, "check_done") and 'id="waiting-check_done"' in page
    # Asked and answered again: offered.
    steps.check_request(actor=county, application_id=app.pk)
    steps.check_answer(actor=county, application_id=app.pk, passed=True)
    app = Application.objects.get(pk=app.pk)
    assert "check_done" in services.allowed_actions(county, app) and services.waiting(county, app) == {}
    page = staff_page(county).get(f"/applications/{app.pk}/").content.decode()
    assert _offered(page, "check_done") and 'id="waiting-check_done"' not in page


def _temporary(worker: Applicant, unit: Any, users: dict[str, Any], form: dict[str, Any]) -> Application:
    app = services.application_create(actor=worker, unit_id=unit.pk, kind=K.TEMPORARY, form=form)
    app = services.application_submit(actor=worker, application_id=app.pk)
    services.application_transition(actor=users["xiangyun_cadre"], application_id=app.pk, action="emergency_accept")
    return services.application_transition(actor=users["xiangyun_staff"], application_id=app.pk, action="approve")


def test_the_conversion_waits_while_a_formal_case_holds_a_person(
    tree: dict, users: dict[str, Any], standard: Any
) -> None:
    unit, cadre = tree["xiangyun_g"], users["xiangyun_cadre"]
    form = form_data(unit)
    worker = Applicant.objects.create(phone="13912345677")
    formal = services.application_submit(
        actor=worker,
        application_id=services.application_create(actor=worker, unit_id=unit.pk, kind=K.FORMAL, form=form).pk,
    )
    temp = _temporary(worker, unit, users, form)
    assert not services.may_convert(cadre, temp)
    waits = services.waiting(cadre, temp)["convert"]
    assert formal.reference in waits
    page = staff_page(cadre).get(f"/applications/{temp.pk}/").content.decode()
    assert f"/applications/{temp.pk}/convert/" not in page and 'id="waiting-convert"' in page
    assert formal.reference in page.split('id="waiting-convert"')[1].split("</p>")[0]
    body = staff_api(cadre).get(f"/api/v1/applications/{temp.pk}").json()
    assert "convert" not in body["allowed_actions"] and body["waiting"] == {"convert": waits}
    with pytest.raises(DomainError) as caught:
        services.application_convert(actor=cadre, application_id=temp.pk)
    assert caught.value.message == waits
    # The formal case refused: the conversion is offered, page and API, and taken.
    services.application_transition(actor=cadre, application_id=formal.pk, action="refuse", reason="改走临时救助转正")
    temp = Application.objects.get(pk=temp.pk)
    assert services.may_convert(cadre, temp) and services.waiting(cadre, temp) == {}
    page = staff_page(cadre).get(f"/applications/{temp.pk}/").content.decode()
    assert f"/applications/{temp.pk}/convert/" in page and 'id="waiting-convert"' not in page
    body = staff_api(cadre).get(f"/api/v1/applications/{temp.pk}").json()
    assert "convert" in body["allowed_actions"] and body["waiting"] == {}
    made = services.application_convert(actor=cadre, application_id=temp.pk)
    # Converted: nothing more to offer on the temporary case, and no wait said (it names the case instead).
    temp = Application.objects.get(pk=temp.pk)
    assert not services.may_convert(cadre, temp) and services.waiting(cadre, temp) == {}
    page = staff_page(cadre).get(f"/applications/{temp.pk}/").content.decode()
    assert f"/applications/{temp.pk}/convert/" not in page and made.reference in page
    # A worker's phone is never offered it; an evaluator neither.
    assert "convert" not in staff_api(users["evaluator"]).get(f"/api/v1/applications/{temp.pk}").json().get(
        "allowed_actions", []
    )
