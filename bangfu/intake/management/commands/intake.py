"""``bangfu intake``: applications from the command line.

    bangfu intake import FILE --unit CODE [--commit] [--report errors.csv]
    bangfu intake cancel BATCH
    bangfu intake template OUTPUT.xlsx
    bangfu intake yearly-review

``import`` checks a legacy file (the template's layout, see ``bangfu.intake.legacy``) and prints
the counts and the first problems; with ``--commit`` it also writes the valid households, in one
transaction (all of them, or none if the write fails); households with problems are not written and
are listed. Importing the same file again changes nothing (unless its batch failed, was cancelled or
was interrupted: then it is imported anew). ``cancel`` stops a batch being checked or waiting.
Commands act as ``--user NAME`` (default: ``BANGFU_CLI_USER``); jurisdiction and permissions apply
as in the UI.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import CommandError, CommandParser
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop, ngettext

from bangfu.common.commands import TranslatedCommand
from bangfu.common.errors import DomainError, field_errors
from bangfu.common.retranslate import in_reader_language
from bangfu.intake import imports, legacy, reviews
from bangfu.intake.models import ImportState
from bangfu.org.cli import unit_by_code


class Command(TranslatedCommand):
    help = gettext_noop("Applications: legacy import, the import template, the yearly review.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--user", default=os.environ.get("BANGFU_CLI_USER", ""), help=_("act as this user"))
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        imp = actions.add_parser("import", help=_("check (and with --commit import) a legacy Excel file"))
        imp.add_argument("file", type=Path)
        imp.add_argument("--unit", required=True, help=_("code of the union the files belong to (or above them)"))
        imp.add_argument(
            "--commit",
            action="store_true",
            help=_(
                "write the valid households, in one transaction; households with problems are not written "
                "and are listed"
            ),
        )
        imp.add_argument("--report", type=Path, default=None, help=_("write the problems to this .csv or .xlsx"))
        cancel = actions.add_parser("cancel", help=_("cancel an import batch being checked or waiting"))
        cancel.add_argument("batch", type=int)
        tpl = actions.add_parser("template", help=_("write the import template"))
        tpl.add_argument("output", type=Path)
        actions.add_parser("yearly-review", help=_("make the yearly review tasks that are due (idempotent)"))

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "template":
            options["output"].write_bytes(legacy.template_xlsx())
            return
        if action == "yearly-review":
            made = reviews.yearly_review_create()
            self.stdout.write(_("%(count)s review tasks made") % {"count": made})
            return
        if action == "cancel":
            self._cancel(options)
            return
        self._import(options)

    def _actor(self, options: dict[str, Any]) -> Any:
        username = options["user"]
        actor = get_user_model().objects.filter(is_active=True, username=username).first() if username else None
        if actor is None and username:
            raise CommandError(_("No active user is named %(name)s.") % {"name": username})
        if actor is None:
            raise CommandError(_("Name the user to act as: --user NAME (or BANGFU_CLI_USER)."))
        return actor

    def _cancel(self, options: dict[str, Any]) -> None:
        try:
            batch = imports.import_batch_cancel(actor=self._actor(options), batch_id=options["batch"])
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        except (Http404, PermissionDenied) as exc:
            raise CommandError(_("No import batch %(id)s in your jurisdiction.") % {"id": options["batch"]}) from exc
        self.stdout.write(_("Batch %(id)s cancelled.") % {"id": batch.pk})

    def _import(self, options: dict[str, Any]) -> None:
        actor = self._actor(options)
        unit = unit_by_code(options["unit"])
        path: Path = options["file"]
        report: Path | None = options["report"]
        if report is not None:
            # Before anything is imported: a report that cannot be written must not follow a commit.
            if report.suffix.lower() not in (".csv", ".xlsx"):
                raise CommandError(_("The report is a .csv or an .xlsx file: %(path)s") % {"path": report})
            if not report.parent.is_dir() or not os.access(report.parent, os.W_OK):
                raise CommandError(_("The report cannot be written to %(path)s.") % {"path": report})
        try:
            content = path.read_bytes()
        except FileNotFoundError as exc:
            raise CommandError(_("No file at %(path)s.") % {"path": path}) from exc
        except OSError as exc:
            raise CommandError(_("The file %(path)s cannot be read.") % {"path": path}) from exc
        started = timezone.now()
        try:
            batch = imports.import_file(
                actor=actor, unit_id=unit.pk, name=path.name, content=content, commit=options["commit"]
            )
        except ValidationError as exc:
            raise CommandError(" ".join(m for ms in field_errors(exc).values() for m in ms)) from exc
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        except KeyboardInterrupt as exc:
            # The households are written in one transaction: stopped part way, it wrote none.
            raise CommandError(_("Interrupted: no household was imported."), returncode=130) from exc
        out = self.stdout
        committed_now = batch.committed_at is not None and batch.committed_at >= started
        if batch.created_at < started and not committed_now:  # the same file, staged before
            out.write(_("This file was uploaded before (batch %(id)s): nothing new was done.") % {"id": batch.pk})
        counts = {
            "id": batch.pk,
            "rows": batch.rows_total,
            "total": batch.households_total,
            "valid": batch.households_valid,
            "invalid": batch.households_invalid,
            "existing": batch.households_existing,
            "issues": batch.issues_count,
        }
        out.write(
            ngettext(
                "Batch %(id)s: %(rows)s rows, %(total)s households: %(valid)s valid, %(invalid)s with errors, "
                "%(existing)s already on file; %(issues)s problem.",
                "Batch %(id)s: %(rows)s rows, %(total)s households: %(valid)s valid, %(invalid)s with errors, "
                "%(existing)s already on file; %(issues)s problems.",
                batch.issues_count,
            )
            % counts
        )
        for note in batch.notes:
            out.write(f"  {in_reader_language(note)}")
        for issue in batch.issues.all()[:20]:
            # in the language of this command, whoever uploaded the file (and in which language)
            out.write(f"  {issue.row}\t{issue.column}\t{issue.file_number}\t{in_reader_language(issue.reason)}")
        if report is not None:
            fmt = "xlsx" if report.suffix.lower() == ".xlsx" else "csv"
            body, _type = imports.error_report(actor=actor, batch_id=batch.pk, fmt=fmt)
            try:
                report.write_bytes(body)
            except OSError as exc:
                raise CommandError(_("The report cannot be written to %(path)s.") % {"path": report}) from exc
        if batch.state == ImportState.FAILED or (
            options["commit"] and batch.state != ImportState.COMMITTED and batch.households_valid
        ):
            raise CommandError(in_reader_language(batch.message) or str(ImportState(batch.state).label))
        if batch.state == ImportState.COMMITTED and committed_now:
            out.write(_("%(count)s files opened.") % {"count": batch.households_created})
