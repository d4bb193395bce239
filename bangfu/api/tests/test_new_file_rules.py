"""The API opens a file as the page does: open, in a current category; "working" does not sit
beside "unemployed"."""

from __future__ import annotations

from typing import Any

from bangfu.api.tests.conftest import as_json
from bangfu.registry.models import Household
from bangfu.testing.factories import household_input


def test_a_new_file_starts_open_in_a_current_category(api_as: Any, tree: dict) -> None:
    body = as_json(household_input(tree["xiangyun_g"], state="removed", category="legacy_dibao_edge"))
    body["members"][1]["work_status"] = "unemployed"  # the spouse's identity is "working"
    response = api_as("xiangyun_staff").post("/households", body)
    assert response.status_code == 422, response.content
    fields = response.json()["error"]["fields"]
    assert {"state", "category", "members.1.identity"} <= set(fields)
    assert not Household.objects.exists()
