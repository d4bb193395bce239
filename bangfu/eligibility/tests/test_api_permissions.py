"""The permission the OpenAPI names for an endpoint (``x-permission``) is the one the server
checks: a caller without it is refused 403 naming it, and that before anything it sent is judged."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from bangfu.eligibility.tests.test_api import Api
from bangfu.registry.services import household_create
from bangfu.testing.factories import household_input


def _documented(path: str) -> Any:
    schema = Client().get("/api/v1/openapi.json").json()
    return schema["paths"]["/api/v1/eligibility" + path]["post"]["x-permission"]


def test_an_override_is_documented_with_the_permission_it_checks(users: dict[str, Any], tree: dict[str, Any]) -> None:
    """The docs said ``household.edit``: a grassroots cadre holds it, and was refused by ``decision.override``."""
    h = household_create(actor=users["xiangyun_staff"], data=household_input(tree["xiangyun_g"]))
    decision = Api(users["xiangyun_staff"]).post(f"/households/{h.pk}/decision", {}).json()
    cadre = Api(users["xiangyun_cadre"])
    for path, body in (
        (f"/decisions/{decision['id']}/override", {"category": "relative", "reason": "Recovered in May"}),
        (f"/decisions/{decision['id']}/override/approve", {"approve": True}),
    ):
        documented = _documented(path.replace(str(decision["id"]), "{decision_id}"))
        assert documented == "decision.override"
        r = cadre.post(path, body)
        assert r.status_code == 403 and r.json()["error"]["details"]["permission"] == documented, r.content


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/whatif", {"unit_id": 1, "standard": {"dibao": "5"}}),  # a misspelt field
        ("/standards", {"division_code": "530000", "year": "x", "dibao_monthly": "1"}),
        ("/rulesets", {"params": {}, "colour": "red"}),
    ],
)
def test_the_permission_is_decided_before_the_fields(
    users: dict[str, Any], tree: dict[str, Any], path: str, body: dict[str, Any]
) -> None:
    """An evaluator's what-if with an unknown field was told 422 "not part of the request", then 403
    once spelt right: the role may not do it at all, said first, as the permission the docs name."""
    r = Api(users["evaluator"]).post(path, body)
    assert r.status_code == 403, r.content
    assert r.json()["error"]["details"]["permission"] == _documented(path) == "standard.manage"


def test_a_bad_field_is_still_named_to_who_may(users: dict[str, Any], tree: dict[str, Any]) -> None:
    r = Api(users["province_manager"]).post("/whatif", {"unit_id": tree["province"].pk, "standard": {"dibao": "5"}})
    assert r.status_code == 422 and "standard.dibao" in r.json()["error"]["fields"]
