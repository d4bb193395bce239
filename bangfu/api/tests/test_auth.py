from __future__ import annotations

from typing import Any

from django.test import Client
from django.utils import timezone

from bangfu.org.models import ApiToken
from bangfu.org.services import token_create

from .conftest import Api


def _assert_unauthorized(response: Any) -> None:
    assert response.status_code == 401
    body = response.json()
    assert body["error"]["code"] == "unauthorized"
    assert body["error"]["message"]
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_missing_token_is_401(users: dict[str, Any], xiangyun_file: Any) -> None:
    _assert_unauthorized(Api().get("/households"))
    _assert_unauthorized(Api().get(f"/households/{xiangyun_file.pk}"))
    _assert_unauthorized(Api().post("/households", {}))


def test_invalid_token_is_401(users: dict[str, Any]) -> None:
    _assert_unauthorized(Api("bf_not-a-real-token").get("/me"))
    _assert_unauthorized(Api("").get("/me"))


def test_revoked_token_is_401(users: dict[str, Any]) -> None:
    user = users["xiangyun_staff"]
    token = token_create(actor=user, user=user)
    assert Api(token).get("/me").status_code == 200
    ApiToken.objects.filter(user=user).update(revoked_at=timezone.now())
    _assert_unauthorized(Api(token).get("/me"))


def test_token_of_a_deactivated_user_is_401(users: dict[str, Any]) -> None:
    user = users["xiangyun_staff"]
    token = token_create(actor=user, user=user)
    user.is_active = False
    user.save()
    _assert_unauthorized(Api(token).get("/me"))


def test_me_lists_roles_units_and_permissions(api_as: Any, tree: dict) -> None:
    body = api_as("xiangyun_staff").get("/me").json()
    assert body["username"] == "xiangyun_staff"
    assert body["roles"] == [
        {
            "role": "centre_staff",
            "known": True,
            "unit": {"id": tree["xiangyun"].pk, "code": "532923", "name": "祥云县总工会"},
        }
    ]
    assert body["permissions"] == [
        "decision.override",
        "household.edit",
        "household.view",
        "personal.reveal",
        "recheck.run",
        "registry.export",
    ]


def test_session_of_the_staff_ui_is_accepted_with_csrf_for_writes(users: dict[str, Any], tree: dict) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(users["xiangyun_staff"])
    assert client.get("/api/v1/me").status_code == 200
    refused = client.post("/api/v1/households", data="{}", content_type="application/json")
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "csrf_failed"
    secret = "s3cr3t" * 5 + "ok"  # a CSRF cookie as the UI's pages set it (32 characters)
    client.cookies["csrftoken"] = secret
    accepted = client.post(
        "/api/v1/households", data="{}", content_type="application/json", headers={"X-CSRFToken": secret}
    )
    assert accepted.status_code == 422  # past authentication and CSRF: now the data is checked


def test_token_requests_need_no_csrf_token(api_as: Any) -> None:
    api = api_as("xiangyun_staff")
    api.client = Client(enforce_csrf_checks=True)
    assert api.post("/households", {}).status_code == 422


def test_openapi_schema_and_docs_are_served(users: dict[str, Any]) -> None:
    client = Client()
    schema = client.get("/api/v1/openapi.json").json()
    assert schema["info"]["title"] == "bangfu API"
    assert "/api/v1/households/{household_id}" in schema["paths"]
    assert schema["paths"]["/api/v1/households"]["post"]["x-permission"] == "household.edit"
    assert client.get("/api/v1/docs").status_code == 200
