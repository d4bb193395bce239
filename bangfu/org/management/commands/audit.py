"""``bangfu audit``: check the audit log's chain, or list its entries.

    bangfu audit verify
    bangfu audit --user U list [--unit CODE] [--since DATE] [--until DATE] [--actor NAME] [--action A]
                               [--target-type T] [--target-id ID] --format csv [--output FILE]

``verify`` walks the hash chain and exits 1 naming the first row out of chain. ``list`` writes the
entries the user may read (``org.audit_log``: the unions where they hold the permission to read the
audit log; entries of no union only for a holder at the top of the tree), newest first, as CSV
(columns ``audit_log.CSV_COLUMNS``) to ``--output FILE`` with a byte-order mark for Excel, or to
standard output in plain UTF-8 (``common.commands.csv_output``); the export itself is written to the
audit log.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import CommandError, CommandParser
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop, ngettext

from bangfu.common import sheets
from bangfu.common.audit import ChainProblem, audit_verify
from bangfu.common.commands import TranslatedCommand, csv_output, day
from bangfu.common.models import AuditAction, AuditEntry
from bangfu.org import access, audit_log
from bangfu.org.services import org_unit_by_code

_day = day  # the commands' one converter of a day (common.commands)


class Command(TranslatedCommand):
    help = gettext_noop("Check the audit log, or list its entries.")

    def add_arguments(self, parser: CommandParser) -> None:
        user_help = _("act as this user")
        parser.add_argument("--user", default=os.environ.get("BANGFU_CLI_USER", ""), help=user_help)
        sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        sub.add_parser("verify", help=_("check that no audit row was edited, inserted or deleted"))
        lst = sub.add_parser(
            "list",
            help=_("write the audit entries you may read as CSV (the export is audit-logged)"),
            description=_(
                "Write the audit entries of your jurisdiction, newest first, as CSV; the time column “at” "
                "is local time (%(zone)s) as YYYY-MM-DD HH:MM:SS. The export is written to the audit log. "
                "With --output the file is written in UTF-8 with a byte-order mark, for Excel, and readable "
                "by you only; without it, the rows go to standard output in plain UTF-8, for other programs."
            )
            % {"zone": audit_log.zone_label()},
        )
        # Also after the action (``audit list --user U``); SUPPRESS keeps the one given before it.
        lst.add_argument("--user", default=argparse.SUPPRESS, help=user_help)
        lst.add_argument("--format", choices=["csv"], default="csv")
        lst.add_argument("--unit", default="", help=_("only this union's subtree (unit code or division code)"))
        lst.add_argument("--since", type=_day, default=None, help=_("from this day (YYYY-MM-DD)"))
        lst.add_argument("--until", type=_day, default=None, help=_("to this day, included (YYYY-MM-DD)"))
        lst.add_argument("--actor", default="", help=_("only what this user did (user name)"))
        lst.add_argument("--action", dest="entry_action", default="", choices=AuditAction.values)
        lst.add_argument("--target-type", default="", help=_("only entries about this kind of object"))
        lst.add_argument("--target-id", default="", help=_("only entries about the object with this id"))
        lst.add_argument(
            "--output", type=Path, help=_("file to write, with a byte-order mark for Excel (default: stdout)")
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "verify":
            self._verify()
        else:
            self._list(options)

    # -- verify ----------------------------------------------------------------------------------

    def _verify(self) -> None:
        problem = audit_verify()
        if problem is not None:
            self.stderr.write(problem_text(problem))
            sys.exit(1)
        count = AuditEntry.objects.count()
        self.stdout.write(
            ngettext("The audit log is intact: %(count)s row.", "The audit log is intact: %(count)s rows.", count)
            % {"count": count}
        )

    # -- list ------------------------------------------------------------------------------------

    def _list(self, o: dict[str, Any]) -> None:
        actor = self._actor(o["user"])
        if not audit_log.may_read(actor):
            raise CommandError(
                _("%(username)s may not do this: it needs the permission to %(permission)s.")
                % {"username": actor.username, "permission": access.perm_label(audit_log.PERM)}
            )
        if o["since"] and o["until"] and o["since"] > o["until"]:
            raise CommandError(_("--since is after --until: no day lies between them."))
        output: Path | None = o["output"]
        if output is not None and not output.parent.is_dir():  # said before the export is logged
            raise CommandError(_("No such folder: %(path)s") % {"path": output.parent})
        unit_id = None
        if o["unit"]:
            try:
                unit = org_unit_by_code(o["unit"])
            except ValidationError as exc:
                raise CommandError(" ".join(exc.messages)) from exc
            if not audit_log.unit_choices(actor).filter(pk=unit.pk).exists():
                raise CommandError(
                    _("Not found, or outside the jurisdiction of %(username)s.") % {"username": actor.username}
                )
            unit_id = unit.pk
        filters = audit_log.AuditFilters(
            actor=o["actor"],
            action=o["entry_action"],
            target_type=o["target_type"],
            target_id=o["target_id"],
            since=o["since"],
            until=o["until"],
            unit_id=unit_id,
        )
        try:
            rows = audit_log.audit_export_rows(actor=actor, filters=filters)
        except PermissionDenied as exc:  # pragma: no cover - checked above
            raise CommandError(str(exc)) from exc
        count = 0
        with csv_output(output, self.stdout) as target:
            writer = csv.DictWriter(target, audit_log.CSV_COLUMNS, lineterminator="\n")
            writer.writeheader()
            for row in rows:
                writer.writerow({k: sheets.csv_safe(v) for k, v in row.items()})
                count += 1
        if output is not None:
            self.stderr.write(_("%(rows)d rows written to %(file)s.") % {"rows": count, "file": output})

    def _actor(self, username: str) -> Any:
        if not username:
            raise CommandError(_("Name the user to act as: --user NAME (or BANGFU_CLI_USER)."))
        user = get_user_model().objects.filter(is_active=True, username=username).first()
        if user is None:
            raise CommandError(_("No active user is named %(name)s.") % {"name": username})
        return user


def problem_text(problem: ChainProblem) -> str:
    """Where the chain breaks and how, in the user's language."""
    if problem.kind == "missing":
        return _("The audit log is broken at row %(seq)s: rows %(first)s to %(last)s are missing (deleted).") % {
            "seq": problem.seq,
            "first": problem.missing_from if problem.missing_from is not None else "?",
            "last": problem.seq - 1,
        }
    if problem.kind == "inserted":
        return _(
            "The audit log is broken at row %(seq)s: it does not follow the row before it (inserted or re-linked)."
        ) % {"seq": problem.seq}
    return _("The audit log is broken at row %(seq)s: its content does not match its hash (edited).") % {
        "seq": problem.seq
    }
