"""Temporary aid (临时救助) beside a formal case (建档申请): a sudden hardship is decided at once,
while the formal case takes weeks, so a worker whose formal case is under way may ask for
temporary aid for the same household; two cases of the same kind for one person are still
refused. The formal case's approval makes the temporary-aid file the formal one (one file per
household), and a conversion of the temporary case that would make a second formal case is
refused naming the case."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from bangfu.common.errors import DomainError
from bangfu.intake import otp, services
from bangfu.intake.models import Applicant, Application, ApplicationKind, ApplicationState
from bangfu.intake.tests.helpers import form_data, sign_in, to_state
from bangfu.org.services import token_create
from bangfu.registry.models import Household

pytestmark = pytest.mark.django_db
S = ApplicationState
K = ApplicationKind


def _case(actor: Any, unit: Any, kind: str, form: dict[str, Any]) -> Application:
    app = services.application_create(actor=actor, unit_id=unit.pk, kind=kind, form=form)
    return services.application_submit(actor=actor, application_id=app.pk)


def test_temporary_aid_beside_a_formal_case_and_the_formal_approval_takes_its_file(
    tree: dict, users: dict[str, Any], standard: Any
) -> None:
    unit, cadre, county = tree["xiangyun_g"], users["xiangyun_cadre"], users["xiangyun_staff"]
    form = form_data(unit)
    worker = Applicant.objects.create(phone="13912345678")
    formal = _case(worker, unit, K.FORMAL, form)
    # The same household asks for temporary aid while the formal case is under way: taken.
    temp = _case(worker, unit, K.TEMPORARY, form)
    assert temp.state == S.SUBMITTED
    # A second case of either kind is still refused, naming the one under way (at the counter too).
    for kind, first in ((K.TEMPORARY, temp), (K.FORMAL, formal)):
        second = services.application_create(actor=cadre, unit_id=unit.pk, kind=kind, form=form)
        with pytest.raises(ValidationError) as exc:
            services.application_submit(actor=cadre, application_id=second.pk)
        assert first.reference in exc.value.message_dict["members.0.id_number"][0]
    services.application_transition(actor=cadre, application_id=temp.pk, action="emergency_accept")
    temp = services.application_transition(actor=county, application_id=temp.pk, action="approve")
    aid_file = Household.objects.get(pk=temp.household_id or 0)
    assert aid_file.state == "temporary"
    filed_on = aid_file.filed_on
    # Converting the temporary case would make a second formal case for these persons.
    with pytest.raises(DomainError) as caught:
        services.application_convert(actor=cadre, application_id=temp.pk)
    assert caught.value.code == services.IntakeError.CONFLICT and formal.reference in caught.value.message
    # The formal case goes on; its approval makes the temporary-aid file the formal one.
    formal = to_state(Application.objects.get(pk=formal.pk), S.FILE_OPENED, users)
    aid_file.refresh_from_db()
    assert formal.household_id == aid_file.pk and aid_file.state == "active" and Household.objects.count() == 1
    assert aid_file.filed_on == filed_on and aid_file.category == formal.category
    with pytest.raises(DomainError) as caught:
        services.application_convert(actor=cadre, application_id=temp.pk)
    assert caught.value.code == services.IntakeError.CONFLICT
    assert aid_file.file_number in caught.value.message and formal.reference in caught.value.message


def test_a_formal_case_after_temporary_aid_takes_its_file_but_not_one_elsewhere(
    tree: dict, users: dict[str, Any], standard: Any
) -> None:
    """Temporary aid first, then the formal case: the persons' temporary-aid file at the case's
    union is not "another open file" for it; one at another union still is."""
    unit, cadre, county = tree["xiangyun_g"], users["xiangyun_cadre"], users["xiangyun_staff"]
    form = form_data(unit)
    worker = Applicant.objects.create(phone="13912345679")
    temp = _case(worker, unit, K.TEMPORARY, form)
    services.application_transition(actor=cadre, application_id=temp.pk, action="emergency_accept")
    temp = services.application_transition(actor=county, application_id=temp.pk, action="approve")
    with pytest.raises(ValidationError) as exc:
        _case(worker, tree["dalishi_g"], K.FORMAL, form)
    assert "already on an open file" in exc.value.message_dict["members.0.id_number"][0]
    formal = _case(worker, unit, K.FORMAL, form)
    formal = to_state(formal, S.FILE_OPENED, users)
    assert formal.household_id == temp.household_id and Household.objects.get().state == "active"


def test_the_api_takes_temporary_aid_beside_a_formal_case_and_refuses_the_conversion(
    tree: dict, users: dict[str, Any], standard: Any
) -> None:
    unit = tree["xiangyun_g"]
    form = form_data(unit)
    worker = Applicant.objects.create(phone="13912345670")
    formal = _case(worker, unit, K.FORMAL, form)

    def call(token: str, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        c = Client(headers={"Authorization": f"Bearer {token}", "Accept-Language": "en"})
        r = c.generic(method, "/api/v1" + path, json.dumps(body or {}), "application/json")
        return r.status_code, r.json() if r.content else None

    phone = otp.token_for(worker)
    status, temp = call(phone, "POST", "/applicant/applications", {"unit_id": unit.pk, "kind": "temporary"})
    assert status == 201
    status, temp = call(
        phone, "PUT", f"/applicant/applications/{temp['id']}", {"form": form, "expected_version": temp["version"]}
    )
    status, temp = call(phone, "POST", f"/applicant/applications/{temp['id']}/submit", {})
    assert status == 200 and temp["state"] == S.SUBMITTED
    status, _body = call(phone, "POST", f"/applicant/applications/{temp['id']}/withdraw", {})
    assert status == 200
    # At the counter, the same: temporary aid for the household is taken beside the formal case.
    cadre = token_create(actor=users["xiangyun_cadre"], user=users["xiangyun_cadre"], name="api")
    county = token_create(actor=users["xiangyun_staff"], user=users["xiangyun_staff"], name="api")
    status, temp = call(cadre, "POST", "/applications", {"unit_id": unit.pk, "kind": "temporary", "form": form})
    status, temp = call(cadre, "POST", f"/applications/{temp['id']}/submit", {})
    assert status == 200 and temp["state"] == S.SUBMITTED
    call(cadre, "POST", f"/applications/{temp['id']}/transition", {"action": "emergency_accept"})
    status, _body = call(county, "POST", f"/applications/{temp['id']}/transition", {"action": "approve"})
    assert status == 200
    status, body = call(cadre, "POST", f"/applications/{temp['id']}/convert", {"reason": "长期困难"})
    assert status == 409 and body["error"]["code"] == "conflict" and formal.reference in body["error"]["message"]


def test_the_temporary_aid_form_asks_what_happened_and_what_help_is_needed(tree: dict) -> None:
    unit = tree["xiangyun_g"]
    worker = Applicant.objects.create(phone="13912345671")
    c = sign_in(Client(HTTP_ACCEPT_LANGUAGE="en"), worker)
    temp = services.application_create(actor=worker, unit_id=unit.pk, kind=K.TEMPORARY)
    formal = services.application_create(actor=worker, unit_id=unit.pk, kind=K.FORMAL)
    page = c.get(f"/apply/{temp.pk}/").content.decode()
    assert '<label class="form-label small mb-0" for="id_h-cause_note">What happened, and what help is needed' in page
    assert "<textarea" in page and 'id="id_h-cause_note_helptext"' in page
    page = c.get(f"/apply/{formal.pk}/").content.decode()
    assert "What happened" not in page and "Describe the cause" in page


@pytest.mark.parametrize("note", ["", "  ", "\u200b"])
def test_temporary_aid_is_not_sent_without_saying_what_happened(tree: dict, note: str) -> None:
    """A temporary case was submitted with the box of what happened left empty, and accepted as an
    emergency with "—" for a reason; a formal case still goes without a note on its causes."""
    unit = tree["xiangyun_g"]
    worker = Applicant.objects.create(phone="13912345672")
    form = form_data(unit)
    form["cause_note"] = note
    temp = services.application_create(actor=worker, unit_id=unit.pk, kind=K.TEMPORARY, form=form)
    with pytest.raises(ValidationError) as caught:
        services.application_submit(actor=worker, application_id=temp.pk)
    assert caught.value.message_dict["cause_note"] == [
        "Say what happened and what help is needed: the centre decides on temporary aid from it."
    ]
    temp.refresh_from_db()
    assert temp.state == S.DRAFT
    formal = services.application_create(actor=worker, unit_id=unit.pk, kind=K.FORMAL, form=form)
    assert services.application_submit(actor=worker, application_id=formal.pk).state == S.SUBMITTED
