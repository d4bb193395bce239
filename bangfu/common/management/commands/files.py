"""``bangfu files encrypt``: encrypt where they are the stored files with personal data that were
saved before encryption; ``bangfu files check``: read every such file back (exit 1 when one is
missing, damaged or not yet encrypted).

``encrypt`` stops between two files on Ctrl-C (or SIGTERM): every file is then either as it was or
whole encrypted, the files encrypted so far are in the audit log, and a second Ctrl-C stops at
once."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop, ngettext

from bangfu.common.commands import TranslatedCommand
from bangfu.common.storage import FilesOutcome, files_check, files_encrypt

_EVERY = 500  # files between two progress lines
STOPPED = 130  # the exit status of a run stopped by Ctrl-C, as the shells give it


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

    @contextmanager
    def _stop_between_files(self) -> Iterator[list[bool]]:
        """Ctrl-C or SIGTERM asks the pass to stop before the next file (a file half-encrypted
        would leave its temporary copy behind); the second one stops at once."""
        asked = [False]
        if threading.current_thread() is not threading.main_thread():  # signals reach the main thread only
            yield asked
            return

        def ask(signum: int, frame: Any) -> None:
            if asked[0]:
                raise KeyboardInterrupt
            asked[0] = True
            self.stderr.write(_("Stopping after the file being encrypted (press Ctrl-C again to stop at once)…"))

        before = {sig: signal.signal(sig, ask) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield asked
        finally:
            for sig, handler in before.items():
                signal.signal(sig, handler)

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "encrypt":
            with self._stop_between_files() as asked:
                out = files_encrypt(progress=self._progress, stop=lambda: asked[0])
            self.stdout.write(
                _("%(total)s files: %(encrypted)s encrypted now, %(already)s already encrypted.")
                % {"total": out.total, "encrypted": out.encrypted, "already": out.already}
            )
            self._named(out)
            if out.stopped:
                raise CommandError(
                    _("Stopped when asked; the files not reached yet are as they were: run it again to finish."),
                    returncode=STOPPED,
                )
            problems = self._problems(out)
            if problems:
                raise CommandError(" ".join(problems))
            return
        out = files_check(progress=self._progress)
        self.stdout.write(
            _("%(total)s files: %(already)s encrypted and intact, %(plaintext)s not encrypted.")
            % {"total": out.total, "already": out.already, "plaintext": len(out.plaintext)}
        )
        self._named(out)
        problems = self._problems(out)
        if out.plaintext:
            problems.append(
                ngettext(
                    "%(n)s file is not encrypted: run `bangfu files encrypt`.",
                    "%(n)s files are not encrypted: run `bangfu files encrypt`.",
                    len(out.plaintext),
                )
                % {"n": len(out.plaintext)}
            )
        if problems:
            raise CommandError(" ".join(problems))

    def _named(self, out: FilesOutcome) -> None:
        """Each file that needs a person, by its name (a file not encrypted after the pass that
        encrypted the others may be one swapped on the disk)."""
        for name in out.missing:
            self.stderr.write(_("Missing: %(name)s") % {"name": name})
        for _name, reason in out.damaged:
            self.stderr.write(reason)
        for name in out.plaintext:
            self.stderr.write(_("Not encrypted: %(name)s") % {"name": name})

    def _problems(self, out: FilesOutcome) -> list[str]:
        problems = []
        if out.missing:
            problems.append(
                ngettext(
                    "%(n)s file named in the database is missing from the storage.",
                    "%(n)s files named in the database are missing from the storage.",
                    len(out.missing),
                )
                % {"n": len(out.missing)}
            )
        if out.damaged:
            problems.append(
                ngettext("%(n)s file is damaged.", "%(n)s files are damaged.", len(out.damaged))
                % {"n": len(out.damaged)}
            )
        return problems
