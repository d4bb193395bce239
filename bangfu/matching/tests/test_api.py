"""The matching endpoints, through ninja's test client."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from ninja.testing import TestClient

from bangfu.matching import services
from bangfu.matching.api import router
from bangfu.matching.models import Finding, MatchRun
from bangfu.org.services import token_create

client = TestClient(router)


def test_upload_run_review_through_the_api(
    make_household: Any, users: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    household, ids = make_household()
    admin, staff, other = users["admin"], users["xiangyun_staff"], users["dalishi_staff"]
    body = f"身份证号,姓名,号牌号码,车辆类型\n{ids[0]},张建国,云L1,轿车\nbad,某人,云L2,轿车\n".encode("gbk")
    upload = SimpleUploadedFile("车辆.csv", body, content_type="text/csv")
    response = client.post(
        "/matching/datasets", data={"kind": "vehicles"}, FILES={"file": upload}, user=admin, auth=admin
    )
    assert response.status_code == 201, response.content
    dataset = response.json()
    assert (dataset["rows_taken"], dataset["rows_rejected"]) == (1, 1)
    rejected = client.get(f"/matching/datasets/{dataset['id']}/rejected.csv", user=admin, auth=admin)
    assert rejected.status_code == 200 and rejected["Cache-Control"] == "no-store"

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/matching/runs", json={"dataset_ids": [dataset["id"]]}, user=admin, auth=admin)
    assert response.status_code == 202, response.content
    run = client.get(f"/matching/runs/{response.json()['id']}", user=admin, auth=admin).json()
    assert (run["status"], run["progress"], run["findings_new"]) == ("done", 100, 1)

    page = client.get("/matching/findings", user=staff, auth=staff).json()
    assert page["count"] == 1
    (item,) = page["results"]
    assert (item["file_number"], item["rule"], item["confidence"]) == (household.file_number, "vehicle_owned", "high")
    assert client.get("/matching/findings", user=other, auth=other).json()["count"] == 0

    confirmed = client.post(f"/matching/findings/{item['id']}/confirm", json={"reason": "属实"}, user=staff, auth=staff)
    assert confirmed.status_code == 200
    proposal_id = confirmed.json()["removal_proposal_id"]
    assert proposal_id is not None
    notified = client.post(
        f"/matching/removal-proposals/{proposal_id}/notify", json={"note": "上门告知"}, user=staff, auth=staff
    )
    assert notified.json()["status"] == "worker_notified"
    assert Finding.objects.get(pk=item["id"]).status == "confirmed"

    coverage = client.get("/matching/coverage", user=admin, auth=admin).json()
    assert coverage[0]["rate"] == 1.0


@pytest.mark.parametrize(
    ("params", "problem"),
    [
        ({"min_homes": "x"}, "min_homes must be a whole number from 0 to 100000"),
        ({"min_homes": None}, "min_homes must be a whole number from 0 to 100000"),
        ({"min_homes": True}, "min_homes must be a whole number from 0 to 100000"),
        ({"recent_purchase_days": 10**9}, "recent_purchase_days must be a whole number from 0 to 100000"),
        ({"wage_ratio": float("inf")}, "wage_ratio must be a number from 0 to 1000000000"),
        ({"area_per_head_limit": -1}, "area_per_head_limit must be a number from 0 to 1000000000"),
        ({"exempt_vehicle_types": "残疾"}, "exempt_vehicle_types must be a list of words, none of them empty"),
        ({"exempt_vehicle_types": ["残疾", ""]}, "exempt_vehicle_types must be a list of words, none of them empty"),
        ({"inactive_dibao_words": [1]}, "inactive_dibao_words must be a list of words, none of them empty"),
    ],
)
def test_rule_parameters_of_the_wrong_kind_are_refused_by_name(
    make_household: Any, users: dict[str, Any], write_csv: Any, params: dict[str, Any], problem: str
) -> None:
    """A word list given as one string was read letter by letter (every vehicle with an "a" in its
    type exempt); a number as text or none failed the recheck later in the background; an
    infinite one answered 500. Each is refused when the recheck is asked for, naming the parameter."""
    _household, ids = make_household()
    path = write_csv("v.csv", [["身份证号", "姓名", "号牌号码", "车辆类型"], [ids[0], "张建国", "云L1", "轿车"]])
    admin = users["admin"]
    dataset = services.dataset_import(actor=admin, kind="vehicles", path=path)
    token = token_create(actor=admin, user=admin, name="tests")
    headers = {"Authorization": f"Bearer {token}", "Accept-Language": "en"}
    body = json.dumps({"dataset_ids": [dataset.pk], "params": params})  # inf as Infinity, as JSON parsers read it
    response = Client().post("/api/v1/matching/runs", body, content_type="application/json", headers=headers)
    assert response.status_code == 422, response.content
    assert response.json()["error"]["fields"] == {"params": [problem]}
    assert not MatchRun.objects.exists()
    # Good values, and keys the rules do not know, are taken.
    good = {"min_homes": 3, "wage_ratio": 1.5, "area_per_head_limit": 45, "exempt_vehicle_types": ["残疾"], "x": "y"}
    assert services.match_run(actor=admin, dataset_ids=[dataset.pk], params=good).params == good


def test_the_findings_list_has_the_shape_of_the_other_lists(
    make_household: Any, users: dict[str, Any], write_csv: Any
) -> None:
    """It answered ``{"count", "items"}`` where households, reviews and the audit log answer
    ``{"count", "count_capped", "page", "page_size", "results"}``; a page past the end is an empty
    page of that shape, as theirs is."""
    from django.core.management import call_command

    _household, ids = make_household()
    path = write_csv("v.csv", [["身份证号", "姓名", "号牌号码", "车辆类型"], [ids[0], "张建国", "云L1", "轿车"]])
    call_command("match", "--user", "admin", "import", "--kind", "vehicles", str(path), stdout=io.StringIO())
    call_command("match", "--user", "admin", "run", stdout=io.StringIO())
    admin = users["admin"]
    page = client.get("/matching/findings?page_size=1", user=admin, auth=admin)
    assert page.status_code == 200
    body = page.json()
    assert set(body) == {"count", "count_capped", "page", "page_size", "results"}
    assert (body["count"], body["count_capped"], body["page"], body["page_size"]) == (1, False, 1, 1)
    assert len(body["results"]) == 1
    past = client.get("/matching/findings?page=3", user=admin, auth=admin)
    assert past.status_code == 200
    assert past.json() | {"results": None} == {
        "count": 1,
        "count_capped": False,
        "page": 3,
        "page_size": 50,
        "results": None,
    }
    assert past.json()["results"] == []


def test_the_share_of_a_union_without_files_is_null_not_zero(make_household: Any, users: dict[str, Any]) -> None:
    """The page shows "—" for a union with no open files; the API said ``rate: 0.0``, which an
    average of the unions counted as 0 %."""
    make_household()
    manager = users["province_manager"]
    rows = client.get("/matching/coverage", user=manager, auth=manager).json()
    empty = [r for r in rows if r["households"] == 0]
    assert empty and all(r["rate"] is None for r in empty)
    assert rows[0]["households"] == 1 and rows[0]["rate"] == 0.0  # a file not yet checked: 0 %
