"""The demo from nothing: fresh keys, migrated SQLite, a seeded province, one login per role —
and a second run reuses all of it. Runs the console script in a clean environment."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def _demo(var: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BANGFU_", "DJANGO_")) and k != "DATABASE_URL"}
    env |= {"BANGFU_VAR_DIR": str(var), "DATABASE_URL": f"sqlite:///{var / 'demo.sqlite3'}", "LANG": "C.UTF-8"}
    return subprocess.run(
        [sys.executable, "-m", "bangfu.cli", "demo", "--no-serve", "--households", "300"],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=False,
    )


def test_demo_sets_itself_up_and_prints_one_login_per_role(tmp_path: Path) -> None:
    first = _demo(tmp_path)
    assert first.returncode == 0, first.stderr
    keys = tmp_path / "bangfu.env"
    assert keys.exists() and oct(keys.stat().st_mode & 0o777) == "0o600"
    assert {"BANGFU_SECRET_KEY", "BANGFU_FIELD_KEY", "BANGFU_HASH_KEY"} <= {
        line.split("=")[0] for line in keys.read_text().splitlines() if "=" in line
    }
    logins = [line for line in first.stdout.splitlines() if line.startswith("  ") and " / " in line]
    # Each role by its label in the default language (Chinese), with its code.
    roles = {m.group(1) for line in logins if (m := re.search(r"\((\w+)\) +@", line))}
    assert roles == {"manager", "admin", "evaluator", "centre_staff", "grassroots_cadre"}, first.stdout
    assert "基层工会干部 (grassroots_cadre)" in first.stdout, first.stdout
    # Every file is identified against the demo province's standard.
    assert "已认定" in first.stdout and "已认定 0 " not in first.stdout, first.stdout
    # Applications wait at each step, and department data has been checked against the files.
    assert re.search(r"有7份申请在各个环节等待办理", first.stdout), first.stdout
    found = re.search(r"导入了6个部门数据文件并对全省开展了核查：([\d,]+)条疑点待审核", first.stdout)
    assert found and int(found.group(1).replace(",", "")) > 0, first.stdout

    again = _demo(tmp_path)
    assert again.returncode == 0, again.stderr
    assert [line for line in again.stdout.splitlines() if line.startswith("  ") and " / " in line] == logins
    assert "演示省份" not in again.stdout  # not seeded again
    assert "等待办理" not in again.stdout and "部门数据文件" not in again.stdout
