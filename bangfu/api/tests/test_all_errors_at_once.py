"""One submit names every problem the checks can find: a union outside the jurisdiction was said
only once the other fields were put right (no category: "required" alone, then the union)."""

from __future__ import annotations

from typing import Any

from bangfu.registry.models import Household
from bangfu.testing.factories import household_input

from .conftest import as_json


def test_a_union_of_another_county_is_named_with_the_other_errors(api_as: Any, tree: dict) -> None:
    body = as_json(household_input(tree["xiangyun_g"]))
    del body["category"]
    body["unit_id"] = tree["dalishi"].pk
    response = api_as("xiangyun_staff").post("/households", body)
    assert response.status_code == 422, response.content
    fields = response.json()["error"]["fields"]
    assert fields["category"] == ["This field is required."]
    assert fields["unit_id"] == ["This union does not exist or is outside your jurisdiction."]
    assert Household.objects.count() == 0


def test_an_update_names_the_union_with_the_other_errors(api_as: Any, tree: dict, xiangyun_file: Household) -> None:
    api = api_as("xiangyun_staff")
    body = api.get(f"/households/{xiangyun_file.pk}").json()
    update = as_json(household_input(tree["xiangyun_g"]))
    update.update(version=body["version"], unit_id=tree["dalishi"].pk, address="")
    response = api.put(f"/households/{xiangyun_file.pk}", update)
    assert response.status_code == 422, response.content
    assert {"unit_id", "address"} <= set(response.json()["error"]["fields"])


def test_an_update_names_a_change_of_state_it_may_not_make_with_the_other_errors(
    api_as: Any, tree: dict, xiangyun_file: Household
) -> None:
    api = api_as("xiangyun_staff")
    body = api.get(f"/households/{xiangyun_file.pk}").json()
    update = as_json(household_input(tree["xiangyun_g"]))
    update.update(version=body["version"], state="removed", address="")
    response = api.put(f"/households/{xiangyun_file.pk}", update)
    assert response.status_code == 422, response.content
    assert {"state", "address"} <= set(response.json()["error"]["fields"])
