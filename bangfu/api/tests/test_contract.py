"""What the OpenAPI document promises a client generated from it: every request body refuses
fields it does not know, every schema name stands for one schema, every operation lists its error
answers, and a method a path does not take is answered in the error shape."""

from __future__ import annotations

from typing import Any

import pytest

from bangfu.api.api import api as ninja_api
from bangfu.api.tests.conftest import Api

pytestmark = pytest.mark.django_db

METHODS = ("get", "post", "put", "patch", "delete")


def _operations() -> list[tuple[str, str, dict[str, Any]]]:
    schema = ninja_api.get_openapi_schema()
    return [(path, m, op) for path, item in schema["paths"].items() for m, op in item.items() if m in METHODS]


def test_every_json_request_body_refuses_unknown_fields() -> None:
    schema = ninja_api.get_openapi_schema()
    open_bodies = []
    for path, method, op in _operations():
        content = op.get("requestBody", {}).get("content", {}).get("application/json")
        if content is None:
            continue
        choices = content["schema"].get("anyOf", [content["schema"]])  # an optional body: the schema or null
        for choice in choices:
            if choice.get("type") == "null":
                continue
            ref = choice.get("$ref", "")
            body = schema["components"]["schemas"][ref.rsplit("/", 1)[-1]] if ref else choice
            if body.get("additionalProperties") is not False:
                open_bodies.append(f"{method.upper()} {path}")
    assert open_bodies == []


def test_one_schema_name_for_each_schema() -> None:
    """Two schemas of one name would leave one of them in ``components`` and describe both
    endpoints with it (the recheck runs and the recompute runs were both ``RunOut``)."""
    from ninja import Schema

    def subclasses(cls: type) -> list[type]:
        found: list[type] = []
        subs: list[type] = cls.__subclasses__()
        for sub in subs:
            found += [sub, *subclasses(sub)]
        return found

    names: dict[str, set[str]] = {}
    for cls in subclasses(Schema):
        if cls.__module__.startswith("bangfu.") and ".tests." not in cls.__module__:
            names.setdefault(cls.__name__, set()).add(cls.__module__)
    assert {n: m for n, m in names.items() if len(m) > 1} == {}
    components = ninja_api.get_openapi_schema()["components"]["schemas"]
    assert {"MatchRunOut", "RecomputeRunOut"} <= set(components)


def test_every_operation_lists_its_error_answers() -> None:
    missing = [
        f"{method.upper()} {path}"
        for path, method, op in _operations()
        if path != "/api/v1/health" and not {"401", "404", "422"} & {str(code) for code in op["responses"]}
    ]
    assert missing == []


def test_a_method_a_path_does_not_take_is_answered_in_the_error_shape(users: dict[str, Any]) -> None:
    from bangfu.org.services import token_create

    admin = users["admin"]
    api = Api(token_create(actor=admin, user=admin, name="t"))
    r = api.call("DELETE", "/households/1")
    assert r.status_code == 405
    error = r.json()["error"]
    assert error["code"] == "method_not_allowed" and "GET" in error["details"]["allowed"]
    assert "PUT" in r["Allow"] and "allowed: GET" in error["message"]


def test_a_filter_value_outside_its_choices_is_refused_by_name(users: dict[str, Any]) -> None:
    """``category=bogus`` answered 200 with an empty list, as if no file were in that category."""
    from bangfu.org.services import token_create

    admin = users["admin"]
    api = Api(token_create(actor=admin, user=admin, name="t"))
    for path, name in (("/households", "category"), ("/households", "state"), ("/matching/findings", "status")):
        r = api.get(path, **{name: "bogus"})
        assert r.status_code == 422, (path, name, r.content)
        assert r.json()["error"]["fields"] == {name: ["“bogus” is not one of the allowed values."]}
    assert api.get("/households", category="deep", state="active").status_code == 200
    # The main cause too, as the page's filter offers it (999 answered an empty list).
    r = api.get("/households", main_cause=999)
    assert r.status_code == 422 and r.json()["error"]["fields"] == {
        "main_cause": ["“999” is not one of the allowed values."]
    }
    assert api.get("/households", main_cause=3).status_code == 200
    assert api.get("/matching/findings", status="open", severity="info", rule="on_dibao").status_code == 200
    schema = ninja_api.get_openapi_schema()
    params = {p["name"]: p for p in schema["paths"]["/api/v1/households"]["get"]["parameters"]}
    assert "deep" in params["category"]["schema"]["enum"]
