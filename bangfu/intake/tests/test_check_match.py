"""The economic check also cross-checks the members against the department data the union may use
(in the background), and shows what it found to the staff who record the checking centre's answer."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path
from typing import Any

from django.test import Client
from django.urls import reverse

from bangfu.intake import steps
from bangfu.intake.models import ApplicationEvent, ApplicationState
from bangfu.matching import services as matching

from .helpers import submitted, to_state


def _vehicles(tmp_path: Path, rows: list[list[str]]) -> Path:
    path = tmp_path / "vehicles.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows([["身份证号", "姓名", "号牌号码", "车辆类型"], *rows])
    return path


def _at_check(tree: dict[str, Any], users: dict[str, Any]) -> Any:
    app = to_state(submitted(tree["xiangyun_g"]), ApplicationState.ECONOMIC_CHECK, users)
    steps.authorisation_sign(actor=users["xiangyun_staff"], application_id=app.pk, agreed=True, ip=None)
    return app


def test_requesting_the_check_cross_checks_the_members(
    tree: dict[str, Any], users: dict[str, Any], tmp_path: Path, django_capture_on_commit_callbacks: Any
) -> None:
    app = _at_check(tree, users)
    head = app.data["members"][0]
    spouse = app.data["members"][1]
    # A province dataset (usable by every union below it), and an older one of the same kind that
    # the newest replaces.
    matching.dataset_import(
        actor=users["admin"],
        kind="vehicles",
        path=_vehicles(tmp_path, [[spouse["id_number"], spouse["name"], "云L0", "小型轿车"]]),
        as_of=dt.date.today() - dt.timedelta(days=30),  # noqa: DTZ011 - relative to the run date
    )
    matching.dataset_import(
        actor=users["admin"],
        kind="vehicles",
        path=_vehicles(
            tmp_path,
            [[head["id_number"], "张建国", "云L9", "小型轿车"], ["11010519491231002X", "王某", "云A1", "小型轿车"]],
        ),
    )
    with django_capture_on_commit_callbacks(execute=True):
        steps.check_request(actor=users["xiangyun_staff"], application_id=app.pk)
    app.refresh_from_db()
    result = app.check_matches
    assert [d["kind"] for d in result["datasets"]] == ["vehicles"]
    (finding,) = result["findings"]
    assert finding["position"] == 0
    assert finding["name_masked"] == "张*国"
    assert finding["rule"] == "vehicle_owned"
    assert finding["severity"] == "disqualifying"
    assert finding["record_key"] == "云L9"
    assert ApplicationEvent.objects.filter(application=app, action="check_matched").exists()

    client = Client()
    client.force_login(users["xiangyun_staff"])
    page = client.get(reverse("intake:detail", args=[app.pk])).content.decode()
    assert 'id="check-matches"' in page
    assert "张*国" in page and "云L9" in page


def test_without_department_data_the_page_says_so(
    tree: dict[str, Any], users: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    app = _at_check(tree, users)
    with django_capture_on_commit_callbacks(execute=True):
        steps.check_request(actor=users["xiangyun_staff"], application_id=app.pk)
    app.refresh_from_db()
    assert app.check_matches["datasets"] == [] and app.check_matches["findings"] == []
    client = Client()
    client.force_login(users["xiangyun_staff"])
    page = client.get(reverse("intake:detail", args=[app.pk])).content.decode()
    assert "no department data to check against" in page


def test_a_late_match_does_not_touch_an_answered_check(tree: dict[str, Any], users: dict[str, Any]) -> None:
    app = _at_check(tree, users)
    steps.check_request(actor=users["xiangyun_staff"], application_id=app.pk)  # the job not yet run
    steps.check_answer(actor=users["xiangyun_staff"], application_id=app.pk, passed=True)
    steps.check_match(application_id=app.pk)
    app.refresh_from_db()
    assert app.check_matches is None


def test_the_api_shows_the_cross_check_to_staff_only(
    tree: dict[str, Any], users: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    from bangfu.intake import otp

    app = _at_check(tree, users)
    with django_capture_on_commit_callbacks(execute=True):
        steps.check_request(actor=users["xiangyun_staff"], application_id=app.pk)
    staff = Client()
    staff.force_login(users["xiangyun_staff"])
    body = staff.get(f"/api/v1/applications/{app.pk}").json()
    assert body["check_result"] == "pending"
    assert body["check_matches"]["findings"] == []
    token = otp.token_for(app.applicant)
    mine = Client().get(f"/api/v1/applicant/applications/{app.pk}", HTTP_AUTHORIZATION=f"Bearer {token}").json()
    assert mine["check_matches"] is None
