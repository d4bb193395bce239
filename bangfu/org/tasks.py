"""Background jobs of the union tree and users (see ``common.schedule``)."""

from __future__ import annotations

import datetime as dt

from django.tasks import task
from django.utils.translation import gettext_noop

from bangfu.common import schedule

from . import signin


@schedule.daily("org.signin_failures", at=dt.time(1, 30), label=gettext_noop("delete failed sign-ins older than a day"))
@task()
def signin_failures_purge_task() -> int:
    return signin.failures_purge()
