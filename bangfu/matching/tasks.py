"""Background jobs: thin wrappers over the services, safe to run again."""

from __future__ import annotations

import datetime as dt

from django.tasks import task
from django.utils.translation import gettext_noop

from bangfu.common import schedule

from . import services


@task()
def match_run_task(run_id: int) -> int:
    # A run taken already (by the command line that started it) is left to it.
    run = services.match_run_execute(run_id=run_id, wait=False)
    return run.findings_new


@schedule.daily(
    "matching.purge",
    at=dt.time(2, 0),
    label=gettext_noop("delete the department datasets past their retention period"),
)
@task()
def purge_expired_datasets_task() -> int:
    return services.purge_expired_datasets()


@schedule.daily(
    "matching.interrupted_runs",
    at=dt.time(2, 0),
    label=gettext_noop("mark failed the rechecks left running by a process that stopped"),
)
@task()
def fail_interrupted_runs_task() -> int:
    return services.fail_interrupted_runs()
