"""``bangfu seed --households N --random-seed S [--province 530000]``: synthetic household files.

Builds the province's union tree (a federation per prefecture and county of the division table,
2-6 grassroots unions per county) and fills it with N deterministic synthetic households, bulk
loaded in one transaction. Refuses a province that already has files.
"""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from bangfu.common.commands import TranslatedCommand, whole_number
from bangfu.common.errors import DomainError
from bangfu.seed.run import seed_run


class Command(TranslatedCommand):
    help = gettext_noop(
        "Fill a province's union tree with deterministic synthetic household files (demo and benchmarks)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--households", type=whole_number, default=1000, help=_("number of households (default 1000)")
        )
        parser.add_argument(
            "--random-seed", type=whole_number, default=1, help=_("same seed and count give the same data")
        )
        parser.add_argument("--province", default="530000", help=_("province division code (default 530000)"))
        parser.add_argument("--quiet", action="store_true", help=_("no progress lines"))

    def handle(self, *args: Any, **options: Any) -> None:
        quiet = options["quiet"] or options["verbosity"] == 0

        def progress(done: int, total: int) -> None:
            if not quiet and sys.stderr.isatty():
                self.stderr.write(f"\r{done}/{total}", ending="")

        try:
            result = seed_run(
                households=options["households"],
                random_seed=options["random_seed"],
                province=options["province"],
                progress=progress,
            )
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        if not quiet and sys.stderr.isatty():
            self.stderr.write("")
        self.stdout.write(
            _(
                "Seeded %(households)d households (%(persons)d persons) into %(grassroots)d grassroots unions "
                "(%(created)d union units created) in %(seconds).1f s."
            )
            % {
                "households": result.households,
                "persons": result.persons,
                "grassroots": result.grassroots_units,
                "created": result.units_created,
                "seconds": result.seconds,
            }
        )
