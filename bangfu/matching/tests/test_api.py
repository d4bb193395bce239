"""The matching endpoints, through ninja's test client."""

from __future__ import annotations

from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from ninja.testing import TestClient

from bangfu.matching.api import router
from bangfu.matching.models import Finding

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
    (item,) = page["items"]
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
