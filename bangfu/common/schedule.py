"""Jobs that run by the clock: each capability's daily housekeeping (the retention purge of
department data, the yearly review tasks, expired one-time codes …), enqueued as background tasks
by ``bangfu schedule`` and run by ``bangfu db_worker``.

A capability declares a job beside its task, in its ``tasks`` module::

    @schedule.daily("matching.purge", at=dt.time(2, 0), label=gettext_noop("…"))
    @task()
    def purge_expired_datasets_task() -> int: ...

Once a day, after its time of day (``TIME_ZONE``), a job is enqueued once: the scheduler first
records the day's run (``ScheduledRun``, unique per job and day), so two schedulers, or a
scheduler started again, never enqueue a job twice on one day. A day the scheduler was not
running is not made up for, one by one: the jobs are written to do everything that is due up to
the day they run, so the next run catches up.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.module_loading import autodiscover_modules

from .models import ScheduledRun


@dataclass(frozen=True)
class Job:
    name: str  # stable: the runs are recorded under it
    task: Any  # a django.tasks Task without arguments
    at: dt.time  # local time of day from which it is due
    label: str  # what it does, in English (gettext_noop); shown translated


_JOBS: dict[str, Job] = {}


def daily(name: str, *, at: dt.time, label: str) -> Any:
    """Declare ``task`` (a ``django.tasks`` task taking no arguments) as a daily job."""

    def register(task: Any) -> Any:
        if name in _JOBS and _JOBS[name].task is not task:
            raise ValueError(f"two scheduled jobs are named {name!r}")
        _JOBS[name] = Job(name, task, at, label)
        return task

    return register


def jobs() -> list[Job]:
    """Every declared job (the apps' ``tasks`` modules imported first), by time of day."""
    autodiscover_modules("tasks")
    return sorted(_JOBS.values(), key=lambda j: (j.at, j.name))


@dataclass(frozen=True)
class Enqueued:
    job: Job
    day: dt.date
    task_id: str


def run_due(*, now: dt.datetime | None = None) -> list[Enqueued]:
    """Enqueue each job due now that has not run today; what was enqueued."""
    now = timezone.localtime(now)
    day, time = now.date(), now.time()
    done = set(ScheduledRun.objects.filter(day=day).values_list("job", flat=True))
    out = []
    for job in jobs():
        if job.name in done or time < job.at:
            continue
        try:
            with transaction.atomic():
                run = ScheduledRun.objects.create(job=job.name, day=day, enqueued_at=timezone.now())
                result = job.task.enqueue()
                run.task_id = str(result.id)
                run.save(update_fields=["task_id"])
        except IntegrityError:
            continue  # another scheduler enqueued it for today
        out.append(Enqueued(job, day, run.task_id))
    return out


def last_runs() -> dict[str, ScheduledRun]:
    """The newest recorded run of each job (a row a job a day accumulates: one look-up per job)."""
    newest = {job.name: ScheduledRun.objects.filter(job=job.name).order_by("-day").first() for job in jobs()}
    return {name: run for name, run in newest.items() if run is not None}
