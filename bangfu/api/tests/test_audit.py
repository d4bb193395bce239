"""``GET /api/v1/audit``: the audit log of the caller's jurisdiction, a page at a time."""

from __future__ import annotations

from typing import Any

import pytest

from bangfu.common.audit import audit_record
from bangfu.common.models import AuditEntry
from bangfu.org.models import OrgUnit, Role
from bangfu.registry.models import Household, Member
from bangfu.testing.factories import new_id, user_with_role

pytestmark = pytest.mark.django_db


def test_a_reader_reads_their_jurisdiction_newest_first(
    api_as: Any, users: dict[str, Any], tree: dict[str, OrgUnit], xiangyun_file: Household, dalishi_file: Household
) -> None:
    audit_record(actor=users["admin"], action="login", target_type="auth.user", target_id=users["admin"].pk)
    county = user_with_role(tree["xiangyun"], Role.MANAGER, "xiangyun_manager")
    r = api_as(county).get("/audit")
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["count"] == 1 and not body["count_capped"]
    (row,) = body["results"]
    assert (row["action"], row["target_type"], row["target_id"]) == ("create", "household", str(xiangyun_file.pk))
    assert row["actor"] == "xiangyun_cadre"
    assert row["unit"] == {"id": tree["xiangyun_g"].pk, "code": tree["xiangyun_g"].code, "name": "祥云县纺织厂工会"}
    # The created file's members: masked ID numbers only.
    members = (row["after"] or {})["members"]
    for m, stored in zip(members, Member.objects.filter(household=xiangyun_file).order_by("id"), strict=False):
        assert m["id_masked"] == stored.id_masked and "id_cipher" not in m

    top = api_as("province_manager")  # its token is an entry of no union, as the sign-in is
    results = top.get("/audit").json()["results"]
    assert [r["action"] for r in results] == ["token", "token", "login", "create", "create"]
    assert results[2]["unit"] is None  # the top of the tree also reads the entries of no union
    page = top.get("/audit", action="create", page_size=1, page=2).json()
    assert (page["count"], page["page"], page["page_size"]) == (2, 2, 1)
    assert page["results"][0]["target_id"] == str(xiangyun_file.pk)
    assert not AuditEntry.objects.filter(target_type="common.audit_log").exists()  # reading is not logged


def test_filters_and_their_errors(api_as: Any, users: dict[str, Any], tree: dict[str, OrgUnit]) -> None:
    audit_record(
        actor=users["xiangyun_staff"], action="update", target_type="t", target_id=1, unit_path=tree["xiangyun"].path
    )
    audit_record(actor=users["admin"], action="export", target_type="t", target_id=2, unit_path=tree["wuhua"].path)
    api = api_as("admin")

    def ids(**q: Any) -> list[str]:
        r = api.get("/audit", **q)
        assert r.status_code == 200, r.content
        return [row["target_id"] for row in r.json()["results"]]

    assert ids(target_type="t") == ["2", "1"]  # (the admin's token is an entry too)
    assert ids(actor="Xiangyun_Staff") == ["1"]
    assert ids(action="export") == ["2"]
    assert ids(target_type="t", target_id="1") == ["1"]
    assert ids(unit_id=tree["dali"].pk) == ["1"]
    assert ids(date_from="2000-01-01", date_to="2000-01-31") == []
    r = api.get("/audit", action="bogus")
    assert r.status_code == 422
    assert r.json()["error"]["fields"] == {"action": ["“bogus” is not one of the allowed values."]}
    r = api.get("/audit", date_from="2026-02-01", date_to="2026-01-01")
    assert r.status_code == 422 and list(r.json()["error"]["fields"]) == ["date_to"]
    assert api.get("/audit", date_from="soon").status_code == 422


def test_without_the_permission_the_answer_is_403(api_as: Any) -> None:
    r = api_as("xiangyun_staff").get("/audit")
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "forbidden"


def test_an_id_number_written_into_an_entry_by_mistake_is_masked(api_as: Any, users: dict[str, Any]) -> None:
    number = new_id()
    audit_record(actor=users["admin"], action="update", target_type="t", note=f"ID {number}", after={"id": number})
    r = api_as("admin").get("/audit", target_type="t")
    assert number not in r.content.decode()
    assert r.json()["results"][0]["note"] == f"ID {number[:4]}{'*' * 10}{number[-4:]}"
