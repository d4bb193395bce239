"""A draft the worker started on the phone is their own workspace until they submit it: staff and
evaluators of the union answer 404 for it (as for a case outside their jurisdiction: its
existence is not told) on the case page, in the API, for its files, and it is in no list or count.
A draft withdrawn before it was sent stays the worker's. A counter draft, made by staff, and a
case returned to the worker for correction (it was sent) are the union's to see."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from bangfu.intake import selectors, services, steps
from bangfu.intake.models import Applicant, Application
from bangfu.intake.tests.helpers import form_data, staff_api, staff_page
from bangfu.testing.factories import pdf_file

pytestmark = pytest.mark.django_db

STAFF = ("xiangyun_cadre", "xiangyun_staff", "evaluator", "province_manager", "admin")


@pytest.fixture
def draft(tree: dict) -> Application:
    worker = Applicant.objects.create(phone="13900005555")
    return services.application_create(actor=worker, unit_id=tree["xiangyun_g"].pk, form=form_data(tree["xiangyun_g"]))


@pytest.mark.parametrize("who", STAFF)
def test_staff_and_evaluators_do_not_find_the_workers_draft(
    media: Any, users: dict[str, Any], draft: Application, who: str
) -> None:
    proof = steps.attachment_add(actor=draft.applicant, application_id=draft.pk, name="p.pdf", content=pdf_file())
    user = users[who]
    page = staff_page(user)
    assert page.get(f"/applications/{draft.pk}/").status_code == 404
    assert page.get(f"/attachments/{proof.pk}/").status_code == 404
    api = staff_api(user)
    for method, path in (
        ("get", f"/api/v1/applications/{draft.pk}"),
        ("get", f"/api/v1/applications/{draft.pk}/attachments/{proof.pk}"),
    ):
        r = getattr(api, method)(path)
        assert r.status_code == 404 and r.json()["error"]["code"] == "not_found", (path, r.content)
    # Nothing told of it through the writes either: the answer of an id that does not exist.
    for path, body in (
        (f"/api/v1/applications/{draft.pk}/submit", {}),
        (f"/api/v1/applications/{draft.pk}/transition", {"action": "submit"}),
    ):
        r = api.post(path, body, content_type="application/json")
        assert r.status_code == 404, (path, r.content)
    put = api.put(
        f"/api/v1/applications/{draft.pk}",
        {"form": {}, "expected_version": draft.version},
        content_type="application/json",
    )
    assert put.status_code == 404
    sent = api.post(
        f"/api/v1/applications/{draft.pk}/attachments",
        {"file": SimpleUploadedFile("x.pdf", pdf_file(filler=2), "application/pdf")},
    )
    assert sent.status_code == 404, sent.content
    assert draft.attachments.count() == 1
    # The worker still has it all.
    assert services.load(draft.applicant, draft.pk).pk == draft.pk


def test_the_workers_draft_is_in_no_list_or_count(users: dict[str, Any], draft: Application) -> None:
    counter = services.application_create(actor=users["xiangyun_cadre"], unit_id=draft.unit_id, kind="temporary")
    for who in ("xiangyun_cadre", "province_manager", "evaluator"):
        user = users[who]
        counts = selectors.state_counts(actor=user)
        assert counts == {"draft": 1}, (who, counts)  # the counter draft only
        api = staff_api(user)
        for scope in ("mine", "all"):
            queue = api.get(f"/api/v1/applications/queue?scope={scope}").json()
            assert draft.pk not in [r["id"] for r in queue["results"]]
            assert api.get(f"/api/v1/applications/counts?scope={scope}").status_code == 200
        html = staff_page(user).get("/applications/?scope=all").content.decode()
        assert draft.reference not in html
    assert staff_api(users["xiangyun_cadre"]).get(f"/api/v1/applications/{counter.pk}").status_code == 200


def test_a_draft_withdrawn_before_it_was_sent_stays_the_workers(users: dict[str, Any], draft: Application) -> None:
    services.application_transition(actor=draft.applicant, application_id=draft.pk, action="withdraw")
    assert staff_api(users["xiangyun_cadre"]).get(f"/api/v1/applications/{draft.pk}").status_code == 404
    assert selectors.state_counts(actor=users["xiangyun_cadre"]) == {}


def test_once_sent_the_union_sees_it_and_still_when_returned_to_the_worker(
    users: dict[str, Any], draft: Application
) -> None:
    cadre = users["xiangyun_cadre"]
    services.application_submit(actor=draft.applicant, application_id=draft.pk)
    assert staff_api(cadre).get(f"/api/v1/applications/{draft.pk}").status_code == 200
    services.application_transition(actor=cadre, application_id=draft.pk, action="return", reason="照片看不清")
    for who in ("xiangyun_cadre", "evaluator"):
        assert staff_api(users[who]).get(f"/api/v1/applications/{draft.pk}").json()["state_label"] == (
            "Returned for correction"
        )
        page = staff_page(users[who]).get(f"/applications/{draft.pk}/")
        assert page.status_code == 200
        # Said as what it is: sent, and back with the worker to put right (not a draft never sent).
        html = page.content.decode()
        note = html[html.index('id="workers-draft"') : html.index("</div>", html.index('id="workers-draft"'))]
        assert "returned to the worker for correction" in note and "made on the phone" not in note


def test_a_counter_draft_stays_the_staffs(users: dict[str, Any], tree: dict) -> None:
    staff = users["xiangyun_staff"]
    made = services.application_create(actor=staff, unit_id=tree["xiangyun_g"].pk, form=form_data(tree["xiangyun_g"]))
    assert staff_page(staff).get(f"/applications/{made.pk}/").status_code == 200
    assert staff_api(users["xiangyun_cadre"]).get(f"/api/v1/applications/{made.pk}").status_code == 200
