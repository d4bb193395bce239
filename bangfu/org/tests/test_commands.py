from __future__ import annotations

import io
import os
import subprocess
import sys
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.utils import translation

from bangfu.org.models import OrgUnit, RoleAssignment
from bangfu.org.services import token_authenticate


def test_users_add_by_division_code_and_token(tree: dict[str, OrgUnit]) -> None:
    out = io.StringIO()
    with translation.override("zh-hans"):  # the command line speaks the users' language, like the pages
        call_command("users", "add", "--username", "wang", "--unit", "532923", "--role", "centre_staff", stdout=out)
    said, password = out.getvalue().splitlines()
    assert said == "wang在祥云县总工会（532923）担任帮扶中心工作人员。", said
    assert password.startswith("初始密码（仅显示这一次）：") and len(password.split("：", 1)[1]) >= 12
    ra = RoleAssignment.objects.get(user__username="wang")
    assert (ra.unit_id, ra.role) == (tree["xiangyun"].pk, "centre_staff")

    out = io.StringIO()
    call_command("tokens", "create", "--username", "wang", stdout=out, stderr=io.StringIO())
    token = out.getvalue().strip().splitlines()[-1]
    assert token_authenticate(token).username == "wang"  # type: ignore[union-attr]
    assert token_authenticate(token + "x") is None


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--unit", "999999", "--role", "manager"], "999999"),
        (["--unit", "532923", "--role", "emperor"], "emperor"),
    ],
)
def test_users_add_bad_input(tree: dict[str, OrgUnit], args: list[str], message: str) -> None:
    with pytest.raises((CommandError, SystemExit)) as exc:
        call_command("users", "add", "--username", "li", *args, stderr=io.StringIO())
    assert exc.type is SystemExit or message in str(exc.value)
    assert not RoleAssignment.objects.filter(user__username="li").exists()


def test_tokens_for_unknown_user(db: Any) -> None:
    with pytest.raises(CommandError, match="nobody"):
        call_command("tokens", "create", "--username", "nobody")


def test_console_script_lists_the_project_commands() -> None:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings_test"}
    done = subprocess.run(
        [sys.executable, "-m", "bangfu.cli", "--help"], capture_output=True, text=True, env=env, check=True, timeout=60
    )
    for command in ("demo", "users", "tokens", "audit", "ids", "seed", "registry"):
        assert f"    {command}\n" in done.stdout, command
