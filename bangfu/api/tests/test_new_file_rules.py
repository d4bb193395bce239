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


def test_a_new_file_without_a_filing_date_is_filed_today(api_as: Any, tree: dict) -> None:
    """A file made through the API without ``filed_on`` was open with ``filed_on: null`` (the
    export's 建档日期 blank), where an approval files it on its day: the one create service files
    every new file today unless told another day."""
    import datetime as dt

    from django.utils import timezone

    body = as_json(household_input(tree["xiangyun_g"]))
    body.pop("filed_on", None)
    response = api_as("xiangyun_staff").post("/households", body)
    assert response.status_code == 201, response.content
    assert response.json()["filed_on"] == timezone.localdate().isoformat()
    body = as_json(household_input(tree["xiangyun_g"]))
    body["filed_on"] = None
    response = api_as("xiangyun_staff").post("/households", body)
    assert response.status_code == 201, response.content
    assert Household.objects.get(pk=response.json()["id"]).filed_on == timezone.localdate()
    body = as_json(household_input(tree["xiangyun_g"]))
    body["filed_on"] = "2015-03-20"  # a day given is kept
    response = api_as("xiangyun_staff").post("/households", body)
    assert response.json()["filed_on"] == "2015-03-20"
    assert Household.objects.get(pk=response.json()["id"]).filed_on == dt.date(2015, 3, 20)


def test_an_edit_does_not_blank_the_filing_date(api_as: Any, tree: dict) -> None:
    """``filed_on: null`` in a change (or the page's box cleared) erased the day the file was made:
    a change that gives none keeps the file's."""
    api = api_as("xiangyun_staff")
    out = api.post("/households", as_json(household_input(tree["xiangyun_g"]))).json()
    filed = Household.objects.get(pk=out["id"]).filed_on
    assert filed is not None
    body = as_json(household_input(tree["xiangyun_g"]), version=out["version"])
    for i, m in enumerate(out["members"]):
        body["members"][i]["id_number"], body["members"][i]["member_id"] = "", m["id"]
    body["filed_on"] = None
    response = api.put(f"/households/{out['id']}", body)
    assert response.status_code == 200, response.content
    assert response.json()["filed_on"] == filed.isoformat()
    assert Household.objects.get(pk=out["id"]).filed_on == filed
    body["filed_on"], body["version"] = "2016-05-04", response.json()["version"]  # another day may be given
    assert api.put(f"/households/{out['id']}", body).json()["filed_on"] == "2016-05-04"
