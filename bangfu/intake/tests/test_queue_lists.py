"""The staff's lists of applications: every case sent to the union is in one of them. A case under
way is in the work queue of who takes its step and among all the cases under way; a case returned
to the counter is in the queue of who puts it right, with the reason; a closed case (file opened or
reported up, refused, withdrawn) is under way nowhere, never overdue, and listed with the closed
cases."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from bangfu.intake import selectors, services
from bangfu.intake.models import Applicant, Application
from bangfu.intake.models import ApplicationState as S
from bangfu.intake.tests.helpers import form_data, staff_api, staff_page, submitted, to_state

pytestmark = pytest.mark.django_db


def _ids(rows: Any) -> list[int]:
    return [r.application.pk for r in rows]


def test_an_approved_case_is_closed_not_under_way_nor_overdue(tree: dict, users: dict[str, Any], standard: Any) -> None:
    app = to_state(submitted(tree["xiangyun_g"]), S.FILE_OPENED, users, approver=users["xiangyun_staff"])
    # Approved long ago: no step's limit makes it overdue.
    Application.objects.filter(pk=app.pk).update(state_since=timezone.now() - dt.timedelta(days=90))
    staff = users["xiangyun_staff"]
    for who in ("xiangyun_staff", "province_manager"):
        user = users[who]
        mine, _page = selectors.queue(actor=user)
        everything, _page = selectors.under_way(actor=user)
        assert app.pk not in _ids(mine) + _ids(everything), who
        counted = selectors.queue_counts(actor=user) + selectors.under_way_counts(actor=user)
        assert "file_opened" not in [c["state"] for c in counted], who
        api = staff_api(user)
        for scope in ("mine", "all"):
            listed = api.get(f"/api/v1/applications/queue?scope={scope}").json()["results"]
            assert app.pk not in [r["id"] for r in listed], (who, scope)
            counts = api.get(f"/api/v1/applications/counts?scope={scope}").json()
            assert "file_opened" not in [c["state"] for c in counts], (who, scope)
    page = staff_page(staff).get("/applications/?scope=all").content.decode()
    assert app.reference not in page and "overdue" not in page


def _returned_at_the_counter(tree: dict, users: dict[str, Any]) -> Application:
    cadre = users["xiangyun_cadre"]
    unit = tree["xiangyun_g"]
    app = services.application_create(actor=cadre, unit_id=unit.pk, form=form_data(unit))
    services.application_submit(actor=cadre, application_id=app.pk)
    return services.application_transition(actor=cadre, application_id=app.pk, action="return", reason="请补充收入证明")


def test_a_counter_case_returned_is_in_the_queue_of_who_puts_it_right_with_its_reason(
    tree: dict, users: dict[str, Any]
) -> None:
    app = _returned_at_the_counter(tree, users)
    assert app.state == S.DRAFT and app.returned
    cadre = users["xiangyun_cadre"]
    mine, _page = selectors.queue(actor=cadre, state="draft")
    assert _ids(mine) == [app.pk] and mine[0].returned_reason == "请补充收入证明"
    assert {"state": "draft", "count": 1}.items() <= selectors.queue_counts(actor=cadre)[0].items()
    for who in ("xiangyun_cadre", "province_manager"):
        everything, _page = selectors.under_way(actor=users[who])
        assert app.pk in _ids(everything), who
    api = staff_api(cadre)
    row = api.get("/api/v1/applications/queue?state=draft").json()["results"]
    assert [(r["id"], r["state_label"], r["returned_reason"]) for r in row] == [
        (app.pk, "Returned for correction", "请补充收入证明")
    ]
    counts = api.get("/api/v1/applications/counts").json()
    assert [(c["state"], c["label"], c["count"]) for c in counts] == [("draft", "Returned for correction", 1)]
    html = staff_page(cadre).get("/applications/").content.decode()
    queue = html[html.index('id="queue"') : html.index("</table>", html.index('id="queue"'))]
    assert app.reference in queue and "Returned for correction" in queue and "请补充收入证明" in queue
    # Not in the queue of an evaluator, who acts on no case.
    assert app.pk not in _ids(selectors.queue(actor=users["evaluator"])[0])


def test_a_workers_case_returned_waits_for_the_worker_and_their_draft_stays_unseen(
    tree: dict, users: dict[str, Any]
) -> None:
    unit = tree["xiangyun_g"]
    sent = submitted(unit, phone="13900001111")
    cadre = users["xiangyun_cadre"]
    services.application_transition(actor=cadre, application_id=sent.pk, action="return", reason="照片看不清")
    worker = Applicant.objects.create(phone="13900002222")
    draft = services.application_create(actor=worker, unit_id=unit.pk, form=form_data(unit))
    # The worker puts it right: in no staff member's queue, but among the cases under way.
    assert selectors.queue(actor=cadre)[0] == []
    everything, _page = selectors.under_way(actor=users["province_manager"])
    assert _ids(everything) == [sent.pk] and everything[0].returned_reason == "照片看不清"
    listed = staff_api(cadre).get("/api/v1/applications/queue?scope=all&state=draft").json()["results"]
    assert [r["id"] for r in listed] == [sent.pk] and draft.pk not in [r["id"] for r in listed]


def test_the_public_notice_list_is_a_page_like_the_other_lists(tree: dict, users: dict[str, Any]) -> None:
    today = timezone.localdate()
    cases = [submitted(tree["xiangyun_g"], phone=f"1390000300{i}") for i in range(3)]
    Application.objects.filter(pk__in=[a.pk for a in cases]).update(
        state=S.UNIT_REVIEW, notice_from=today, notice_to=today + dt.timedelta(days=6)
    )
    api = staff_api(users["xiangyun_cadre"])
    first = api.get("/api/v1/applications/public-notice?page_size=2").json()
    assert {k: first[k] for k in ("count", "count_capped", "page", "page_size")} == {
        "count": 3,
        "count_capped": False,
        "page": 1,
        "page_size": 2,
    }
    second = api.get("/api/v1/applications/public-notice?page_size=2&page=2").json()
    listed = [r["id"] for r in first["results"] + second["results"]]
    assert listed == [a.pk for a in cases]  # what it lists, in the printed list's order
    assert "*" in second["results"][0]["head_id_masked"]
    assert api.get("/api/v1/applications/public-notice?page=3&page_size=2").json()["results"] == []
    assert api.get("/api/v1/applications/public-notice?page=0").status_code == 422


@pytest.fixture
def closed(tree: dict, users: dict[str, Any], standard: Any) -> dict[str, Application]:
    """Three closed cases of the cadre's union: approved, refused with a reason, withdrawn."""
    unit = tree["xiangyun_g"]
    cadre = users["xiangyun_cadre"]
    approved = to_state(submitted(unit, phone="13900004001"), S.FILE_OPENED, users, approver=users["xiangyun_staff"])
    refused = submitted(unit, phone="13900004002", members=2)
    refused = services.application_transition(
        actor=cadre, application_id=refused.pk, action="refuse", reason="家庭收入高于标准"
    )
    withdrawn = submitted(unit, phone="13900004003", members=2)
    withdrawn = services.application_transition(
        actor=withdrawn.applicant, application_id=withdrawn.pk, action="withdraw"
    )
    return {"approved": approved, "refused": refused, "withdrawn": withdrawn}


