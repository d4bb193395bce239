"""The base of the project's management commands."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext

from .errors import field_errors


class TranslatedCommand(BaseCommand):
    """A command whose ``help`` (an English text marked with ``gettext_noop``) is shown in the
    user's language, like the help of its arguments (given with ``gettext``). Its output piped into
    a reader that stops early (``| head``) ends it quietly, as other command-line tools do."""

    def execute(self, *args: Any, **options: Any) -> str | None:
        try:
            try:
                return super().execute(*args, **options)
            finally:
                from .audit import flush_told

                flush_told()
        except BrokenPipeError:
            # Python's advice: point stdout at devnull, so that the flush at exit raises nothing more.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            return None

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        if self.help:
            parser.description = gettext(self.help)
        return parser


@contextmanager
def csv_output(output: Path | None, stdout: Any) -> Iterator[IO[str]]:
    """Where a command writes its CSV, by one rule for every command: a file (``--output``) in
    UTF-8 with a byte-order mark, which Excel needs to read Chinese text as UTF-8, readable by the
    account that wrote it only (people's data; not the umask's 0644); standard output in plain
    UTF-8, for pipes and other programs, which a byte-order mark would trip up.

    The file is written under a temporary name beside it and takes its name only when the command
    finishes: a command that fails part way leaves no half-written file, nor a file from before
    half overwritten."""
    if output is None:
        yield stdout
        return
    if not output.parent.is_dir():
        raise CommandError(gettext("No such folder: %(path)s") % {"path": output.parent})
    part = output.with_name(f".{output.name}.part")
    fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # a part left by an earlier failure keeps its old mode otherwise
    try:
        with os.fdopen(fd, "w", encoding="utf-8-sig", newline="") as target:
            yield target
        os.replace(part, output)
    except BaseException:
        part.unlink(missing_ok=True)
        raise


# Converters for ``add_argument(type=…)``: argparse's own say "invalid int value" in English
# whatever the command's language; these say what to write, in it.


def day(text: str) -> dt.date:
    """A day written YYYY-MM-DD."""
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            gettext("“%(value)s” is not a date: write it as YYYY-MM-DD.") % {"value": text}
        ) from None


def whole_number(text: str) -> int:
    """A whole number (0 or more)."""
    value = text.strip()
    if not value.isascii() or not value.isdigit():
        raise argparse.ArgumentTypeError(gettext("“%(value)s” is not a whole number.") % {"value": text})
    return int(value)


def problems_text(exc: ValidationError, options: dict[str, str] | None = None) -> str:
    """A service's field errors for a command: one line each, named by the option that gave the
    field (``--dibao: Enter a number.``) where ``options`` maps it."""
    lines: list[str] = []
    for name, messages in field_errors(exc).items():
        where = "" if options is None or name == "__all__" else options.get(name, name)
        lines.extend(f"{where}: {m}" if where else m for m in messages)
    return "\n".join(lines)
