"""The demo's background worker and scheduler are started again when one stops (killed, out of
memory): a demo whose worker had gone left every import, recheck and message waiting, and said
nothing. One that keeps stopping is left stopped, and the demo says so."""

from __future__ import annotations

import subprocess
import sys
import time
from typing import Any

from bangfu.org.management.commands import demo


def test_a_stopped_helper_is_started_again_and_one_that_keeps_stopping_is_said(monkeypatch: Any) -> None:
    started: list[str] = []

    def start(name: str) -> subprocess.Popen[bytes]:
        started.append(name)
        code = "import time; time.sleep(60)" if name == "schedule" else "raise SystemExit(3)"
        return subprocess.Popen([sys.executable, "-c", code])  # noqa: S603 - the two codes above

    monkeypatch.setattr(demo._Helpers, "_start", staticmethod(start))
    monkeypatch.setattr(demo._Helpers, "POLL_SECONDS", 0.05)
    said: list[str] = []
    helpers = demo._Helpers(said.append)
    try:
        deadline = time.monotonic() + 30
        while len(said) <= demo.RESTARTS_MOST and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)  # no more restarts once left stopped
    finally:
        helpers.stop()
    assert started.count("db_worker") == 1 + demo.RESTARTS_MOST and started.count("schedule") == 1
    assert said[0] == "The background worker stopped (exit code 3); starting it again."
    assert said[-1] == "The background worker stopped again (exit code 3) and is left stopped; restart the demo."
    assert len(said) == demo.RESTARTS_MOST + 1
    assert all(p.poll() is not None for p in helpers.processes.values())  # the scheduler stopped with the demo
