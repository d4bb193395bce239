"""One recheck of a union at a time: a second one asked for while the first is queued or running
is refused (409) naming the run under way, on the page, the API and the command line, and so is one
of a union above or inside it; a run that stopped with its process holds the union no longer than
``RUN_STALE_AFTER``."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone, translation

from bangfu.common.errors import DomainError, ErrorCode
from bangfu.matching import services
from bangfu.matching.models import MatchRun, RunStatus
from bangfu.org.models import Role
from bangfu.testing.factories import user_with_role

from .test_import_refusals_and_recheck_access import _api

VEHICLES = ["身份证号", "姓名", "号牌号码", "车辆类型"]


@pytest.fixture
def queued(settings: Any) -> None:
    """Runs wait in the queue (no worker)."""
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}


@pytest.fixture
def dataset(make_household: Any, users: dict[str, Any], write_csv: Any) -> Any:
    _household, ids = make_household()
    path = write_csv("v.csv", [VEHICLES, [ids[0], "张建国", "云L1", "轿车"]])
    return services.dataset_import(actor=users["xiangyun_staff"], kind="vehicles", path=path)


def test_a_second_recheck_of_a_union_under_way_is_refused_naming_the_first(
    queued: None, dataset: Any, users: dict[str, Any], tree: dict[str, Any]
) -> None:
    staff = users["xiangyun_staff"]
    staff.first_name = "王建国"
    staff.save()
    other = user_with_role(tree["xiangyun"], Role.CENTRE_STAFF, "second_staff")
    first = services.match_run(actor=staff, unit=tree["xiangyun"], dataset_ids=[dataset.pk])
    at = timezone.localtime(first.created_at).strftime("%Y-%m-%d %H:%M")

    with translation.override("en"), pytest.raises(DomainError) as caught:
        services.match_run(actor=other, unit=tree["xiangyun"], dataset_ids=[dataset.pk])
    assert caught.value.code == ErrorCode.RUN_UNDER_WAY
    assert caught.value.message.startswith(
        f"A recheck of {tree['xiangyun'].name} is already under way: run {first.pk}, started by 王建国 at {at}."
    )
    assert caught.value.details["run_id"] == first.pk and caught.value.details["started_by"] == staff.username

    # The API: 409 in the error body, with the run.
    answer = _api(other).post(
        "/api/v1/matching/runs",
        json.dumps({"dataset_ids": [dataset.pk], "unit_id": tree["xiangyun"].pk}),
        content_type="application/json",
    )
    assert answer.status_code == 409
    error = answer.json()["error"]
    assert error["code"] == "run_under_way" and error["details"]["run_id"] == first.pk
    assert f"run {first.pk}, started by 王建国" in error["message"]

    # The page: 409, the sentence and a link to the run.
    page = Client(headers={"Accept-Language": "en"})
    page.force_login(other)
    form = {"unit": tree["xiangyun"].pk, "dataset_ids": [dataset.pk], "engine": "duckdb"}
    shown = page.post("/matching/runs/new/", form)
    assert shown.status_code == 409
    html = shown.content.decode()
    assert f"run {first.pk}, started by 王建国" in html and f'href="/matching/runs/{first.pk}/"' in html

    # The command line.
    with translation.override("en"), pytest.raises(CommandError) as refused:
        call_command("match", "--user", other.username, "run", "--unit", "532923", "--dataset", str(dataset.pk))
    assert f"run {first.pk}, started by 王建国" in str(refused.value)
    assert MatchRun.objects.count() == 1

    # A union above is refused too, naming the run under way inside it; once the first is done,
    # the union and the one above may be checked again.
    with pytest.raises(DomainError) as above:
        services.match_run(actor=users["admin"], dataset_ids=[dataset.pk])
    assert above.value.details["run_id"] == first.pk
    with pytest.raises(DomainError) as inside:
        services.match_run(actor=users["xiangyun_cadre"], unit=tree["xiangyun_g"], dataset_ids=[dataset.pk])
    assert inside.value.details["run_id"] == first.pk
    services.match_run_execute(run_id=first.pk)
    again = services.match_run(actor=other, unit=tree["xiangyun"], dataset_ids=[dataset.pk])
    assert again.status == RunStatus.QUEUED


def test_a_run_left_by_a_stopped_process_does_not_hold_the_union(
    queued: None, dataset: Any, users: dict[str, Any], tree: dict[str, Any]
) -> None:
    staff = users["xiangyun_staff"]
    long_ago = timezone.now() - services.RUN_STALE_AFTER - dt.timedelta(minutes=1)
    running = services.match_run(actor=staff, unit=tree["xiangyun"], dataset_ids=[dataset.pk])
    MatchRun.objects.filter(pk=running.pk).update(status=RunStatus.RUNNING, started_at=long_ago)
    second = services.match_run(actor=staff, unit=tree["xiangyun"], dataset_ids=[dataset.pk])
    running.refresh_from_db()
    assert running.status == RunStatus.FAILED and "process running it ended" in running.error

    # Queued and never taken by a worker for as long: the same.
    MatchRun.objects.filter(pk=second.pk).update(created_at=long_ago)
    third = services.match_run(actor=staff, unit=tree["xiangyun"], dataset_ids=[dataset.pk])
    assert MatchRun.objects.get(pk=second.pk).status == RunStatus.FAILED
    assert third.status == RunStatus.QUEUED

    # The worker coming back to a run marked failed leaves it while another run holds the union.
    out = services.match_run_execute(run_id=second.pk)
    assert out.status == RunStatus.FAILED
    assert MatchRun.objects.get(pk=third.pk).status == RunStatus.QUEUED
