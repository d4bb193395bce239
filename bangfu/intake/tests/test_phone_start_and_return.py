"""The worker's list on the phone: starting again where a draft of that kind is waiting opens that
draft (page and API), and a case returned to the worker to put right says so, in the list, the
case's history and the message, rather than reading as a draft never sent."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from bangfu.intake import otp, services
from bangfu.intake.models import Applicant, Application, ApplicationKind, ApplicationState, Notice
from bangfu.intake.tests.helpers import form_data, sign_in, submitted

pytestmark = pytest.mark.django_db
S = ApplicationState


def test_starting_again_at_a_union_opens_the_draft_already_there(tree: dict) -> None:
    unit = tree["xiangyun_g"]
    worker = Applicant.objects.create(phone="13912345678")
    c = sign_in(Client(HTTP_ACCEPT_LANGUAGE="en"), worker)
    c.post("/apply/", {"unit_id": unit.pk, "kind": "formal", "idempotency_key": "tap-1"})
    draft = Application.objects.get()
    r = c.post("/apply/", {"unit_id": unit.pk, "kind": "formal", "idempotency_key": "tap-2"}, follow=True)
    assert Application.objects.count() == 1 and r.redirect_chain[-1][0] == f"/apply/{draft.pk}/"
    assert f"You already have a draft of this kind at {unit.name}: here it is ({draft.reference})." in (
        r.content.decode()
    )
    # Another kind, or another union, is another draft.
    c.post("/apply/", {"unit_id": unit.pk, "kind": "temporary", "idempotency_key": "tap-3"})
    c.post("/apply/", {"unit_id": tree["dalishi_g"].pk, "kind": "formal", "idempotency_key": "tap-4"})
    assert Application.objects.count() == 3
    # A withdrawn draft is not given back: a new one is started.
    services.application_transition(actor=worker, application_id=draft.pk, action="withdraw", reason="重来")
    c.post("/apply/", {"unit_id": unit.pk, "kind": "formal", "idempotency_key": "tap-5"})
    assert Application.objects.filter(kind=ApplicationKind.FORMAL, unit=unit, state=S.DRAFT).exclude(pk=draft.pk)


def test_the_api_gives_back_the_draft_already_there_or_names_it(tree: dict) -> None:
    unit = tree["xiangyun_g"]
    worker = Applicant.objects.create(phone="13912345679")
    c = Client(headers={"Authorization": f"Bearer {otp.token_for(worker)}", "Accept-Language": "en"})

    def start(body: dict[str, Any]) -> Any:
        return c.post("/api/v1/applicant/applications", json.dumps(body), "application/json")

    first = start({"unit_id": unit.pk}).json()
    assert first["message"] == ""
    again = start({"unit_id": unit.pk})
    assert again.status_code == 201 and again.json()["id"] == first["id"]
    assert first["reference"] in again.json()["message"]
    # With a form of its own, the start would drop what was typed: 409 naming the draft.
    refused = start({"unit_id": unit.pk, "form": form_data(unit)})
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "conflict"
    assert first["reference"] in refused.json()["error"]["message"]
    # A form of the wrong shape is named by field, whether or not a draft is there to compare it with.
    bad = start({"unit_id": unit.pk, "form": {"members": "x", "incomes": [1]}})
    assert bad.status_code == 422 and "members" in bad.json()["error"]["fields"]
    assert Application.objects.count() == 1


def test_a_returned_case_says_it_waits_for_the_worker(
    tree: dict, users: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    app = submitted(tree["xiangyun_g"], phone="13912345670")
    worker = app.applicant
    assert worker is not None
    never_sent = services.application_create(actor=worker, unit_id=tree["dalishi_g"].pk)
    with django_capture_on_commit_callbacks(execute=True):
        services.application_transition(
            actor=users["xiangyun_cadre"], application_id=app.pk, action="return", reason="请补充病历"
        )
    app.refresh_from_db()
    assert app.state == S.DRAFT and app.returned and not never_sent.returned
    c = sign_in(Client(HTTP_ACCEPT_LANGUAGE="en"), worker)
    home = c.get("/apply/").content.decode()
    row = home[home.index(app.reference) : home.index("</a>", home.index(app.reference))]
    assert "Returned for correction" in row and "text-bg-warning" in row
    other = home[home.index(never_sent.reference) : home.index("</a>", home.index(never_sent.reference))]
    assert ">Draft</span>" in other
    notice = Notice.objects.get(application=app)
    assert notice.shown == f"Your application {app.reference} was returned to you for correction: 请补充病历"
    page = c.get(f"/apply/{app.pk}/").content.decode()
    assert 'id="app-state">Returned for correction<' in page
    timeline = page[page.index('id="timeline"') : page.index("</ol>", page.index('id="timeline"'))]
    last = timeline[timeline.rindex("<li") :]
    assert "<div>Returned for correction</div>" in last and "请补充病历" in last
    api = Client(headers={"Authorization": f"Bearer {otp.token_for(worker)}", "Accept-Language": "en"})
    mine = {a["id"]: a for a in api.get("/api/v1/applicant/applications").json()}
    assert mine[app.pk]["state"] == "draft" and mine[app.pk]["state_label"] == "Returned for correction"
    assert mine[app.pk]["events"][-1]["label"] == "Returned for correction"
    assert mine[never_sent.pk]["state_label"] == "Draft"
