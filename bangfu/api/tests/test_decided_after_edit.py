"""The API decides a file it opens or changes, as the page does."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from bangfu.api.tests.conftest import as_json
from bangfu.eligibility import services as eligibility
from bangfu.eligibility.models import EligibilityDecision
from bangfu.registry.models import Household
from bangfu.testing.factories import household_input


def _standard(users: dict[str, Any]) -> None:
    eligibility.standard_set(
        actor=users["province_manager"], division_code="530000", year=2026, dibao_monthly="1001",
        minimum_wage_monthly="1900",
    )  # fmt: skip


def test_the_api_decides_a_file_it_opens_or_changes(api_as: Any, tree: dict, users: dict[str, Any]) -> None:
    _standard(users)
    api = api_as("xiangyun_staff")
    out = api.post("/households", as_json(household_input(tree["xiangyun_g"]))).json()
    assert out["identification"] is not None
    body = as_json(household_input(tree["xiangyun_g"]), version=out["version"])
    for i, m in enumerate(out["members"]):
        body["members"][i]["id_number"], body["members"][i]["member_id"] = "", m["id"]
    body["members"][1]["monthly_income"] = "5000"
    assert api.put(f"/households/{out['id']}", body).status_code == 200
    h = Household.objects.get(pk=out["id"])
    now = EligibilityDecision.objects.current().get(household_id=h.pk)
    assert now.facts_version == h.version and now.net_income_per_head_monthly == h.net_income_per_head_monthly
    assert h.net_income_per_head_monthly > Decimal("1000")


def test_an_edit_sets_the_identifications_category_or_none_other(api_as: Any, tree: dict, users: dict) -> None:
    """One person moved a file into another category by editing it, where an override needs a
    second person: an edit may set the category the identification finds, and no other."""
    _standard(users)
    api = api_as("xiangyun_staff")
    out = api.post("/households", as_json(household_input(tree["xiangyun_g"]))).json()
    decided = EligibilityDecision.objects.current().get(household_id=out["id"]).effective_category
    other = next(c for c in ("deep", "relative", "accident") if c not in {decided, out["category"]})

    def body(category: str, version: int) -> dict[str, Any]:
        b = as_json(household_input(tree["xiangyun_g"]), version=version)
        for i, m in enumerate(out["members"]):
            b["members"][i]["id_number"], b["members"][i]["member_id"] = "", m["id"]
        b["category"] = category
        return b

    r = api.put(f"/households/{out['id']}", body(other, out["version"]))
    assert r.status_code == 422 and "override" in r.json()["error"]["fields"]["category"][0]
    h = Household.objects.get(pk=out["id"])
    assert (h.category, h.version) == (out["category"], out["version"])  # nothing saved
    if decided in ("deep", "relative", "accident"):
        assert api.put(f"/households/{out['id']}", body(decided, out["version"])).status_code == 200


def test_a_file_opened_by_hand_takes_its_identifications_category(api_as: Any, tree: dict, users: dict) -> None:
    """A file was opened "deep" whose own identification found it not eligible."""
    _standard(users)
    api = api_as("xiangyun_staff")
    data = household_input(tree["xiangyun_g"], members=1)
    data.members[0].monthly_income = Decimal(9_000)
    data.members[0].identity, data.members[0].work_status = "working", "employed"
    data.rigid_expenses = []
    r = api.post("/households", as_json(data))
    assert r.status_code == 422 and "application" in r.json()["error"]["fields"]["category"][0]
    assert not Household.objects.exists()  # nothing half-written


def test_no_category_is_set_by_making_the_identification_unable_to_decide(api_as: Any, tree: dict, users: dict) -> None:
    """Two saves put a file in any category: one with no member living together (the
    identification cannot decide, so nothing was held against the category), then one putting the
    members back (the category kept)."""
    _standard(users)
    api = api_as("xiangyun_staff")
    data = household_input(tree["xiangyun_g"])
    for m in data.members:
        m.living_together = False
    r = api.post("/households", as_json(data))
    assert r.status_code == 422 and "cannot decide" in r.json()["error"]["fields"]["category"][0]
    # Not eligible: said so, not "take the category 'not eligible'".
    poor = household_input(tree["xiangyun_g"], members=1)
    poor.members[0].monthly_income = Decimal(9_000)
    poor.members[0].identity, poor.members[0].work_status = "working", "employed"
    poor.rigid_expenses = []
    r = api.post("/households", as_json(poor))
    assert "not eligible" in r.json()["error"]["fields"]["category"][0]
