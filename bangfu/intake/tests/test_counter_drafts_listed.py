"""A union's own counter drafts are in the work queue of who made them, on that side: a draft a
grassroots cadre started and did not submit is in the union's cadres' queue as "Draft (not sent)"
(it was in no list), and one returned to it for correction is theirs to put right, not the
county's or the city's staff's, who follow it among all the cases under way; a draft the centre's
staff started at the centre is in their queue. A worker's phone draft stays the worker's."""

from __future__ import annotations

from typing import Any

import pytest

from bangfu.intake import selectors, services
from bangfu.intake.models import Applicant
from bangfu.intake.tests.helpers import form_data, staff_api, staff_page

pytestmark = pytest.mark.django_db


def _ids(rows: Any) -> list[int]:
    return [r.application.pk for r in rows]


def test_a_cadres_counter_draft_never_sent_is_in_the_unions_queue(tree: dict, users: dict[str, Any]) -> None:
    unit, cadre = tree["xiangyun_g"], users["xiangyun_cadre"]
    api = staff_api(cadre)
    made = api.post(
        "/api/v1/applications", {"unit_id": unit.pk, "form": form_data(unit)}, content_type="application/json"
    )
    assert made.status_code == 201
    draft = made.json()["id"]
    # The worker's own phone draft at the same union stays theirs: in no staff list.
    worker = Applicant.objects.create(phone="13900007001")
    phone = services.application_create(actor=worker, unit_id=unit.pk, form=form_data(unit, 2))
    rows = api.get("/api/v1/applications/queue?state=draft").json()["results"]
    assert [(r["id"], r["state_label"]) for r in rows] == [(draft, "Draft (not sent)")]
    counts = api.get("/api/v1/applications/counts").json()
    assert [(c["state"], c["label"], c["count"]) for c in counts] == [("draft", "Draft (not sent)", 1)]
    html = staff_page(cadre).get("/applications/").content.decode()
    queue = html[html.index('id="queue"') : html.index("</table>", html.index('id="queue"'))]
    assert f"SQ{draft:08d}" in queue and "Draft (not sent)" in queue and phone.reference not in queue
    assert f'href="/applications/{draft}/"' in queue  # opened from the list
    # Not the county's: the union that holds it is the cadre's.
    assert draft not in _ids(selectors.queue(actor=users["xiangyun_staff"])[0])


def test_a_cadres_counter_case_returned_is_not_in_the_countys_queue(tree: dict, users: dict[str, Any]) -> None:
    unit, cadre = tree["xiangyun_g"], users["xiangyun_cadre"]
    app = services.application_create(actor=cadre, unit_id=unit.pk, form=form_data(unit))
    services.application_submit(actor=cadre, application_id=app.pk)
    services.application_transition(actor=cadre, application_id=app.pk, action="return", reason="请补充收入证明")
    assert _ids(selectors.queue(actor=cadre)[0]) == [app.pk]
    for who in ("xiangyun_staff", "dali_staff"):
        staff = users[who]
        assert app.pk not in _ids(selectors.queue(actor=staff)[0]), who
        assert "draft" not in [c["state"] for c in selectors.queue_counts(actor=staff)], who
        listed = staff_api(staff).get("/api/v1/applications/queue").json()["results"]
        assert app.pk not in [r["id"] for r in listed], who
        # Followed among all the cases under way.
        assert app.pk in _ids(selectors.under_way(actor=staff)[0]), who


def test_a_counter_draft_the_centre_made_is_in_the_centres_queue(tree: dict, users: dict[str, Any]) -> None:
    unit, staff = tree["xiangyun_g"], users["xiangyun_staff"]
    app = services.application_create(actor=staff, unit_id=unit.pk, form=form_data(unit))
    mine = selectors.queue(actor=staff)[0]
    assert _ids(mine) == [app.pk] and mine[0].state_label == "Draft (not sent)"
    assert app.pk not in _ids(selectors.queue(actor=users["xiangyun_cadre"])[0])
