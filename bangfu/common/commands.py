"""The base of the project's management commands."""

from __future__ import annotations

import os
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils.translation import gettext


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
