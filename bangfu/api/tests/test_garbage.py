"""Every endpoint of the schema, given what a careless or hostile client sends — broken JSON, the
wrong types, huge numbers and ids, long and odd text — answers with the API's error body (4xx),
never a server error, and changes nothing it should not.

The calls are made with real ids of one county's objects (those of the jurisdiction matrix), as
the province's administrator (staff endpoints) or the worker who made the application (the
applicant's endpoints), so each request reaches its validation and its service."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from django.test import Client

from bangfu.api.api import api as ninja_api
from bangfu.api.tests.conftest import Api
from bangfu.api.tests.test_jurisdiction import Ids, dalishi_ids  # noqa: F401 - a fixture
from bangfu.org.services import token_create

pytestmark = pytest.mark.django_db

HUGE = 10**20  # beyond a 64-bit integer
ODD_TEXTS = ["", "x" * 5000, "\x00", "-1", "１２", "0x1F", "NaN", "1e400", "2026-02-30", "<script>", "💥" * 50]


def _schema() -> dict[str, Any]:
    return ninja_api.get_openapi_schema()


def _resolve(schema: dict[str, Any], node: Any) -> Any:
    while isinstance(node, dict) and "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        node = schema["components"]["schemas"][name]
    return node


def _sample(schema: dict[str, Any], node: Any, depth: int = 0) -> Any:
    """A plausible value of ``node``'s type (so that one wrong field at a time is what fails)."""
    node = _resolve(schema, node)
    if not isinstance(node, dict) or depth > 4:
        return None
    if "anyOf" in node:
        return _sample(schema, node["anyOf"][0], depth + 1)
    if "enum" in node:
        return node["enum"][0]
    kind = node.get("type")
    if kind == "object" or "properties" in node:
        return {k: _sample(schema, v, depth + 1) for k, v in node.get("properties", {}).items()}
    if kind == "array":
        return [_sample(schema, node.get("items", {}), depth + 1)]
    return {"integer": 1, "number": 1.5, "boolean": True}.get(kind or "", "x")


def _wrong(value: Any) -> list[Any]:
    """Values of the wrong type or out of any range, for a field whose plausible value is ``value``."""
    if isinstance(value, bool):
        return ["maybe", [1], HUGE]
    if isinstance(value, int | float):
        return ["abc", -HUGE, HUGE, 1e308, [1], {"a": 1}]
    if isinstance(value, str):
        return [{"a": 1}, [1], HUGE, "x" * 100_000, "\x00"]
    if isinstance(value, list):
        return ["x", {"a": 1}, [None] * 3, [HUGE]]
    if isinstance(value, dict):
        return ["x", [1], HUGE]
    return ["x", HUGE]


def _bodies(schema: dict[str, Any], body_schema: Any) -> list[Any]:
    base = _sample(schema, body_schema)
    bodies: list[Any] = [[], "text", None, {}, base]
    if isinstance(base, dict):
        bodies.extend({**base, key: bad} for key, value in base.items() for bad in _wrong(value))
    return bodies


PATH_IDS = {
    "household_id": "household",
    "member_id": "member",
    "finding_id": "finding",
    "proposal_id": "proposal",
    "dataset_id": "dataset",
    "application_id": "application",
    "batch_id": "batch",
    "task_id": "review",
    "decision_id": "decision",
    "attachment_id": "attachment",
    "objection_id": "objection",
}


def _path(path: str, ids: Ids, override: Any = None) -> str:
    def value(match: re.Match[str]) -> str:
        if override is not None:
            return str(override)
        name = match.group(1)
        if name == "run_id":
            return str(ids.recompute if "/eligibility/" in path else ids.run)
        return str(getattr(ids, PATH_IDS[name]))

    return re.sub(r"\{(\w+)\}", value, path).removeprefix("/api/v1")


def _problem(response: Any) -> str | None:
    if response.status_code >= 500:
        return f"{response.status_code}: {response.content[:300]!r}"
    if response.status_code >= 400 and response.get("Content-Type", "").startswith("application/json"):
        body = response.json()
        if "error" not in body or not body["error"].get("message"):
            return f"{response.status_code} without the error body: {body!r}"[:300]
    return None


@pytest.fixture
def callers(users: dict[str, Any], dalishi_ids: Ids) -> dict[str, Api]:  # noqa: F811 - the fixture above
    from bangfu.intake import otp
    from bangfu.intake.models import Application

    worker = Application.objects.get(pk=dalishi_ids.application).applicant
    assert worker is not None
    return {
        "staff": Api(token_create(actor=users["admin"], user=users["admin"], name="garbage")),
        "applicant": Api(otp.token_for(worker)),
    }


def test_no_endpoint_answers_garbage_with_a_server_error(
    callers: dict[str, Api],
    dalishi_ids: Ids,  # noqa: F811 - the fixture above
) -> None:
    schema = _schema()
    problems: list[str] = []
    for path, operations in schema["paths"].items():
        for method, op in operations.items():
            api = callers["applicant" if "/applicant/" in path else "staff"]
            calls: list[tuple[str, Any, dict[str, Any]]] = []
            # Ids of the wrong kind or out of range.
            if "{" in path:
                calls.extend((_path(path, dalishi_ids, bad_id), None, {}) for bad_id in ("abc", HUGE, -1, 0))
            url = _path(path, dalishi_ids)
            query = [p["name"] for p in op.get("parameters", []) if p["in"] == "query"]
            calls.extend((url, None, {name: text}) for name in query for text in [*ODD_TEXTS, str(HUGE)])
            content = op.get("requestBody", {}).get("content", {})
            if "application/json" in content:
                calls.extend((url, body, {}) for body in _bodies(schema, content["application/json"]["schema"]))
                calls.append((url, '{"broken": ', {}))  # not JSON at all
            for target, body, params in calls:
                if method == "get":
                    response = api.client.get("/api/v1" + target, params, headers=api.headers)
                elif "multipart/form-data" in content:
                    response = api.client.generic(
                        method.upper(), "/api/v1" + target, b"--x\r\n\r\n", "multipart/form-data; boundary=x",
                        headers=api.headers,
                    )  # fmt: skip
                else:
                    data = body if isinstance(body, str) and body.startswith("{") else json.dumps(body)
                    response = api.client.generic(
                        method.upper(), "/api/v1" + target, data, "application/json", headers=api.headers
                    )
                problem = _problem(response)
                if problem:
                    shown = json.dumps(body, default=str)[:120] if body is not None else params
                    problems.append(f"{method.upper()} {target} {shown}: {problem}")
    assert not problems, "\n".join(problems[:40]) + f"\n({len(problems)} in all)"


def test_a_json_body_that_is_not_json_is_named_as_such(callers: dict[str, Api]) -> None:
    response = Client().post(
        "/api/v1/applicant/code", '{"phone": ', content_type="application/json", headers={"Accept-Language": "en"}
    )
    assert response.status_code in (400, 422)
    assert response.json()["error"]["message"]
