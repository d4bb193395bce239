"""The whole application path through the API alone, as a phone mini-program and a staff client
would drive it: the worker applies with a proof and authorises the check, the cadres record the
visit, the review, an objection and its answer, the centre requests and answers the check and
approves; then temporary aid is converted into a formal case."""

from __future__ import annotations

import datetime as dt
import io
import json
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from PIL import Image

from bangfu.intake import otp
from bangfu.intake.demo import as_if_noticed, as_if_submitted
from bangfu.intake.models import Applicant, Application, ApplicationState
from bangfu.intake.tests.helpers import form_data
from bangfu.org.services import token_create
from bangfu.registry.models import Household

pytestmark = pytest.mark.django_db
S = ApplicationState


class Caller:
    def __init__(self, token: str) -> None:
        self.client = Client(headers={"Authorization": f"Bearer {token}", "Accept-Language": "en"})

    def call(self, method: str, path: str, body: Any = None, expect: int = 200) -> Any:
        response = self.client.generic(
            method, "/api/v1" + path, json.dumps(body if body is not None else {}), "application/json"
        )
        assert response.status_code == expect, (path, response.content[:500])
        return response.json() if response.content else None

    def act(self, app_id: int, action: str, **extra: Any) -> dict[str, Any]:
        result: dict[str, Any] = self.call("POST", f"/applications/{app_id}/transition", {"action": action, **extra})
        return result


def _staff(user: Any) -> Caller:
    return Caller(token_create(actor=user, user=user, name="api"))


def _png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(buf, "PNG")
    return buf.getvalue()


def test_an_application_goes_from_the_phone_to_an_open_file_through_the_api(
    tree: dict, users: dict[str, Any], standard: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):  # the worker's messages go after the commits
        phone = _whole_path(tree, users)
    told = phone.call("GET", "/applicant/messages")
    assert len(told) >= 3 and all(m["application_id"] for m in told)


def _whole_path(tree: dict, users: dict[str, Any]) -> Caller:
    unit = tree["xiangyun_g"]
    worker = Applicant.objects.create(phone="13912345678")
    phone = Caller(otp.token_for(worker))
    cadre, staff, approver = (
        _staff(users["xiangyun_cadre"]),
        _staff(users["xiangyun_staff"]),
        _staff(users["dali_staff"]),
    )

    app = phone.call("POST", "/applicant/applications", {"unit_id": unit.pk, "form": form_data(unit)}, expect=201)
    app_id = app["id"]
    upload = phone.client.post(
        f"/api/v1/applicant/applications/{app_id}/attachments",
        {"file": ("payslip.png", io.BytesIO(_png()), "image/png"), "kind": "proof"},
    )
    assert upload.status_code == 201, upload.content
    attachment = upload.json()
    assert attachment["content_type"] == "image/png" and attachment["kind"] == "proof"
    phone.call("POST", f"/applicant/applications/{app_id}/authorise", {"agreed": True})
    assert phone.call("POST", f"/applicant/applications/{app_id}/submit")["state"] == S.SUBMITTED

    cadre.act(app_id, "accept")
    cadre.act(app_id, "first_review_pass")
    as_if_submitted(Application.objects.get(pk=app_id), 20)  # the visit may not come before it
    visit = {
        "visited_on": str(timezone.localdate() - dt.timedelta(days=14)),
        "visitors": "王干事",
        "seen": "老旧公房",
        "asked": "收入与病情",
        "explained": "帮扶政策",
        "findings": "情况属实",
    }
    assert cadre.call("POST", f"/applications/{app_id}/home-visit", visit, expect=201)["visitors"] == "王干事"
    cadre.act(app_id, "visit_done")

    # Reviewed two days ago, recorded today: the notice is posted from tomorrow (and listed for
    # printing today), where an objection is raised and answered.
    held = timezone.localdate() - dt.timedelta(days=2)
    reviewed = cadre.call("POST", f"/applications/{app_id}/unit-review", {"held_on": str(held), "minutes": "同意"})
    assert reviewed["notice_from"] == str(timezone.localdate() + dt.timedelta(days=1))
    on_notice = cadre.call("GET", "/applications/public-notice")["results"]
    assert [r["id"] for r in on_notice] == [app_id]
    assert "*" in on_notice[0]["head_id_masked"] and on_notice[0]["main_cause"]
    objection = cadre.call(
        "POST", f"/applications/{app_id}/objections", {"received_on": str(timezone.localdate()), "text": "有车"}, 201
    )
    answered = cadre.call(
        "POST", f"/applications/{app_id}/objections/{objection['id']}/answer", {"answer": "核实为残疾人代步车"}
    )
    assert answered["answer"] == "核实为残疾人代步车" and answered["answered_at"]
    # A review is recorded once: another, dated further back, does not replace it or end the notice…
    again = cadre.call(
        "POST",
        f"/applications/{app_id}/unit-review",
        {"held_on": str(held - dt.timedelta(days=8)), "minutes": "同意"},
        409,
    )
    assert "already recorded" in again["error"]["message"]
    ended = cadre.client.post(
        f"/api/v1/applications/{app_id}/transition", {"action": "notice_done"}, content_type="application/json"
    )
    assert ended.status_code == 400 and ended.json()["error"]["code"] == "step_incomplete", ended.content
    # … the days passing do: on to the county.
    Application.objects.filter(pk=app_id).update(unit_review_on=held - dt.timedelta(days=8))
    as_if_noticed(Application.objects.get(pk=app_id))
    cadre.act(app_id, "notice_done")

    staff.act(app_id, "higher_review_pass")
    requested = staff.call("POST", f"/applications/{app_id}/check/request")
    assert requested["check_result"] == "pending"
    staff.call("POST", f"/applications/{app_id}/check/answer", {"passed": True})
    staff.act(app_id, "check_done")
    opened = approver.act(app_id, "approve")
    assert opened["state"] == S.FILE_OPENED and opened["household_id"]
    assert Household.objects.get(pk=opened["household_id"]).state == "active"

    # Staff see the whole record; the worker sees the attachments and the messages, not the visit.
    full = staff.call("GET", f"/applications/{app_id}")
    assert len(full["home_visits"]) == 1 and len(full["objections"]) == 1 and len(full["attachments"]) == 1
    mine = phone.call("GET", f"/applicant/applications/{app_id}")
    assert mine["home_visits"] is None and mine["objections"] is None and mine["check_matches"] is None
    assert [a["id"] for a in mine["attachments"]] == [attachment["id"]]
    file = phone.client.get(f"/api/v1/applicant/applications/{app_id}/attachments/{attachment['id']}")
    assert file.status_code == 200 and file.getvalue() == _png()
    assert staff.client.get(f"/api/v1/applications/{app_id}/attachments/{attachment['id']}").status_code == 200
    return phone


