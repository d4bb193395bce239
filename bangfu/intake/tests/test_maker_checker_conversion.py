"""Maker-checker names the act: whoever made a formal case from temporary aid (a conversion, which
submits it) is told they converted it, not that they submitted it, on the page and in the API; and
the conversion bars them from approving it even once someone else has submitted it again."""

from __future__ import annotations

from typing import Any

import pytest

from bangfu.common.errors import DomainError
from bangfu.intake import services
from bangfu.intake.models import ApplicationState
from bangfu.intake.tests.helpers import converted_temporary, staff_api, staff_page, to_state

pytestmark = pytest.mark.django_db
S = ApplicationState


def test_who_converted_a_case_is_told_so_when_refused_its_approval(
    tree: dict, users: dict[str, Any], standard: Any
) -> None:
    county = users["xiangyun_staff"]
    temp, formal = converted_temporary(tree, users, county, "13912340001")
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
    temp, formal = converted_temporary(tree, users, county, "13912340001")
    formal = services.application_transition(actor=cadre, application_id=formal.pk, action="return", reason="补充材料")
    assert formal.state == S.DRAFT
    formal = services.application_submit(actor=cadre, application_id=formal.pk)
    assert formal.submitted_by_id == cadre.pk
    formal = to_state(formal, S.APPROVAL, users)
    with pytest.raises(DomainError) as caught:
        services.application_transition(actor=county, application_id=formal.pk, action="approve")
    assert caught.value.code == services.IntakeError.MAKER_CHECKER
    assert temp.reference in caught.value.message and "made this application" in caught.value.message
