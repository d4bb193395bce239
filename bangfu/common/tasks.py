"""The core's daily housekeeping (see ``common.schedule``)."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.core.management import call_command
from django.tasks import default_task_backend, task
from django.utils.translation import gettext_noop

from . import schedule

TASK_RESULTS_KEPT_DAYS = 30


@schedule.daily("common.sessions", at=dt.time(1, 0), label=gettext_noop("delete expired login sessions"))
@task()
def clear_sessions_task() -> None:
    call_command("clearsessions")


@schedule.daily(
    "common.task_results",
    at=dt.time(1, 10),
    label=gettext_noop("delete the records of background jobs finished more than 30 days ago"),
)
@task()
def prune_task_results_task() -> None:
    # Only the database queue keeps results in a table of its own.
    if "django_tasks_db" in settings.INSTALLED_APPS and type(default_task_backend).__module__.startswith(
        "django_tasks_db"
    ):
        call_command("prune_db_task_results", min_age_days=TASK_RESULTS_KEPT_DAYS, verbosity=0)
