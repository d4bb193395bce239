"""``bangfu identify --unit CODE [--async] [--date YYYY-MM-DD] [--report changes.xlsx]``.

Recomputes the category of every household in the unit's subtree (cancelled and removed files are
left) and prints how many changed category and how many had no decision before (the report lists
both); ``--async`` queues it for the task worker instead.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop, ngettext

from bangfu.common.commands import TranslatedCommand
from bangfu.common.errors import DomainError
from bangfu.eligibility.recompute import recompute_report_xlsx, recompute_start
from bangfu.eligibility.selectors import recompute_first_decided
from bangfu.eligibility.services import SYSTEM
from bangfu.org.cli import unit_by_code


def parse_date(value: str | None) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(_("Give the date as YYYY-MM-DD.")) from exc


class Command(TranslatedCommand):
    help = gettext_noop("Recompute the hardship category of every household in a unit's subtree.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--unit", required=True, help=_("unit code (the division code of a federation)"))
        parser.add_argument("--async", dest="run_async", action="store_true", help=_("queue for the task worker"))
        parser.add_argument("--date", help=_("decide as on this date (default today)"))
        parser.add_argument(
            "--report",
            help=_(
                "write the households whose category changed, or were decided for the first time, to this .xlsx file"
            ),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        unit = unit_by_code(options["unit"])
        try:
            run = recompute_start(
                actor=SYSTEM, unit_id=unit.pk, run_async=options["run_async"], on=parse_date(options["date"])
            )
        except DomainError as exc:  # a recompute of the union already under way, named
            raise CommandError(exc.message) from exc
        if options["run_async"]:
            self.stdout.write(
                _("Queued recompute run %(run)d for %(total)d households.") % {"run": run.pk, "total": run.total}
            )
            return
        self.stdout.write(
            _("Run %(run)d: %(done)d households decided, %(changed)d changed category.")
            % {"run": run.pk, "done": run.done, "changed": run.changed}
        )
        first = recompute_first_decided(actor=SYSTEM, run_id=run.pk)
        if first:
            self.stdout.write(
                ngettext(
                    "%(n)d household had no decision before: decided for the first time.",
                    "%(n)d households had no decision before: decided for the first time.",
                    first,
                )
                % {"n": first}
            )
        if options["report"]:
            Path(options["report"]).write_bytes(recompute_report_xlsx(actor=SYSTEM, run_id=run.pk))