def test_a_counter_application_and_temporary_aid_converted_through_the_api(
    tree: dict, users: dict[str, Any], standard: Any
) -> None:
    unit = tree["xiangyun_g"]
    cadre, staff = _staff(users["xiangyun_cadre"]), _staff(users["xiangyun_staff"])
    app = cadre.call(
        "POST", "/applications", {"unit_id": unit.pk, "kind": "temporary", "form": {"address": "x"}}, expect=201
    )
    saved = cadre.call(
        "PUT", f"/applications/{app['id']}", {"form": form_data(unit), "expected_version": app["version"]}
    )
    cadre.call("POST", f"/applications/{app['id']}/check/paper-authorisation")
    assert (
        cadre.call("POST", f"/applications/{app['id']}/submit", {"expected_version": saved["version"]})["state"]
        == S.SUBMITTED
    )
    cadre.act(app["id"], "emergency_accept")
    approved = staff.act(app["id"], "approve")
    assert Household.objects.get(pk=approved["household_id"]).state == "temporary"
    formal = cadre.call("POST", f"/applications/{app['id']}/convert", {"reason": "长期困难"}, expect=201)
    assert formal["kind"] == "formal" and formal["state"] == S.SUBMITTED and formal["data"] == approved["data"]


def test_bad_step_input_is_named_and_nothing_is_written(tree: dict, users: dict[str, Any]) -> None:
    from bangfu.intake.tests.helpers import submitted

    app = submitted(tree["xiangyun_g"])
    cadre = _staff(users["xiangyun_cadre"])
    # Not at the home visit yet: the step is refused as such.
    visit = {"visited_on": str(timezone.localdate()), "visitors": "王", "seen": "a", "asked": "b", "explained": "c"}
    early = cadre.call("POST", f"/applications/{app.pk}/home-visit", {**visit, "findings": "d"}, expect=409)
    assert early["error"]["code"] == "invalid_transition"
    cadre.act(app.pk, "accept")
    cadre.act(app.pk, "first_review_pass")
    missing = cadre.call("POST", f"/applications/{app.pk}/home-visit", {"visitors": "王干事"}, expect=422)
    assert set(missing["error"]["fields"]) == {"visited_on", "seen", "asked", "explained", "findings"}
    assert cadre.call("GET", f"/applications/{app.pk}")["home_visits"] == []
    upload = cadre.client.post(
        f"/api/v1/applications/{app.pk}/attachments", {"file": ("x.jpg", io.BytesIO(b"MZ not a photo"), "image/jpeg")}
    )
    assert upload.status_code == 422 and "JPEG" in upload.json()["error"]["fields"]["file"][0]


def test_the_workers_list_costs_the_same_queries_for_one_application_or_several(tree: dict) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from bangfu.intake import services

    unit = tree["xiangyun_g"]
    worker = Applicant.objects.create(phone="13912345000")
    phone = Caller(otp.token_for(worker))

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            phone.call("GET", "/applicant/applications")
        return len(ctx.captured_queries)

    services.application_create(actor=worker, unit_id=unit.pk, form={})
    one = count()
    for _ in range(3):
        services.application_create(actor=worker, unit_id=unit.pk, form={})
    assert count() == one


@pytest.mark.parametrize(
    ("form", "fields"),
    [
        ({"main_cause": [1], "secondary_causes": [[1], {"a": 2}]}, {"main_cause", "secondary_causes.0"}),
        ({"members": "x"}, {"members"}),
        ({"members": [{"name": "张三"}, ["a"]]}, {"members.1"}),
        ({"incomes": "abc", "bank_account": [1]}, {"incomes", "bank_account"}),
    ],
)
def test_a_new_draft_with_values_of_the_wrong_shape_is_refused_by_field(
    tree: dict, users: dict[str, Any], form: dict[str, Any], fields: set[str]
) -> None:
    """A new draft was stored with lists where numbers go, and lists given as text were dropped
    without a word, while saving the same draft again was refused."""
    cadre = _staff(users["xiangyun_cadre"])
    answer = cadre.client.post(
        "/api/v1/applications",
        json.dumps({"unit_id": tree["xiangyun_g"].pk, "form": form}),
        content_type="application/json",
    )
    assert answer.status_code == 422, answer.content
    assert fields <= set(answer.json()["error"]["fields"]), answer.json()
    assert not Application.objects.exists()
