"""The worker's phone says the category their file is in, in words, and that a second person is
still deciding on another (an override waits), page and API alike: the worker read only the
approval's reason ("better filed as relative hardship") and "file opened", while the file was in
deep hardship and stayed there when the override was rejected."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from bangfu.eligibility.services import decision_override_approve
from bangfu.intake import otp, services
from bangfu.intake.models import Applicant, ApplicationState
from bangfu.intake.tests.helpers import current_decision, sign_in, submitted, to_state
from bangfu.registry.models import Household

pytestmark = pytest.mark.django_db
S = ApplicationState
PHONE = "13800138400"


def _phone(applicant: Applicant) -> Client:
    return sign_in(Client(HTTP_ACCEPT_LANGUAGE="en"), applicant)


def _api(applicant: Applicant) -> Client:
    return Client(headers={"Authorization": f"Bearer {otp.token_for(applicant)}", "Accept-Language": "en"})


def _shown(applicant: Applicant, app_id: int) -> tuple[str, dict[str, Any] | None]:
    page = _phone(applicant).get(f"/apply/{app_id}/").content.decode()
    told = _api(applicant).get(f"/api/v1/applicant/applications/{app_id}").json()["file_category"]
    return page, told


def test_the_worker_is_told_the_files_category_and_that_it_may_change(
    tree: dict, users: dict[str, Any], standard: Any
) -> None:
    app = to_state(submitted(tree["xiangyun_g"], phone=PHONE), S.APPROVAL, users)
    applicant = Applicant.objects.get(phone=PHONE)
    page, told = _shown(applicant, app.pk)
    assert 'id="file-category"' not in page and told is None  # no file yet
    app = services.application_transition(
        actor=users["dali_staff"],
        application_id=app.pk,
        action="approve",
        category="relative",
        reason="户主病情已好转，按相对困难建档更合适",
    )
    household_id = app.household_id or 0
    assert Household.objects.get(pk=household_id).category == "deep"
    waiting = (
        "Your file is in the category Deep hardship. Another person at the union is deciding whether it becomes "
        "Relative hardship; it may change until then."
    )
    page, told = _shown(applicant, app.pk)
    assert waiting in page
    assert told is not None and (told["category"], told["waiting"], told["said"]) == ("deep", "relative", waiting)

    decision_override_approve(
        actor=users["xiangyun_staff"], decision_id=current_decision(household_id).pk, approve=False
    )
    page, told = _shown(applicant, app.pk)
    settled = "Your file is in the category Deep hardship."
    assert settled in page and "Another person" not in page
    assert told is not None and (told["category"], told["waiting"], told["said"]) == ("deep", "", settled)
