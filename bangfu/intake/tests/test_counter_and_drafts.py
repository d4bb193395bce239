"""Whose a draft is and who starts one: a draft the worker made on the phone is theirs until they
submit it (staff do not see it at all, ``test_private_drafts``; returned to the worker for
correction, staff read it but are refused changing it, saying so, and the page offers no editing);
the assistance centre's staff take an application at the counter and submit it; a draft no longer
a draft says its state."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from bangfu.intake import services
from bangfu.intake.models import Applicant, Application, ApplicationState
from bangfu.intake.tests.helpers import form_data
from bangfu.org.models import Role
from bangfu.org.services import token_create
from bangfu.testing.factories import user_with_role

pytestmark = pytest.mark.django_db
S = ApplicationState


def _client(user: Any) -> Client:
    token = token_create(actor=user, user=user, name="api")
    return Client(headers={"Authorization": f"Bearer {token}", "Accept-Language": "en"})


def _call(client: Client, method: str, path: str, body: Any = None) -> Any:
    return client.generic(method, "/api/v1" + path, json.dumps(body or {}), "application/json")


def _phone_draft(tree: dict) -> Application:
    applicant = Applicant.objects.create(phone="13800138123")
    return services.application_create(
        actor=applicant, unit_id=tree["xiangyun_g"].pk, form=form_data(tree["xiangyun_g"])
    )


def test_staff_do_not_change_a_draft_returned_to_the_worker(tree: dict, users: dict[str, Any]) -> None:
    app = _phone_draft(tree)
    services.application_submit(actor=app.applicant, application_id=app.pk)
    services.application_transition(
        actor=users["xiangyun_cadre"], application_id=app.pk, action="return", reason="照片看不清"
    )
    cadre = _client(users["xiangyun_cadre"])
    changed = _call(cadre, "PUT", f"/applications/{app.pk}", {"form": {"members": []}, "expected_version": app.version})
    assert changed.status_code == 403, changed.content
    assert "worker's own draft" in changed.json()["error"]["message"]
    submitted = _call(cadre, "POST", f"/applications/{app.pk}/submit", {})
    assert submitted.status_code == 403 and "worker's own draft" in submitted.json()["error"]["message"]
    read = _call(cadre, "GET", f"/applications/{app.pk}").json()
    assert read["allowed_actions"] == []
    app.refresh_from_db()
    assert app.state == S.DRAFT and len(app.data["members"]) == 3
    page = Client()
    page.force_login(users["xiangyun_cadre"])
    html = page.get(f"/applications/{app.pk}/").content.decode()
    assert 'id="workers-draft"' in html and 'name="m-TOTAL_FORMS"' not in html


def test_a_withdrawn_draft_says_it_was_withdrawn(tree: dict) -> None:
    app = _phone_draft(tree)
    worker = app.applicant
    services.application_transition(actor=worker, application_id=app.pk, action="withdraw")
    with pytest.raises(services.DomainError) as caught:
        services.application_save_draft(actor=worker, application_id=app.pk, form=form_data(tree["xiangyun_g"]))
    assert "Withdrawn" in caught.value.message and "submitted" not in caught.value.message


def test_the_centres_staff_take_and_submit_a_counter_application(tree: dict, users: dict[str, Any]) -> None:
    staff = _client(users["xiangyun_staff"])
    made = _call(
        staff,
        "POST",
        "/applications",
        {"unit_id": tree["xiangyun_g"].pk, "kind": "temporary", "form": form_data(tree["xiangyun_g"])},
    )
    assert made.status_code == 201, made.content
    assert "submit" in made.json()["allowed_actions"]
    done = _call(staff, "POST", f"/applications/{made.json()['id']}/submit", {})
    assert done.status_code == 200, done.content
    assert done.json()["state"] == S.SUBMITTED


def test_a_role_that_could_never_submit_is_refused_the_draft_saying_why(tree: dict) -> None:
    # A centre's staff at the province: no counter of their own.
    staff = user_with_role(tree["province"], Role.CENTRE_STAFF, "province_staff")
    made = _call(_client(staff), "POST", "/applications", {"unit_id": tree["xiangyun_g"].pk, "kind": "formal"})
    assert made.status_code == 403, made.content
    assert "does not take applications at the counter" in made.json()["error"]["message"]
    assert not Application.objects.exists()


def test_id_numbers_typed_with_spaces_or_full_width_are_kept_and_masked_as_read(
    tree: dict, users: dict[str, Any]
) -> None:
    unit = tree["xiangyun_g"]
    form = form_data(unit)
    plain = [m["id_number"] for m in form["members"]]
    spaced = f"{plain[0][:6]} {plain[0][6:14]} {plain[0][14:]}"
    wide = plain[1].translate({ord(c): ord(c) + 0xFEE0 for c in "0123456789X"})
    form["members"][0]["id_number"], form["members"][1]["id_number"] = spaced, wide
    applicant = Applicant.objects.create(phone="13800138124")
    draft = services.application_create(actor=applicant, unit_id=unit.pk, form=form)
    staff = _client(users["xiangyun_cadre"])
    app = services.application_submit(actor=applicant, application_id=draft.pk)
    expected = [f"{n[:4]}{'*' * 10}{n[-4:]}" for n in plain]
    assert [m["id_number"] for m in app.data["members"]] == plain
    shown = [m["id_number"] for m in _call(staff, "GET", f"/applications/{app.pk}").json()["data"]["members"]]
    assert shown == expected
