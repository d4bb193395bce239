"""The API: a worker signs in by code, saves a draft, submits twice (one application), follows
the status; staff see the queue and act; errors have the one shape."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client
from ninja import NinjaAPI

from bangfu.api import errors
from bangfu.intake.api import router
from bangfu.intake.messaging import outbox
from bangfu.intake.models import Application
from bangfu.intake.tests.helpers import form_data, staff_api, submitted

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def api_urls() -> Any:
    from bangfu.api.auth import bearer, session

    api = NinjaAPI(urls_namespace="intake_test_api", auth=[bearer, session])
    errors.install(api)
    api.add_router("", router)
    return api.urls


@pytest.fixture
def urls(settings: Any, api_urls: Any) -> str:
    from django.urls import path

    import config.urls

    module = type(config.urls)("intake_test_urls")
    module.urlpatterns = [path("api/", api_urls), *config.urls.urlpatterns]  # type: ignore[attr-defined]
    import sys

    sys.modules["intake_test_urls"] = module
    settings.ROOT_URLCONF = "intake_test_urls"
    return "/api"


def _json(c: Client, method: str, url: str, body: Any = None, token: str = "") -> Any:
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    r = getattr(c, method)(
        url, data=json.dumps(body) if body is not None else None, content_type="application/json", **headers
    )
    return r.status_code, (r.json() if r.content else None)


def test_worker_flow_through_the_api(urls: str, tree: dict, users: dict[str, Any]) -> None:
    c = Client(HTTP_ACCEPT_LANGUAGE="en")
    status, _body = _json(c, "post", f"{urls}/applicant/code", {"phone": "13812345678"})
    assert status == 204
    code = next(code for to, code in reversed(outbox) if to == "13812345678")
    status, body = _json(c, "post", f"{urls}/applicant/token", {"phone": "13812345678", "code": code})
    token = body["token"]
    status, body = _json(c, "post", f"{urls}/applicant/token", {"phone": "13812345678", "code": code})
    assert status == 400 and body["error"]["code"] == "code_invalid"  # replay
    assert list(body["error"]["fields"]) == ["code"]  # named under its field, as a form shows it
    # A code asked for again at once: 429, saying how long to wait.
    r = c.post(f"{urls}/applicant/code", {"phone": "13812345678"}, content_type="application/json")
    assert r.status_code == 429 and r.json()["error"]["code"] == "code_throttled" and int(r["Retry-After"]) > 0

    status, app = _json(
        c, "post", f"{urls}/applicant/applications", {"unit_id": tree["xiangyun_g"].pk, "idempotency_key": "t1"}, token
    )
    assert status == 201 and app["state"] == "draft"
    status, again = _json(
        c, "post", f"{urls}/applicant/applications", {"unit_id": tree["xiangyun_g"].pk, "idempotency_key": "t1"}, token
    )
    assert again["id"] == app["id"]
    status, body = _json(c, "post", f"{urls}/applicant/applications/{app['id']}/submit", {}, token)
    assert status == 422 and "main_cause" in body["error"]["fields"]
    status, app = _json(
        c,
        "put",
        f"{urls}/applicant/applications/{app['id']}",
        {"form": form_data(tree["xiangyun_g"]), "expected_version": app["version"]},
        token,
    )
    assert status == 200
    for _tap in range(2):
        status, body = _json(
            c, "post", f"{urls}/applicant/applications/{app['id']}/submit", {"expected_version": app["version"]}, token
        )
        assert status == 200 and body["state"] == "submitted"
    assert Application.objects.count() == 1

    staff = Client(HTTP_ACCEPT_LANGUAGE="en")
    staff.force_login(users["xiangyun_cadre"])
    status, page = _json(staff, "get", f"{urls}/applications/queue")
    assert [r["id"] for r in page["results"]] == [app["id"]] and page["count"] == 1
    # Past the last page: nothing (a client paging until an empty page stops); a bad page or state: 422.
    assert _json(staff, "get", f"{urls}/applications/queue?page=2")[1]["results"] == []
    for bad in ("page=0", "page=-1", "state=bogus", "page_size=0"):
        status, body = _json(staff, "get", f"{urls}/applications/queue?{bad}")
        assert status == 422 and bad.split("=")[0] in body["error"]["fields"], (bad, body)
    status, body = _json(staff, "post", f"{urls}/applications/{app['id']}/transition", {"action": "approve"})
    assert status == 409 and body["error"]["code"] == "invalid_transition"
    status, body = _json(staff, "post", f"{urls}/applications/{app['id']}/transition", {"action": "accept"})
    assert status == 200 and body["state"] == "first_review"
    status, mine = _json(c, "get", f"{urls}/applicant/applications/{app['id']}", token=token)
    assert [e["to_state"] for e in mine["events"]][-1] == "first_review"

    other = Client(HTTP_ACCEPT_LANGUAGE="en")
    other.force_login(users["dalishi_staff"])
    status, body = _json(other, "get", f"{urls}/applications/{app['id']}")
    assert status == 404
    status, body = _json(Client(), "get", f"{urls}/applicant/applications", token="forged")
    assert status == 401


def test_import_and_review_endpoints(urls: str, tree: Any, users: Any) -> None:
    import io

    from bangfu.intake.tests.test_legacy_import import household_rows, xlsx

    staff = Client(HTTP_ACCEPT_LANGUAGE="en")
    staff.force_login(users["xiangyun_staff"])
    upload = io.BytesIO(xlsx(household_rows("A-0001") + household_rows("A-0002", 住房类型="城堡")))
    upload.name = "old.xlsx"
    r = staff.post("/api/imports", {"unit_id": tree["xiangyun"].pk, "file": upload})
    assert r.status_code == 201, r.content
    body = r.json()
    assert (body["state"], body["households_valid"], body["households_invalid"]) == ("validated", 1, 1)
    assert body["first_issues"][0]["column"] == "住房类型"
    other = Client()
    other.force_login(users["dalishi_staff"])
    assert other.get(f"/api/imports/{body['id']}").status_code == 404
    assert other.post(f"/api/imports/{body['id']}/commit").status_code == 404
    r = staff.post(f"/api/imports/{body['id']}/commit")
    assert r.json()["state"] == "committed" and r.json()["households_created"] == 1
    assert "A-0002" in staff.get(f"/api/imports/{body['id']}/report?format=csv").content.decode("utf-8-sig")
    bad = io.BytesIO(b"not a workbook")
    bad.name = "x.xlsx"
    r = staff.post("/api/imports", {"unit_id": tree["xiangyun"].pk, "file": bad})
    assert r.status_code in {400, 422} and "Excel" in r.content.decode()


def test_the_queue_holds_the_cases_the_caller_acts_on_counted_as_listed(tree: Any, users: Any) -> None:
    """A centre officer at the province holds the role of the higher review but not at its level
    (county or city): the case is not in their queue, nor in its count (the count included it and
    the page then dropped it, so a short page did not mean the last one)."""
    from bangfu.intake.tests.helpers import submitted, to_state
    from bangfu.org.models import Role
    from bangfu.testing.factories import user_with_role

    app = to_state(submitted(tree["xiangyun_g"]), "higher_review", users)
    province_officer = user_with_role(tree["province"], Role.CENTRE_STAFF, "province_officer")
    for user, expected in ((users["xiangyun_staff"], [app.pk]), (province_officer, [])):
        client = Client()
        client.force_login(user)
        page = client.get("/api/v1/applications/queue").json()
        assert [r["id"] for r in page["results"]] == expected and page["count"] == len(expected)


def test_a_decision_s_reason_is_counted_as_the_page_counts_it(tree: Any, users: Any) -> None:
    """995 characters and 5 line breaks sent as CR LF are 1,000 in the case page's box (and as
    kept): the API takes them for a refusal as the page does, and still refuses 1,001."""

    app = submitted(tree["xiangyun_g"])
    cadre = staff_api(users["xiangyun_cadre"])
    url = f"/api/v1/applications/{app.pk}/transition"
    reason = ("理" * 199 + "\r\n") * 5
    assert len(reason) == 1005 and len(reason.replace("\r\n", "\n")) == 1000
    status, body = _json(cadre, "post", url, {"action": "refuse", "reason": reason + "由"})
    assert status == 422 and "reason" in body["error"]["fields"], body
    status, body = _json(cadre, "post", url, {"action": "refuse", "reason": reason})
    assert status == 200 and body["state"] == "refused", body
    app.refresh_from_db()
    assert app.events.order_by("-pk").first().reason == ("理" * 199 + "\n") * 4 + "理" * 199  # type: ignore[union-attr]


def test_an_action_that_does_not_exist_is_a_wrong_request_not_a_step_out_of_order(tree: Any, users: Any) -> None:
    """ "foo" or "" is no action at all: 422 on ``action`` listing the actions; a real action the
    case's step does not allow stays 409 ``invalid_transition``."""
    app = submitted(tree["xiangyun_g"])
    cadre = staff_api(users["xiangyun_cadre"])
    url = f"/api/v1/applications/{app.pk}/transition"
    for action in ("foo", ""):
        status, body = _json(cadre, "post", url, {"action": action})
        assert status == 422, body
        [said] = body["error"]["fields"]["action"]
        assert f"“{action}” is not an action" in said and "first_review_pass" in said and "refuse" in said
    status, body = _json(cadre, "post", url, {"action": "approve"})
    assert status == 409 and body["error"]["code"] == "invalid_transition", body
    app.refresh_from_db()
    assert app.state == "submitted"
