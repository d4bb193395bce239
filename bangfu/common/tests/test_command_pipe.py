"""A command's output piped into a reader that stops early (``bangfu audit list | head``) ends the
command quietly, not with a traceback."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

SCRIPT = textwrap.dedent(
    """
    import os, django
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings_test")
    django.setup()
    from bangfu.common.commands import TranslatedCommand

    class Lines(TranslatedCommand):
        def handle(self, *args, **options):
            for i in range(200_000):
                self.stdout.write(f"line {i}")

    Lines().run_from_argv(["bangfu", "lines"])
    """
)


def test_output_cut_short_by_the_reader_ends_quietly() -> None:
    root = Path(__file__).resolve().parents[3]
    command = [sys.executable, "-c", SCRIPT]  # this test's own script
    proc = subprocess.Popen(command, cwd=root, stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # noqa: S603
    assert proc.stdout is not None and proc.stderr is not None
    assert proc.stdout.readline() == b"line 0\n"
    proc.stdout.close()  # as `head -1` does
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 0, err
    assert "BrokenPipeError" not in err and "Traceback" not in err
