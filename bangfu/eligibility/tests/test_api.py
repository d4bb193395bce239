"""The eligibility API through HTTP, with bearer tokens."""

from __future__ import annotations

import io
import json
from typing import Any

import openpyxl
import pytest
from django.test import Client

from bangfu.eligibility import services
from bangfu.org.models import Role
from bangfu.org.services import token_create
from bangfu.registry.services import household_create
from bangfu.testing.factories import household_input, user_with_role


class Api:
    def __init__(self, user: Any) -> None:
        self.client = Client()
        self.headers = {
            "Authorization": f"Bearer {token_create(actor=user, user=user, name='t')}",
            "Accept-Language": "en",
        }

    def get(self, path: str, **query: Any) -> Any:
        return self.client.get("/api/v1/eligibility" + path, data=query, headers=self.headers)

    def post(self, path: str, body: Any) -> Any:
        return self.client.post(
            "/api/v1/eligibility" + path, data=json.dumps(body), content_type="application/json", headers=self.headers
        )


@pytest.fixture
def household(tree: dict[str, Any], users: dict[str, Any]) -> Any:
    return household_create(actor=users["xiangyun_staff"], data=household_input(tree["xiangyun_g"]))


def test_standard_decision_override_flow(users: dict[str, Any], household: Any, tree: dict[str, Any]) -> None:
    manager, staff, cadre = Api(users["province_manager"]), Api(users["xiangyun_staff"]), Api(users["xiangyun_cadre"])
    r = manager.post(
        "/standards",
        {"division_code": "530000", "year": 2026, "dibao_monthly": "1001.00", "minimum_wage_monthly": "1900"},
    )
    assert r.status_code == 201, r.content
    assert r.json()["version"] == "530000/2026/v1"
    r = staff.post(
        "/standards", {"division_code": "532923", "year": 2026, "dibao_monthly": "1", "minimum_wage_monthly": "1"}
    )
    assert r.status_code == 403
    assert staff.get("/standards", division_code="530000").json()[0]["dibao_monthly"] == "1001.00"

    r = staff.post(f"/households/{household.pk}/decision", {})
    assert r.status_code == 201, r.content
    decision = r.json()
    assert decision["category"] == "deep"
    assert decision["standard_version"] == "530000/2026/v1"
    assert any("< 1 × dibao 1,001.00 yuan" in reason["text"] for reason in decision["reasons"])

    assert Api(users["dalishi_staff"]).get(f"/households/{household.pk}/decision").status_code == 404

    r = staff.post(f"/decisions/{decision['id']}/override", {"category": "relative", "reason": "Recovered in May"})
    assert r.json()["override"]["status"] == "pending"
    r = staff.post(f"/decisions/{decision['id']}/override/approve", {"approve": True})
    assert (r.status_code, r.json()["error"]["code"]) == (403, "maker_checker")  # another person may
    r = cadre.post(f"/decisions/{decision['id']}/override/approve", {"approve": True})
    assert r.status_code == 403  # a grassroots cadre may not set categories
    checker = Api(user_with_role(tree["xiangyun"], Role.CENTRE_STAFF, "xiangyun_checker"))
    # An empty or misspelt body decides nothing: it is refused by field, the request still waits.
    for body, field in (({}, "approve"), ({"approved": False}, "approved")):
        r = checker.post(f"/decisions/{decision['id']}/override/approve", body)
        assert r.status_code == 422 and field in r.json()["error"]["fields"], r.content
    assert staff.get(f"/households/{household.pk}/decision").json()["current"]["override"]["status"] == "pending"
    r = checker.post(f"/decisions/{decision['id']}/override/approve", {"approve": True})
    assert r.status_code == 200
    got = staff.get(f"/households/{household.pk}/decision").json()
    assert got["current"]["effective_category"] == "relative"
    assert got["current"]["override"]["approved_by"] == "xiangyun_checker"


def test_inconsistent_rule_set_is_refused_with_the_field(users: dict[str, Any]) -> None:
    r = Api(users["province_manager"]).post(
        "/rulesets", {"region_code": "530000", "params": {"relative_multiple": "0.5"}}
    )
    assert r.status_code == 422
    assert "relative_multiple" in r.json()["error"]["fields"]


def test_whatif_and_recompute(
    users: dict[str, Any], household: Any, tree: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    services.standard_set(
        actor=users["province_manager"],
        division_code="530000",
        year=2026,
        dibao_monthly="1001",
        minimum_wage_monthly="1900",
    )
    admin = Api(users["admin"])
    with django_capture_on_commit_callbacks(execute=True):  # the task runs once the request commits
        r = admin.post("/recompute", {"unit_id": tree["province"].pk, "on": "2026-06-01"})
    assert r.status_code == 202
    run = admin.get(f"/recompute/{r.json()['id']}").json()
    assert (run["status"], run["done"], run["changed"]) == ("done", 1, 0)
    r = admin.post(
        "/whatif", {"unit_id": tree["province"].pk, "on": "2026-06-01", "standard": {"dibao_monthly": "100"}}
    )
    assert r.status_code == 200, r.content
    body = r.json()
    assert (body["total"], body["changed"]) == (1, 1)
    assert body["households"][0] == {
        "unit_name": "祥云县纺织厂工会",
        "file_number": household.file_number,
        "previous": "deep",
        "new": "not_eligible",
        "whatever_the_values": False,  # the dibao moves it, not the day
    }
    assert body["changed_whatever_the_values"] == 0
    assert body["saved"] == []
    # A standard's value under a name it does not have: refused by name (it was a server error).
    r = admin.post("/whatif", {"unit_id": tree["province"].pk, "standard": {"dibao": "5000"}})
    assert r.status_code == 422 and "standard.dibao" in json.dumps(r.json()["error"]["fields"])
    with django_capture_on_commit_callbacks(execute=True):
        r = admin.post("/recompute", {"unit_id": tree["province"].pk, "on": "2026-06-01"})
    report = admin.get(f"/recompute/{r.json()['id']}/report.xlsx")
    assert report.status_code == 200 and report["Cache-Control"] == "no-store"
    sheet = openpyxl.load_workbook(io.BytesIO(report.content)).worksheets[1]
    assert sheet.max_row == 1  # nothing changed: the what-if was not saved
    assert Api(users["dalishi_staff"]).get(f"/recompute/{r.json()['id']}").status_code == 404
