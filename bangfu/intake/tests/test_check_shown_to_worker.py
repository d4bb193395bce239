"""What the worker reads of the economic check, on the phone and in the API alike: its result and
the checking centre's answer as staff recorded it (the check's result is explained to the worker),
never the system's cross-check of the members against department data, whose findings are
unreviewed records of departments (one whose name differs may be another person's)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from bangfu.intake import otp, steps
from bangfu.intake.models import ApplicationState
from bangfu.intake.tests.helpers import sign_in, staff_api, staff_page, submitted, to_state

pytestmark = pytest.mark.django_db

FOUND = "名下有一辆小型轿车（非营运）"
CROSS_CHECK = "Members cross-checked against department data"


def test_the_phone_and_the_api_show_the_worker_the_answer_and_not_the_cross_check(
    tree: dict[str, Any], users: dict[str, Any], standard: Any, django_capture_on_commit_callbacks: Any
) -> None:
    county = users["xiangyun_staff"]
    app = to_state(submitted(tree["xiangyun_g"]), ApplicationState.ECONOMIC_CHECK, users)
    steps.authorisation_sign(actor=county, application_id=app.pk, agreed=True, ip=None)
    with django_capture_on_commit_callbacks(execute=True):
        steps.check_request(actor=county, application_id=app.pk)
    # Who records the answer is told the worker reads it.
    assert (
        "What the check found (the worker sees it)"
        in staff_page(county).get(f"/applications/{app.pk}/").content.decode()
    )
    steps.check_answer(actor=county, application_id=app.pk, passed=False, note=FOUND)

    worker = app.applicant
    assert worker is not None
    phone = sign_in(Client(HTTP_ACCEPT_LANGUAGE="en"), worker).get(f"/apply/{app.pk}/").content.decode()
    token = otp.token_for(worker)
    mine = (
        Client(HTTP_ACCEPT_LANGUAGE="en")
        .get(f"/api/v1/applicant/applications/{app.pk}", HTTP_AUTHORIZATION=f"Bearer {token}")
        .json()
    )
    # The answer: in the phone's history and in the API, field and history alike.
    assert FOUND in phone
    assert mine["check_result"] == "failed" and mine["check_note"] == FOUND
    assert ("check_answered", FOUND) in [(e["action"], e["reason"]) for e in mine["events"]]
    # The cross-check: in neither, not even its counts.
    assert CROSS_CHECK not in phone and "datasets," not in phone
    assert mine["check_matches"] is None and "check_matched" not in [e["action"] for e in mine["events"]]
    listed = (
        Client(HTTP_ACCEPT_LANGUAGE="en")
        .get("/api/v1/applicant/applications", HTTP_AUTHORIZATION=f"Bearer {token}")
        .json()
    )
    (row,) = listed if isinstance(listed, list) else listed["results"]
    assert "check_matched" not in [e["action"] for e in row["events"]] and row["check_note"] == FOUND
    # Staff read both, page and API.
    staff = staff_api(county).get(f"/api/v1/applications/{app.pk}").json()
    assert staff["check_note"] == FOUND and staff["check_matches"] is not None
    assert "check_matched" in [e["action"] for e in staff["events"]]
    assert CROSS_CHECK in staff_page(county).get(f"/applications/{app.pk}/").content.decode()
