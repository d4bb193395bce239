"""A recheck left running by a process that stopped (a killed worker, a machine restarted) is
marked failed by the daily sweep, so its page stops showing progress and it can be taken again;
a command waiting for it stops waiting."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from bangfu.common import schedule
from bangfu.matching import services
from bangfu.matching.models import MatchRun, RunStatus

pytestmark = pytest.mark.django_db


def test_a_run_left_running_is_failed_by_the_daily_sweep(tree: dict[str, Any]) -> None:
    now = timezone.now()
    stale = MatchRun.objects.create(
        unit=tree["xiangyun"], status=RunStatus.RUNNING, started_at=now - dt.timedelta(hours=13)
    )
    # Other unions: one run of a union is queued or running at a time.
    fresh = MatchRun.objects.create(unit=tree["dali"], status=RunStatus.RUNNING, started_at=now - dt.timedelta(hours=1))
    queued = MatchRun.objects.create(unit=tree["xiangyun_g"], status=RunStatus.QUEUED)
    assert services.fail_interrupted_runs(now=now) == 1
    stale.refresh_from_db()
    assert stale.status == RunStatus.FAILED and stale.finished_at == now and stale.error
    assert MatchRun.objects.get(pk=fresh.pk).status == RunStatus.RUNNING
    assert MatchRun.objects.get(pk=queued.pk).status == RunStatus.QUEUED
    assert services.fail_interrupted_runs(now=now) == 0  # again: nothing more
    assert "matching.interrupted_runs" in {j.name for j in schedule.jobs()}


def test_a_command_waiting_for_a_run_whose_process_stopped_stops_waiting(
    tree: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    run = MatchRun.objects.create(
        unit=tree["xiangyun"], status=RunStatus.RUNNING, started_at=timezone.now() - dt.timedelta(hours=13)
    )
    monkeypatch.setattr(services, "RUN_WAIT_SECONDS", 0.01)
    # The run was taken by another process: this one waits for it, and finds it failed.
    waited = services.match_run_execute(run_id=run.pk, wait=True)
    assert waited.status == RunStatus.FAILED
