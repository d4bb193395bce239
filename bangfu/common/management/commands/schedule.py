"""``bangfu schedule``: enqueue the daily jobs when they are due (``common.schedule``)."""

from __future__ import annotations

import logging
import signal
import threading
from typing import Any

from django.core.management.base import CommandParser
from django.db import DatabaseError, close_old_connections
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from bangfu.common import schedule
from bangfu.common.commands import TranslatedCommand, whole_number

log = logging.getLogger(__name__)


class Command(TranslatedCommand):
    help = gettext_noop(
        "Enqueue the daily jobs (retention purge, yearly reviews, clean-ups) when they are due; "
        "run one beside the background workers."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help=_("enqueue what is due now, then stop (for cron)"))
        parser.add_argument("--list", action="store_true", help=_("list the jobs, their times and last runs"))
        parser.add_argument("--interval", type=whole_number, default=60, help=_("seconds between looks at the clock"))

    def handle(self, *args: Any, **options: Any) -> None:
        if options["list"]:
            self._list()
            return
        if options["once"]:
            self._tick()
            return
        stop = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_args: stop.set())
        self.stdout.write(_("Scheduler started: %(n)s daily jobs.") % {"n": len(schedule.jobs())})
        while not stop.is_set():
            try:
                self._tick()
            except DatabaseError:  # the database is away for a moment: look again next time
                log.exception("scheduler: could not reach the database")
            finally:
                close_old_connections()
            stop.wait(max(1, options["interval"]))

    def _tick(self) -> None:
        for done in schedule.run_due():
            time = timezone.localtime().strftime("%Y-%m-%d %H:%M")
            line = _("%(time)s enqueued %(job)s: %(label)s")
            self.stdout.write(line % {"time": time, "job": done.job.name, "label": _(done.job.label)})

    def _list(self) -> None:
        last = schedule.last_runs()
        for job in schedule.jobs():
            run = last.get(job.name)
            when = timezone.localtime(run.enqueued_at).strftime("%Y-%m-%d %H:%M") if run else _("never")
            self.stdout.write(
                _("%(job)s — daily from %(at)s — last enqueued %(when)s — %(label)s")
                % {"job": job.name, "at": job.at.strftime("%H:%M"), "when": when, "label": _(job.label)}
            )
