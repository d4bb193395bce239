"""Maker-checker names the act: whoever made a formal case from temporary aid (a conversion, which
submits it) is told they converted it, not that they submitted it, on the page and in the API; and
the conversion bars them from approving it even once someone else has submitted it again."""

from __future__ import annotations

from typing import Any

import pytest

from bangfu.common.errors import DomainError
from bangfu.intake import services
from bangfu.intake.models import Applicant, Application, ApplicationKind, ApplicationState
from bangfu.intake.tests.helpers import form_data, staff_api, staff_page, to_state

pytestmark = pytest.mark.django_db
S = ApplicationState


def _converted(tree: dict, users: dict[str, Any], converter: Any) -> tuple[Application, Application]:
    unit = tree["xiangyun_g"]
    worker = Applicant.objects.create(phone="13912340001")
    temp = services.application_create(
        actor=worker, unit_id=unit.pk, kind=ApplicationKind.TEMPORARY, form=form_data(unit)
    )
    temp = services.application_submit(actor=worker, application_id=temp.pk)
    services.application_transition(actor=users["xiangyun_cadre"], application_id=temp.pk, action="emergency_accept")
    temp = services.application_transition(actor=users["dali_staff"], application_id=temp.pk, action="approve")
    return temp, services.application_convert(actor=converter, application_id=temp.pk)


def test_who_converted_a_case_is_told_so_when_refused_its_approval(
    tree: dict, users: dict[str, Any], standard: Any
) -> None:
    county = users["xiangyun_staff"]
    temp, formal = _converted(tree, users, county)
    formal = to_state(formal, S.APPROVAL, users)
    said = f"You made this application from the temporary aid {temp.reference}; someone else must approve it."
    assert services.maker_checker_refusal(county, formal) == said
    assert "approve" not in services.allowed_actions(county, formal)
    page = staff_page(county).get(f"/applications/{formal.pk}/").content.decode()
    assert said in page and "You submitted" not in page
    r = staff_api(county).post(
        f"/api/v1/applications/{formal.pk}/transition", {"action": "approve"}, content_type="application/json"
    )
    assert r.status_code == 403 and r.json()["error"] == {**r.json()["error"], "code": "maker_checker", "message": said}
    # Someone else approves it.
    assert "approve" in services.allowed_actions(users["dali_staff"], formal)


def test_the_conversion_bars_its_maker_after_another_submits_the_case_again(
    tree: dict, users: dict[str, Any], standard: Any
) -> None:
    county, cadre = users["xiangyun_staff"], users["xiangyun_cadre"]
    temp, formal = _converted(tree, users, county)
    formal = services.application_transition(actor=cadre, application_id=formal.pk, action="return", reason="补充材料")
    assert formal.state == S.DRAFT
    formal = services.application_submit(actor=cadre, application_id=formal.pk)
    assert formal.submitted_by_id == cadre.pk
    formal = to_state(formal, S.APPROVAL, users)
    with pytest.raises(DomainError) as caught:
        services.application_transition(actor=county, application_id=formal.pk, action="approve")
    assert caught.value.code == services.IntakeError.MAKER_CHECKER
    assert temp.reference in caught.value.message and "made this application" in caught.value.message
