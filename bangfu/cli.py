"""The ``bangfu`` console script: Django's management commands under the project's name.

``bangfu demo`` prepares and serves the demo; ``bangfu seed``, ``bangfu users add``,
``bangfu ids check`` … are management commands; ``bangfu --help`` lists them all.
"""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    from django.core.management import execute_from_command_line

    args = list(sys.argv if argv is None else argv)
    args[0] = "bangfu"
    if len(args) == 1 or args[1] in {"-h", "--help"}:
        args[1:] = ["help"]
    execute_from_command_line(args)
    return 0
