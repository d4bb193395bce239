"""Security review: behind the reverse proxy, the public self-test counts its limit per worker's
address (the one the proxy saw), not one limit for everyone coming through the proxy."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from bangfu.eligibility import selftest

from .test_selftest import URL, standard  # noqa: F401 - the fixture

FORM = {"region": "532923", "household_size": "1", "m0_age": "45"}


def _from(address: str) -> Client:
    # Every request reaches the application from the proxy's address.
    return Client(headers={"Accept-Language": "en", "X-Forwarded-For": address}, REMOTE_ADDR="10.0.0.1")


def test_behind_the_proxy_each_worker_has_their_own_limit(
    standard: None,  # noqa: F811 - the fixture
    settings: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings.BANGFU_PROXY_HEADERS = True
    monkeypatch.setattr(selftest, "RATE_LIMIT", 2)
    first = _from("203.0.113.5")
    assert [first.post(URL, FORM).status_code for _ in range(3)] == [200, 200, 429]
    assert _from("198.51.100.7").post(URL, FORM).status_code == 200
