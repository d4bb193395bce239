"""``bangfu files encrypt``: encrypt where they are the stored files with personal data that were
saved before encryption; ``bangfu files check``: read every such file back (exit 1 when one is
missing, damaged or not yet encrypted)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop, ngettext

from bangfu.common.commands import TranslatedCommand
from bangfu.common.storage import FilesOutcome, files_check, files_encrypt

_EVERY = 500  # files between two progress lines


class Command(TranslatedCommand):
    help = gettext_noop("Encrypt or check the stored files with personal data (attachments, import workbooks).")

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        sub.add_parser(
            "encrypt",
            help=_("encrypt where they are the files stored before encryption; files already encrypted are left"),
        )
        sub.add_parser(
            "check",
            help=_("read every stored file back: exit 1 if one is missing, damaged or not encrypted"),
        )

    def _progress(self, done: int) -> None:
        if done % _EVERY == 0:
            self.stderr.write(_("%(done)s files…") % {"done": done})

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "encrypt":
            out = files_encrypt(progress=self._progress)
            self.stdout.write(
                _("%(total)s files: %(encrypted)s encrypted now, %(already)s already encrypted.")
                % {"total": out.total, "encrypted": out.encrypted, "already": out.already}
            )
            self._missing(out)
            if out.missing:
                raise CommandError(self._missing_summary(out))
            return
        out = files_check(progress=self._progress)
        self.stdout.write(
            _("%(total)s files: %(already)s encrypted and intact, %(plaintext)s not encrypted.")
            % {"total": out.total, "already": out.already, "plaintext": out.plaintext}
        )
        self._missing(out)
        for _name, reason in out.damaged:
            self.stderr.write(reason)
        problems = []
        if out.missing:
            problems.append(self._missing_summary(out))
        if out.damaged:
            problems.append(
                ngettext("%(n)s file is damaged.", "%(n)s files are damaged.", len(out.damaged))
                % {"n": len(out.damaged)}
            )
        if out.plaintext:
            problems.append(
                ngettext(
                    "%(n)s file is not encrypted: run `bangfu files encrypt`.",
                    "%(n)s files are not encrypted: run `bangfu files encrypt`.",
                    out.plaintext,
                )
                % {"n": out.plaintext}
            )
        if problems:
            raise CommandError(" ".join(problems))

    def _missing(self, out: FilesOutcome) -> None:
        for name in out.missing:
            self.stderr.write(_("Missing: %(name)s") % {"name": name})

    def _missing_summary(self, out: FilesOutcome) -> str:
        return ngettext(
            "%(n)s file named in the database is missing from the storage.",
            "%(n)s files named in the database are missing from the storage.",
            len(out.missing),
        ) % {"n": len(out.missing)}
