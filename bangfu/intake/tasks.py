"""Background jobs: thin wrappers over the services, safe to run again."""

from __future__ import annotations

import datetime as dt

from django.tasks import task
from django.utils.translation import gettext_noop

from bangfu.common import schedule

from . import imports, otp, reviews, steps


@task()
def import_batch_task(batch_id: int, commit: bool) -> str:
    return str(imports.import_batch_execute(batch_id=batch_id, commit=commit).state)


@schedule.daily(
    "intake.interrupted_imports",
    at=dt.time(2, 5),
    label=gettext_noop("mark failed the legacy imports left checking or importing by a process that stopped"),
)
@task()
def fail_interrupted_imports_task() -> int:
    return imports.fail_interrupted()


@schedule.daily(
    "intake.yearly_review", at=dt.time(3, 0), label=gettext_noop("make the yearly review tasks that are due")
)
@task()
def yearly_review_task() -> int:
    """Daily: files due for their yearly review get a review task (once a year each)."""
    return reviews.yearly_review_create()


@task()
def check_match_task(application_id: int) -> int:
    """The members of an application at the economic check against the department data."""
    app = steps.check_match(application_id=application_id)
    return len((app.check_matches or {}).get("findings", []))


@schedule.daily(
    "intake.codes", at=dt.time(1, 20), label=gettext_noop("delete the one-time login codes older than a day")
)
@task()
def codes_purge_task() -> int:
    return otp.codes_purge()


@schedule.daily(
    "intake.logins",
    at=dt.time(1, 25),
    label=gettext_noop("delete the workers' sign-ins that ended more than a day ago"),
)
@task()
def logins_purge_task() -> int:
    return otp.logins_purge()