def test_the_closed_cases_are_listed_and_searched_on_the_page(
    users: dict[str, Any], closed: dict[str, Application]
) -> None:
    refused = closed["refused"]
    # A draft the worker withdrew before sending it stays theirs: in no list.
    worker = Applicant.objects.create(phone="13900004009")
    unsent = services.application_create(actor=worker, unit_id=refused.unit_id, form=form_data(refused.unit))
    services.application_transition(actor=worker, application_id=unsent.pk, action="withdraw")
    page = staff_page(users["xiangyun_cadre"])
    html = page.get("/applications/?scope=closed").content.decode()
    table = html[html.index('id="closed"') : html.index("</table>", html.index('id="closed"'))]
    for app in closed.values():
        assert app.reference in table
    assert unsent.reference not in table
    assert "家庭收入高于标准" in table and "File opened" in table and "Withdrawn" in table
    only = page.get("/applications/?scope=closed&state=refused").content.decode()
    only = only[only.index('id="closed"') : only.index("</table>", only.index('id="closed"'))]
    assert refused.reference in only and closed["approved"].reference not in only
    # Searched by a person's ID number: posted, kept out of the address.
    person = refused.data["members"][1]["id_number"]
    found = page.post("/applications/", {"q": person, "state": "refused"})
    assert found.status_code == 302 and person not in found["Location"] and "s=" in found["Location"]
    listed = page.get(found["Location"]).content.decode()
    listed = listed[listed.index('id="closed"') : listed.index("</table>", listed.index('id="closed"'))]
    assert refused.reference in listed and closed["withdrawn"].reference not in listed
    by_name = page.post("/applications/", {"q": refused.head_name[:1] + "不存在"})
    assert "No closed case matches the search." in page.get(by_name["Location"]).content.decode()
    # Out of the jurisdiction: another county's staff find none of them.
    other = staff_page(users["dalishi_staff"]).get("/applications/?scope=closed").content.decode()
    assert refused.reference not in other


def test_the_closed_cases_are_listed_and_searched_in_the_api(
    users: dict[str, Any], closed: dict[str, Application]
) -> None:
    api = staff_api(users["province_manager"])
    page = api.get("/api/v1/applications/closed").json()
    assert page["count"] == 3 and not page["count_capped"]
    assert {c["state"]: c["count"] for c in page["counts"]} == {"file_opened": 1, "refused": 1, "withdrawn": 1}
    by_id = {r["id"]: r for r in page["results"]}
    refused = by_id[closed["refused"].pk]
    assert (refused["state"], refused["state_label"], refused["reason"]) == ("refused", "Refused", "家庭收入高于标准")
    one = api.get("/api/v1/applications/closed?state=refused&page_size=1").json()
    assert [r["id"] for r in one["results"]] == [closed["refused"].pk]
    ref = api.get(f"/api/v1/applications/closed?q={closed['withdrawn'].reference}").json()
    assert [r["id"] for r in ref["results"]] == [closed["withdrawn"].pk]
    head = closed["approved"].data["members"][0]["id_number"]
    assert api.get(f"/api/v1/applications/closed?q={head}").status_code == 422
    found = api.post("/api/v1/applications/closed/search", {"q": head}, content_type="application/json").json()
    assert [r["id"] for r in found["results"]] == [closed["approved"].pk]
    assert api.get("/api/v1/applications/closed?state=approval").status_code == 422
    assert staff_api(users["dalishi_staff"]).get("/api/v1/applications/closed").json()["count"] == 0
