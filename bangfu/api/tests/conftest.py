from __future__ import annotations

import dataclasses
import json
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from bangfu.org.services import token_create
from bangfu.registry import services
from bangfu.registry.inputs import HouseholdInput
from bangfu.registry.models import Household
from bangfu.testing.factories import household_input


def as_json(data: HouseholdInput, **extra: Any) -> dict[str, Any]:
    """The API's JSON body for a service input (amounts as strings, dates ISO)."""

    def plain(value: Any) -> Any:
        if isinstance(value, Decimal):
            return str(value)
        if isinstance(value, date):
            return value.isoformat()
        if isinstance(value, list):
            return [plain(v) for v in value]
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        return value

    return {**plain(dataclasses.asdict(data)), **extra}


class Api:
    """A test client speaking to /api/v1 with a bearer token (or none)."""

    def __init__(self, token: str | None = None, language: str = "en", client: Client | None = None) -> None:
        self.client = client or Client()
        self.headers = {"Accept-Language": language}
        if token is not None:
            self.headers["Authorization"] = f"Bearer {token}"

    def call(self, method: str, path: str, body: Any = None, **query: Any) -> Any:
        url = "/api/v1" + path
        kwargs: dict[str, Any] = {"headers": self.headers}
        if method == "GET":
            kwargs["data"] = query
        else:
            kwargs |= {"data": "" if body is None else json.dumps(body), "content_type": "application/json"}
        return getattr(self.client, method.lower())(url, **kwargs)

    def get(self, path: str, **query: Any) -> Any:
        return self.call("GET", path, **query)

    def post(self, path: str, body: Any = None) -> Any:
        return self.call("POST", path, body)

    def put(self, path: str, body: Any = None) -> Any:
        return self.call("PUT", path, body)


@pytest.fixture
def api_as(users: dict[str, Any]) -> Any:
    """``api_as("xiangyun_staff")`` → an Api authenticated with a fresh token of that user."""

    def make(who: str | Any, language: str = "en") -> Api:
        user = users[who] if isinstance(who, str) else who
        return Api(token_create(actor=user, user=user, name="tests"), language)

    return make


@pytest.fixture
def xiangyun_file(tree: dict, users: dict[str, Any]) -> Household:
    return services.household_create(actor=users["xiangyun_cadre"], data=household_input(tree["xiangyun_g"]))


@pytest.fixture
def dalishi_file(tree: dict, users: dict[str, Any]) -> Household:
    return services.household_create(actor=users["dalishi_staff"], data=household_input(tree["dalishi_g"]))


@pytest.fixture
def wuhua_file(tree: dict, users: dict[str, Any]) -> Household:
    return services.household_create(actor=users["admin"], data=household_input(tree["wuhua"]))
