"""The daily jobs: declared by the capabilities, enqueued once a day after their time."""

from __future__ import annotations

import datetime as dt
import io
import subprocess
import sys
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.db import IntegrityError
from django.utils import timezone

from bangfu.common import schedule
from bangfu.common.models import ScheduledRun
from bangfu.intake import otp
from bangfu.intake.models import OneTimeCode

pytestmark = pytest.mark.django_db

LOCAL = ZoneInfo("Asia/Shanghai")


def at(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, 12, day, hour, minute, tzinfo=LOCAL)


def test_every_capability_declares_its_daily_jobs() -> None:
    names = {j.name for j in schedule.jobs()}
    assert {"matching.purge", "intake.yearly_review", "intake.codes", "common.sessions"} <= names
    purge = next(j for j in schedule.jobs() if j.name == "matching.purge")
    assert purge.task.name == "purge_expired_datasets_task"


def test_a_job_is_enqueued_once_a_day_after_its_time() -> None:
    before = {e.job.name for e in schedule.run_due(now=at(1, 0, 30))}
    assert before == set()  # nothing is due before 01:00
    first = {e.job.name for e in schedule.run_due(now=at(1, 2, 5))}
    assert {"common.sessions", "intake.codes", "matching.purge"} <= first
    assert "intake.yearly_review" not in first  # due from 03:00
    assert schedule.run_due(now=at(1, 2, 30)) == []  # the same day: not again
    later = {e.job.name for e in schedule.run_due(now=at(1, 23, 0))}
    assert later == {"intake.yearly_review"}
    next_day = {e.job.name for e in schedule.run_due(now=at(2, 4, 0))}
    assert next_day == {j.name for j in schedule.jobs()}
    assert ScheduledRun.objects.filter(day=dt.date(2026, 12, 1)).count() == len(schedule.jobs())
    assert all(r.task_id for r in ScheduledRun.objects.all())


def test_a_run_recorded_by_another_scheduler_is_not_enqueued_again(monkeypatch: pytest.MonkeyPatch) -> None:
    # Another scheduler recorded the run between our look at the table and our insert.
    real_filter = ScheduledRun.objects.filter

    def stale_look(**kwargs: object) -> object:
        ScheduledRun.objects.get_or_create(job="matching.purge", day=dt.date(2026, 12, 1),
                                           defaults={"enqueued_at": timezone.now()})  # fmt: skip
        return real_filter(**kwargs).none()

    monkeypatch.setattr(ScheduledRun.objects, "filter", stale_look)
    names = [e.job.name for e in schedule.run_due(now=at(1, 5))]
    monkeypatch.undo()
    assert "matching.purge" not in names
    assert "intake.codes" in names  # the others went on
    assert ScheduledRun.objects.filter(job="matching.purge").count() == 1


def test_two_jobs_cannot_share_a_name() -> None:
    job = schedule.jobs()[0]
    with pytest.raises(ValueError, match="two scheduled jobs"):
        schedule.daily(job.name, at=dt.time(4, 0), label="x")(object())


def test_run_record_is_unique_per_job_and_day() -> None:
    ScheduledRun.objects.create(job="x", day=dt.date(2026, 12, 1), enqueued_at=timezone.now())
    with pytest.raises(IntegrityError):
        ScheduledRun.objects.create(job="x", day=dt.date(2026, 12, 1), enqueued_at=timezone.now())


def test_old_login_codes_are_purged_and_fresh_ones_kept() -> None:
    now = timezone.now()
    for hours in (1, 23, 25, 24 * 30):
        created = now - dt.timedelta(hours=hours)
        OneTimeCode.objects.create(phone="13800000001", digest="d", created_at=created,
                                   expires_at=created + otp.CODE_TTL)  # fmt: skip
    assert otp.codes_purge(now=now) == 2
    assert OneTimeCode.objects.count() == 2


def test_command_once_and_list() -> None:
    out = io.StringIO()
    call_command("schedule", "--once", stdout=out)
    listing = io.StringIO()
    call_command("schedule", "--list", stdout=listing)
    lines = listing.getvalue().splitlines()
    assert len(lines) == len(schedule.jobs())
    assert any("matching.purge" in line for line in lines)
    again = io.StringIO()
    call_command("schedule", "--once", stdout=again)
    assert again.getvalue() == ""  # what was enqueued today is not enqueued again


def test_cli_names_a_missing_setting_without_a_traceback(tmp_path: object) -> None:
    env = {"PATH": "/usr/bin:/bin", "BANGFU_ENV_FILE": f"{tmp_path}/none.env", "BANGFU_VAR_DIR": str(tmp_path)}
    done = subprocess.run([sys.executable, "-m", "bangfu.cli", "check"], env=env, capture_output=True, text=True,
                          check=False)  # fmt: skip
    assert done.returncode == 2
    assert "BANGFU_SECRET_KEY is not set" in done.stderr
    assert "Traceback" not in done.stderr
